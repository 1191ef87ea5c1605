"""A worker limits glibc's malloc arenas, so its memory does not grow with its thread count."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from inventory_monitor.memory import malloc_arenas_limit

# In a fresh interpreter: optionally limit arenas, then 8 threads allocate at once (each new thread
# that mallocs gets an arena of its own until the limit), then glibc's malloc_info counts the heaps.
PROBE = """
import ctypes, ctypes.util, sys, tempfile, threading
from inventory_monitor.memory import malloc_arenas_limit
if sys.argv[1] != "0":
    assert malloc_arenas_limit(int(sys.argv[1]))
barrier = threading.Barrier(8)
def work():
    keep = [bytearray(200_000) for _ in range(4)]  # above pymalloc's sizes: glibc malloc
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(open(out.name).read().count("<heap nr="))
"""

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc arenas")


def _heaps(limit: int) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(limit)], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    return int(out.stdout.strip())


@glibc_only
def test_it_caps_the_arenas_threads_get():
    assert _heaps(0) > 2  # glibc's default: a new arena per thread, up to 8 per core
    assert _heaps(2) <= 2


def test_it_leaves_glibc_alone_when_malloc_arena_max_is_set_or_the_limit_is_0(monkeypatch):
    assert malloc_arenas_limit(0) is False
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc_arenas_limit(2) is False


# A worker on SQLite, as Daphne starts it: the ASGI module, then one request through DRF.
WORKER = """
import json, sys
import inventory_monitor.asgi  # noqa: F401
loaded = {name: name in sys.modules and sys.modules[name] is not None for name in ("psycopg", "requests", "django.test")}
from rest_framework import compat
from django.test import Client
answer = Client(HTTP_HOST="127.0.0.1").get("/api/schema/")  # drf-spectacular builds its mock requests
import requests  # what a camera pull does when it first runs: the package is still there
print(json.dumps({**loaded, "drf_postgres": compat.postgres_fields is not None, "drf_requests": compat.requests is not None,
                  "requests_later": requests.Session is not None, "status": answer.status_code}))
"""


def test_a_sqlite_worker_loads_neither_the_postgresql_driver_nor_requests_nor_django_test(tmp_path):
    import json

    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "db.sqlite3"), "DETECTOR_PRELOAD": "0", "DEBUG": "1",
           "MODEL_SWITCH_POLL_S": "0", "OFFLINE_CHECK_INTERVAL_S": "0", "FRAME_SWEEP_INTERVAL_S": "0",
           "ALERT_SENDER_INTERVAL_S": "0"}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "psycopg": False, "drf_postgres": False, "requests": False, "drf_requests": False, "requests_later": True,
        "django.test": False, "status": 200}


def test_a_skipped_optional_import_stays_importable(monkeypatch):
    from inventory_monitor import memory

    module = "tests.inventory_monitor.optional_import_probe"
    monkeypatch.setitem(memory.OPTIONAL_IMPORTS, module, ("csv",))
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delitem(sys.modules, "csv", raising=False)
    try:
        assert module in memory.optional_imports_skip()
        assert sys.modules[module].csv is None  # the library took its fallback
        import csv

        assert csv.reader is not None  # and everybody else still gets the package
        assert memory.optional_imports_skip() == []  # already imported: left alone
    finally:
        sys.modules.pop(module, None)


def test_a_deferred_class_is_imported_when_first_used(monkeypatch):
    from inventory_monitor import memory

    module = "tests.inventory_monitor.deferred_import_probe"
    monkeypatch.setitem(memory.DEFERRED_IMPORTS, module, ("fractions", "Fraction"))
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delitem(sys.modules, "fractions", raising=False)
    try:
        assert module in memory.deferred_imports()
        assert "fractions" not in sys.modules  # the library imported, the heavy module did not
        half = sys.modules[module].half()
        import fractions

        assert isinstance(half, fractions.Fraction) and half == fractions.Fraction(1, 2)
        assert memory.deferred_imports() == []  # already imported: left alone
    finally:
        sys.modules.pop(module, None)


def test_other_engines_keep_their_drivers():
    from inventory_monitor.memory import foreign_drivers_skip

    before = dict(sys.modules)
    assert foreign_drivers_skip("django.db.backends.postgresql") == []
    assert dict(sys.modules) == before


# Freed blocks below ones still in use stay in the heap (free() only returns its top); malloc_trim
# gives their pages back.
HOLES = """
import sys
from inventory_monitor.memory import malloc_trim
def rss_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
before = rss_mb()
blocks, pins = [], []
for i in range(800):  # 64 kB: below glibc's mmap threshold, so in the heap
    blocks.append(bytearray(64_000))
    if i % 50 == 0:
        pins.append(bytearray(1_000))  # keeps the heap from shrinking from the top
blocks.clear()
held = rss_mb() - before  # freed, but still the process's
assert malloc_trim()
print(held, rss_mb() - before)
"""


@glibc_only
def test_trimming_gives_freed_heap_memory_back():
    out = subprocess.run([sys.executable, "-c", HOLES], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    held, left = map(float, out.stdout.split())
    assert held > 15 and left < 5  # of the 51 MB freed (glibc itself returned the part above the last pin)


def test_the_worker_trims_periodically_and_stops_on_shutdown(settings):
    from inventory_monitor import graceful
    from inventory_monitor.memory import trim_loop

    import inventory_monitor.asgi  # noqa: F401  (a worker's start-up)

    assert trim_loop.running == (settings.MALLOC_TRIM_INTERVAL_S > 0)
    graceful._stop_background_work()
    assert trim_loop.drain(5)
