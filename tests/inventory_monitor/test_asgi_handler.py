"""The ASGI handler runs the middleware chain and the (sync) view in one hop to the request thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.urls import path

from inventory_monitor.asgi import django_asgi_app
from inventory_monitor.asgi_handler import SyncViewsASGIHandler

seen_threads: list[int] = []


class RecordingMiddleware:
    """Notes the thread each middleware layer and the view run in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        seen_threads.append(threading.get_ident())
        return self.get_response(request)


def view(request):
    seen_threads.append(threading.get_ident())
    return HttpResponse("ok")


urlpatterns = [path("probe/", view)]


def test_the_server_uses_it():
    assert isinstance(django_asgi_app, SyncViewsASGIHandler)
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)  # built as WSGI builds it


@pytest.mark.django_db(transaction=True)
def test_the_middleware_and_the_view_run_in_one_request_thread_off_the_loop(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [f"{__name__}.RecordingMiddleware", *settings.MIDDLEWARE, f"{__name__}.RecordingMiddleware"]
    handler = SyncViewsASGIHandler()
    seen_threads.clear()
    answer: dict = {}
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(60)  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message):
        answer.setdefault(message["type"], message)

    async def call():
        scope = {"type": "http", "method": "GET", "path": "/probe/", "query_string": b"",
                 "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1), "server": ("localhost", 80)}
        await handler(scope, receive, send)
        return threading.get_ident()

    loop_thread = asyncio.run(call())
    assert answer["http.response.start"]["status"] == 200
    assert len(seen_threads) == 3 and len(set(seen_threads)) == 1  # outer middleware, inner middleware, view
    assert seen_threads[0] != loop_thread
