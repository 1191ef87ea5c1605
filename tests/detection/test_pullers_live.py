"""Two `manage.py pull_cameras` processes share the cameras of one database; one is killed (SIGKILL,
no goodbye) and every camera keeps being pulled by the other; SIGTERM stops a puller cleanly."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import SAMPLES
from tests.dashboard import live
from tests.fake_camera import FakeCamera, wait_until

pytestmark = pytest.mark.slow
CAMERAS = [f"pulled-{index}" for index in range(4)]
LEASE_S = 3


def pulls_by_camera(fake: FakeCamera, since: int = 0) -> Counter:
    return Counter(parse_qs(urlsplit(path).query)["cam"][0] for path in fake.requests[since:])


def events_by_camera(sqlite_path) -> Counter:
    with sqlite3.connect(sqlite_path) as db:
        rows = db.execute("SELECT c.slug, COUNT(*) FROM detection_detectionevent e JOIN devices_camera c "
                          "ON c.id = e.camera_id GROUP BY c.slug").fetchall()
    return Counter(dict(rows))


def test_a_killed_puller_hands_its_cameras_to_the_other(tmp_path):
    fake = FakeCamera((SAMPLES / "warehouse_01.jpg").read_bytes(), password="").start()
    sqlite_path = tmp_path / "db.sqlite3"
    live.prepare_database(sqlite_path, [])
    env = live.server_env(sqlite_path, CAMERA_PULL_ALLOW_LOOPBACK="1", CAMERA_PULL_LEASE_S=str(LEASE_S),
                          CAMERA_PULL_CONCURRENCY="2", DETECTOR_PRELOAD="0")
    manage = [sys.executable, str(live.REPO / "manage.py")]
    for slug in CAMERAS:
        subprocess.run([*manage, "create_camera", slug, "--source", f"{fake.url}/snapshot.jpg?cam={slug}",
                        "--interval", "1"], cwd=live.REPO, env=env, check=True, capture_output=True)
    logs = [(tmp_path / f"puller-{name}.log").open("wb") for name in "ab"]
    pullers = [subprocess.Popen([*manage, "pull_cameras"], cwd=live.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
               for log in logs]
    try:
        # Both pull; every camera gets frames.
        assert wait_until(lambda: set(events_by_camera(sqlite_path)) == set(CAMERAS), timeout=60)
        pullers[0].send_signal(signal.SIGKILL)
        pullers[0].wait(10)
        killed_at = len(fake.requests)
        time.sleep(LEASE_S + 4)
        after = pulls_by_camera(fake, since=killed_at)
        assert set(after) == set(CAMERAS), after  # every camera is still pulled, by the survivor
        # One puller at a time: a camera pulled every 1 s is not pulled twice as often.
        assert max(after.values()) <= LEASE_S + 4 + 3, after
        # SIGTERM: the survivor finishes what it does, gives its leases back and exits 0.
        pullers[1].send_signal(signal.SIGTERM)
        assert pullers[1].wait(30) == 0
        with sqlite3.connect(sqlite_path) as db:
            assert db.execute("SELECT COUNT(*) FROM detection_pullsource WHERE lease_owner != ''").fetchone() == (0,)
            failures = db.execute("SELECT slug, last_error FROM detection_pullsource JOIN devices_camera c "
                                  "ON c.id = camera_id WHERE last_error != ''").fetchall()
        assert failures == []
        assert b"stopped" in (tmp_path / "puller-b.log").read_bytes()
    finally:
        for process in pullers:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        fake.stop()
