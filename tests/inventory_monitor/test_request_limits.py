"""Request bodies through the real server stack (Daphne/Twisted): a camera call without a usable key,
or a body over the limit, is answered from its headers, before the body is read; a chunked body is
counted while it streams (refused once past the limit, accepted within it).

Raw sockets where the point is what the server does before the client has sent its body.
"""

from __future__ import annotations

import io
import json
import select
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import SAMPLES
from tests.dashboard.live import Daphne, prepare_database

LIMIT = 1024 * 1024  # INGEST_MAX_BYTES for this server; the request limit adds 64 KiB of multipart framing
GIB = 1024**3


@dataclass
class Live:
    url: str
    port: int
    key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("limits")
    keys = prepare_database(tmp / "db.sqlite3", ["limits-1"])
    server = Daphne(tmp / "db.sqlite3", tmp / "daphne.log", extra_env={"INGEST_MAX_BYTES": str(LIMIT)}).start()
    try:
        yield Live(server.url, server.port, keys["limits-1"])
    finally:
        server.stop()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    body_bytes_sent: int

    def json(self) -> dict:
        return json.loads(self.body)


def exchange(port: int, head: str, chunks: Iterator[bytes] = iter(()), timeout: float = 10) -> Answer:
    """Send the request head, then body chunks only while the server has not answered; read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sent = 0
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # answered: stop sending, as a careful client would
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)  # times out (test fails) while the server waits for the body
            if not more:
                raise AssertionError(f"connection closed without an answer after {sent} body bytes: {data!r}")
            data += more
        head_bytes, body = data.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        while len(body) < int(headers.get("content-length", 0)):
            more = sock.recv(65536)
            if not more:
                break
            body += more
    return Answer(int(status_line.split()[1]), headers, body, sent)


def frame_head(port: int, *, length: int | None, key: str | None = None, boundary: str = "b") -> str:
    lines = ["POST /api/v1/frames/ HTTP/1.1", f"Host: 127.0.0.1:{port}",
             f"Content-Type: multipart/form-data; boundary={boundary}"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    return "\n".join(lines) + "\n"


def zeros(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield bytes(size)


def chunked(parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


def multipart(image: bytes, boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"f.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()


def test_it_refuses_a_keyless_upload_from_its_headers_without_reading_the_body(live) -> None:
    # 1 GiB announced, nothing sent: the answer can only come from the headers.
    answer = exchange(live.port, frame_head(live.port, length=GIB))
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="cameras"'
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["detail"]


def test_it_refuses_a_wrong_key_before_reading_the_body(live) -> None:
    wrong = f"sim_{uuid.uuid4().hex[:8]}_{'x' * 43}"  # well formed, but no such key: needs the database
    answer = exchange(live.port, frame_head(live.port, length=GIB, key=wrong))
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="cameras"'
    assert "key" in answer.json()["detail"]


def test_it_refuses_an_oversize_upload_from_its_content_length_before_reading_it(live) -> None:
    answer = exchange(live.port, frame_head(live.port, length=GIB, key=live.key))
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert "1,073,741,824" in answer.json()["detail"]


def test_it_refuses_a_chunked_body_while_it_streams_once_past_the_limit(live) -> None:
    # Up to 64 MiB offered in 64 KiB chunks; the server must answer long before the end.
    answer = exchange(live.port, frame_head(live.port, length=None, key=live.key), chunked(zeros(64 * 1024 * 1024)))
    assert answer.status == 413
    assert answer.json()["detail"]
    assert answer.body_bytes_sent < 32 * 1024 * 1024


def test_it_accepts_a_chunked_upload_within_the_limit(live) -> None:
    image = (SAMPLES / "warehouse_02.jpg").read_bytes()
    body = multipart(image, "chunky")
    parts = (body[i:i + 16 * 1024] for i in range(0, len(body), 16 * 1024))  # requests sends a generator chunked
    response = requests.post(f"{live.url}/api/v1/frames/", data=parts, timeout=30, headers={
        "Authorization": f"Bearer {live.key}", "Content-Type": "multipart/form-data; boundary=chunky"})
    assert response.status_code == 201, response.text
    assert response.json()["count"] >= 0


def test_an_ordinary_client_that_sends_its_whole_body_still_reads_the_refusal(live) -> None:
    # requests writes the whole body before it reads: the server lets it finish writing (and
    # drops the bytes) instead of resetting the connection under it.
    response = requests.post(f"{live.url}/api/v1/frames/", files={"image": ("f.jpg", io.BytesIO(bytes(4 * LIMIT)))},
                             timeout=30)
    assert response.status_code in (401, 413)
    assert response.json()["detail"]
    # The server keeps serving cameras afterwards.
    image = (SAMPLES / "warehouse_01.jpg").read_bytes()
    ok = requests.post(f"{live.url}/api/v1/frames/", files={"image": ("f.jpg", image, "image/jpeg")},
                       headers={"Authorization": f"Bearer {live.key}"}, timeout=30)
    assert ok.status_code == 201, ok.text
