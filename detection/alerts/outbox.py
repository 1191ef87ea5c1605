"""The alert outbox: alerts are rows written with the change that caused them, and delivered after.

- `alerts_enqueue` runs inside the caller's transaction: one AlertDelivery row per configured channel.
  A crash after the commit loses nothing; a rollback sends nothing.
- A sender thread per worker (`start_alert_sender`, a detection.background.PeriodicThread) is woken after each commit and also looks every
  ALERT_SENDER_INTERVAL_S seconds for rows that are due: new ones, retries, rows left by a worker that
  stopped or died, and rows whose cooldown ended. So on start-up any worker picks up what was pending.
- Several workers never send one row twice: a worker sends only a row it has claimed with one
  conditional UPDATE (PENDING and due -> SENDING until now + CLAIM_S), which one worker wins on SQLite
  and PostgreSQL alike. A worker killed between a send and its mark leaves the row SENDING; once the
  claim expires another worker sends it again, which is the one case of a repeat, and every delivery
  carries the row's id for the receiver to drop it.
- A failed send is retried with exponential back-off (ALERT_RETRY_BASE_S doubling, at most an hour)
  until ALERT_MAX_ATTEMPTS, then marked FAILED with the last error (admin, alert log, /metrics).
- With no channel configured an alert is still written, as one row of channel "none" marked SKIPPED:
  the alert log shows what would have been sent, and when (a depot sets up e-mail after the fact).
- People on shift acknowledge an alert ("who is on it", when, a note): `alert_acknowledge` marks every
  row of that alert (one per channel) at once.
- Cooldown (ALERT_COOLDOWN_S, stock alerts only): within it after an alert went out for a camera and
  channel, a new stock alert waits for the cooldown's end, and replaces any older one still waiting;
  if the camera is back where the last alert left it, nothing is sent at all. A flapping count sends
  at most one alert per cooldown, and the last one sent always says where the stock is.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from detection import metrics
from detection.alerts.channels import SENDERS, webhook_send
from detection.alerts.messages import StockAlert
from detection.alerts.models import AlertDelivery, AlertWebhook
from detection.background import PeriodicThread
from devices.models import Camera

logger = logging.getLogger(__name__)
State = AlertDelivery.State
# How long a claimed row is one worker's: longer than any one send can take (SMTP/SNS/webhook
# timeouts are seconds), short enough that a row left by a killed worker goes out soon after.
CLAIM_S = 120
MAX_BACKOFF_S = 3600



def configured_channels(kind: str) -> list[tuple[str, str, AlertWebhook | None]]:
    """(channel, recipients, webhook) for every channel an alert of this kind goes to now."""
    channels: list[tuple[str, str, AlertWebhook | None]] = []
    if settings.ALERT_EMAILS:
        channels.append((AlertDelivery.Channel.EMAIL, ",".join(settings.ALERT_EMAILS), None))
    if settings.ALERT_SNS_TOPIC_ARN:
        channels.append((AlertDelivery.Channel.SNS, settings.ALERT_SNS_TOPIC_ARN, None))
    for webhook in AlertWebhook.objects.filter(is_active=True).order_by("id"):
        if webhook.wants(kind):
            channels.append((AlertDelivery.Channel.WEBHOOK, webhook.target(), webhook))
    return channels


def alerts_enqueue(*, camera: Camera, alert: StockAlert, now: datetime | None = None) -> list[AlertDelivery]:
    """Write the alert's rows in the caller's transaction; the sender is woken once it commits."""
    now = now or timezone.now()
    rows = []
    channels = configured_channels(alert.kind)
    if not channels:
        row = AlertDelivery.objects.create(
            camera=camera, created_at=now, channel=AlertDelivery.Channel.NONE, recipients="", kind=alert.kind,
            previous_status=alert.previous_status, status=alert.status, smoothed_count=alert.smoothed_count,
            message=alert.as_dict(), next_attempt_at=now, state=State.SKIPPED,
            last_error="no alert channel is configured",
        )
        return [row]
    for channel, recipients, webhook in channels:
        row = AlertDelivery(
            camera=camera, created_at=now, channel=channel, recipients=recipients[:1000], webhook=webhook,
            kind=alert.kind,
            previous_status=alert.previous_status, status=alert.status, smoothed_count=alert.smoothed_count,
            message=alert.as_dict(), next_attempt_at=now,
        )
        if alert.kind == "stock" and settings.ALERT_COOLDOWN_S > 0:
            _cool_down(row, now)
        row.save()
        rows.append(row)
    if rows:
        transaction.on_commit(wake)
    return rows


def _cool_down(row: AlertDelivery, now: datetime) -> None:
    """Defer (or drop) a stock alert that comes within the cooldown of the last one that goes out.

    "Goes out": sent, being sent, retried, or due at once; rows deferred by an earlier cooldown are
    only candidates, and the newest alert replaces them. The camera's state row is locked by the
    caller, so two workers never interleave here for one camera.
    """
    cooldown = timedelta(seconds=settings.ALERT_COOLDOWN_S)
    same = AlertDelivery.objects.filter(camera=row.camera, channel=row.channel, recipients=row.recipients,
                                        webhook=row.webhook, kind="stock").exclude(state=State.SUPERSEDED)
    deferred = Q(state=State.PENDING, attempts=0, next_attempt_at__gt=F("created_at"))
    anchor = same.exclude(deferred).order_by("-id").first()
    # Older deferred alerts are stale now: this one says where the stock is.
    same.filter(deferred).update(state=State.SUPERSEDED, last_error="replaced by a newer alert within the cooldown")
    if anchor is None or anchor.created_at <= now - cooldown:
        return
    row.next_attempt_at = anchor.created_at + cooldown
    if row.status == anchor.status:
        row.state = State.SUPERSEDED
        row.last_error = f"back to {row.status} within the cooldown: the last alert sent still holds"


def wake() -> None:
    _sender.wake()


def _due(now: datetime) -> Q:
    return Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENDING, claimed_until__lt=now)


def _claim(pk: int, now: datetime) -> bool:
    """One conditional UPDATE: exactly one worker turns a due row into its own SENDING row."""
    return AlertDelivery.objects.filter(_due(now), pk=pk).update(
        state=State.SENDING, claimed_until=now + timedelta(seconds=CLAIM_S), attempts=F("attempts") + 1,
    ) == 1


def alerts_deliver_due(*, now: datetime | None = None, stop: threading.Event | None = None, limit: int = 100) -> int:
    """Claim and send the rows that are due, oldest first; returns how many were tried."""
    now = now or timezone.now()
    due = AlertDelivery.objects.filter(_due(now)).order_by("id").values_list("pk", flat=True)[:limit]
    tried = 0
    for pk in list(due):
        if stop is not None and stop.is_set():
            break
        if _claim(pk, now):
            _send(pk, now)
            tried += 1
    return tried


def _send(pk: int, now: datetime) -> None:
    row = AlertDelivery.objects.select_related("webhook").get(pk=pk)
    try:
        alert = StockAlert.from_dict(row.message)
        if row.channel == AlertDelivery.Channel.WEBHOOK:
            webhook_send(alert=alert, alert_id=row.pk, webhook=row.webhook)
        else:
            SENDERS[row.channel](alert=alert, alert_id=row.pk, recipients=row.recipients)
    except Exception as exc:  # whatever the channel raised: recorded on the row and retried
        _failed(row, exc, now)
        metrics.alert_delivered(channel=row.channel, ok=False)
        return
    AlertDelivery.objects.filter(pk=pk).update(state=State.SENT, sent_at=timezone.now(), claimed_until=None,
                                               last_error="")
    metrics.alert_delivered(channel=row.channel, ok=True)


def _failed(row: AlertDelivery, exc: Exception, now: datetime) -> None:
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    if row.attempts >= settings.ALERT_MAX_ATTEMPTS:
        logger.error("alert #%d by %s failed %d times, giving up: %s", row.pk, row.channel, row.attempts, error)
        changes = {"state": State.FAILED}
    else:
        delay = min(settings.ALERT_RETRY_BASE_S * 2 ** (row.attempts - 1), MAX_BACKOFF_S)
        logger.warning("alert #%d by %s failed (try %d), retrying in %s s: %s", row.pk, row.channel, row.attempts,
                       delay, error)
        changes = {"state": State.PENDING, "next_attempt_at": now + timedelta(seconds=delay)}
    AlertDelivery.objects.filter(pk=row.pk).update(claimed_until=None, last_error=error, **changes)


def flush_alerts() -> int:
    """Send everything due now, in the calling thread (management commands, tests)."""
    total = 0
    while tried := alerts_deliver_due():
        total += tried
    return total


FINISHED = (AlertDelivery.State.SENT, AlertDelivery.State.FAILED, AlertDelivery.State.SUPERSEDED,
            AlertDelivery.State.SKIPPED)


def alert_acknowledge(*, alert: AlertDelivery, user, note: str = "", now: datetime | None = None) -> int:
    """Mark the alert (all its rows, one per channel) as taken on by ``user``; returns the rows marked.

    The first acknowledgement stands: a second person tapping the same alert does not take it over
    (they see who is on it already); returns 0 then."""
    return alert.siblings().filter(acknowledged_at__isnull=True).update(
        acknowledged_at=now or timezone.now(), acknowledged_by=user, acknowledged_note=note.strip()[:200])


def alert_channel_test(*, channel: str, webhook: AlertWebhook | None = None, sent_by: str = "") -> str:
    """Send a test alert by one channel now, in this thread; returns "" when it went out, else a short
    reason that is safe to show to anyone who may send tests (never the receiver's answer body: it can
    hold tokens or internal details). Nothing is written to the outbox."""
    from detection.alerts.webhooks import WebhookHTTPError, WebhookRefused

    alert = StockAlert(camera_slug="test", camera_name="Test alert", location="", previous_status="FULL",
                       status="CRITICAL", smoothed_count=None, critical_level=0, target_capacity=0,
                       test_by=sent_by or "someone")
    try:
        if channel == AlertDelivery.Channel.WEBHOOK:
            webhook_send(alert=alert, alert_id=0, webhook=webhook)
        elif channel == AlertDelivery.Channel.EMAIL:
            SENDERS[channel](alert=alert, alert_id=0, recipients=",".join(settings.ALERT_EMAILS))
        elif channel == AlertDelivery.Channel.SNS:
            SENDERS[channel](alert=alert, alert_id=0, recipients=settings.ALERT_SNS_TOPIC_ARN)
        else:
            return "no such channel"
    except WebhookHTTPError as exc:
        return f"the receiver answered HTTP {exc.status}"
    except WebhookRefused as exc:
        return str(exc)  # our own check's words (scheme, address), not the receiver's
    except Exception as exc:  # connection refused, timeout, SMTP or SNS error: the kind, not the details
        logger.warning("test alert by %s failed: %s", channel, exc)
        return f"{exc.__class__.__name__} (details in the server log)"
    return ""


def alerts_prune(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete finished alerts (sent, failed, superseded) older than ALERT_RETENTION_DAYS; returns how many.

    Rows still to be sent are never deleted, however old. Short transactions of at most ``batch``
    rows, so the senders and ingest never wait long; safe while they run (`manage.py prune_history`).
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.ALERT_RETENTION_DAYS)
    old = AlertDelivery.objects.filter(created_at__lt=cutoff, state__in=FINISHED)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("created_at").values_list("pk", flat=True)[:batch])
            if ids:
                deleted += AlertDelivery.objects.filter(pk__in=ids, state__in=FINISHED).delete()[0]
        if len(ids) < batch:
            return deleted


def _deliver_until_none_due() -> None:
    while alerts_deliver_due(stop=_sender.stopping):
        pass


# One per worker: woken after each commit that wrote alert rows, and every interval for retries.
_sender = PeriodicThread("alert-sender", _deliver_until_none_due, first_run_at_start=True)


def start_alert_sender(interval_s: int) -> bool:
    """Start this worker's sender once; interval 0 disables it. Returns whether it started."""
    return _sender.start(interval_s)


