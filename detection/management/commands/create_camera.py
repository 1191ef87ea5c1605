"""Onboard a camera without the admin. The new key is printed alone on the LAST line (scripts rely on it):

    KEY=$(python manage.py create_camera dock-3 --name "Dock 3" --critical 5 --target 40 | tail -n 1)

A camera the server pulls from (an IP camera's snapshot URL or RTSP stream; `manage.py pull_cameras`):

    python manage.py create_camera dock-4 --source "http://admin:secret@192.168.1.64/ISAPI/Streaming/channels/101/picture"
    python manage.py create_camera dock-5 --source "rtsp://admin:secret@192.168.1.65:554/stream1" --interval 10

Credentials go in the URL's user-info (stored encrypted, never printed) or, to keep them out of the shell
history, in CAMERA_SOURCE_USERNAME / CAMERA_SOURCE_PASSWORD. HTTP uses digest authentication unless
--auth says otherwise.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from detection.pull.models import PullAuth
from detection.pull.services import pull_source_save
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
        parser.add_argument("--source", default="", help="pull from this http(s):// snapshot or rtsp:// stream URL")
        parser.add_argument("--interval", type=int, default=None, help="seconds between pulls (default 10)")
        parser.add_argument("--timeout", type=int, default=None, help="seconds a pull may take (default 5)")
        parser.add_argument("--auth", choices=PullAuth.values, default=None,
                            help="HTTP authentication (default: digest with a user name, else none)")
        parser.add_argument("--no-tls-verify", action="store_true",
                            help="accept a self-signed HTTPS certificate (your own network only)")

    def handle(self, *args, slug: str, name: str, location: str, critical: int, target: int, smoothing: int,
               offline_after: int | None, source: str, interval: int | None, timeout: int | None,
               auth: str | None, no_tls_verify: bool, **options) -> None:
        try:
            with transaction.atomic():
                camera, raw_key = camera_create(slug=slug, name=name, location=location,
                                                offline_timeout_s=offline_after)
                stock_thresholds_update(camera=camera, critical_level=critical, target_capacity=target,
                                        smoothing_window=smoothing)
                if source:
                    pulled = pull_source_save(
                        camera=camera, url=source, auth=auth, interval_s=interval, timeout_s=timeout,
                        username=os.environ.get("CAMERA_SOURCE_USERNAME") or None,
                        password=os.environ.get("CAMERA_SOURCE_PASSWORD") or None,
                        tls_verify=not no_tls_verify)
        except ValidationError as exc:
            messages = ("; ".join(f"{field}: {' '.join(errs)}" for field, errs in exc.message_dict.items())
                        if hasattr(exc, "error_dict") else " ".join(exc.messages))
            raise CommandError(f"camera not created: {messages}") from None
        self.stdout.write(f"Created camera {camera.slug!r} (critical {critical}, target {target}).")
        if source:
            self.stdout.write(f"Pulls {pulled.url} every {pulled.interval_s} s"
                              f"{' as ' + pulled.username if pulled.username else ''} (run manage.py pull_cameras).")
        self.stdout.write("Device key (shown once; store it on the camera):")
        self.stdout.write(raw_key)
