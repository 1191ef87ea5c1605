"""Camera-facing API: `POST /api/v1/frames/`, `POST /api/v1/heartbeat/`, and `GET /healthz`.

The contract is in ARCHITECTURE.md; cameras in the field depend on it, so every status code here
is covered by tests/detection/test_ingest.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from detection.detector import DetectionResult, ImageRejected, ImageTooLarge
from detection.frames import frame_store
from detection.models import DetectionEvent, FrameReceipt
from detection.receipts import (
    FrameAlreadyRecorded,
    IdempotencyKeyReused,
    IdempotentFrame,
    InvalidIdempotencyKey,
    frame_fingerprint,
    frame_receipt_check,
    frame_receipt_find,
    idempotency_key_parse,
)
from detection.model_versions import active_version, version_label
from detection.runtime import ModelUnavailable, detector_ready, get_detector, serving, serving_failure
from detection.review import review_sample
from detection.services import StageTimer, frame_analyze, frame_record
from devices.authentication import DeviceKeyAuthentication, IsCamera
from devices.services import camera_mark_seen
from inventory_monitor import dyndns, metrics


class BadRequest(APIException):
    """400 with a `detail` saying what to change (the people-facing endpoints: history, flags, zones)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


class CanViewStock(BasePermission):
    """People with a dashboard role: what the dashboard's pages need, for the read endpoints beside them."""

    message = "This needs a dashboard role (Operators, Managers or Auditors)."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("detection.view_stockstate")


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class IdempotencyConflict(APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was already used for a different frame."
    default_code = "idempotency_key_reused"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The detection model is not loaded; try again later."
    default_code = "model_unavailable"


def exception_handler(exc, context):
    """DRF's handler, plus: every error body carries a human-readable `detail` string."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        fields = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in response.data.items())
        response.data = {"detail": f"Invalid input. {fields}", "errors": response.data}
    return response


class CameraRateThrottle(SimpleRateThrottle):
    """Per-camera flood guard. Counters live in Django's cache: Redis when REDIS_URL is set, so all
    workers share one budget per camera; one camera's flood never slows the others."""

    scope = "camera_frames"

    def get_rate(self) -> str:
        return f"{settings.INGEST_RATE_FRAMES}/{settings.INGEST_RATE_WINDOW_S}s"

    def parse_rate(self, rate):
        frames, seconds = rate.split("/")
        return int(frames), int(seconds.rstrip("s"))

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.camera.pk}


class FrameInput(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP frame.", allow_empty_file=False)
    captured_at = serializers.DateTimeField(
        required=False,
        help_text="When the camera took the frame (ISO 8601; without an offset it is read in the server's "
        "TIME_ZONE). Optional: omitted or empty means unknown, answered as null.",
    )


class FrameOutput(serializers.Serializer):
    event_id = serializers.IntegerField()
    camera = serializers.SlugField()
    count = serializers.IntegerField(help_text="Packages detected in this frame (not counted as stock when FAULT).")
    smoothed_count = serializers.IntegerField(
        allow_null=True,
        help_text="Median of the last K counts of countable frames; the status follows it. Null only when a FAULT "
        "frame arrives before any countable one.",
    )
    status = serializers.ChoiceField(
        choices=["CRITICAL", "WARNING", "FULL", "FAULT"],
        help_text="FAULT: this frame cannot be counted (too dark, uniform, small, or the same image again and "
        "again); see `fault`. The camera's stock status stays at its last good reading.",
    )
    fault = serializers.CharField(allow_null=True, help_text="Why the frame cannot be counted; null when it can.")
    inference_ms = serializers.FloatField()
    captured_at = serializers.DateTimeField(allow_null=True)


ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
# Answers DRF gives before a view's code runs, documented on every operation they apply to.
NOT_ACCEPTABLE = OpenApiResponse(ERROR, description="The Accept header excludes application/json, "
                                 "and every answer is JSON.")
UNSUPPORTED_MEDIA = OpenApiResponse(ERROR, description="The body is not multipart/form-data.")


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


def analyze_upload(data: bytes, *, timer: StageTimer | None = None, conf: float | None = None) -> DetectionResult:
    """frame_analyze with its failures mapped onto the API contract: 503, 413 or 400."""
    try:
        return frame_analyze(data=data, timer=timer, conf=conf)
    except ModelUnavailable as exc:
        raise ServiceUnavailable(str(exc)) from exc
    except ImageTooLarge as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except ImageRejected as exc:
        raise ValidationError({"detail": str(exc)}) from exc


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Optional, one per frame (e.g. a UUID), the same on every retry of that frame: a frame sent "
    "again with a key already stored (within INGEST_IDEMPOTENCY_WINDOW_S, default 1 h) gets the first 201 "
    "back, with `Idempotent-Replayed: true`, and is not stored again. 1-255 visible ASCII characters.",
)


