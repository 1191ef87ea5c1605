"""Dynamic DNS against a fake provider on this machine: updated at start-up and periodically, the
answer in /healthz, start-up never held up by a provider that is down or slow, secrets never shown."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from inventory_monitor import dyndns


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer, self.delay = "OK", 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                provider.requests.append({"path": self.path, "headers": dict(self.headers)})
                time.sleep(provider.delay)
                body = provider.answer.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def query(self, index: int = 0) -> dict:
        return parse_qs(urlsplit(self.requests[index]["path"]).query, keep_blank_values=True)


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(autouse=True)
def fresh_updater(monkeypatch, settings):
    """Each test gets its own start/stop switches and no result from an earlier test."""
    monkeypatch.setattr(dyndns, "_started", threading.Event())
    stopped = threading.Event()
    monkeypatch.setattr(dyndns, "_stopped", stopped)
    monkeypatch.setattr(dyndns, "_last", None)
    settings.DUCKDNS_DOMAINS, settings.DUCKDNS_TOKEN, settings.DYNDNS_UPDATE_URL = [], "", ""
    settings.DYNDNS_INTERVAL_S, settings.DYNDNS_TIMEOUT_S = 0, 2
    yield
    stopped.set()


@pytest.fixture
def duckdns(provider, settings):
    settings.DUCKDNS_DOMAINS, settings.DUCKDNS_TOKEN = ["mywarehouse"], "a7c4d0ad-duck-token"
    settings.DUCKDNS_UPDATE_ENDPOINT = f"{provider.base}/update"
    return provider


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.django_db
def test_duckdns_is_updated_at_start_up_and_healthz_shows_the_answer(duckdns, client):
    assert client.get("/healthz").json()["dyndns"] == {"provider": "duckdns", "ok": None, "answer": "not run yet"}
    assert dyndns.start_dyndns()
    assert wait_for(lambda: dyndns.last_result()["ok"] is not None)
    assert duckdns.query() == {"domains": ["mywarehouse"], "token": ["a7c4d0ad-duck-token"], "ip": [""]}
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["dyndns"]["ok"] is True and health.json()["dyndns"]["answer"] == "OK"
    assert "a7c4d0ad" not in health.content.decode()


def test_it_updates_again_every_interval(duckdns, settings):
    settings.DYNDNS_INTERVAL_S = 1
    dyndns.start_dyndns()
    assert wait_for(lambda: len(duckdns.requests) >= 2, timeout=4)


@pytest.mark.django_db
def test_a_provider_that_is_down_or_hangs_never_holds_up_start_up_or_health(provider, settings, client):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.DYNDNS_UPDATE_URL = f"http://127.0.0.1:{unused.getsockname()[1]}/nic/update?hostname=x"
    began = time.monotonic()
    assert dyndns.start_dyndns()
    assert time.monotonic() - began < 0.1
    assert wait_for(lambda: dyndns.last_result()["ok"] is False)
    assert "ConnectionError" in dyndns.last_result()["answer"]
    assert client.get("/healthz").status_code == 200  # serving does not depend on it

    provider.delay, settings.DYNDNS_TIMEOUT_S = 3, 0.3
    settings.DYNDNS_UPDATE_URL = f"{provider.base}/nic/update?hostname=x"
    began = time.monotonic()
    result = dyndns.dyndns_update()
    assert time.monotonic() - began < 2 and not result.ok and "Timeout" in result.answer


def test_duckdns_saying_ko_is_a_failure(duckdns):
    duckdns.answer = "KO"
    assert dyndns.dyndns_update().ok is False


def test_a_generic_update_url_with_credentials_works_and_hides_them(provider, settings):
    settings.DYNDNS_UPDATE_URL = f"http://box:s3cretpw@{provider.base[7:]}/nic/update?hostname=site.example.org"
    provider.answer = "good 203.0.113.7"
    result = dyndns.dyndns_update()
    assert result.ok and result.answer == "good 203.0.113.7"
    assert provider.requests[0]["headers"]["Authorization"].startswith("Basic ")
    provider.answer = "badauth"
    result = dyndns.dyndns_update()
    assert not result.ok and "s3cretpw" not in str(dyndns.last_result())


@pytest.mark.django_db
def test_when_not_configured_nothing_starts_and_healthz_says_nothing(client):
    assert dyndns.start_dyndns() is False
    assert "dyndns" not in client.get("/healthz").json()
