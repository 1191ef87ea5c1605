"""Pull sources: configure one, test it, pull it once.

A pulled frame goes through detection.ingest.services.frame_ingest, the function the frames endpoint
calls: the same gate on pixels, count, zones, FAULT checks, stored frame, history, alerts and
dashboard push. A pull that gets no frame stores nothing but the reason in words on the source (shown
on the dashboard) and waits longer before the next try (back-off); the camera turns OFFLINE through
the offline watch, like a camera that stopped posting.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from detection import metrics
from detection.addresses import literal_address
from detection.detector import ImageRejected
from detection.hooks import stock_changed
from detection.ingest.services import StageTimer, frame_ingest
from detection.pull.fetch import PullFailed, Target, checked_address, frame_fetch
from detection.pull.models import PullAuth, PullKind, PullSource
from detection.pull.secrets import CredentialsUnreadable, secret_decrypt, secret_encrypt
from detection.serving.runtime import ModelUnavailable, Overloaded
from devices.models import Camera

logger = logging.getLogger(__name__)
SCHEMES = {"http": PullKind.HTTP, "https": PullKind.HTTP, "rtsp": PullKind.RTSP, "rtsps": PullKind.RTSP}


@dataclass(frozen=True)
class SourceUrl:
    """A typed URL split into what is stored in clear and the credentials from its user-info."""

    kind: str
    url: str  # without user-info
    username: str
    password: str


def source_url_parse(url: str) -> SourceUrl:
    """Check a URL's form and take the credentials out of it; raises ValidationError (no address check)."""
    url = url.strip()
    parts = urlsplit(url)
    kind = SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise ValidationError("The URL must start with http://, https:// (a snapshot) or rtsp:// (a stream).")
    try:
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise ValidationError("The URL has a bad port.") from None
    if not host:
        raise ValidationError("The URL has no host.")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path or ("/" if kind == PullKind.HTTP else ""),
                        parts.query, ""))
    return SourceUrl(kind=kind, url=clean, username=unquote(parts.username or ""),
                     password=unquote(parts.password or ""))


def source_address_validate(url: str) -> None:
    """The address checks at save time (checked again at every pull): a literal address now; a name
    when it resolves here (DNS may differ where the puller runs, so an unresolvable name is allowed)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}[parts.scheme]
    try:
        checked_address(parts.hostname, parts.port or default)
    except PullFailed as exc:
        if exc.code == "unresolvable" and literal_address(parts.hostname) is None:
            return
        raise ValidationError(str(exc)) from None


def pull_source_save(
    *, camera: Camera, url: str, auth: str | None = None, username: str | None = None, password: str | None = None,
    interval_s: int | None = None, timeout_s: int | None = None, tls_verify: bool | None = None,
    enabled: bool = True,
) -> PullSource:
    """Create or change the camera's pull source; raises ValidationError with the reason.

    Credentials may come in the URL's user-info (``http://user:pass@host/...``) or as arguments;
    ``password=None`` keeps the stored one (forms leave it blank: it is never shown again). With a user
    name and no ``auth``, HTTP uses digest (what most cameras ask for).
    """
    parsed = source_url_parse(url)
    source_address_validate(parsed.url)
    source = PullSource.objects.filter(camera=camera).first() or PullSource(camera=camera)
    source.kind, source.url = parsed.kind, parsed.url
    username = parsed.username or (username if username is not None else source.username)
    password = parsed.password or password
    source.username = username or ""
    if password is not None:
        source.password_encrypted = secret_encrypt(password)
    if not source.username:
        source.password_encrypted = ""
    if auth is not None:
        source.auth = auth
    elif source.username and source.auth == PullAuth.NONE:
        source.auth = PullAuth.DIGEST
    if source.kind == PullKind.RTSP or not source.username:
        source.auth = PullAuth.NONE  # RTSP sends the user-info in its own handshake
    if interval_s is not None:
        source.interval_s = interval_s
    if timeout_s is not None:
        source.timeout_s = timeout_s
    if tls_verify is not None:
        source.tls_verify = tls_verify
    source.enabled = enabled
    source.next_pull_at = timezone.now()
    source.failures, source.last_error, source.last_error_at = 0, "", None
    source.full_clean(exclude=["camera"])
    source.save()
    return source


def pull_source_remove(*, camera: Camera) -> None:
    """Back to push: the camera's device keys keep working as before."""
    PullSource.objects.filter(camera=camera).delete()
    stock_changed(camera_id=camera.pk, event_id=None)


def source_target(source: PullSource, *, password: str | None = None) -> Target:
    """The fetch target of a saved source (password decrypted here, for this pull only)."""
    return Target(kind=source.kind, url=source.url, auth=source.auth, username=source.username,
                  password=secret_decrypt(source.password_encrypted) if password is None else password,
                  timeout_s=source.timeout_s, tls_verify=source.tls_verify)


