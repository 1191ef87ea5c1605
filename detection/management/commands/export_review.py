"""Write the review set for labelling, the model's boxes as pre-annotations (detection/review/export.py).

    python manage.py export_review --format yolo out/review            # CVAT, then import_labels
    python manage.py export_review --format labelstudio out/ls --camera dock-1 --since 2026-11-01
    python manage.py export_review --format coco out/coco --reason flagged --not-exported
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from detection.review.export import FORMATS, LS_DEFAULT_IMAGE_URL, review_export
from detection.review.models import ReviewFrame
from detection.review.services import review_mark_exported


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: give a date (2026-11-01) or an ISO date and time")
        moment = datetime.combine(day, time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = "Export the review set (frames whose count was marked wrong, low-confidence samples) for labelling."

    def add_arguments(self, parser) -> None:
        parser.add_argument("dir", type=Path, help="Folder to write (created; should be empty).")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--camera", action="append", default=[], metavar="SLUG", help="Only these cameras.")
        parser.add_argument("--since", help="Only frames received on or after this date (or date and time).")
        parser.add_argument("--reason", action="append", default=[], choices=list(ReviewFrame.Reason.values),
                            help="Only this reason (repeatable; default both).")
        parser.add_argument("--not-exported", action="store_true", help="Only frames never exported before.")
        parser.add_argument("--image-url", default=LS_DEFAULT_IMAGE_URL,
                            help="Label Studio: prefix of each task's image URL (default: its local-files URL).")
        parser.add_argument("--dry-run", action="store_true", help="Write the files, but do not mark frames exported.")

    def handle(self, *args, dir: Path, fmt: str, camera: list[str], since: str | None, reason: list[str],
               not_exported: bool, image_url: str, dry_run: bool, **options) -> None:
        frames = ReviewFrame.objects.select_related("camera").order_by("frame_at", "id")
        if camera:
            frames = frames.filter(camera__slug__in=camera)
        if since:
            frames = frames.filter(frame_at__gte=_since(since))
        if reason:
            frames = frames.filter(reason__in=reason)
        if not_exported:
            frames = frames.filter(exported_at__isnull=True)
        if dir.exists() and any(dir.iterdir()):
            raise CommandError(f"{dir} is not empty; give a new folder")
        started = timezone.now()
        written, skipped = review_export(frames=list(frames), fmt=fmt, out=dir, image_url=image_url)
        for frame, why in skipped:
            self.stderr.write(f"skipped review frame {frame.pk} ({frame.camera.slug}): image unreadable, {why}")
        if not dry_run and written:
            review_mark_exported(frames=ReviewFrame.objects.filter(pk__in=[item.frame.pk for item in written]),
                                 at=started)
        boxes = sum(len(item.boxes) for item in written)
        self.stdout.write(f"Wrote {len(written)} frame(s), {boxes} model box(es) as {fmt} to {dir}"
                          + (f"; {len(skipped)} skipped" if skipped else "") + ".")
