"""Actions on cameras and keys; the admin, the management commands and tests all go through here."""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models.query import get_related_populators
from django.utils import timezone
from django.utils.text import slugify

from devices.models import Camera, DeviceKey, PairingLink, hash_key

# Writing last_used_at on every frame would add a write per request; once a minute is enough to
# tell whether an old key is still in use during a rotation.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def device_key_create(*, camera: Camera, label: str = "") -> tuple[DeviceKey, str]:
    """Create a key and return it with the raw secret, which is never stored and never shown again."""
    prefix, raw_key = DeviceKey.generate()
    key = DeviceKey.objects.create(camera=camera, label=label, prefix=prefix, key_hash=hash_key(raw_key))
    return key, raw_key


def device_key_revoke(*, key: DeviceKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def device_key_authenticate(raw_key: str) -> DeviceKey | None:
    """The usable key matching `raw_key` (camera active, key not revoked), or None."""
    prefix = DeviceKey.prefix_of(raw_key)
    if prefix is None:
        return None
    key = _usable_key(prefix)
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        DeviceKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@dataclass(frozen=True)
class _KeyStatement:
    """The statement "the usable key with this prefix, with its camera": the ORM's SQL and how its row
    becomes objects."""

    sql: str
    params: tuple[Any, ...]
    prefix_at: int  # where the prefix goes in params
    converters: dict  # column -> (its converters, its expression), as the ORM applies them
    key_columns: slice
    key_attnames: list[str]
    populators: list  # fill in the camera, as select_related does


_PREFIX_MARK = "prefix-" + secrets.token_hex(16)  # stands for the prefix when the SQL is made


@functools.cache
def _key_statement(alias: str) -> _KeyStatement:
    """Made once per database: every frame is authenticated, and building this query with the ORM
    (filter, join, compile) took 0.34 ms of CPU per call, 0.035 ms this way (issue 18, in-process,
    2,000 calls); only the prefix changes. The queryset is compiled once, with a marker where the
    prefix goes."""
    queryset = DeviceKey.objects.usable().select_related("camera").filter(prefix=_PREFIX_MARK).order_by("pk")[:1]
    compiler = queryset.query.get_compiler(alias)
    sql, params = compiler.as_sql()
    select, klass_info = compiler.select, compiler.klass_info
    fields = klass_info["select_fields"]
    return _KeyStatement(
        sql=sql, params=tuple(params), prefix_at=list(params).index(_PREFIX_MARK),
        converters=compiler.get_converters([expression for expression, _, _ in select]),
        key_columns=slice(fields[0], fields[-1] + 1),
        key_attnames=[column[0].target.attname for column in select[fields[0]:fields[-1] + 1]],
        populators=get_related_populators(klass_info, select, alias),
    )


def _usable_key(prefix: str) -> DeviceKey | None:
    """``DeviceKey.objects.usable().select_related("camera").filter(prefix=prefix).first()``, the
    same statement and the same objects, without building the query each time."""
    alias = router.db_for_read(DeviceKey)
    statement = _key_statement(alias)
    params = list(statement.params)
    params[statement.prefix_at] = prefix
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for position, (converters, expression) in statement.converters.items():
        for convert in converters:
            row[position] = convert(row[position], expression, connection)
    key = DeviceKey.from_db(alias, statement.key_attnames, row[statement.key_columns])
    for populator in statement.populators:
        populator.populate(row, key)
    return key


@transaction.atomic
def camera_create(*, slug: str, name: str = "", location: str = "", offline_timeout_s: int | None = None,
                  key_label: str = "initial key") -> tuple[Camera, str]:
    """Create a camera with its first key; returns the raw key (shown once)."""
    camera = Camera(slug=slug, name=name or slug.replace("-", " ").title(), location=location)
    if offline_timeout_s is not None:
        camera.offline_timeout_s = offline_timeout_s
    camera.full_clean()
    camera.save()
    _, raw_key = device_key_create(camera=camera, label=key_label)
    return camera, raw_key


def camera_mark_seen(*, camera: Camera, when=None) -> None:
    when = when or timezone.now()
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=when)
    camera.last_seen_at = when


class PairingRefused(Exception):
    """A pairing link that cannot be used (unknown, used, expired): the text says which, in words."""


def pairing_link_create(*, camera: Camera, ttl_s: int | None = None) -> tuple[PairingLink, str]:
    """A one-time pairing link's row and its raw token (put in the URL of the QR code, never stored)."""
    token = secrets.token_urlsafe(24)
    ttl = settings.PAIRING_LINK_TTL_S if ttl_s is None else ttl_s
    link = PairingLink.objects.create(camera=camera, token_hash=hash_key(token),
                                      expires_at=timezone.now() + timedelta(seconds=ttl))
    return link, token


def pairing_link_find(token: str) -> PairingLink:
    """The usable link for ``token`` (nothing changes); raises PairingRefused saying why not."""
    link = PairingLink.objects.select_related("camera").filter(token_hash=hash_key(token)).first()
    if link is None or not link.camera.is_active:
        raise PairingRefused("This pairing link is not valid. Ask a manager for a new QR code.")
    if link.used_at is not None:
        raise PairingRefused("This pairing link was already used (each works once). Ask a manager for a new QR code.")
    if link.expires_at <= timezone.now():
        raise PairingRefused("This pairing link has expired (they work for a few minutes). "
                             "Ask a manager for a new QR code.")
    return link


@transaction.atomic
def pairing_link_redeem(*, token: str, label: str = "") -> tuple[Camera, str]:
    """Use the link once: a new device key for its camera, returned raw (shown to this phone only).

    The conditional UPDATE decides: of two phones opening one link at once, one gets a key."""
    link = pairing_link_find(token)
    now = timezone.now()
    if not PairingLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        raise PairingRefused("This pairing link was already used (each works once). Ask a manager for a new QR code.")
    key, raw_key = device_key_create(camera=link.camera, label=label or f"phone paired {now:%Y-%m-%d %H:%M} UTC")
    PairingLink.objects.filter(pk=link.pk).update(key=key)
    return link.camera, raw_key


@transaction.atomic
def phone_camera_create(*, name: str, location: str = "") -> tuple[Camera, PairingLink, str]:
    """A new camera for a phone (no key yet: the phone gets its own through the link) and its link."""
    base = slugify(name)[:40] or "phone"
    slug, number = base, 2
    while Camera.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    camera = Camera(slug=slug, name=name or slug, location=location)
    camera.full_clean()
    camera.save()
    link, token = pairing_link_create(camera=camera)
    return camera, link, token
