"""The ingest contract through the real server stack (Daphne/Twisted, not Django's test client)."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from benchmarks.ingest import SHIPPED_MODEL, running_server
from tests.conftest import labelled_val_images


@pytest.fixture(scope="module")
def two_workers():
    """Two Daphne workers sharing one SQLite file, like a scaled deployment on one host."""
    with running_server(model=SHIPPED_MODEL, cameras=1, workers=2, detector_threads=1, extra_env={}) as server:
        yield server


def test_malformed_multipart_gets_a_json_400_from_us_not_twisted(two_workers) -> None:
    # Twisted used to parse the multipart body itself and answer a malformed one with an empty,
    # non-JSON 400 before Django saw it (inventory_monitor/daphne_tweaks.py).
    server = two_workers
    url, key = server.url(0), server.keys[0]
    response = requests.post(
        url,
        data=b"this is not a multipart body",  # and the header below names no boundary
        headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"]

    # The server keeps serving this camera afterwards.
    frame = requests.post(url, files={"image": ("f.jpg", _jpeg(), "image/jpeg")},
                          headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert frame.status_code == 201, frame.text


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 80, 70)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_retry_that_reaches_another_worker_is_not_stored_twice(two_workers) -> None:
    # The first worker stored the frame but the camera never saw the 201; its retry lands on the
    # other worker, which knows the key only from the database.
    server = two_workers
    (image, _), = labelled_val_images(min_boxes=5, max_boxes=25, limit=1)
    headers = {"Authorization": f"Bearer {server.keys[0]}", "Idempotency-Key": "lost-answer-1"}
    worker_a, worker_b = (f"http://127.0.0.1:{port}/api/v1/frames/" for port in server.ports)

    def events() -> int:
        with sqlite3.connect(server.workdir / "bench.sqlite3") as db:
            return db.execute("SELECT COUNT(*) FROM detection_detectionevent").fetchone()[0]

    before = events()
    first = requests.post(worker_a, files={"image": ("f.jpg", image.read_bytes(), "image/jpeg")}, headers=headers,
                          timeout=30)
    retry = requests.post(worker_b, files={"image": ("f.jpg", image.read_bytes(), "image/jpeg")}, headers=headers,
                          timeout=30)
    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert events() == before + 1
