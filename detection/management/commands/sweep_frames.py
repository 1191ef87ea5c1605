"""Delete stored frames that no row names (left by a crash between a frame's write and its commit).

    python manage.py sweep_frames              # files older than FRAME_SWEEP_GRACE_S
    python manage.py sweep_frames --grace 0    # everything unreferenced: only with the server stopped

Every server process already sweeps at start-up and every FRAME_SWEEP_INTERVAL_S.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from detection.stock.frames import frames_sweep


class Command(BaseCommand):
    help = "Delete stored frame files no event (or review frame) names and older than the grace period."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--grace", type=int, default=None,
                            help=f"Seconds a file must be old (default FRAME_SWEEP_GRACE_S={settings.FRAME_SWEEP_GRACE_S}); "
                                 "0 only while no server is running.")

    def handle(self, *args, grace: int | None, **options) -> None:
        removed = frames_sweep(grace_s=None if grace is None else max(0, grace))
        self.stdout.write(f"Deleted {len(removed)} unreferenced frame file(s).")
