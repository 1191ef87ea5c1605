"""The camera simulator without a server: a fake session answers, a fake sleep records the waits."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
import requests
from PIL import Image

from simulation import simulate
from simulation.simulate import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_UNREACHABLE,
    Camera,
    KeyRejected,
    RetryPolicy,
    parse_retry_after,
    parse_server_timing,
    post_frame,
    prepare_image,
)

URL = "http://camera.test/api/v1/frames/"
NO_JITTER = RetryPolicy(max_retries=5, base_delay_s=0.5, max_delay_s=30.0, jitter=0.0)


def jpeg(width: int, height: int, *, orientation: int | None = None, quality: int = 95) -> bytes:
    image = Image.new("RGB", (width, height), (200, 150, 90))
    # A marker in the top-left corner, so a test can see which way up the pixels are.
    image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def response(status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body or {}).encode()
    resp.headers.update({"Content-Type": "application/json", **(headers or {})})
    return resp


def created(count: int = 3) -> requests.Response:
    body = {"event_id": 1, "camera": "dock-1", "count": count, "smoothed_count": count, "status": "WARNING",
            "inference_ms": 20.0, "captured_at": None}
    return response(201, body, {"Server-Timing": "decode;dur=3.5, detect;dur=21.0, persist;dur=2.25"})


class FakeSession:
    """Answers posts from a script: each item is a Response to return or an exception to raise."""

    def __init__(self, *script: requests.Response | Exception) -> None:
        self.script = list(script)
        self.calls: list[dict] = []

    def post(self, url: str, **kwargs) -> requests.Response:
        self.calls.append({"url": url, **kwargs})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# --- prepare_image --------------------------------------------------------------------------------


def test_it_shrinks_the_long_side_and_keeps_the_aspect_ratio() -> None:
    out = Image.open(io.BytesIO(prepare_image(jpeg(4000, 2250), max_side=1280)))
    assert out.format == "JPEG"
    assert out.size == (1280, 720)


def test_it_never_enlarges_a_small_image() -> None:
    out = Image.open(io.BytesIO(prepare_image(jpeg(640, 360), max_side=1280)))
    assert out.size == (640, 360)


def test_it_recompresses_at_the_requested_quality() -> None:
    # Noise compresses badly, so quality shows in the byte count.
    noisy = Image.effect_noise((800, 600), 60).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    low = prepare_image(buffer.getvalue(), quality=30)
    high = prepare_image(buffer.getvalue(), quality=90)
    assert len(low) < len(high) * 0.6


def test_it_applies_exif_orientation_and_drops_the_tag() -> None:
    # Orientation 6: the stored pixels must be rotated 90° clockwise to be upright, so a 400x300
    # landscape file is a 300x400 portrait frame, and the marker moves to the top-right corner.
    out = Image.open(io.BytesIO(prepare_image(jpeg(400, 300, orientation=6))))
    assert out.size == (300, 400)
    assert out.getexif().get(0x0112) in (None, 1)  # the server must not rotate it a second time
    red, green, _ = out.getpixel((300 - 10, 10))
    assert red > 200 and green < 80


def test_it_converts_png_with_alpha_to_jpeg() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 40), (10, 20, 30, 128)).save(buffer, "PNG")
    assert Image.open(io.BytesIO(prepare_image(buffer.getvalue()))).mode == "RGB"


def test_it_rejects_a_file_that_is_not_an_image() -> None:
    with pytest.raises(simulate.ImageUnreadable):
        prepare_image(b"not an image")


# --- retry / back-off -----------------------------------------------------------------------------


def test_it_returns_the_count_on_201_without_retrying() -> None:
    session, sleep = FakeSession(created(7)), FakeSleep()
    result = post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=NO_JITTER)
    assert result.ok and result.count == 7 and result.status == "WARNING" and result.attempts == 1
    assert result.server_timing == {"decode": 3.5, "detect": 21.0, "persist": 2.25}
    assert sleep.waits == []
    assert session.calls[0]["headers"]["Authorization"] == "Bearer key"
    assert session.calls[0]["files"]["image"][1] == b"jpeg"


def test_it_backs_off_exponentially_on_5xx_and_connection_errors() -> None:
    session = FakeSession(response(503, {"detail": "model not loaded"}), requests.ConnectionError("refused"),
                          response(500), requests.Timeout("slow"), created())
    sleep = FakeSleep()
    result = post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=NO_JITTER)
    assert result.ok and result.attempts == 5
    assert sleep.waits == [0.5, 1.0, 2.0, 4.0]


def test_it_caps_the_back_off() -> None:
    policy = RetryPolicy(max_retries=8, base_delay_s=1.0, max_delay_s=5.0, jitter=0.0)
    session, sleep = FakeSession(*[response(502)] * 8, created()), FakeSleep()
    post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=policy)
    assert sleep.waits == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_it_honours_retry_after_on_429() -> None:
    # The server says 7 s; our own back-off would have waited 0.5 s. Waiting less would only burn
    # another request against an exhausted budget.
    session = FakeSession(response(429, {"detail": "slow down"}, {"Retry-After": "7"}), created())
    sleep = FakeSleep()
    result = post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=NO_JITTER)
    assert result.ok and sleep.waits == [7.0]


def test_it_caps_a_huge_retry_after() -> None:
    session, sleep = FakeSession(response(429, headers={"Retry-After": "3600"}), created()), FakeSleep()
    post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=NO_JITTER)
    assert sleep.waits == [30.0]


def test_it_jitters_within_bounds() -> None:
    policy = RetryPolicy(max_retries=3, base_delay_s=1.0, max_delay_s=30.0, jitter=0.2)
    session, sleep = FakeSession(response(503), response(503), response(503), created()), FakeSleep()
    post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=policy, rng=random.Random(1))
    for wait, base in zip(sleep.waits, [1.0, 2.0, 4.0], strict=True):
        assert base * 0.8 <= wait <= base * 1.2
    assert len(set(sleep.waits)) == 3


def test_it_gives_up_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2, base_delay_s=0.5, jitter=0.0)
    session, sleep = FakeSession(response(503, {"detail": "model not loaded"}), *[response(503)] * 2), FakeSleep()
    result = post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=policy)
    assert not result.ok and result.http_status == 503 and result.attempts == 3
    assert sleep.waits == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 413])
def test_it_does_not_retry_a_rejected_frame(status: int) -> None:
    session, sleep = FakeSession(response(status, {"detail": "image is too big"})), FakeSleep()
    result = post_frame(session, URL, "key", b"jpeg", sleep=sleep, policy=NO_JITTER)
    assert not result.ok and result.http_status == status and result.detail == "image is too big"
    assert sleep.waits == [] and len(session.calls) == 1


def test_it_raises_on_401() -> None:
    with pytest.raises(KeyRejected, match="revoked"):
        post_frame(FakeSession(response(401, {"detail": "Key revoked."})), URL, "key", b"jpeg", sleep=FakeSleep())


def test_it_parses_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def test_it_parses_server_timing() -> None:
    assert parse_server_timing("decode;dur=1.5, detect;desc=x;dur=20, persist") == {"decode": 1.5, "detect": 20.0}


# --- the loop and exit codes ----------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / name).write_bytes(jpeg(320, 240))
    return tmp_path


def run(folder: Path, session: FakeSession, *args: str) -> tuple[int, str, str, FakeSleep]:
    out, err, sleep = io.StringIO(), io.StringIO(), FakeSleep()
    code = simulate.main(["--folder", str(folder), "--key", "k", "--fps", "0", *args],
                         session=session, sleep=sleep, out=out, err=err)
    return code, out.getvalue(), err.getvalue(), sleep


def test_it_stops_with_exit_code_3_and_a_clear_message_on_401(folder: Path) -> None:
    session = FakeSession(created(), response(401, {"detail": "Invalid, revoked or inactive-camera device key."}))
    code, out, err, _ = run(folder, session)
    assert code == EXIT_AUTH
    assert len(session.calls) == 2  # c.jpg is never sent
    assert "rejected the camera key" in err and "revoked" in err


@pytest.mark.parametrize("status", [400, 413])
def test_it_reports_and_skips_a_rejected_frame_and_carries_on(folder: Path, status: int) -> None:
    session = FakeSession(created(1), response(status, {"detail": "The image is 9000000 bytes"}), created(3))
    code, out, _, _ = run(folder, session)
    lines = out.splitlines()
    assert code == EXIT_SKIPPED and len(session.calls) == 3
    assert f"SKIPPED ({status})" in lines[1] and "9000000 bytes" in lines[1]
    assert "count=3" in lines[2]


def test_it_exits_0_when_every_frame_is_accepted_and_prints_json_lines(folder: Path) -> None:
    code, out, _, _ = run(folder, FakeSession(created(1), created(2), created(3)), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_OK
    assert [row["count"] for row in rows] == [1, 2, 3]
    assert rows[0]["server_timing"]["detect"] == 21.0


def test_it_loops_until_count(folder: Path) -> None:
    session = FakeSession(*[created()] * 7)
    code, _, _, _ = run(folder, session, "--loop", "--count", "7")
    names = [call["files"]["image"][0] for call in session.calls]
    assert code == EXIT_OK and names == ["a.jpg", "b.jpg", "c.jpg", "a.jpg", "b.jpg", "c.jpg", "a.jpg"]


def test_it_stops_when_the_server_stays_down(folder: Path) -> None:
    session = FakeSession(*[requests.ConnectionError("refused")] * 4)
    code, _, err, _ = run(folder, session, "--loop", "--max-retries", "1", "--max-consecutive-failures", "2")
    assert code == EXIT_UNREACHABLE and len(session.calls) == 4 and "is the server" in err


def test_it_paces_frames_at_the_requested_rate(folder: Path) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    camera = Camera(url=URL, key="k", images=sorted(folder.iterdir()), fps=2.0, session=FakeSession(*[created()] * 3),
                    sleep=sleep, clock=lambda: now[0], out=io.StringIO(), err=io.StringIO())
    assert camera.run() == EXIT_OK
    assert now[0] == pytest.approx(1.0)  # frames at t=0, 0.5, 1.0


def test_it_needs_a_key(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMERA_KEY", raising=False)
    err = io.StringIO()
    assert simulate.main(["--folder", str(folder)], session=FakeSession(), err=err) == simulate.EXIT_USAGE
    assert "CAMERA_KEY" in err.getvalue()


# --- idempotency ----------------------------------------------------------------------------------


def test_it_sends_one_idempotency_key_per_frame_and_reuses_it_on_retries(folder: Path) -> None:
    # A frame the server stored just before the camera lost its answer is sent again on retry; the
    # key lets the server answer it from its receipt instead of storing it twice.
    session = FakeSession(created(), requests.ConnectionError("reset"), response(503), created(), created())
    code, _, _, _ = run(folder, session)
    keys = [call["headers"]["Idempotency-Key"] for call in session.calls]
    assert code == EXIT_OK and len(keys) == 5
    assert keys[1] == keys[2] == keys[3]  # b.jpg: two retries, one key
    assert len({keys[0], keys[1], keys[4]}) == 3  # a.jpg, b.jpg, c.jpg: one key each
    assert all(8 <= len(key) <= 255 for key in keys)


def test_a_looped_frame_gets_a_new_key_each_time(folder: Path) -> None:
    session = FakeSession(*[created()] * 4)
    run(folder, session, "--loop", "--count", "4")
    keys = [call["headers"]["Idempotency-Key"] for call in session.calls]
    assert len(set(keys)) == 4  # a.jpg sent twice is two frames, not a retry


def test_it_prints_why_the_server_could_not_count_a_frame(folder: Path) -> None:
    fault = "Image too dark (brightness 3 of 255): lens covered or lights off?"
    body = {"event_id": 2, "camera": "dock-1", "count": 0, "smoothed_count": 9, "status": "FAULT", "fault": fault,
            "inference_ms": 20.0, "captured_at": None}
    code, out, _, _ = run(folder, FakeSession(created(), response(201, body), created()))
    assert code == EXIT_OK  # the server stored it; the camera, not the upload, needs attention
    assert "FAULT (Image too dark" in out.splitlines()[1]
