"""The request gate's policy (inventory_monitor/request_gate.py) without a server: what a request
whose headers are in gets before its body is read. The live behaviour is in test_request_limits.py."""

from __future__ import annotations

import json
import threading

import pytest

from inventory_monitor.request_gate import Gate, Refusal

LIMIT = 1000
KEY = "sim_0123abcd_" + "s" * 43


@pytest.fixture
def gate() -> Gate:
    return Gate(max_bytes=LIMIT, camera_paths={"/api/v1/frames/", "/api/v1/heartbeat/"},
                draining=threading.Event(), lookup_key=lambda raw_key: raw_key == KEY)


def test_a_camera_upload_without_credentials_is_refused_with_the_api_401(gate) -> None:
    refusal = gate.judge(path="/api/v1/frames/", authorization=None, length=10**9)
    assert refusal.status == 401
    assert dict(refusal.headers)["WWW-Authenticate"] == 'Bearer realm="cameras"'
    assert refusal.detail == "Authentication credentials were not provided."  # what DRF says


@pytest.mark.parametrize("header,detail", [
    (b"Bearer two parts", "Malformed Authorization header"),
    (b"Bearer not-a-device-key", "Invalid, revoked or inactive-camera device key."),
])
def test_a_malformed_key_is_refused_without_a_lookup(gate, header, detail) -> None:
    refusal = gate.judge(path="/api/v1/frames/", authorization=header, length=None)
    assert refusal.status == 401 and refusal.detail.startswith(detail)


def test_a_well_formed_key_is_looked_up_once_then_remembered(gate) -> None:
    assert gate.judge(path="/api/v1/frames/", authorization=f"Bearer {KEY}".encode(), length=500) == KEY
    assert gate.check_key(KEY).result(timeout=5) is True
    assert gate.judge(path="/api/v1/frames/", authorization=f"Bearer {KEY}".encode(), length=500) is None
    # Once the key has passed, the size decides.
    assert gate.judge(path="/api/v1/frames/", authorization=f"Bearer {KEY}".encode(), length=LIMIT + 1).status == 413


def test_an_unknown_key_is_not_remembered(gate) -> None:
    other = "sim_99999999_" + "x" * 43
    assert gate.check_key(other).result(timeout=5) is False
    assert gate.judge(path="/api/v1/frames/", authorization=f"Bearer {other}".encode(), length=5) == other


def test_other_paths_are_only_held_to_the_size_limit(gate) -> None:
    assert gate.judge(path="/accounts/login/", authorization=None, length=LIMIT) is None
    assert gate.judge(path="/accounts/login/", authorization=None, length=None) is None  # counted as it streams
    refusal = gate.judge(path="/accounts/login/", authorization=None, length=LIMIT + 1)
    assert refusal.status == 413 and f"{LIMIT + 1:,} bytes" in refusal.detail


def test_a_camera_call_without_a_body_is_left_to_the_api(gate) -> None:
    assert gate.judge(path="/api/v1/heartbeat/", authorization=None, length=0) is None


def test_a_draining_worker_refuses_everything_with_a_retryable_503(gate) -> None:
    gate.draining.set()
    refusal = gate.judge(path="/healthz", authorization=None, length=0)
    assert refusal.status == 503 and dict(refusal.headers)["Retry-After"] == "1"


def test_a_refusal_is_a_complete_json_answer_that_closes_the_connection() -> None:
    raw = Refusal(413, "Too big.").response()
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {"detail": "Too big."}
