"""`POST /api/v1/events/<id>/flag/`: mark an event's count as wrong (people, session auth).

The same action as the camera page's "Count is wrong" form (dashboard/review.py), for scripts and
integrations; the work is done by detection.review.services.review_flag.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.rest import BadRequest
from detection.review.services import MAX_CORRECT_COUNT, NOTE_MAX, review_flag
from detection.stock.models import DetectionEvent

ERROR = inline_serializer("ReviewError", {"detail": serializers.CharField()})


class CanFlagCounts(BasePermission):
    message = "Marking a count as wrong needs the 'flag count' permission (Operators, Managers)."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("detection.flag_count")


class EventFlagView(APIView):
    permission_classes = [IsAuthenticated, CanFlagCounts]

    class Input(serializers.Serializer):
        correct_count = serializers.IntegerField(min_value=0, max_value=MAX_CORRECT_COUNT,
                                                 help_text="The count a person sees in the frame.")
        note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX, default="")

    class Output(serializers.Serializer):
        review_id = serializers.IntegerField(source="pk")
        event_id = serializers.IntegerField()
        camera = serializers.CharField(source="camera.slug")
        reason = serializers.CharField()
        model_count = serializers.IntegerField()
        correct_count = serializers.IntegerField()
        note = serializers.CharField()

    @extend_schema(
        operation_id="event_flag", tags=["review"], request=Input,
        summary="Mark an event's count as wrong",
        description="Copies the event's kept frame and the model's boxes into the review set (or upgrades "
                    "its low-confidence sample), with the right count. Flagging again keeps one copy; the "
                    "latest count wins. Session auth (and its CSRF token), like the dashboard.",
        responses={
            201: Output,
            400: OpenApiResponse(ERROR, description="Bad count, no kept frame, or the review set is full."),
            403: OpenApiResponse(ERROR, description="Not logged in, or without the 'flag count' permission."),
            404: OpenApiResponse(ERROR, description="No such event (only each camera's last events are kept)."),
        },
    )
    def post(self, request, event_id: int):
        event = DetectionEvent.objects.select_related("camera").filter(pk=event_id).first()
        if event is None:
            raise NotFound("No such event; only each camera's last events are kept.")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            frame = review_flag(event=event, user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise BadRequest(" ".join(exc.messages)) from exc
        return Response(self.Output(frame).data, status=status.HTTP_201_CREATED)