def pull_target_from_form(
    *, camera: Camera, url: str, auth: str = "", username: str = "", password: str = "", timeout_s: int = 5,
    tls_verify: bool = True,
) -> Target:
    """A fetch target from what a manager typed, before saving (the "test connection" button): the
    same parsing and address checks as pull_source_save; a blank password means the saved one.
    Raises ValidationError."""
    parsed = source_url_parse(url)
    source_address_validate(parsed.url)
    username = parsed.username or username
    password = parsed.password or password
    saved = PullSource.objects.filter(camera=camera).first()
    if not password and saved is not None and saved.has_password and username == saved.username:
        password = secret_decrypt(saved.password_encrypted)
    if parsed.kind == PullKind.RTSP or not username:
        auth = PullAuth.NONE
    elif not auth or auth == PullAuth.NONE:
        auth = PullAuth.DIGEST
    return Target(kind=parsed.kind, url=parsed.url, auth=auth, username=username, password=password,
                  timeout_s=min(max(timeout_s, 1), 20), tls_verify=tls_verify)


def pull_source_test(*, target: Target) -> bytes:
    """Fetch one frame without storing anything (the "test connection" button); raises PullFailed."""
    from detection.detector import decode_image  # noqa: PLC0415

    data = frame_fetch(target)
    try:
        decode_image(data, max_pixels=settings.INGEST_MAX_PIXELS, target_size=64)
    except ImageRejected as exc:
        raise PullFailed(f"The camera's picture cannot be used: {exc}", "not_image") from None
    return data


@dataclass(frozen=True)
class PullOutcome:
    ok: bool
    code: str  # "ok" or the failure's label
    reason: str = ""
    event_id: int | None = None


def pull_once(source: PullSource, *, owner: str = "", now: datetime | None = None) -> PullOutcome:
    """Fetch the source's frame and ingest it like a posted one; record the outcome and give the lease back."""
    started = time.monotonic()
    now = now or timezone.now()
    try:
        data = frame_fetch(source_target(source))
        event = frame_ingest(camera=source.camera, data=data, captured_at=timezone.now(), idempotent=None,
                             timer=StageTimer())
        outcome = PullOutcome(ok=True, code="ok", event_id=event.pk)
    except PullFailed as exc:
        outcome = PullOutcome(ok=False, code=exc.code, reason=str(exc))
    except CredentialsUnreadable as exc:
        outcome = PullOutcome(ok=False, code="credentials", reason=str(exc))
    except ImageRejected as exc:  # the gate of a posted frame: too many pixels, not decodable
        outcome = PullOutcome(ok=False, code="not_image", reason=f"The camera's picture cannot be used: {exc}")
    except ModelUnavailable:
        outcome = PullOutcome(ok=False, code="model", reason="The detection model is not loaded on the puller.")
    except Overloaded:  # CAMERA_PULL_CONCURRENCY above DETECTOR_CONCURRENCY + INGEST_QUEUE_MAX
        outcome = PullOutcome(ok=False, code="busy", reason="The puller had more frames waiting for its detector "
                                                            "than INGEST_QUEUE_MAX; it tries again.")
    _pull_record(source, outcome, owner=owner, now=now)
    metrics.pull_done(code=outcome.code, seconds=time.monotonic() - started)
    if not outcome.ok:
        logger.info("pull %s failed: %s", source.camera.slug, outcome.reason)
    return outcome


def backoff_s(source: PullSource, failures: int) -> float:
    """Seconds until the next try after ``failures`` failed pulls in a row: the interval, doubled per
    failure, at most CAMERA_PULL_MAX_BACKOFF_S (and never less than the interval)."""
    return max(source.interval_s, min(source.interval_s * 2 ** (failures - 1), settings.CAMERA_PULL_MAX_BACKOFF_S))


def _pull_record(source: PullSource, outcome: PullOutcome, *, owner: str, now: datetime) -> None:
    finished = timezone.now()
    if outcome.ok:
        following = source.next_pull_at + timedelta(seconds=source.interval_s)  # on schedule, no drift
        if following <= finished:
            following = finished + timedelta(seconds=source.interval_s)  # late: skip the missed ones
        fields = {"failures": 0, "last_error": "", "last_ok_at": finished, "next_pull_at": following}
    else:
        failures = source.failures + 1
        fields = {"failures": failures, "last_error": outcome.reason[:300], "last_error_at": finished,
                  "next_pull_at": finished + timedelta(seconds=backoff_s(source, failures))}
    rows = PullSource.objects.filter(pk=source.pk)
    if owner:
        rows = rows.filter(lease_owner=owner)  # a lease taken over meanwhile is not ours to write
    with transaction.atomic():
        rows.update(lease_owner="", lease_until=None, **fields)
    # The dashboard shows the reason: tell it when the failure starts, changes or ends.
    if not outcome.ok and (source.failures == 0 or source.last_error != fields["last_error"]):
        stock_changed(camera_id=source.camera_id, event_id=None)
    elif outcome.ok and source.failures:
        stock_changed(camera_id=source.camera_id, event_id=None)
