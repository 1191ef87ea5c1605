"""Camera-facing API: `POST /api/v1/frames/` and `POST /api/v1/heartbeat/`.

The contract is in ARCHITECTURE.md; cameras in the field depend on it, so every status code here
is covered by tests/detection/test_ingest.py. The endpoint checks the request (key, size, receipt)
and hands the frame to detection.ingest.services.frame_ingest: analyse, then one transaction in
detection.stock (event, log, state, history, alerts), then the "stock changed" hook.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from detection import metrics
from detection.ingest.models import FrameReceipt
from detection.ingest.receipts import (
    FrameAlreadyRecorded,
    IdempotencyKeyReused,
    IdempotentFrame,
    InvalidIdempotencyKey,
    frame_fingerprint,
    frame_receipt_check,
    frame_receipt_find,
    idempotency_key_parse,
)
from detection.ingest.services import StageTimer, frame_ingest
from detection.ingest.uploads import upload_errors, validated_upload
from detection.rest import ERROR, NOT_ACCEPTABLE, UNSUPPORTED_MEDIA
from detection.stock.models import DetectionEvent
from devices.authentication import DeviceKeyAuthentication, IsCamera
from devices.services import camera_mark_seen


class IdempotencyConflict(APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was already used for a different frame."
    default_code = "idempotency_key_reused"


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


FRAME_OUTPUT = FrameOutput()

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
            503: OpenApiResponse(ERROR, description="The detection model is not loaded, or the server is busy "
                                 "(too many frames waiting, or the database locked): nothing was stored; "
                                 "send the frame again after the Retry-After header's seconds."),
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
        try:
            with upload_errors():
                event = frame_ingest(camera=camera, data=data, captured_at=captured_at, idempotent=frame, timer=timer)
        except FrameAlreadyRecorded as exc:  # a copy of this frame, in flight at the same time, was first
            return self._replay(exc.receipt, frame.fingerprint)
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from exc
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
        # One serializer for every answer: a new one deep-copies its fields first (65 of its 74 us,
        # issue 18); to_representation keeps no state, so threads can share it.
        return FRAME_OUTPUT.to_representation(
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
        )


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
