"""Send the outbox's due alerts now (each server worker also does this every ALERT_SENDER_INTERVAL_S).

    python manage.py send_alerts        # e.g. from cron when ALERT_SENDER_INTERVAL_S=0
"""

from django.core.management.base import BaseCommand

from detection.alerts import flush_alerts
from detection.alerts.models import AlertDelivery


class Command(BaseCommand):
    help = "Deliver every alert that is due (new, retries, left by a stopped worker)."

    def handle(self, *args, **options) -> None:
        tried = flush_alerts()
        pending = AlertDelivery.objects.filter(state=AlertDelivery.State.PENDING).count()
        self.stdout.write(f"{tried} alert(s) tried, {pending} pending.")
