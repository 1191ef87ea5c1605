"""The address a request really came from, for login throttling (django-axes)."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip_behind_proxy(request: HttpRequest) -> str:
    """The client our load balancer saw: the last X-Forwarded-For entry, which the balancer appends.

    Entries before it are whatever the client sent and can be forged, so they are ignored. Used only
    with BEHIND_TLS_PROXY=1 (one trusted proxy in front, e.g. the ALB); without a proxy, or when the
    header is missing, the connecting address counts.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.META.get("REMOTE_ADDR", "")
