"""Pulled cameras (detection/pull/): a fake IP camera on loopback with digest authentication and the
ways real cameras fail. A pulled frame must be counted exactly like a posted one; every refusal says
why in words and stores nothing."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

import detection.ingest.services
import detection.pull.fetch
import detection.pull.services
from detection.models import DetectionEvent, StockState
from detection.pull.fetch import PullFailed, Target, frame_fetch
from detection.pull.leases import leases_claim, leases_release
from detection.pull.models import PullAuth, PullSource
from detection.pull.secrets import secret_decrypt
from detection.pull.services import pull_once, pull_source_save, pull_source_test
from devices.models import Camera
from tests.conftest import labelled_val_images
from tests.fake_camera import FakeCamera, wait_until

PASSWORD = "s3cret!"


@pytest.fixture(scope="module")
def real_frame() -> bytes:
    (image, _), = labelled_val_images(min_boxes=8, max_boxes=20, limit=1)
    return image.read_bytes()


@pytest.fixture
def ip_camera(real_frame):
    camera = FakeCamera(real_frame, password=PASSWORD).start()
    yield camera
    camera.stop()


@pytest.fixture
def loopback(settings):
    settings.CAMERA_PULL_ALLOW_LOOPBACK = True
    return settings


@pytest.fixture
def no_connections(monkeypatch):
    """Verdict-only checks: any attempt to open a TCP connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def pulled_camera(camera_with_key, url: str, **options) -> PullSource:
    camera, _ = camera_with_key()
    return pull_source_save(camera=camera, url=url, **options)


def nothing_stored() -> bool:
    return not DetectionEvent.objects.exists() and StockState.objects.filter(raw_count__isnull=False).count() == 0


# --- the happy path --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_pulls_a_digest_protected_snapshot_and_counts_it_like_a_posted_frame(
        ip_camera, loopback, camera_with_key, camera_client, real_frame):
    # The same function the frames endpoint calls, not a copy of it.
    assert detection.pull.services.frame_ingest is detection.ingest.services.frame_ingest
    source = pulled_camera(camera_with_key, f"http://admin:{PASSWORD}@127.0.0.1:{ip_camera.server.server_address[1]}"
                                            "/snapshot.jpg")
    assert (source.auth, source.username) == (PullAuth.DIGEST, "admin")
    outcome = pull_once(PullSource.objects.select_related("camera").get())
    assert outcome.ok, outcome.reason
    assert ip_camera.authorized == 1  # the digest answer was right
    event = DetectionEvent.objects.get(pk=outcome.event_id)
    assert event.raw_count > 0 and event.image  # counted and its frame stored, as a posted one
    state = StockState.objects.get(camera=source.camera)
    assert state.raw_count == event.raw_count
    assert Camera.objects.get().last_seen_at is not None
    # The same bytes posted by a camera get the same count.
    other, key = camera_with_key(slug="dock-2")
    from django.core.files.uploadedfile import SimpleUploadedFile

    posted = camera_client(key).post("/api/v1/frames/", {"image": SimpleUploadedFile("f.jpg", real_frame, "image/jpeg")},
                                     format="multipart").json()
    assert posted["count"] == event.raw_count
    source.refresh_from_db()
    assert (source.failures, source.last_error, source.lease_owner) == (0, "", "")
    assert source.last_ok_at is not None and source.next_pull_at > timezone.now()


@pytest.mark.django_db
def test_it_stores_the_password_encrypted_and_never_prints_it(ip_camera, loopback, capsys):
    url = f"http://admin:{PASSWORD}@127.0.0.1:{ip_camera.server.server_address[1]}/snapshot.jpg"
    call_command("create_camera", "gate-1", "--source", url, "--interval", "15")
    out = capsys.readouterr().out
    assert PASSWORD not in out and "Pulls http://127.0.0.1:" in out
    source = PullSource.objects.get(camera__slug="gate-1")
    assert PASSWORD not in source.url and "admin" not in source.url
    assert source.interval_s == 15
    assert PASSWORD not in source.password_encrypted and secret_decrypt(source.password_encrypted) == PASSWORD
    # Repr and errors of a target never show it either.
    target = detection.pull.services.source_target(source)
    assert PASSWORD not in repr(target)


@pytest.mark.django_db
def test_it_pulls_basic_authentication_when_asked(ip_camera, loopback, camera_with_key):
    pulled_camera(camera_with_key, f"http://127.0.0.1:{ip_camera.server.server_address[1]}/basic.jpg",
                  username="admin", password=PASSWORD, auth=PullAuth.BASIC)
    assert pull_once(PullSource.objects.select_related("camera").get()).ok


def test_the_test_connection_returns_the_frame_without_storing_anything(ip_camera, loopback, real_frame):
    target = Target(kind="http", url=f"{ip_camera.url}/snapshot.jpg", auth="digest", username="admin",
                    password=PASSWORD)
    assert pull_source_test(target=target) == real_frame


