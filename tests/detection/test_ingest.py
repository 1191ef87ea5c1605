"""POST /api/v1/frames/: every row of the camera API contract, with the real shipped model."""

from __future__ import annotations


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from detection.detector import load_detector
from detection.serving.runtime import DetectorSlots, Overloaded
from detection.models import DetectionEvent, StockState
from tests.conftest import REPO, labelled_val_images, png_declaring

URL = "/api/v1/frames/"


def upload(data: bytes, name: str = "frame.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(scope="module")
def real_frame() -> bytes:
    """A real warehouse frame with packages in it (the shipped model counts it on every post)."""
    (image, _), = labelled_val_images(min_boxes=8, max_boxes=20, limit=1)
    return image.read_bytes()


@pytest.mark.django_db
class TestAccepted:
    def test_it_counts_packages_in_a_real_frame(self, camera_with_key, camera_client):
        camera, key = camera_with_key()
        (image, labelled), = labelled_val_images(min_boxes=8, max_boxes=20, limit=1)
        response = camera_client(key).post(URL, {"image": upload(image.read_bytes())}, format="multipart")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"event_id", "camera", "count", "smoothed_count", "status", "fault", "inference_ms",
                             "captured_at"}
        assert body["fault"] is None  # a real warehouse frame can be counted
        assert body["camera"] == "dock-1"
        # A count a manager can trust: within a quarter of the labelled boxes on a mid-density frame.
        assert abs(body["count"] - labelled) <= max(2, labelled // 4), (body["count"], labelled)
        assert body["smoothed_count"] == body["count"]  # window 1
        assert body["status"] == ("FULL" if body["count"] >= 15 else "WARNING" if body["count"] > 3 else "CRITICAL")
        assert body["inference_ms"] > 0
        event = DetectionEvent.objects.get(pk=body["event_id"])
        assert (event.raw_count, event.status) == (body["count"], body["status"])
        state = StockState.objects.get(camera=camera)
        assert (state.raw_count, state.count_status) == (body["count"], body["status"])
        camera.refresh_from_db()
        assert camera.last_seen_at is not None

    def test_it_reports_stage_timings_and_echoes_captured_at(self, camera_with_key, camera_client, jpeg_bytes):
        _, key = camera_with_key()
        response = camera_client(key).post(
            URL, {"image": upload(jpeg_bytes()), "captured_at": "2026-11-27T08:00:00+01:00"}, format="multipart"
        )
        assert response.status_code == 201
        assert response.json()["captured_at"] == "2026-11-27T07:00:00Z"
        timing = response.headers["Server-Timing"]
        assert all(f"{stage};dur=" in timing for stage in ("decode", "detect", "persist"))

    def test_an_empty_captured_at_counts_as_absent_and_the_docs_say_so(self, camera_with_key, camera_client,
                                                                         jpeg_bytes, client):
        # Decided: cameras that leave the field empty (clock not set yet) keep working; the contract
        # says so rather than leaving it to be discovered.
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes()), "captured_at": ""}, format="multipart")
        assert response.status_code == 201
        assert response.json()["captured_at"] is None
        assert DetectionEvent.objects.get().captured_at is None
        schema = client.get("/api/schema/?format=json").json()
        described = schema["components"]["schemas"]["FrameInputRequest"]["properties"]["captured_at"]["description"]
        assert "empty" in described.lower()
        assert "empty `captured_at`" in (REPO / "README.md").read_text()

    @pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
    def test_it_accepts_png_and_webp(self, camera_with_key, camera_client, jpeg_bytes, fmt, content_type):
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes(fmt=fmt), "f", content_type)},
                                           format="multipart")
        assert response.status_code == 201, response.content

    def test_ingest_query_count_is_bounded(self, camera_with_key, camera_client, jpeg_bytes,
                                           django_assert_max_num_queries):
        _, key = camera_with_key()
        client = camera_client(key)
        client.post(URL, {"image": upload(jpeg_bytes())}, format="multipart")  # warm: model, key last_used
        # auth 1, state get_or_create + lock 2-3, smoothing 1, insert 1, trim 1-2, state 1, camera 1 (+savepoints)
        with django_assert_max_num_queries(14):
            assert client.post(URL, {"image": upload(jpeg_bytes())}, format="multipart").status_code == 201


