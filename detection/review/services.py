"""The review set: frames kept for labelling because a person said the count was wrong, or sampled
for low confidence during ingest (issue 8).

A review frame is a copy (image through the storage API, boxes, model) so it outlives the 20-row
activity log. The set is capped at REVIEW_MAX_FRAMES; over the cap rows go in this order:

1. the oldest low-confidence samples (nobody asked for them);
2. the oldest flagged frames that were already exported (their labels left with the export).

A flagged frame that was never exported is never dropped: a person's correction is the most valuable
thing in the set. When only such frames are left, a new flag is refused with a clear message
(export the set, or raise REVIEW_MAX_FRAMES) and low-confidence sampling skips frames.

Every deleted row's image is deleted from storage after the delete commits, so no file is orphaned
and no row points at a file that is gone.
"""

from __future__ import annotations

import logging
import random
from pathlib import PurePosixPath
from statistics import fmean

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.utils import timezone

from detection.review.models import ReviewFrame
from detection.stock.frames import frames_delete
from detection.stock.models import DetectionEvent
from devices.models import Camera

log = logging.getLogger(__name__)

# A person's count above this is a typo, not a shelf (the detector itself stops at a few hundred).
MAX_CORRECT_COUNT = 10_000
NOTE_MAX = ReviewFrame._meta.get_field("note").max_length


def _validate(event: DetectionEvent, correct_count: object, note: str, camera: Camera | None) -> int:
    if camera is not None and event.camera_id != camera.pk:
        raise ValidationError("This event belongs to another camera.", code="wrong_camera")
    try:
        count = int(correct_count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError({"correct_count": "Give the right count as a whole number."}, code="invalid")
    if isinstance(correct_count, float) and correct_count != count:
        raise ValidationError({"correct_count": "Give the right count as a whole number."}, code="invalid")
    if count < 0:
        raise ValidationError({"correct_count": "The right count cannot be negative."}, code="negative")
    if count > MAX_CORRECT_COUNT:
        raise ValidationError({"correct_count": f"{count} is not a plausible count (at most {MAX_CORRECT_COUNT})."},
                              code="absurd")
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"Keep the note under {NOTE_MAX} characters."}, code="too_long")
    if not event.image:
        raise ValidationError("This event has no stored frame, so there is nothing to review.", code="no_image")
    return count


def _copy_image(event: DetectionEvent) -> str:
    """Copy the event's frame to review/<camera>/ through the storage API (works for S3 as well as
    local files); returns the stored name. ValidationError when the frame is gone already."""
    source = event.image
    suffix = PurePosixPath(source.name).suffix or ".jpg"
    target = f"review/{event.camera.slug}/event-{event.pk}{suffix}"
    try:
        with source.storage.open(source.name, "rb") as fh:
            return default_storage.save(target, File(fh, name=target))
    except Exception as exc:  # FileNotFoundError locally, a ClientError from S3
        # Most likely trimmed from the activity log (file deleted) between the page and the click.
        log.info("review: could not copy the frame of event %s: %r", event.pk, exc)
        raise ValidationError("This event's frame could not be read; it may have left the activity log.",
                              code="no_image") from exc


def _review_frame_deleted(sender, instance, using: str, **kwargs) -> None:
    """Whatever deletes a review row (the cap, the admin, a camera deleted with its rows), its image
    goes once that deletion commits, and stays if it rolls back. A receiver, as for the events'
    frames (detection/stock/frames.py), because cascades delete rows no service sees."""
    name = instance.image.name if instance.image else ""
    if name:
        transaction.on_commit(lambda: frames_delete([name]), using=using)


def connect_signals() -> None:
    post_delete.connect(_review_frame_deleted, sender="detection.ReviewFrame", dispatch_uid="review_frame_deleted")


def review_delete(*, frames: QuerySet[ReviewFrame]) -> int:
    """Delete review rows; their image files follow after commit (_review_frame_deleted)."""
    with transaction.atomic():
        deleted, _ = frames.delete()
    return deleted


def review_prune(*, room: int = 0) -> int:
    """Bring the set down to REVIEW_MAX_FRAMES - room rows (see the module docstring for the order);
    returns how many rows went. Unexported flags are never pruned, so the set can stay above."""
    limit = max(settings.REVIEW_MAX_FRAMES - room, 0)
    excess = ReviewFrame.objects.count() - limit
    if excess <= 0:
        return 0
    victims: list[int] = []
    for queryset in (
        ReviewFrame.objects.filter(reason=ReviewFrame.Reason.LOW_CONFIDENCE).order_by("created_at", "id"),
        ReviewFrame.objects.filter(reason=ReviewFrame.Reason.FLAGGED, exported_at__isnull=False)
        .order_by("created_at", "id"),
    ):
        victims += queryset.values_list("id", flat=True)[: excess - len(victims)]
        if len(victims) >= excess:
            break
    if not victims:
        return 0
    return review_delete(frames=ReviewFrame.objects.filter(id__in=victims))


