"""`/api/v1/cameras/<slug>/zones/`: read and replace a camera's counting zones (people, session auth).

The same action as the camera page's zone editor (dashboard/camera.py), for scripts and for sites
that manage many cameras: the work is done by detection.stock.services.stock_zones_update, which counts
again at once from the kept events' boxes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.rest import BadRequest, CanViewStock
from detection.stock.models import StockState
from detection.stock.services import stock_zones_update
from detection.stock.zones import MAX_POINTS, MAX_ZONES
from devices.models import Camera

ERROR = inline_serializer("ZonesError", {"detail": serializers.CharField()})
POINT = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class CanChangeZonesOnWrite(BasePermission):
    message = "Changing counting zones needs the 'change stock state' permission (Managers)."

    def has_permission(self, request, view) -> bool:
        return request.method in ("GET", "HEAD", "OPTIONS") or request.user.has_perm("detection.change_stockstate")


class Zones(serializers.Serializer):
    camera = serializers.CharField(source="camera.slug", read_only=True)
    zones = serializers.ListField(
        child=serializers.ListField(child=POINT),
        help_text=f"Polygons of [x, y] points, 0..1 of the frame (x right, y down); 3 to {MAX_POINTS} points "
                  f"each, not crossing themselves, at most {MAX_ZONES}. Only packages whose box centre lies in "
                  "a zone are counted. [] = the whole frame.")
    raw_count = serializers.IntegerField(read_only=True, allow_null=True, help_text="Latest frame, counted in the zones.")
    smoothed_count = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.CharField(source="count_status", read_only=True)


def _state(slug: str) -> StockState:
    camera = Camera.objects.filter(slug=slug).first()
    if camera is None:
        raise NotFound(f"Unknown camera {slug[:50]!r}.")
    state, _ = StockState.objects.select_related("camera").get_or_create(camera=camera)
    return state


class CameraZonesView(APIView):
    permission_classes = [IsAuthenticated, CanViewStock, CanChangeZonesOnWrite]

    @extend_schema(
        operation_id="camera_zones_read", tags=["zones"], summary="A camera's counting zones",
        responses={200: Zones, 403: OpenApiResponse(ERROR, description="Not logged in, or no dashboard role."),
                   404: OpenApiResponse(ERROR, description="No such camera.")},
    )
    def get(self, request, slug: str):
        return Response(Zones(_state(slug)).data)

    @extend_schema(
        operation_id="camera_zones_replace", tags=["zones"], request=Zones,
        summary="Replace a camera's counting zones",
        description="Validates every polygon, saves them and counts again at once from the boxes kept with "
                    "the camera's events: the answer carries the new count and status (a status change is "
                    "on the timeline and alerts as a threshold change does). Session auth (and its CSRF "
                    "token), like the dashboard.",
        responses={200: Zones,
                   400: OpenApiResponse(ERROR, description="Invalid zones; `detail` gives every reason."),
                   403: OpenApiResponse(ERROR, description="Not logged in, or not a manager."),
                   404: OpenApiResponse(ERROR, description="No such camera.")},
    )
    def put(self, request, slug: str):
        state = _state(slug)
        if not isinstance(request.data, dict) or "zones" not in request.data:
            raise BadRequest('Send {"zones": [...]}: a list of polygons, each a list of [x, y] points ([] = whole frame).')
        try:  # validated by the service itself, which names every problem (zone, point, crossing edges)
            state = stock_zones_update(camera=state.camera, zones=request.data["zones"])
        except DjangoValidationError as exc:
            raise BadRequest(" ".join(exc.messages)) from exc
        return Response(Zones(state).data)