@pytest.mark.django_db
class TestRejected:
    def test_missing_key_is_401_with_www_authenticate(self, client, jpeg_bytes):
        response = client.post(URL, {"image": upload(jpeg_bytes())})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "detail" in response.json()

    @pytest.mark.parametrize("header", ["Bearer nope", "Bearer sim_00000000_wrong", "Bearer a b", "Token x"])
    def test_wrong_key_is_401(self, camera_with_key, client, jpeg_bytes, header):
        camera_with_key()
        response = client.post(URL, {"image": upload(jpeg_bytes())}, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json()["detail"]
        assert DetectionEvent.objects.count() == 0

    def test_right_prefix_wrong_secret_is_401(self, camera_with_key, camera_client, jpeg_bytes):
        _, key = camera_with_key()
        forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        assert camera_client(forged).post(URL, {"image": upload(jpeg_bytes())}).status_code == 401

    def test_inactive_camera_is_401(self, camera_with_key, camera_client, jpeg_bytes):
        camera, key = camera_with_key()
        camera.is_active = False
        camera.save()
        assert camera_client(key).post(URL, {"image": upload(jpeg_bytes())}).status_code == 401

    def test_not_an_image_is_400(self, camera_with_key, camera_client):
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(b"GIF89a not really", "x.gif")})
        assert response.status_code == 400
        assert "image" in response.json()["detail"].lower()
        assert DetectionEvent.objects.count() == 0

    def test_truncated_jpeg_is_400(self, camera_with_key, camera_client, jpeg_bytes):
        _, key = camera_with_key()
        data = jpeg_bytes(1280, 720)
        response = camera_client(key).post(URL, {"image": upload(data[: len(data) // 2])})
        assert response.status_code == 400
        assert response.json()["detail"]

    def test_missing_image_field_is_400(self, camera_with_key, camera_client):
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"captured_at": "2026-01-01T00:00:00Z"}, format="multipart")
        assert response.status_code == 400
        assert "image" in response.json()["detail"]

    def test_bad_captured_at_is_400(self, camera_with_key, camera_client, jpeg_bytes):
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes()), "captured_at": "yesterday"})
        assert response.status_code == 400
        assert "captured_at" in response.json()["detail"]

    def test_too_many_bytes_is_413(self, camera_with_key, camera_client, jpeg_bytes, settings):
        _, key = camera_with_key()
        settings.INGEST_MAX_BYTES = 10_000
        data = jpeg_bytes(1600, 1200)
        big = data + b"\0" * (20_000 - len(data)) if len(data) < 20_000 else data
        response = camera_client(key).post(URL, {"image": upload(big)})
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]

    def test_decompression_bomb_is_413(self, camera_with_key, camera_client):
        _, key = camera_with_key()
        bomb = png_declaring(60_000, 60_000)  # 3.6 gigapixels declared, 100 bytes sent
        response = camera_client(key).post(URL, {"image": upload(bomb, "bomb.png", "image/png")})
        assert response.status_code == 413
        assert response.json()["detail"]

    @pytest.mark.parametrize("width,height", [(60_000, 60_000), (8_000, 7_000)])
    def test_a_bomb_is_413_citing_the_configured_pixel_limit(self, camera_with_key, camera_client, width, height):
        # Above Pillow's own guards (50 MP warning, 100 MP error) the answer used to quote Pillow's
        # numbers, which mean nothing to whoever configured INGEST_MAX_PIXELS.
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(png_declaring(width, height), "b.png", "image/png")})
        assert response.status_code == 413
        detail = response.json()["detail"]
        assert "40,000,000" in detail and f"{width * height:,}" in detail, detail
        assert "50000000" not in detail and "100000000" not in detail, detail

    def test_a_pixel_limit_above_pillows_warning_level_is_honoured(self, camera_with_key, camera_client, settings):
        _, key = camera_with_key()
        settings.INGEST_MAX_PIXELS = 60_000_000
        header_only = png_declaring(8_000, 7_000)  # 56 MP: allowed now, so decoding starts (and finds no data)
        response = camera_client(key).post(URL, {"image": upload(header_only, "b.png", "image/png")})
        assert response.status_code == 400, response.content

    def test_pixels_over_the_limit_is_413(self, camera_with_key, camera_client, jpeg_bytes, settings):
        _, key = camera_with_key()
        settings.INGEST_MAX_PIXELS = 1_000_000
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes(1600, 1200))})
        assert response.status_code == 413

    def test_a_flood_is_429_for_that_camera_only(self, camera_with_key, camera_client, jpeg_bytes, settings):
        settings.INGEST_RATE_FRAMES = 2
        _, noisy_key = camera_with_key("noisy")
        _, quiet_key = camera_with_key("quiet")
        noisy = camera_client(noisy_key)
        codes = [noisy.post(URL, {"image": upload(jpeg_bytes())}).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        flooded = noisy.post(URL, {"image": upload(jpeg_bytes())})
        assert int(flooded.headers["Retry-After"]) > 0
        assert flooded.json()["detail"]
        assert camera_client(quiet_key).post(URL, {"image": upload(jpeg_bytes())}).status_code == 201

    def test_missing_model_is_503_and_loses_nothing(self, camera_with_key, camera_client, jpeg_bytes, settings,
                                                     tmp_path):
        _, key = camera_with_key()
        settings.MODEL_PATH = tmp_path / "missing.onnx"
        load_detector.cache_clear()
        try:
            response = camera_client(key).post(URL, {"image": upload(jpeg_bytes())})
        finally:
            load_detector.cache_clear()
        assert response.status_code == 503
        assert "model" in response.json()["detail"].lower()
        assert DetectionEvent.objects.count() == 0

    def test_a_worker_with_its_queue_full_answers_503_at_once_and_stores_nothing(
            self, camera_with_key, camera_client, jpeg_bytes, settings, monkeypatch):
        # More cameras than the box can count: the frame beyond INGEST_QUEUE_MAX waiting ones is
        # refused before it is decoded, with Retry-After, instead of queueing ever longer.
        from detection.ingest import services

        _, key = camera_with_key()
        full = DetectorSlots(slots=1, queue_max=1)
        full.acquire()  # a frame being counted ...
        full.waiting = 1  # ... and one waiting
        monkeypatch.setattr(services, "detect_slot", lambda: full)
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes())})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "busy" in response.json()["detail"]
        assert DetectionEvent.objects.count() == 0

    def test_a_database_locked_past_its_timeout_is_503_not_500(self, camera_with_key, camera_client, jpeg_bytes,
                                                                monkeypatch):
        from django.db import OperationalError

        from detection.ingest import services

        _, key = camera_with_key()

        def locked(**kwargs):
            raise OperationalError("database is locked")

        monkeypatch.setattr(services, "stock_frame_record", locked)
        response = camera_client(key).post(URL, {"image": upload(jpeg_bytes())})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "locked" in response.json()["detail"]
        assert DetectionEvent.objects.count() == 0