def _has_room() -> bool:
    review_prune(room=1)
    return ReviewFrame.objects.count() < settings.REVIEW_MAX_FRAMES


def _snapshot(event: DetectionEvent, *, reason: str, image: str, now) -> ReviewFrame:
    return ReviewFrame(
        camera_id=event.camera_id, event=event, reason=reason, image=image,
        image_width=event.image_width or 0, image_height=event.image_height or 0, boxes=event.boxes or [],
        model_version_id=event.model_version_id, model_label=event.model_label, frame_at=event.created_at,
        model_count=event.raw_count, created_at=now,
    )


def review_flag(
    *, event: DetectionEvent, correct_count: int, note: str = "", user=None, camera: Camera | None = None,
) -> ReviewFrame:
    """A person says ``event``'s count is wrong and gives the right one.

    Copies the event's frame and boxes into the review set, or upgrades the event's low-confidence
    sample (or an earlier flag: the latest correction wins). ``camera``, when given, must be the
    event's camera (the page the person was on). Raises ValidationError with a message for people.
    """
    note = (note or "").strip()
    count = _validate(event, correct_count, note, camera)
    flagged = {"reason": ReviewFrame.Reason.FLAGGED, "correct_count": count, "note": note,
               "flagged_by": user if user is not None and user.is_authenticated else None}
    existing = ReviewFrame.objects.filter(event=event).first()
    if existing is not None:
        return _update(existing, flagged)
    if not _has_room():
        raise ValidationError(
            f"The review set is full ({settings.REVIEW_MAX_FRAMES} frames not yet exported). Export it "
            "(manage.py export_review) or raise REVIEW_MAX_FRAMES.", code="full")
    name = _copy_image(event)
    frame = _snapshot(event, reason=ReviewFrame.Reason.FLAGGED, image=name, now=timezone.now())
    for key, value in flagged.items():
        setattr(frame, key, value)
    try:
        with transaction.atomic():
            frame.save()
    except IntegrityError:
        # Two people flagged the same event at once: one copy is enough, the latest count wins.
        default_storage.delete(name)
        return _update(ReviewFrame.objects.get(event=event), flagged)
    return frame


def _update(frame: ReviewFrame, changes: dict) -> ReviewFrame:
    for key, value in changes.items():
        setattr(frame, key, value)
    frame.save(update_fields=list(changes))
    return frame


def is_low_confidence(boxes: list) -> bool:
    """The sampling rule: at least one box, and their mean score below REVIEW_LOW_CONFIDENCE.

    A frame with no box at all says nothing about the model's confidence, so it is never sampled
    (an empty shelf that was counted right is the common case)."""
    scores = [float(box[4]) for box in boxes or [] if len(box) >= 5]
    return bool(scores) and fmean(scores) < settings.REVIEW_LOW_CONFIDENCE


def review_sample(*, event_id: int, draw: float | None = None) -> ReviewFrame | None:
    """Maybe copy a just-ingested frame into the review set as a low-confidence sample.

    Called after the ingest transaction committed. With REVIEW_SAMPLE_RATE 0 (the default) it
    returns before touching the database; otherwise one random draw decides first, so only the
    sampled share of frames pays for a query and, if low-confidence, a storage copy.
    Never raises: sampling must not fail a frame that was already stored.
    """
    rate = settings.REVIEW_SAMPLE_RATE
    if rate <= 0 or (random.random() if draw is None else draw) >= rate:
        return None
    try:
        event = DetectionEvent.objects.select_related("camera").filter(pk=event_id).first()
        if event is None or not event.image or not is_low_confidence(event.boxes):
            return None
        if ReviewFrame.objects.filter(event=event).exists() or not _has_room():
            return None
        name = _copy_image(event)
        frame = _snapshot(event, reason=ReviewFrame.Reason.LOW_CONFIDENCE, image=name, now=timezone.now())
        try:
            with transaction.atomic():
                frame.save()
        except IntegrityError:
            default_storage.delete(name)
            return None
        return frame
    except ValidationError:
        return None
    except Exception:
        log.exception("review: sampling event %s failed", event_id)
        return None


def review_mark_exported(*, frames: QuerySet[ReviewFrame], at=None) -> int:
    return frames.update(exported_at=at or timezone.now())


__all__ = ["review_flag", "review_sample", "review_prune", "review_delete", "review_mark_exported",
           "is_low_confidence", "MAX_CORRECT_COUNT"]
