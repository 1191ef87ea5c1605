"""Keep a worker's memory from growing with its thread count.

glibc gives each thread that meets a locked heap an arena of its own (up to 8 per core) and keeps
what is freed there for that arena: request threads, the ONNX Runtime calls and the image buffers
of a burst of concurrent frames leave memory behind in each. Measured on the 2-core dev box
(README "Performance"): ONNX Runtime runs on 4 threads grew a process by 79 MB, and by 60 MB,
unchanged when new threads came, with two arenas. A Daphne worker overloaded to 33 threads went
from 259 to 350 MB.

So the worker asks for ``MALLOC_ARENAS`` (default 2) arenas at start-up, before any of its threads
exist, unless glibc's own ``MALLOC_ARENA_MAX`` is set (it then rules), and gives the free pages of
its heaps back every ``MALLOC_TRIM_INTERVAL_S`` (``malloc_trim``). Elsewhere than glibc (musl,
macOS) both do nothing. A SQLite worker also keeps PostgreSQL's driver out (foreign_drivers_skip),
and libraries' optional imports it never uses (optional_imports_skip), and imports a library makes
for a class it only uses now and then when that class is first used (deferred_imports).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import logging
import os
import sys
import types
from collections.abc import Callable

from detection.background import PeriodicThread

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's <malloc.h>


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, with the two calls used here; None elsewhere (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc


def malloc_arenas_limit(arenas: int) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas (0: leave glibc's default). True when applied."""
    if arenas <= 0 or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    if libc.mallopt(M_ARENA_MAX, arenas) != 1:
        logger.warning("could not limit malloc arenas to %s", arenas)
        return False
    return True


def malloc_trim() -> bool:
    """Give the free pages of glibc's heaps back to the system; False where there is no glibc.

    free() only returns the top of a heap: memory freed below a block still in use stays in the
    process. A burst of frames (many bodies, decoded images and request threads at once) leaves
    such holes behind; measured, a worker at 20 cameras stayed 73 MB above its steady size after
    one. malloc_trim releases every free page, wherever it lies (README "Performance").
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


_releasers: list[Callable[[], object]] = []


def before_trim(release: Callable[[], object]) -> None:
    """Run ``release`` (it lets go of idle memory: e.g. request threads a burst left) before each trim."""
    _releasers.append(release)


def _release_and_trim() -> None:
    for release in tuple(_releasers):
        try:
            release()
        except Exception:  # the trim still runs; the next round tries again
            logger.exception("memory release %r failed", release)
    malloc_trim()


# Started by the worker (inventory_monitor/asgi.py); the trim took 10 ms when a burst left 67 MB to
# give back, 0.02 ms when nothing was left.
trim_loop = PeriodicThread("malloc-trim", _release_and_trim)


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


# Libraries that import an optional package when it is installed, for something a worker never does.
# DRF's compat imports requests for its test client (rest_framework.test.RequestsClient): requests with
# its charset detection is 4.3 MB of every worker's memory, measured (README "Performance"). Our own
# users of requests (a camera pull, a manager's "Test connection") import it when they run.
OPTIONAL_IMPORTS = {"rest_framework.compat": ("requests",)}


def optional_imports_skip() -> list[str]:
    """Import each module of OPTIONAL_IMPORTS with its optional packages hidden; returns the modules.

    The module's ``try: import x / except ImportError`` then takes the fallback, as if the package were
    not installed; the packages stay importable afterwards for any code that needs them. A module
    already imported is left as it is. Call before Django is set up; only the server calls this
    (inventory_monitor/asgi.py).
    """
    done = []
    for module, packages in OPTIONAL_IMPORTS.items():
        if module in sys.modules:
            continue
        hidden = [name for name in packages if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            importlib.import_module(module)
        finally:
            for name in hidden:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]
        done.append(module)
    return done


# A library that imports a heavy module at import time for one class it instantiates only now and
# then: drf-spectacular's plumbing imports rest_framework.test, and with it django.test (3.4 MB of
# every worker, measured), for the APIRequestFactory it builds when it generates the schema.
DEFERRED_IMPORTS = {"drf_spectacular.plumbing": ("rest_framework.test", "APIRequestFactory")}


def _deferred_class(module: str, name: str) -> type:
    """A stand-in for ``module.name`` that imports ``module`` when instantiated and returns the real thing."""

    def __new__(cls, *args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return type(name, (), {"__new__": __new__, "__module__": __name__, "__doc__": f"{module}.{name}, imported when used."})


def deferred_imports() -> list[str]:
    """Import each module of DEFERRED_IMPORTS with a stand-in for the class it takes from the heavy
    module (_deferred_class); returns the modules imported so.

    Only for a class the importing module just instantiates (no subclass, no isinstance). The
    heavy module itself stays importable as usual, and is imported by the stand-in's first use.
    A module already imported is left as it is. Call after Django is set up, before the URLs are
    loaded; only the server calls this (inventory_monitor/asgi.py).
    """
    done = []
    for module, (heavy, name) in DEFERRED_IMPORTS.items():
        if module in sys.modules or heavy in sys.modules:
            continue
        stand_in = types.ModuleType(heavy, f"Stand-in for {heavy} while {module} is imported.")
        setattr(stand_in, name, _deferred_class(heavy, name))
        sys.modules[heavy] = stand_in
        try:
            importlib.import_module(module)
        finally:
            if sys.modules.get(heavy) is stand_in:
                del sys.modules[heavy]
        done.append(module)
    return done
