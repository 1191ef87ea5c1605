"""Files the detector and its training share: which suffixes are images, and a file's SHA-256.

No Django: ``ml/`` (exports, datasets) and the product (model versions) hash and list files the same
way from here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), read in 1 MiB chunks: model files are tens of MB."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