def alerts_drain(timeout: float) -> int:
    """On shutdown: no new send starts; wait up to `timeout` for one under way. Returns how many
    alerts are left pending, in the database, for whichever worker runs next."""
    if not _sender.drain(timeout):
        logger.warning("shutting down during an alert send; its row is sent again after its claim expires")
    try:
        return AlertDelivery.objects.filter(state__in=[State.PENDING, State.SENDING]).count()
    except Exception:  # the database is gone too: nothing to report, nothing lost
        logger.exception("could not count pending alerts")
        return 0
    finally:
        close_old_connections()


def alert_channels() -> list[tuple[str, str, AlertWebhook | None]]:
    """(channel, where to, webhook) of every channel configured now, whatever kinds it takes: the alert
    log lists them (with "send a test") and warns when there are none."""
    channels: list[tuple[str, str, AlertWebhook | None]] = []
    if settings.ALERT_EMAILS:
        channels.append((AlertDelivery.Channel.EMAIL, ", ".join(settings.ALERT_EMAILS), None))
    if settings.ALERT_SNS_TOPIC_ARN:
        channels.append((AlertDelivery.Channel.SNS, settings.ALERT_SNS_TOPIC_ARN, None))
    for webhook in AlertWebhook.objects.filter(is_active=True).order_by("id"):
        channels.append((AlertDelivery.Channel.WEBHOOK, webhook.target(), webhook))
    return channels
