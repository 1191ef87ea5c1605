"""Manage device keys for rotation without the admin.

    python manage.py camera_key add dock-3 --label "new firmware"   # prints the key alone on the last line
    python manage.py camera_key list dock-3
    python manage.py camera_key revoke <prefix>
"""

from django.core.management.base import BaseCommand, CommandError

from devices.models import Camera, DeviceKey
from devices.services import device_key_create, device_key_revoke


class Command(BaseCommand):
    help = "Add, list or revoke device keys (rotate: add a key, move the camera to it, revoke the old one)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a key; prints it alone on the last line")
        add.add_argument("slug")
        add.add_argument("--label", default="")
        listing = sub.add_parser("list", help="list a camera's keys (prefixes only)")
        listing.add_argument("slug")
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")

    def _camera(self, slug: str) -> Camera:
        try:
            return Camera.objects.get(slug=slug)
        except Camera.DoesNotExist:
            raise CommandError(f"no camera with slug {slug!r}") from None

    def handle(self, *args, action: str, **options) -> None:
        if action == "add":
            camera = self._camera(options["slug"])
            key, raw_key = device_key_create(camera=camera, label=options["label"])
            self.stdout.write(f"New key {key.prefix} for {camera.slug} (shown once):")
            self.stdout.write(raw_key)
        elif action == "list":
            camera = self._camera(options["slug"])
            for key in camera.keys.all():
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
                used = f"last used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
                self.stdout.write(f"{key.prefix}  {state:<24} {used:<28} {key.label}")
        else:
            try:
                key = DeviceKey.objects.get(prefix=options["prefix"])
            except DeviceKey.DoesNotExist:
                raise CommandError(f"no key with prefix {options['prefix']!r}") from None
            device_key_revoke(key=key)
            self.stdout.write(f"Revoked key {key.prefix} of {key.camera.slug}.")