class FrameIngestView(APIView):
    """A camera posts a frame; the answer carries the count and the stock status."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsCamera]
    throttle_classes = [CameraRateThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="frames_create",
        request=FrameInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: FrameOutput,
            400: OpenApiResponse(ERROR, description="Not a decodable JPEG/PNG/WebP image, or a bad field."),
            401: OpenApiResponse(ERROR, description="Missing, wrong or revoked key, or inactive camera."),
            406: NOT_ACCEPTABLE,
            413: OpenApiResponse(ERROR, description="Too many bytes or pixels (decompression bombs included)."),
            415: UNSUPPORTED_MEDIA,
            422: OpenApiResponse(ERROR, description="The Idempotency-Key already came with a different frame."),
            429: OpenApiResponse(ERROR, description="Too many frames from this camera; see Retry-After."),
            503: OpenApiResponse(ERROR, description="The detection model is not loaded."),
        },
    )
    def post(self, request):
        camera = request.user.camera
        key = self._idempotency_key(request)
        fields, data = validated_upload(request, FrameInput)
        captured_at = fields.get("captured_at")
        frame = None
        if key is not None:
            fingerprint = frame_fingerprint(data=data, captured_at=captured_at)
            if (receipt := self._receipt(request)) is not None:
                return self._replay(receipt, fingerprint)
            frame = IdempotentFrame(key=key, fingerprint=fingerprint, answer=lambda event: self._answer(camera, event))
        timer = StageTimer()
        result = analyze_upload(data, timer=timer)
        # Written before the transaction (no I/O while the camera's row is locked); frame_record keeps
        # it with the event, or deletes it if the event is not stored.
        stored = timer.run("store", frame_store, camera_slug=camera.slug, data=data)
        try:
            event = timer.run("persist", frame_record, camera=camera, result=result, captured_at=captured_at,
                              idempotent=frame, frame=stored)
        except FrameAlreadyRecorded as exc:  # a copy of this frame, in flight at the same time, was first
            return self._replay(exc.receipt, frame.fingerprint)
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from exc
        metrics.frame_timed(stages=timer.stages, inference_ms=result.inference_ms)
        # Committed: maybe keep a low-confidence frame for review (REVIEW_SAMPLE_RATE; 0 by default, and
        # then this costs nothing; when on, only the sampled share pays for a query and a storage copy).
        review_sample(event_id=event.pk)
        return Response(self._answer(camera, event), status=status.HTTP_201_CREATED,
                        headers={"Server-Timing": timer.header()})

    def finalize_response(self, request, response, *args, **kwargs):
        # Every answer, errors included: the camera is known once authentication ran and succeeded.
        principal = getattr(request, "_user", None)
        metrics.frame_answered(camera=getattr(getattr(principal, "camera", None), "slug", ""),
                               code=response.status_code)
        return super().finalize_response(request, response, *args, **kwargs)

    def check_throttles(self, request) -> None:
        # A retry of a stored frame is answered from its receipt (no model run, nothing stored): it is
        # not a new frame against the camera's budget, and a 429 would only make the camera retry again.
        if self._receipt(request) is None:
            super().check_throttles(request)

    @staticmethod
    def _idempotency_key(request) -> str | None:
        try:
            return idempotency_key_parse(request.headers.get("Idempotency-Key"))
        except InvalidIdempotencyKey as exc:
            raise ValidationError({"detail": str(exc)}) from exc

    def _receipt(self, request) -> FrameReceipt | None:
        """The live receipt for this request's key (looked up once per request)."""
        if not hasattr(self, "_found_receipt"):
            key = self._idempotency_key(request)
            self._found_receipt = frame_receipt_find(camera=request.user.camera, key=key) if key else None
        return self._found_receipt

    @staticmethod
    def _replay(receipt: FrameReceipt, fingerprint: str) -> Response:
        try:
            frame_receipt_check(receipt, fingerprint)
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from exc
        return Response(receipt.body, status=status.HTTP_201_CREATED, headers={"Idempotent-Replayed": "true"})

    @staticmethod
    def _answer(camera, event: DetectionEvent) -> dict:
        return dict(FrameOutput(
            {
                "event_id": event.pk,
                "camera": camera.slug,
                "count": event.raw_count,
                "smoothed_count": event.smoothed_count,
                "status": event.status,
                "fault": event.fault or None,
                "inference_ms": event.inference_ms,
                "captured_at": event.captured_at,
            }
        ).data)


class HeartbeatView(APIView):
    """A camera with nothing to send says it is alive, so it does not turn OFFLINE."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(
        operation_id="heartbeat_create",
        request=None,
        responses={204: None, 401: OpenApiResponse(ERROR, description="Bad, revoked or missing key."),
                   406: NOT_ACCEPTABLE},
    )
    def post(self, request):
        camera_mark_seen(camera=request.user.camera)
        return Response(status=status.HTTP_204_NO_CONTENT)


def model_versions_health(*, detailed: bool = False) -> dict:
    """Which version this worker serves and which one the database says is active (ids: None = the
    bundled file). Out of step for a few seconds after a switch, or while a version fails to load
    here (model_error): neither is a reason for 503, since this worker still counts frames.

    /healthz answers anyone (load balancers): the load error's own text (file names, filesystem
    paths) only to staff (``detailed``); everyone else reads that it failed and where to look."""
    model = serving()
    body = {"model_serving": model.label, "model_serving_id": model.version_id}
    try:
        active = active_version()
    except Exception as exc:  # the database check above already reports it
        body["model_active"] = f"unknown: {exc.__class__.__name__}"
        return body
    body["model_active"] = version_label(active) if active else "bundled"
    body["model_active_id"] = active.pk if active else None
    body["model_in_sync"] = body["model_active_id"] == model.version_id
    if (failure := serving_failure()) is not None:
        body["model_error"] = (failure["error"] if detailed else
                               f"model version {'#%s' % failure['version_id'] if failure['version_id'] else 'bundled'} "
                               "failed to load on this worker; "
                               "the reason is in the server log")
    return body


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
        user = getattr(request, "user", None)
        body.update(model_versions_health(detailed=bool(user is not None and user.is_staff)))
    if (dns := dyndns.last_result()) is not None:
        body["dyndns"] = dns  # shown, never a reason for 503: serving does not depend on it
    return JsonResponse(body, status=200 if healthy else 503)
