"""Pure helpers of the benchmarks: percentiles, the open-loop camera schedule, screen placement, /proc."""

import math
import os
import subprocess
import sys

import pytest

from benchmarks.dashboard_latency import percentile
from benchmarks.ingest import due_tick
from benchmarks.proc import cpu_seconds, descendants, memory
from benchmarks.screens import Screen, plan_screens


def test_percentile_interpolates_between_ranks_and_is_nan_without_values():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert (percentile(values, 0), percentile(values, 50), percentile(values, 100)) == (1.0, 3.0, 5.0)
    assert percentile(values, 95) == pytest.approx(4.8)
    assert math.isnan(percentile([], 95))  # a run where nothing was measured still prints its report


@pytest.mark.parametrize(
    "now, expected",
    [
        (10.0, (3, 0)),  # early: wait for tick 3 (due at 10 + 3 * 1)
        (13.4, (3, 0)),  # less than an interval late: post tick 3 now, 0.4 s late
        (14.2, (4, 1)),  # more than an interval late: tick 3 is let go, tick 4 is 0.2 s late
        (17.0, (7, 4)),  # four intervals late: no burst of four posts to catch up
    ],
)
def test_due_tick_keeps_the_grid_and_lets_missed_ticks_go(now, expected):
    assert due_tick(first=10.0, interval=1.0, tick=3, now=now) == expected


def test_screens_are_spread_over_the_workers_and_camera_pages_skip_the_probe():
    slugs = ["cam-001", "cam-002", "cam-003"]
    screens = plan_screens(3, 3, slugs, ports=[8001, 8002], browser=True)
    # One dashboard is the Chromium page: two light ones, then three camera pages, round-robin over ports.
    assert [(s.kind, s.slug, s.port) for s in screens] == [
        ("dashboard", "", 8001), ("dashboard", "", 8002),
        ("camera", "cam-002", 8001), ("camera", "cam-003", 8002), ("camera", "cam-002", 8001),
    ]
    assert screens[2].path == "/ws/cameras/cam-002/"


def test_a_screen_counts_pushes_after_its_snapshot():
    screen = Screen("dashboard", "/ws/dashboard/", 8000)
    screen.received(50_000)  # the snapshot: every partial, not a push
    screen.received(100)
    screen.received(200)
    assert (screen.snapshot, screen.messages, screen.bytes, screen.ready.is_set()) == (True, 2, 300, True)


def test_proc_reads_cpu_memory_and_children_of_a_live_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in descendants(os.getpid())
        mine = memory(os.getpid())
        assert 0 < mine.rss_kib <= mine.hwm_kib
        assert cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
