"""Delete stock history older than HISTORY_RETENTION_DAYS and finished alerts older than
ALERT_RETENTION_DAYS (both default 90).

    python manage.py prune_history      # e.g. hourly from cron; safe while cameras post
"""

from django.core.management.base import BaseCommand

from detection.alerts.outbox import alerts_prune
from detection.history.services import history_prune


class Command(BaseCommand):
    help = ("Delete per-minute readings and status changes older than HISTORY_RETENTION_DAYS, and sent, failed "
            "or superseded alerts older than ALERT_RETENTION_DAYS, in short batches.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args, batch: int, **options) -> None:
        readings, changes = history_prune(batch=max(1, batch))
        alerts = alerts_prune(batch=max(1, batch))
        self.stdout.write(f"Deleted {readings} reading(s) and {changes} status change(s).")
        self.stdout.write(f"Deleted {alerts} finished alert(s).")
