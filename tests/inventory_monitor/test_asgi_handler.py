"""The ASGI handler runs the middleware chain and the (sync) view in one hop to the request thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import iscoroutinefunction
from django.db import connection, connections
from django.http import HttpResponse, JsonResponse
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


def db_view(request):
    """Which thread served the request and which database connection it used."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"thread": threading.get_ident(), "connection": id(connection.connection)})


urlpatterns = [path("probe/", view), path("db/", db_view)]


def _scope(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"",
            "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1), "server": ("localhost", 80)}


async def _request(handler, path: str) -> tuple[int, bytes]:
    """One GET through the handler: (status, body)."""
    answer: dict = {}
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(60)  # the client stays connected until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")
        else:
            answer[message["type"]] = message

    await handler(_scope(path), receive, send)
    return answer["http.response.start"]["status"], answer.get("body", b"")


async def _get(handler, path: str) -> dict:
    """One GET through the handler; the JSON answer."""
    status, body = await _request(handler, path)
    assert status == 200
    return json.loads(body)


async def _two_gets(handler) -> tuple[dict, dict]:
    """Two requests one after the other: a lane is free again for the second."""
    return await _get(handler, "/db/"), await _get(handler, "/db/")


def _lane_connection_open(handler) -> list[bool]:
    """For each idle lane: does its thread still hold an open database connection?"""
    def check() -> bool:
        return connection.connection is not None
    return [lane.submit(check).result() for lane in handler.lanes._free]


def test_the_server_uses_it():
    assert isinstance(django_asgi_app, SyncViewsASGIHandler)
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)  # built as WSGI builds it


@pytest.mark.django_db(transaction=True)
def test_the_middleware_and_the_view_run_in_one_request_thread_off_the_loop(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [f"{__name__}.RecordingMiddleware", *settings.MIDDLEWARE, f"{__name__}.RecordingMiddleware"]
    handler = SyncViewsASGIHandler()
    seen_threads.clear()

    async def call():
        status, _ = await _request(handler, "/probe/")
        return status, threading.get_ident()

    status, loop_thread = asyncio.run(call())
    assert status == 200
    assert len(seen_threads) == 3 and len(set(seen_threads)) == 1  # outer middleware, inner middleware, view
    assert seen_threads[0] != loop_thread


@pytest.fixture
def db_urls(settings, monkeypatch):
    settings.ROOT_URLCONF = __name__
    # Connections are configured once per process: set the age where each connection reads it.
    yield lambda age: monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", age)
    for handler in handlers:
        handler.lanes.close()  # their kept connections (PostgreSQL will not drop a database in use)
    handlers.clear()


handlers: list[SyncViewsASGIHandler] = []


def _handler() -> SyncViewsASGIHandler:
    handlers.append(SyncViewsASGIHandler())
    return handlers[-1]


@pytest.mark.django_db(transaction=True)
def test_it_serves_the_next_request_on_the_same_thread_and_connection(db_urls):
    # A new thread and a new connection per request cost about 1.5 ms of CPU per frame (README
    # "Performance"): with DB_CONN_MAX_AGE > 0 the second request reuses both.
    db_urls(60)
    handler = _handler()

    first, second = asyncio.run(_two_gets(handler))
    assert first == second
    assert handler.lanes.started == 1
    assert _lane_connection_open(handler) == [True]


@pytest.mark.django_db(transaction=True)
def test_it_closes_the_connection_of_a_lane_beyond_the_kept_ones(db_urls):
    db_urls(60)
    handler = _handler()
    asyncio.run(_get(handler, "/db/"))
    lane = handler.lanes.take()
    raw = lane.submit(lambda: connection.connection).result()
    handler.lanes.keep = 0
    handler.lanes.give_back(lane)
    lane.shutdown(wait=True)
    with pytest.raises(Exception):  # sqlite3.ProgrammingError / psycopg InterfaceError: closed
        raw.cursor().execute("SELECT 1")


@pytest.mark.django_db(transaction=True)
def test_it_closes_the_connection_after_each_request_when_conn_max_age_is_0(db_urls):
    db_urls(0)
    handler = _handler()

    first, second = asyncio.run(_two_gets(handler))
    assert first["thread"] == second["thread"]  # the lane is kept
    assert _lane_connection_open(handler) == [False]  # Django's request_finished closed it, in the lane


@pytest.mark.django_db(transaction=True)
def test_it_runs_concurrent_requests_on_separate_threads_and_keeps_at_most_the_limit(db_urls):
    db_urls(60)
    handler = _handler()
    handler.lanes.keep = 2

    async def many():
        return await asyncio.gather(*(_get(handler, "/db/") for _ in range(4)))

    answers = asyncio.run(many())
    assert handler.lanes.started == len({answer["thread"] for answer in answers}) == 4
    assert handler.lanes.idle() == 2


@pytest.mark.django_db(transaction=True)
def test_closing_the_lanes_closes_their_connections(db_urls):
    db_urls(60)
    handler = _handler()
    asyncio.run(_get(handler, "/db/"))
    lane = handler.lanes._free[0]
    raw = lane.submit(lambda: connection.connection).result()
    handler.lanes.close()
    assert handler.lanes.idle() == 0
    with pytest.raises(Exception):
        raw.cursor().execute("SELECT 1")


@pytest.mark.django_db(transaction=True)
def test_lanes_idle_for_long_end_with_their_connections_and_busy_ones_stay(db_urls):
    # A burst of frames opens a lane per request in flight; once it is over, the lanes it left idle
    # end (closing their connections) instead of holding their memory until the worker stops.
    db_urls(60)
    handler = _handler()

    async def burst():
        return await asyncio.gather(*(_get(handler, "/db/") for _ in range(4)))

    asyncio.run(burst())
    assert handler.lanes.idle() == 4
    raws = [lane.submit(lambda: connection.connection).result() for lane in handler.lanes._free]
    time.sleep(0.3)
    busy = asyncio.run(_get(handler, "/db/"))  # steady traffic: the most recently used lane again
    assert handler.lanes.retire_idle(0.2) == 3
    assert handler.lanes.idle() == 1
    assert _lane_connection_open(handler) == [True]
    assert asyncio.run(_get(handler, "/db/"))["thread"] == busy["thread"]
    closed = 0
    for raw in raws:
        try:
            raw.cursor().execute("SELECT 1")
        except Exception:  # sqlite3.ProgrammingError / psycopg InterfaceError: closed
            closed += 1
    assert closed == 3


@pytest.mark.django_db(transaction=True)
def test_the_worker_memory_loop_ends_idle_request_threads(settings):
    from inventory_monitor.memory import _release_and_trim

    asyncio.run(_request(django_asgi_app, "/healthz"))
    assert django_asgi_app.lanes.idle() >= 1
    settings.REQUEST_THREAD_IDLE_S = 0  # 0: kept
    _release_and_trim()
    assert django_asgi_app.lanes.idle() >= 1
    settings.REQUEST_THREAD_IDLE_S = 1
    time.sleep(1.05)
    _release_and_trim()
    assert django_asgi_app.lanes.idle() == 0
