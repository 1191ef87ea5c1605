"""Loaded as a plugin (`-p tests.pytest_env` in pytest.ini) so it runs before pytest-django reads
settings: test runs are DEBUG (no SECRET_KEY needed) and don't preload the model at import."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DETECTOR_PRELOAD", "0")
