"""Django's ASGI handler with the middleware chain and the view run in one thread hop.

Every view here is synchronous (DRF, the admin, the HTMX pages; the only async code is the
Channels consumers, which do not pass through this handler). Django's stock ASGIHandler builds an
async middleware chain, so each MiddlewareMixin middleware hands its ``process_request`` and
``process_response`` to the request's thread and back, and ``process_view`` and the view do too:
about 15 round trips between the event loop and the request thread per request, each a future, a
thread wake-up and a loop wake-up. This handler builds the chain as WSGI does (all sync) and runs
``get_response`` once in the request's thread: one round trip. The loop still reads the body,
sends the response and fires ``request_started`` / ``request_finished`` exactly as before, and the
request still runs in its own thread-sensitive context (its own thread, so the database connection
never crosses threads).

Measured with ``python -m benchmarks.ingest_overhead`` (README "Performance").
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncViewsASGIHandler(ASGIHandler):
    """ASGIHandler for a site whose views are all sync: one hop to the request thread per request."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncViewsASGIHandler:
    """django.core.asgi.get_asgi_application(), with the handler above."""
    django.setup(set_prefix=False)
    return SyncViewsASGIHandler()
