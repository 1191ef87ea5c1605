"""Read queries for the dashboard: what each camera shows now, the activity log, the system summary.

Everything the page, the HTMX partials and the WebSocket consumer display comes from here, so the
three always agree. Query counts are fixed (no per-camera queries): the dashboard is rendered once per
open screen on every frame, so an N+1 here multiplies by cameras x screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from detection.stock.models import DetectionEvent, Status, StockState
from devices.models import Camera


@dataclass(frozen=True)
class CameraCard:
    """One camera as the dashboard shows it."""

    camera: Camera
    status: Status
    raw_count: int | None
    smoothed_count: int | None
    critical_level: int
    target_capacity: int
    smoothing_window: int
    last_frame_at: datetime | None
    # Raw counts of the retained log's countable frames, oldest first (the sparkline).
    trend: list[int] = field(default_factory=list)
    last_event_id: int | None = None
    fault: str = ""  # why the camera's latest frame could not be counted ("" when it could)

    @property
    def slug(self) -> str:
        return self.camera.slug

    @property
    def count(self) -> int | None:
        """Packages in the latest frame (the API's `count`). Not the dashboard's big number: that is
        the smoothed count, which the status follows; the card shows this one beside it ("last frame")
        whenever the two differ (`shows_raw`)."""
        return self.raw_count

    @property
    def shows_raw(self) -> bool:
        return self.raw_count is not None and self.smoothed_count is not None and self.raw_count != self.smoothed_count

    @property
    def fill_percent(self) -> int:
        """Bar width: the smoothed count (the big number) relative to the target capacity, capped at 100."""
        if not self.smoothed_count or self.target_capacity <= 0:
            return 0
        return min(100, round(100 * self.smoothed_count / self.target_capacity))


@dataclass(frozen=True)
class SystemSummary:
    cameras_total: int
    cameras_online: int
    cameras_offline: int
    cameras_waiting: int
    last_frame_at: datetime | None
    cameras_fault: int = 0  # online, but sending frames that cannot be counted


def _active_cameras() -> QuerySet[Camera]:
    return Camera.objects.filter(is_active=True).order_by("name", "slug")


def _defaults() -> StockState:
    # An unsaved instance carries the model defaults, so a camera without state shows the
    # thresholds it will get, without writing anything on a read.
    return StockState()


def _card(camera: Camera, now: datetime) -> CameraCard:
    state: StockState | None = getattr(camera, "stock", None) if _has_stock(camera) else None
    events = getattr(camera, "recent_events", None)
    trend = [event.raw_count for event in reversed(events) if event.status != Status.FAULT] if events else []
    last_event_id = events[0].id if events else None
    if state is None:
        # No frame ever recorded. A camera that sent heartbeats and then went quiet is still OFFLINE:
        # saying WAITING would hide a dead camera.
        status = Status.OFFLINE if camera.is_offline(now) else Status.WAITING
        defaults = _defaults()
        return CameraCard(
            camera=camera, status=status, raw_count=None, smoothed_count=None,
            critical_level=defaults.critical_level, target_capacity=defaults.target_capacity,
            smoothing_window=defaults.smoothing_window, last_frame_at=None, trend=trend,
            last_event_id=last_event_id,
        )
    state.camera = camera  # effective_status() reads camera.last_seen_at; avoid a query
    return CameraCard(
        camera=camera, status=state.effective_status(now), raw_count=state.raw_count,
        smoothed_count=state.smoothed_count, critical_level=state.critical_level,
        target_capacity=state.target_capacity, smoothing_window=state.smoothing_window,
        last_frame_at=state.last_frame_at, trend=trend, last_event_id=last_event_id, fault=state.fault,
    )


def _has_stock(camera: Camera) -> bool:
    try:
        camera.stock  # noqa: B018 - select_related filled it, or it does not exist
    except StockState.DoesNotExist:
        return False
    return True


# One-to-one relations of Camera the cards also show, joined in the same query. Rooms above stock add
# theirs from the app's ready() (detection/apps.py: the pull source), so stock never names them.
CARD_RELATIONS: list[str] = ["stock"]


def _with_cards_data(cameras: QuerySet[Camera]) -> QuerySet[Camera]:
    # The log is capped per camera (ACTIVITY_LOG_SIZE rows), so prefetching it whole is bounded.
    return cameras.select_related(*CARD_RELATIONS).prefetch_related(
        Prefetch(
            "events",
            queryset=DetectionEvent.objects.only("id", "camera_id", "raw_count", "status").order_by("-id"),
            to_attr="recent_events",
        )
    )


def camera_cards(*, now: datetime | None = None) -> list[CameraCard]:
    """Every active camera, by name. Two queries, whatever the number of cameras."""
    now = now or timezone.now()
    return [_card(camera, now) for camera in _with_cards_data(_active_cameras())]


def camera_card(*, camera_id: int, now: datetime | None = None) -> CameraCard | None:
    """One active camera's card, or None when it is gone or inactive."""
    camera = _with_cards_data(_active_cameras().filter(pk=camera_id)).first()
    return _card(camera, now or timezone.now()) if camera is not None else None


def camera_cards_by_id(*, camera_ids: Iterable[int], now: datetime | None = None) -> dict[int, CameraCard]:
    """The cards of these cameras, by id; an id that is gone or inactive has none. Two queries, however
    many cameras: a merged push (dashboard/pushes.py) may carry every camera of the site."""
    now = now or timezone.now()
    cameras = _with_cards_data(_active_cameras().filter(pk__in=list(camera_ids)))
    return {camera.pk: _card(camera, now) for camera in cameras}


def camera_by_slug(slug: str) -> Camera | None:
    return _active_cameras().filter(slug=slug).first()


def camera_choices() -> list[tuple[str, str]]:
    """(slug, name) of active cameras, for the activity filter."""
    return [(camera.slug, str(camera)) for camera in _active_cameras().only("slug", "name")]


def activity_log(*, camera_slug: str | None = None, limit: int = 20,
                 event_ids: Iterable[int] | None = None) -> list[DetectionEvent]:
    """Newest events first, optionally for one camera, optionally only these events (a push's new rows)."""
    events = DetectionEvent.objects.select_related("camera").filter(camera__is_active=True)
    if camera_slug:
        events = events.filter(camera__slug=camera_slug)
    if event_ids is not None:
        events = events.filter(pk__in=list(event_ids))
    return list(events.order_by("-id")[:limit])


def system_summary(*, cards: list[CameraCard] | None = None, now: datetime | None = None) -> SystemSummary:
    """Cameras online / offline / never seen, and when the last frame arrived (from any camera)."""
    now = now or timezone.now()
    cameras = list(_active_cameras().only("id", "last_seen_at", "offline_timeout_s")) if cards is None else [
        card.camera for card in cards
    ]
    waiting = sum(1 for camera in cameras if camera.last_seen_at is None)
    offline = sum(1 for camera in cameras if camera.is_offline(now))
    # One small query (one row per active camera) for both the newest frame and the faults.
    readings = StockState.objects.filter(camera__is_active=True).values_list("camera_id", "last_frame_at", "fault")
    offline_ids = {camera.pk for camera in cameras if camera.is_offline(now)}
    last_frame_at, faults = None, 0
    for camera_id, frame_at, fault in readings:
        if frame_at is not None and (last_frame_at is None or frame_at > last_frame_at):
            last_frame_at = frame_at
        faults += bool(fault) and camera_id not in offline_ids  # OFFLINE outranks FAULT, as on the cards
    return SystemSummary(
        cameras_total=len(cameras),
        cameras_online=len(cameras) - waiting - offline,
        cameras_offline=offline,
        cameras_waiting=waiting,
        last_frame_at=last_frame_at,
        cameras_fault=faults,
    )


__all__ = [
    "CameraCard",
    "SystemSummary",
    "activity_log",
    "camera_by_slug",
    "camera_card",
    "camera_cards",
    "camera_cards_by_id",
    "camera_choices",
    "system_summary",
]


def camera_page_data(*, camera_id: int, limit: int = 20, now: datetime | None = None,
                     ) -> tuple[CameraCard, list[DetectionEvent], list] | None:
    """One active camera's card, its ``limit`` newest events (with their boxes and frame names) and its
    counting zones, or None when it is gone or inactive: what its page's live partials show.

    Two queries, where the card, the events and the zones read apart took four: the card's trend comes
    from the same read of the log (every kept event: at most ACTIVITY_LOG_SIZE, as the card's
    prefetch reads) and the zones from the state row the card joins. A camera page pushes this after
    each of its camera's frames (dashboard/camera_consumer.py).
    """
    camera = _active_cameras().select_related(*CARD_RELATIONS).filter(pk=camera_id).first()
    if camera is None:
        return None
    kept = list(DetectionEvent.objects.filter(camera_id=camera_id).order_by("-id")[:max(limit, settings.ACTIVITY_LOG_SIZE)])
    camera.recent_events = kept
    state = camera.stock if _has_stock(camera) else None
    return _card(camera, now or timezone.now()), kept[:limit], (state.zones if state is not None else None) or []


def camera_event(*, camera_id: int, event_id: int) -> DetectionEvent | None:
    return DetectionEvent.objects.filter(camera_id=camera_id, pk=event_id).first()
