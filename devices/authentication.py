"""DRF authentication for cameras: `Authorization: Bearer <device key>`."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from devices.models import Camera, DeviceKey
from devices.services import device_key_authenticate


@dataclass(frozen=True)
class CameraPrincipal:
    """Stands in for `request.user` on camera requests: a camera is not a person."""

    camera: Camera
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> int:
        return self.camera.pk

    def __str__(self) -> str:
        return f"camera:{self.camera.slug}"


KEYWORD = "Bearer"
WWW_AUTHENTICATE = f'{KEYWORD} realm="cameras"'
INVALID_KEY = "Invalid, revoked or inactive-camera device key."


def bearer_key(authorization: bytes) -> str | None:
    """The device key in an Authorization header's value; None when it names no Bearer credentials.

    Raises AuthenticationFailed when it is malformed. Shared with the server's request gate
    (inventory_monitor/request_gate.py), which refuses keyless uploads before reading their bodies.
    """
    header = authorization.split()
    if not header or header[0].lower() != KEYWORD.lower().encode():
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <device key>'.")
    try:
        return header[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("Device key contains invalid characters.") from None


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    keyword = KEYWORD
    www_authenticate_realm = "cameras"

    def authenticate(self, request) -> tuple[CameraPrincipal, DeviceKey] | None:
        raw_key = bearer_key(authentication.get_authorization_header(request))
        if raw_key is None:
            return None  # no credentials: NotAuthenticated (401) from the permission check
        key = device_key_authenticate(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return CameraPrincipal(camera=key.camera), key

    def authenticate_header(self, request) -> str:
        # Its presence turns DRF's 403 into a 401 carrying WWW-Authenticate.
        return WWW_AUTHENTICATE


class IsCamera(BasePermission):
    message = "A device key is required: send 'Authorization: Bearer <device key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, DeviceKey)


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "devices.authentication.DeviceKeyAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sim_<prefix>_<secret>",
            "description": "Device key of the camera, shown once when the key is created "
            "(`manage.py create_camera` or the admin).",
        }
