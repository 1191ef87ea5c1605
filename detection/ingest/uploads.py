"""An uploaded image, from the request to the detector's result, with its failures on the API contract
(400, 413, 503): shared by the camera's frames endpoint and the Vision Inspector."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError

from detection.detector import DetectionResult, ImageRejected, ImageTooLarge
from detection.ingest.services import StageTimer, frame_analyze
from detection.serving.runtime import ModelUnavailable, Overloaded


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The detection model is not loaded; try again later."
    default_code = "model_unavailable"


class Busy(ServiceUnavailable):
    """503 with Retry-After (DRF's handler sets it from ``wait``): nothing was stored, send it again."""

    default_detail = "The server is busy; send the frame again after Retry-After seconds."
    default_code = "busy"
    wait = 1


def _check_declared_size(request) -> None:
    # Refuse before Django reads the body: the Content-Length is known up front.
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.INGEST_MAX_BYTES + 64 * 1024:  # multipart framing overhead
        raise PayloadTooLarge(f"The upload is {declared:,} bytes; the limit is {settings.INGEST_MAX_BYTES:,} bytes.")


def validated_upload(request, serializer_class: type[serializers.Serializer]) -> tuple[dict, bytes]:
    """The validated form and the image bytes of a multipart upload, or a 400/413 APIException."""
    _check_declared_size(request)
    form = serializer_class(data=request.data)
    form.is_valid(raise_exception=True)
    upload = form.validated_data["image"]
    if upload.size > settings.INGEST_MAX_BYTES:
        raise PayloadTooLarge(f"The image is {upload.size:,} bytes; the limit is {settings.INGEST_MAX_BYTES:,} bytes.")
    return form.validated_data, upload.read()


def database_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked" once SQLITE_BUSY_TIMEOUT_S ran out (the transaction was rolled back)."""
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


@contextmanager
def upload_errors() -> Iterator[None]:
    """The detector's refusals mapped onto the API contract: no model 503, too large 413, not an image 400,
    too many frames waiting or the database locked too long 503 + Retry-After (nothing stored)."""
    try:
        yield
    except ModelUnavailable as exc:
        raise ServiceUnavailable(str(exc)) from exc
    except Overloaded as exc:
        raise Busy(f"The server is busy ({exc}); nothing was stored, send the frame again after "
                   f"{Busy.wait} s.") from exc
    except OperationalError as exc:
        if not database_busy(exc):
            raise
        raise Busy("The database stayed locked past its busy timeout; nothing was stored, send the frame "
                   f"again after {Busy.wait} s.") from exc
    except ImageTooLarge as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except ImageRejected as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def analyze_upload(data: bytes, *, timer: StageTimer | None = None, conf: float | None = None) -> DetectionResult:
    """frame_analyze with its failures mapped onto the API contract (the Inspector: look, never store)."""
    with upload_errors():
        return frame_analyze(data=data, timer=timer, conf=conf)
