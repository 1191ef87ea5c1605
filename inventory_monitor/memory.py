"""Keep a worker's memory from growing with its thread count.

glibc gives each thread that meets a locked heap an arena of its own (up to 8 per core) and keeps
what is freed there for that arena: request threads, the ONNX Runtime calls and the image buffers
of a burst of concurrent frames leave memory behind in each. Measured on the 2-core dev box
(README "Performance"): ONNX Runtime runs on 4 threads grew a process by 79 MB, and by 60 MB,
unchanged when new threads came, with two arenas. A Daphne worker overloaded to 33 threads went
from 259 to 350 MB.

So the worker asks for ``MALLOC_ARENAS`` (default 2) arenas at start-up, before any of its threads
exist, unless glibc's own ``MALLOC_ARENA_MAX`` is set (it then rules). Elsewhere than glibc
(musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's <malloc.h>


def malloc_arenas_limit(arenas: int) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas (0: leave glibc's default). True when applied."""
    if arenas <= 0 or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:
        logger.warning("could not limit malloc arenas to %s", arenas)
        return False
    return True


# Database drivers a worker on another engine never uses. DRF imports django.contrib.postgres when
# psycopg is importable, which loads psycopg with its bundled libpq and OpenSSL: 9 MB of every
# SQLite worker's memory, measured (README "Performance").
FOREIGN_DRIVERS = {"django.db.backends.sqlite3": ("psycopg", "psycopg2")}


def foreign_drivers_skip(engine: str) -> list[str]:
    """Keep the drivers of other database engines out of this process; returns the names skipped.

    Call before Django is set up. An import of a skipped driver then fails with ImportError, as if
    it were not installed (what DRF and django.contrib.postgres already handle). Only the server
    calls this (inventory_monitor/asgi.py): a shell or a management command keeps every driver.
    """
    skipped = [name for name in FOREIGN_DRIVERS.get(engine, ()) if name not in sys.modules]
    for name in skipped:
        sys.modules[name] = None  # type: ignore[assignment]
    return skipped
