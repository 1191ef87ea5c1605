"""Shared fixtures. Settings for tests come from the environment like production; the defaults
below make them hermetic (DEBUG on for a secret-less run, no model preload at import)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DETECTOR_PRELOAD", "0")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "simulation" / "samples"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Throttle counters live in the cache; each test starts with an empty budget."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
