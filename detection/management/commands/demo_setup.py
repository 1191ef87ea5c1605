"""Prepare a laptop demo: an admin login and a demo camera with a fresh key, both printed.

Safe to re-run: the admin is created once (its password printed then); each run revokes the
previous demo key and prints a new one, since a stored key can never be shown again.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from detection.stock.services import stock_thresholds_update
from devices.models import Camera
from devices.services import camera_create, device_key_create, device_key_revoke

DEMO_SLUG = "demo-dock"
DEMO_KEY_LABEL = "demo (run.sh)"


class Command(BaseCommand):
    help = "Create the demo camera and an admin login for a local run; prints the key and the login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", default="8000")
        parser.add_argument("--admin-username", default="admin")

    @transaction.atomic
    def handle(self, *args, port: str, admin_username: str, **options) -> None:
        User = get_user_model()
        password = None
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(admin_username, f"{admin_username}@localhost", password)

        camera = Camera.objects.filter(slug=DEMO_SLUG).first()
        if camera is None:
            camera, raw_key = camera_create(slug=DEMO_SLUG, name="Demo dock", location="Laptop demo",
                                            key_label=DEMO_KEY_LABEL)
            stock_thresholds_update(camera=camera, critical_level=5, target_capacity=20, smoothing_window=3)
        else:
            for old in camera.keys.filter(label=DEMO_KEY_LABEL, revoked_at__isnull=True):
                device_key_revoke(key=old)
            _, raw_key = device_key_create(camera=camera, label=DEMO_KEY_LABEL)

        url = f"http://127.0.0.1:{port}"
        self.stdout.write("")
        self.stdout.write(f"  Dashboard:   {url}/        Inspector: {url}/inspector/   Admin: {url}/admin/")
        if password:
            self.stdout.write(f"  Login:       {admin_username} / {password}   (shown once; change it in the admin)")
        else:
            self.stdout.write("  Login:       your existing superuser (python manage.py changepassword <name> to reset)")
        self.stdout.write(f"  Demo camera: {DEMO_SLUG}")
        self.stdout.write(f"  Simulator:   .venv/bin/python -m simulation.simulate --url {url} --loop --key {raw_key}")
        self.stdout.write("  Device key (shown once):")
        self.stdout.write(raw_key)
