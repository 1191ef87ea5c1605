"""Send OFFLINE / back-online alerts now (the server also does this every OFFLINE_CHECK_INTERVAL_S).

    python manage.py check_cameras      # e.g. from cron when the server's own watch is disabled
"""

from django.core.management.base import BaseCommand

from detection.alerts import flush_alerts
from detection.stock.offline import cameras_check_offline


class Command(BaseCommand):
    help = "Alert once for each active camera that went OFFLINE or came back since the last check."

    def handle(self, *args, **options) -> None:
        alerts = cameras_check_offline()
        flush_alerts()  # and whatever else is due in the outbox
        for alert in alerts:
            self.stdout.write(f"{alert.camera_slug}: {alert.previous_status} -> {alert.status}")
        self.stdout.write(f"{len(alerts)} alert(s) sent.")
