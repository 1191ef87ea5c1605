"""Shared fixtures. Environment defaults for tests are set in tests/pytest_env.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "simulation" / "samples"


from PIL import Image  # noqa: E402

_PILLOW_OPEN = Image.open


@pytest.fixture(autouse=True)
def _pillow_unpatched():
    """Importing ultralytics (tests/ml) replaces PIL.Image.open process-wide with a wrapper that
    tries to pip-install a HEIF plugin on unknown files. Serving never imports it; undo it after
    each test so the rest of the suite sees the Pillow users have."""
    yield
    Image.open = _PILLOW_OPEN


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Throttle counters live in the cache; each test starts with an empty budget."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def dataset_dir() -> Path:
    """The licensed dataset beside the checkout (read-only; its images are never committed)."""
    for candidate in (os.environ.get("PACKAGES_DATASET"), REPO.parent / "shared" / "datasets" / "packages",
                      Path("/work/shared/datasets/packages")):
        if candidate and (Path(candidate) / "images" / "val").is_dir():
            return Path(candidate)
    raise RuntimeError("dataset not found: set PACKAGES_DATASET to the packages dataset folder")


def labelled_val_images(min_boxes: int = 1, max_boxes: int = 1000, limit: int = 3) -> list[tuple[Path, int]]:
    """(image path, labelled box count) for val images in a density range, in a stable order."""
    root = dataset_dir()
    found = []
    for image in sorted((root / "images" / "val").glob("*.jpg")):
        label = root / "labels" / "val" / f"{image.stem}.txt"
        boxes = sum(1 for line in label.read_text().splitlines() if line.strip())
        if min_boxes <= boxes <= max_boxes:
            found.append((image, boxes))
        if len(found) == limit:
            break
    return found


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR claims width x height: a decompression bomb's header, 100 bytes."""
    import io
    import struct
    import zlib

    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture
def camera_with_key(db):
    """A camera with thresholds critical 3 / target 15 / window 1, and its raw key."""
    from detection.stock.services import stock_thresholds_update
    from devices.services import camera_create

    def make(slug: str = "dock-1", critical: int = 3, target: int = 15, window: int = 1):
        camera, raw_key = camera_create(slug=slug)
        stock_thresholds_update(camera=camera, critical_level=critical, target_capacity=target,
                                smoothing_window=window)
        return camera, raw_key

    return make


@pytest.fixture
def camera_client():
    """A DRF client that authenticates as a camera."""
    from rest_framework.test import APIClient

    def make(raw_key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return client

    return make


@pytest.fixture
def jpeg_bytes():
    """Encode a synthetic RGB frame; for tests about the API, not about counting."""
    import io

    from PIL import Image

    def make(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (width, height), (120, 110, 90)).save(buf, fmt)
        return buf.getvalue()

    return make


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def moto_endpoint(monkeypatch):
    """moto's server on a free local port (a real HTTP endpoint, as AWS would be), with dummy
    credentials in the environment; its URL. moto keeps its state per process, not per server:
    reset before and after, so no test sees another's buckets or topics."""
    import requests
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    endpoint = f"http://127.0.0.1:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    yield endpoint
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    server.stop()
