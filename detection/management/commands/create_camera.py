"""Onboard a camera without the admin. The new key is printed alone on the LAST line (scripts rely on it):

    KEY=$(python manage.py create_camera dock-3 --name "Dock 3" --critical 5 --target 40 | tail -n 1)
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from detection.stock.services import stock_thresholds_update
from devices.services import camera_create


class Command(BaseCommand):
    help = "Create a camera with its thresholds and first device key; prints the key alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--location", default="")
        parser.add_argument("--critical", type=int, default=5, help="critical level (default 5)")
        parser.add_argument("--target", type=int, default=20, help="target capacity (default 20)")
        parser.add_argument("--smoothing", type=int, default=3, help="median over the last K counts (default 3)")
        parser.add_argument("--offline-after", type=int, default=None, help="seconds without frames before OFFLINE")

    def handle(self, *args, slug: str, name: str, location: str, critical: int, target: int, smoothing: int,
               offline_after: int | None, **options) -> None:
        try:
            with transaction.atomic():
                camera, raw_key = camera_create(slug=slug, name=name, location=location,
                                                offline_timeout_s=offline_after)
                stock_thresholds_update(camera=camera, critical_level=critical, target_capacity=target,
                                        smoothing_window=smoothing)
        except ValidationError as exc:
            messages = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in exc.message_dict.items())
            raise CommandError(f"camera not created: {messages}") from None
        self.stdout.write(f"Created camera {camera.slug!r} (critical {critical}, target {target}).")
        self.stdout.write("Device key (shown once; store it on the camera):")
        self.stdout.write(raw_key)
