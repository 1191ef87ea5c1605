"""The detection app's models, for Django (which looks for them here) and for code above the app.

Each room owns its models; they are defined in its own models module and collected here, so the
app label, tables and migrations stay the detection app's. Rooms import from each other's models
modules, never from this one.
"""

from detection.alerts.models import AlertDelivery, AlertWebhook
from detection.history.models import Reading, StatusChange
from detection.ingest.models import FrameReceipt
from detection.pull.models import PullSource
from detection.review.models import ReviewFrame
from detection.serving.models import ModelVersion
from detection.stock.models import DetectionEvent, Status, StockState, status_for

__all__ = [
    "AlertDelivery",
    "AlertWebhook",
    "DetectionEvent",
    "FrameReceipt",
    "ModelVersion",
    "PullSource",
    "Reading",
    "ReviewFrame",
    "Status",
    "StatusChange",
    "StockState",
    "status_for",
]