# --- failures: a reason in words, nothing stored -----------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("path", "options", "words", "code"), [
    ("/snapshot.jpg", {"username": "admin", "password": "wrong"}, "refused the user name or password (HTTP 401)", "auth"),
    ("/html", {}, "text/html, not a JPEG, PNG or WebP picture", "not_image"),
    ("/missing", {}, "HTTP 404", "http_status"),
    ("/huge", {}, "2,147,483,648 bytes; the limit is", "too_large"),
    ("/endless", {}, "sent more than", "too_large"),
    ("/redirect?to=http://169.254.169.254/latest/meta-data/", {}, "link-local or cloud metadata", "address"),
    ("/stall", {"timeout_s": 1}, "stalled", "timeout"),
])
def test_a_misbehaving_camera_gets_a_reason_and_stores_nothing(ip_camera, loopback, camera_with_key, path, options,
                                                               words, code):
    pulled_camera(camera_with_key, f"{ip_camera.url}{path}", **options)
    started = time.monotonic()
    outcome = pull_once(PullSource.objects.select_related("camera").get())
    assert time.monotonic() - started < 10  # bounded: a 2 GB answer or a stalled camera never holds a puller
    assert (outcome.ok, outcome.code) == (False, code), outcome.reason
    assert words in outcome.reason
    source = PullSource.objects.get()
    assert source.last_error == outcome.reason and source.failures == 1 and source.last_error_at
    assert PASSWORD not in source.last_error
    assert nothing_stored()


def test_a_closed_port_is_refused_in_words(loopback):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(PullFailed, match="refused the connection"):
            frame_fetch(Target(kind="http", url=f"http://127.0.0.1:{port}/snap.jpg", timeout_s=2))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/snap.jpg",
                                 "http://[::ffff:169.254.169.254]/", "rtsp://169.254.169.254/stream1"])
def test_a_metadata_address_is_refused_before_any_connection(camera_with_key, no_connections, url):
    camera, _ = camera_with_key()
    with pytest.raises(ValidationError, match="link-local or cloud metadata"):
        pull_source_save(camera=camera, url=url)
    assert not PullSource.objects.exists()
    with pytest.raises(CommandError, match="link-local or cloud metadata"):
        call_command("create_camera", "meta-1", "--source", url)
    assert not Camera.objects.filter(slug="meta-1").exists()  # the whole command rolled back


@pytest.mark.django_db
def test_a_name_that_resolves_to_a_metadata_address_is_refused_at_pull_time(camera_with_key, monkeypatch,
                                                                            no_connections):
    source = pulled_camera(camera_with_key, "http://camera.example/snap.jpg")  # unresolvable here: allowed
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                 ("169.254.169.254", 80))])
    outcome = pull_once(PullSource.objects.select_related("camera").get(pk=source.pk))
    assert outcome.code == "address" and "resolves to 169.254.169.254" in outcome.reason
    assert nothing_stored()


@pytest.mark.django_db
def test_loopback_is_refused_unless_allowed(camera_with_key, settings, no_connections):
    settings.CAMERA_PULL_ALLOW_LOOPBACK = False
    camera, _ = camera_with_key()
    with pytest.raises(ValidationError, match="CAMERA_PULL_ALLOW_LOOPBACK=1"):
        pull_source_save(camera=camera, url="http://127.0.0.1:8080/snap.jpg")


def test_private_ranges_are_allowed(no_connections):
    from detection.pull.services import source_address_validate

    for url in ("http://192.168.1.64/snap.jpg", "http://10.0.0.5/x", "rtsp://172.16.4.2:554/s", "http://[fd12::5]/x"):
        source_address_validate(url)  # no error, no connection


@pytest.mark.django_db
def test_a_failing_camera_backs_off_and_recovers(ip_camera, loopback, camera_with_key):
    source = pulled_camera(camera_with_key, f"{ip_camera.url}/missing", interval_s=5)
    delays = []
    for _ in range(3):
        before = timezone.now()
        pull_once(PullSource.objects.select_related("camera").get())
        delays.append(round((PullSource.objects.get().next_pull_at - before).total_seconds()))
    assert delays[0] >= 5 and delays[1] >= 10 and delays[2] >= 20  # doubles per failure
    pull_source_save(camera=source.camera, url=f"http://admin:{PASSWORD}@127.0.0.1:"
                                              f"{ip_camera.server.server_address[1]}/snapshot.jpg")
    assert pull_once(PullSource.objects.select_related("camera").get()).ok
    source.refresh_from_db()
    assert (source.failures, source.last_error) == (0, "")


@pytest.mark.django_db
def test_a_failing_camera_turns_offline_after_its_timeout(ip_camera, loopback, camera_with_key):
    from detection.stock.offline import cameras_check_offline

    pulled_camera(camera_with_key, f"http://admin:{PASSWORD}@127.0.0.1:{ip_camera.server.server_address[1]}"
                                   "/snapshot.jpg")
    assert pull_once(PullSource.objects.select_related("camera").get()).ok
    PullSource.objects.update(url=f"{ip_camera.url}/html")
    assert not pull_once(PullSource.objects.select_related("camera").get()).ok
    camera = Camera.objects.get()
    alerts = cameras_check_offline(now=timezone.now() + timedelta(seconds=camera.offline_timeout_s + 1))
    assert [alert.status for alert in alerts] == ["OFFLINE"]


