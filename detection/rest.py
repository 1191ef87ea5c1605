"""The API pieces every people-facing and camera-facing endpoint of detection shares: the 400 error,
the dashboard-role permission, the JSON exception handler (settings.REST_FRAMEWORK) and the documented
error answers. Imports no room of detection, so any room's API (and the dashboard) may use it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.views import exception_handler as drf_exception_handler


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


def exception_handler(exc, context):
    """DRF's handler, plus: every error body carries a human-readable `detail` string."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        fields = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in response.data.items())
        response.data = {"detail": f"Invalid input. {fields}", "errors": response.data}
    return response


ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
# Answers DRF gives before a view's code runs, documented on every operation they apply to.
NOT_ACCEPTABLE = OpenApiResponse(ERROR, description="The Accept header excludes application/json, "
                                 "and every answer is JSON.")
UNSUPPORTED_MEDIA = OpenApiResponse(ERROR, description="The body is not multipart/form-data.")
