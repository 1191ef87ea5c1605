"""Daphne/Twisted hooks that keep the hot path lean (inventory_monitor/daphne_tweaks.py)."""

from __future__ import annotations

import io

from daphne.http_protocol import WebRequest
from twisted.web import http

import inventory_monitor.asgi  # noqa: F401  (installs the hooks, as in a worker)
from inventory_monitor.daphne_tweaks import MEMORY_BODY_MAX_BYTES


def _request_buffer(length: int | None):
    request = WebRequest.__new__(WebRequest)  # no Daphne server behind it: only the body buffer matters
    http.Request.gotLength(request, length)
    return request.content


def test_it_keeps_a_camera_frame_body_in_memory_instead_of_a_temporary_file():
    # Twisted writes bodies of 100,000 bytes and more to disk and Daphne reads them back: about
    # 0.8 ms of CPU per 200 KB frame.
    assert isinstance(_request_buffer(200_000), io.BytesIO)
    assert isinstance(_request_buffer(MEMORY_BODY_MAX_BYTES), io.BytesIO)


def test_it_still_spools_large_and_chunked_bodies_to_disk():
    assert not isinstance(_request_buffer(MEMORY_BODY_MAX_BYTES + 1), io.BytesIO)
    assert not isinstance(_request_buffer(None), io.BytesIO)
