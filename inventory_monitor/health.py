"""`GET /healthz`: is this worker ready to serve (for load balancers)? Reads down into the apps."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse

from detection.serving.runtime import detector_ready, get_detector, serving_health
from inventory_monitor import dyndns


def healthz(request):
    """200 when the database answers and the model is loaded; 503 otherwise (for load balancers)."""
    checks = {"database": "ok", "model": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        checks["database"] = f"error: {exc.__class__.__name__}"
    if not detector_ready():
        checks["model"] = "error: not loaded"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    if healthy:
        detector = get_detector()
        body["model_name"] = detector.model_name
        body["input_size"] = detector.input_size
        # The count's thresholds and where they come from: the model's own (count-first), a setting, or the default.
        body["thresholds"] = {"conf": detector.conf, "iou": detector.iou, "source": detector.threshold_source}
        user = getattr(request, "user", None)
        body.update(serving_health(detailed=bool(user is not None and user.is_staff)))
    if (dns := dyndns.last_result()) is not None:
        body["dyndns"] = dns  # shown, never a reason for 503: serving does not depend on it
    return JsonResponse(body, status=200 if healthy else 503)