# --- leases -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_two_pullers_never_take_the_same_camera_and_a_dead_ones_lease_expires(camera_with_key, settings,
                                                                             no_connections):
    for index in range(4):
        camera, _ = camera_with_key(slug=f"cam-{index}")
        PullSource.objects.create(camera=camera, url=f"http://10.0.0.{index + 1}/snap.jpg")
    a = leases_claim(owner="a", limit=3)
    b = leases_claim(owner="b", limit=3)
    assert len(a) == 3 and len(b) == 1 and not {s.pk for s in a} & {s.pk for s in b}
    assert leases_claim(owner="c", limit=3) == []
    # "a" dies holding three leases: after CAMERA_PULL_LEASE_S they are free for "c".
    later = timezone.now() + timedelta(seconds=settings.CAMERA_PULL_LEASE_S + 1)
    assert {s.pk for s in leases_claim(owner="c", limit=5, now=later)} == {s.pk for s in a} | {s.pk for s in b}
    assert leases_release(owner="c") == 4


# --- RTSP (no RTSP server here: Debian's ffmpeg cannot serve RTSP PLAY by itself) --------------------

def test_an_rtsp_url_gets_the_checked_address_and_quoted_credentials(loopback):
    from detection.pull.fetch import rtsp_url_with_address

    target = Target(kind="rtsp", url="rtsp://localhost/Streaming/Channels/101?x=1", username="ad min",
                    password="p@ss:word/")
    assert rtsp_url_with_address(target) == "rtsp://ad%20min:p%40ss%3Aword%2F@127.0.0.1:554/Streaming/Channels/101?x=1"


def test_an_unreachable_rtsp_stream_fails_in_words_within_its_timeout(loopback):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(PullFailed, match="RTSP stream could not be opened") as failure:
            frame_fetch(Target(kind="rtsp", url=f"rtsp://127.0.0.1:{port}/stream1", username="admin",
                               password=PASSWORD, timeout_s=2))
        assert time.monotonic() - started < 10 and PASSWORD not in str(failure.value)


# --- The stream reader's success path, with a stream ffmpeg serves --------------------------------
# No RTSP server here (Debian's ffmpeg only pushes to one), so ffmpeg serves a looped stream of the real
# frame as multipart JPEG over HTTP on loopback and the stream URL is pointed at it: everything after the
# URL is the production code — OpenCV's FFmpeg backend opening it with the pull's timeouts, reading
# until a whole frame, re-encoding it, the ingest. The RTSP handshake itself is not covered.

@pytest.fixture
def ffmpeg_stream(tmp_path, real_frame):
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed")
    picture = tmp_path / "frame.jpg"
    picture.write_bytes(real_frame)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-loop", "1", "-framerate", "5", "-i", str(picture),
         "-f", "mpjpeg", "-q:v", "4", "-listen", "1", f"http://127.0.0.1:{port}/stream.mjpg"],
        stdin=subprocess.DEVNULL)
    assert wait_until(lambda: _port_open(port), timeout=15), "ffmpeg did not start listening"
    yield f"http://127.0.0.1:{port}/stream.mjpg"
    server.kill()
    server.wait(timeout=10)


def _port_open(port: int) -> bool:
    # A TCP connect would use up ffmpeg's one client: look for the listening socket instead.
    needle = f"0100007F:{port:04X}"
    return any(needle in line and line.split()[3] == "0A" for line in Path("/proc/net/tcp").read_text().splitlines())


@pytest.mark.django_db
def test_a_stream_source_is_read_through_opencv_and_counted_like_a_posted_frame(
        ffmpeg_stream, loopback, camera_with_key, monkeypatch, real_frame):
    import cv2
    import numpy as np

    source = pulled_camera(camera_with_key, "rtsp://admin:secret@127.0.0.1:8554/stream1", interval_s=10)
    assert source.kind == "rtsp"
    monkeypatch.setattr(detection.pull.fetch, "rtsp_url_with_address", lambda target: ffmpeg_stream)
    started = time.monotonic()
    outcome = pull_once(PullSource.objects.select_related("camera").get())
    assert outcome.ok, outcome.reason
    assert time.monotonic() - started < source.timeout_s + 5
    event = DetectionEvent.objects.get(pk=outcome.event_id)
    assert event.raw_count > 0 and event.image
    # The stored frame is the stream's picture (decoded by OpenCV, re-encoded as JPEG): same shape.
    original = cv2.imdecode(np.frombuffer(real_frame, np.uint8), cv2.IMREAD_COLOR)
    with event.image.open("rb") as stored:
        kept = cv2.imdecode(np.frombuffer(stored.read(), np.uint8), cv2.IMREAD_COLOR)
    assert kept is not None
    assert abs(kept.shape[1] / kept.shape[0] - original.shape[1] / original.shape[0]) < 0.01