def test_detector_slots_queue_at_most_queue_max_frames():
    import threading

    slots = DetectorSlots(slots=1, queue_max=1)
    slots.acquire()
    waited = threading.Event()

    def second() -> None:
        slots.acquire()  # waits: the one slot is taken, the queue has room for one
        waited.set()
        slots.release()

    thread = threading.Thread(target=second)
    thread.start()
    while slots.waiting == 0:
        thread.join(0.01)
    with pytest.raises(Overloaded):
        slots.acquire()  # a third frame: the queue is full
    slots.release()
    thread.join(5)
    assert waited.is_set() and slots.waiting == 0
    slots.acquire()  # the queue drained: frames are taken again
    slots.release()


@pytest.mark.django_db
class TestIdempotency:
    """`Idempotency-Key`: a camera that lost the 201 retries with the same key and gets the same 201."""

    def post(self, client, data: bytes, key: str | None, **fields):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
        return client.post(URL, {"image": upload(data), **fields}, format="multipart", **headers)

    def test_a_retry_gets_the_original_answer_and_stores_nothing(self, camera_with_key, camera_client, real_frame):
        camera, key = camera_with_key()
        client = camera_client(key)
        first = self.post(client, real_frame, "frame-0001", captured_at="2026-11-27T08:00:00Z")
        assert first.status_code == 201
        state_after_first = StockState.objects.values().get(camera=camera)
        retry = self.post(client, real_frame, "frame-0001", captured_at="2026-11-27T08:00:00Z")
        assert retry.status_code == 201
        assert retry.json() == first.json()
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert DetectionEvent.objects.count() == 1
        assert StockState.objects.values().get(camera=camera) == state_after_first

    def test_new_keys_and_no_key_store_every_frame(self, camera_with_key, camera_client, real_frame):
        _, key = camera_with_key()
        client = camera_client(key)
        bodies = [self.post(client, real_frame, k).json() for k in ("a", "b", None, None)]
        assert len({body["event_id"] for body in bodies}) == 4
        assert DetectionEvent.objects.count() == 4

    def test_the_same_key_with_another_frame_is_422_and_stores_nothing(self, camera_with_key, camera_client,
                                                                      real_frame, jpeg_bytes):
        _, key = camera_with_key()
        client = camera_client(key)
        assert self.post(client, real_frame, "k-1").status_code == 201
        reused = self.post(client, jpeg_bytes(), "k-1")
        assert reused.status_code == 422
        assert "Idempotency-Key" in reused.json()["detail"]
        assert DetectionEvent.objects.count() == 1

    def test_keys_belong_to_one_camera(self, camera_with_key, camera_client, real_frame):
        _, key_a = camera_with_key("dock-a")
        _, key_b = camera_with_key("dock-b")
        one = self.post(camera_client(key_a), real_frame, "same-key").json()
        two = self.post(camera_client(key_b), real_frame, "same-key").json()
        assert (one["camera"], two["camera"]) == ("dock-a", "dock-b")
        assert DetectionEvent.objects.count() == 2

    def test_a_key_is_forgotten_after_the_window(self, camera_with_key, camera_client, real_frame, settings):
        from datetime import timedelta

        from detection.models import FrameReceipt

        settings.INGEST_IDEMPOTENCY_WINDOW_S = 60
        _, key = camera_with_key()
        client = camera_client(key)
        first = self.post(client, real_frame, "k").json()
        FrameReceipt.objects.update(created_at=F("created_at") - timedelta(seconds=61))
        again = self.post(client, real_frame, "k")
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        assert again.json()["event_id"] != first["event_id"]
        assert FrameReceipt.objects.count() == 1  # the expired receipt was pruned

    def test_a_retry_is_answered_even_when_the_camera_used_up_its_rate(self, camera_with_key, camera_client,
                                                                      real_frame, settings):
        settings.INGEST_RATE_FRAMES = 1
        _, key = camera_with_key()
        client = camera_client(key)
        assert self.post(client, real_frame, "k-1").status_code == 201
        assert self.post(client, real_frame, "k-1").status_code == 201  # a retry, not a new frame
        assert self.post(client, real_frame, "k-2").status_code == 429

    @pytest.mark.parametrize("bad", ["", "x" * 256, "caf\u00e9"])
    def test_a_malformed_key_is_400(self, camera_with_key, camera_client, real_frame, bad):
        _, key = camera_with_key()
        response = camera_client(key).post(URL, {"image": upload(real_frame)}, format="multipart",
                                           HTTP_IDEMPOTENCY_KEY=bad.encode().decode("latin-1"))
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["detail"]
        assert DetectionEvent.objects.count() == 0

    def test_the_schema_documents_the_header_and_the_422(self, client):
        frames = client.get("/api/schema/?format=json").json()["paths"]["/api/v1/frames/"]["post"]
        header = next(p for p in frames["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and not header.get("required", False)
        assert "422" in frames["responses"]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_retries_with_one_key_store_one_frame(camera_with_key, camera_client, real_frame):
    # The camera timed out while the server was still working and sent the frame again: both copies
    # are in flight at once. Exactly one is stored; both answers are that one's 201.
    import threading

    from django.db import connection

    _, key = camera_with_key()
    start = threading.Barrier(4)
    answers: list = []

    def send() -> None:
        try:
            start.wait()
            answers.append(camera_client(key).post(URL, {"image": upload(real_frame)}, format="multipart",
                                                   HTTP_IDEMPOTENCY_KEY="in-flight-1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["event_id"] for a in answers}) == 1
    assert DetectionEvent.objects.count() == 1
