"""Camera passwords, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key: CAMERA_CREDENTIALS_KEY when set (one or more Fernet keys, comma-separated: the first
encrypts, all decrypt, so a key can be rotated), else one derived from SECRET_KEY with HKDF (so a
laptop install needs no extra setting). The SECRET_KEY-derived key always decrypts too, so setting
CAMERA_CREDENTIALS_KEY later keeps old passwords readable until they are saved again.

A database dump alone does not reveal a camera's password; someone holding both the dump and the
key does. The plain password lives only in the puller's memory while it pulls.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialsUnreadable(ValueError):
    """The stored password was encrypted with a key this server no longer has."""


def _derived_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"smart-inventory-monitor",
               info=b"camera-credentials").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


@cache
def _fernet(configured: str, secret_key: str) -> MultiFernet:
    keys = [Fernet(key.strip().encode()) for key in configured.split(",") if key.strip()]
    keys.append(Fernet(_derived_key(secret_key)))
    return MultiFernet(keys)


def _current() -> MultiFernet:
    return _fernet(settings.CAMERA_CREDENTIALS_KEY, settings.SECRET_KEY)


def secret_encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored camera password cannot be decrypted (CAMERA_CREDENTIALS_KEY or SECRET_KEY changed); "
            "enter the password again.") from None
