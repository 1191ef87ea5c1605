"""The API pieces every people-facing and camera-facing endpoint of detection shares: the 400 error,
the dashboard-role permission, the JSON exception handler and JSON parser (settings.REST_FRAMEWORK),
the documented error answers, and JSON from people and browsers parsed so that no body answers 500
(json_loads: also for the zones form and the dashboard's socket). Imports no room of detection, so
any room's API (and the dashboard) may use it.

`json.loads` raises RecursionError (not ValueError) on a deeply nested body such as
`"[" * 50000 + "]" * 50000`, which DRF's parser and a bare `except ValueError` let through as a 500;
and a body just shallow enough to parse can still overflow the code that walks it later. So: parse,
turn RecursionError into ValueError, and refuse anything nested deeper than MAX_JSON_DEPTH (no input
of ours needs more than a handful of levels).
"""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.permissions import BasePermission


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
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES when it is imported, and that
    # names this module's JSONParser (a module-level import would be a circle).
    from rest_framework.views import exception_handler as drf_exception_handler

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


MAX_JSON_DEPTH = 32


class TooDeep(ValueError):
    pass


def json_loads(text: str | bytes) -> object:
    """json.loads, raising ValueError (TooDeep) for bodies nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    _check_depth(value)
    return value


def _check_depth(value: object) -> None:
    stack = [(value, 1)]
    while stack:  # iterative: the check itself must not recurse
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the depth rule above: too deep is a 400 like any other malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            return json_loads(stream.read().decode(encoding))
        except ValueError as exc:  # includes UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
