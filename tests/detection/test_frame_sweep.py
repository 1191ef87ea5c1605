"""A crash must not leave frame files behind: the sweep deletes what no row names, never a file
whose transaction may still commit. Real frames, the real shipped model, a real killed process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from detection.stock.frames import frames_sweep
from detection.models import DetectionEvent
from tests.conftest import REPO, labelled_val_images

URL = "/api/v1/frames/"

# Writes one frame through the product's own frame_store, then dies by SIGKILL: the state a worker
# killed between the write and the commit leaves (the transaction never happens).
CRASH = """
import os, signal, sys, django
django.setup()
from detection.stock.frames import frame_store
stored = frame_store(camera_slug=sys.argv[1], data=open(sys.argv[2], "rb").read())
print(stored.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def stored(slug: str) -> set[str]:
    try:
        _, files = default_storage.listdir(f"frames/{slug}")
    except FileNotFoundError:
        return set()
    return {f"frames/{slug}/{name}" for name in files}


def age(names: set[str], seconds: float) -> None:
    """Make files look written ``seconds`` ago (local storage)."""
    when = time.time() - seconds
    for name in names:
        os.utime(default_storage.path(name), (when, when))


@pytest.mark.django_db
def test_after_a_crash_the_sweep_leaves_exactly_the_kept_events_frames(
    camera_with_key, camera_client, django_capture_on_commit_callbacks,
):
    camera, key = camera_with_key(slug="crash-sweep")
    images = [path for path, _ in labelled_val_images(min_boxes=3, max_boxes=30, limit=5)]
    client = camera_client(key)
    for i in range(25):
        # The last five trims commit but their after-commit deletes never run (killed right after the commit).
        with django_capture_on_commit_callbacks(execute=i < 20):
            response = client.post(URL, {"image": SimpleUploadedFile("f.jpg", images[i % 5].read_bytes(),
                                                                     content_type="image/jpeg")}, format="multipart")
        assert response.status_code == 201, response.content
    # A worker killed between writing a frame and its transaction.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "inventory_monitor.settings", "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    crashed = subprocess.run([sys.executable, "-c", CRASH, camera.slug, str(images[0])], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -9, crashed.stderr
    orphan = crashed.stdout.strip()

    kept = {event.image.name for event in DetectionEvent.objects.filter(camera=camera)}
    assert len(kept) == 20 and "" not in kept
    on_disk = stored(camera.slug)
    assert orphan in on_disk and on_disk - kept and len(on_disk - kept) == 6  # 5 trimmed + 1 never committed

    age(on_disk, 3600)
    removed = frames_sweep(grace_s=600)
    assert set(removed) >= on_disk - kept
    assert stored(camera.slug) == kept


@pytest.mark.django_db
def test_the_sweep_never_deletes_a_file_younger_than_the_grace_period(camera_with_key):
    # A frame just written, whose transaction is still running: it has no row yet, and must stay.
    camera, _ = camera_with_key(slug="in-flight")
    name = default_storage.save(f"frames/{camera.slug}/in-flight.jpg", SimpleUploadedFile("x.jpg", b"x"))
    assert name not in frames_sweep(grace_s=600)
    assert default_storage.exists(name)
    age({name}, 3600)
    assert name in frames_sweep(grace_s=600)
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_sweep_frames_command_reports_what_it_deleted(camera_with_key):
    camera, _ = camera_with_key(slug="sweep-cmd")
    name = default_storage.save(f"frames/{camera.slug}/orphan.jpg", SimpleUploadedFile("x.jpg", b"x"))
    age({name}, 7200)
    from io import StringIO

    out = StringIO()
    call_command("sweep_frames", "--grace", "3600", stdout=out)
    assert "Deleted" in out.getvalue() and not default_storage.exists(name)


def test_the_sweep_counts_into_a_metric(settings):
    from detection import metrics

    settings.METRICS_ENABLED = True
    before = metrics.FRAMES_SWEPT._value.get()
    metrics.frames_swept(3)
    assert metrics.FRAMES_SWEPT._value.get() == before + 3
