"""`POST /api/v1/inspect/`: the Vision Inspector's endpoint for people (auditors), not cameras.

Runs the served model on an uploaded image and returns every box down to a low confidence, so the
page can re-filter with its slider without uploading again. It never touches stock state or the
activity log: inspecting is looking, not counting.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from detection.ingest.services import StageTimer
from detection.ingest.uploads import ServiceUnavailable, analyze_upload, validated_upload
from detection.rest import ERROR, NOT_ACCEPTABLE, UNSUPPORTED_MEDIA
from detection.serving.runtime import ModelUnavailable, get_detector

# Boxes below this are noise even for an auditor; NMS at this floor keeps every box that the
# serving threshold would keep (greedy NMS only lets higher-scoring boxes suppress lower ones).
INSPECT_MIN_CONFIDENCE = 0.05


class CanInspectFrames(BasePermission):
    message = "The Vision Inspector needs the 'inspect frames' permission (Auditors group)."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("detection.inspect_frames")


class InspectThrottle(UserRateThrottle):
    """Each inspection costs a full model run; keep one auditor from starving the cameras."""

    rate = "60/min"


class InspectInput(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP image.", allow_empty_file=False)


class BoxOutput(serializers.Serializer):
    x1 = serializers.FloatField()
    y1 = serializers.FloatField()
    x2 = serializers.FloatField()
    y2 = serializers.FloatField()
    score = serializers.FloatField()
    class_id = serializers.IntegerField()
    label = serializers.CharField()


class InspectOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Boxes at or above the serving confidence (what a camera would get).")
    serving_confidence = serializers.FloatField()
    min_confidence = serializers.FloatField(help_text="Boxes are returned down to this score.")
    boxes = BoxOutput(many=True, help_text="In original-image pixels (xyxy), highest score first.")
    image_width = serializers.IntegerField()
    image_height = serializers.IntegerField()
    model_name = serializers.CharField()
    model_version = serializers.CharField()
    input_size = serializers.IntegerField()
    inference_ms = serializers.FloatField()
    decode_ms = serializers.FloatField()


def get_detector_or_503():
    try:
        return get_detector()
    except ModelUnavailable as exc:
        raise ServiceUnavailable(str(exc)) from exc


class InspectView(APIView):
    authentication_classes = [SessionAuthentication]  # enforces CSRF for logged-in sessions
    permission_classes = [IsAuthenticated, CanInspectFrames]
    throttle_classes = [InspectThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="inspect_create",
        request=InspectInput,
        responses={
            200: InspectOutput,
            400: OpenApiResponse(ERROR, description="Not a decodable JPEG/PNG/WebP image."),
            403: OpenApiResponse(ERROR, description="Not logged in, no CSRF token, or not an auditor."),
            406: NOT_ACCEPTABLE,
            413: OpenApiResponse(ERROR, description="Too many bytes or pixels (decompression bombs included)."),
            415: UNSUPPORTED_MEDIA,
            429: OpenApiResponse(ERROR, description=f"More than {InspectThrottle.rate} inspections from this "
                                 "user; see Retry-After."),
            503: OpenApiResponse(ERROR, description="The detection model is not loaded."),
        },
    )
    def post(self, request):
        _, data = validated_upload(request, InspectInput)
        detector = get_detector_or_503()
        timer = StageTimer()
        result = analyze_upload(data, timer=timer, conf=min(INSPECT_MIN_CONFIDENCE, detector.conf))
        decode_ms = timer.stages["decode"]
        boxes = sorted(result.detections, key=lambda d: d.score, reverse=True)
        body = InspectOutput(
            {
                "count": sum(1 for box in boxes if box.score >= detector.conf),
                "serving_confidence": detector.conf,
                "min_confidence": min(INSPECT_MIN_CONFIDENCE, detector.conf),
                "boxes": [
                    {"x1": round(b.x1, 1), "y1": round(b.y1, 1), "x2": round(b.x2, 1), "y2": round(b.y2, 1),
                     "score": round(b.score, 4), "class_id": b.class_id,
                     "label": detector.class_names.get(b.class_id, str(b.class_id))}
                    for b in boxes
                ],
                "image_width": result.image_width,
                "image_height": result.image_height,
                "model_name": detector.model_name,
                "model_version": detector.version,
                "input_size": detector.input_size,
                "inference_ms": round(result.inference_ms, 2),
                "decode_ms": round(decode_ms, 2),
            }
        ).data
        return Response(body)
