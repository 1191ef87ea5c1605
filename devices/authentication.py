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


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"
    www_authenticate_realm = "cameras"

    def authenticate(self, request) -> tuple[CameraPrincipal, DeviceKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no credentials: NotAuthenticated (401) from the permission check
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <device key>'.")
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Device key contains invalid characters.") from None
        key = device_key_authenticate(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or inactive-camera device key.")
        return CameraPrincipal(camera=key.camera), key

    def authenticate_header(self, request) -> str:
        # Its presence turns DRF's 403 into a 401 carrying WWW-Authenticate.
        return f'{self.keyword} realm="{self.www_authenticate_realm}"'


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
