"""Loaded as a plugin (`-p tests.pytest_env` in pytest.ini) so it runs before pytest-django reads
settings: test runs are DEBUG (no SECRET_KEY needed), don't preload the model at import and
don't start the offline watch thread."""

import os

os.environ.setdefault("DEBUG", "1")
# Some tests import onnxruntime before the detector package turns its telemetry off (see there).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DETECTOR_PRELOAD", "0")
# No background offline watch in the test process (tests call cameras_check_offline directly).
os.environ.setdefault("OFFLINE_CHECK_INTERVAL_S", "0")
# No background alert sender either: tests deliver the outbox with flush_alerts() or start one themselves.
os.environ.setdefault("ALERT_SENDER_INTERVAL_S", "0")
# No model-version poll: tests switch with detection.serving.runtime.sync_active_model() (live servers set it).
os.environ.setdefault("MODEL_SWITCH_POLL_S", "0")
# No background frame sweep: tests call detection.stock.frames.frames_sweep() directly.
os.environ.setdefault("FRAME_SWEEP_INTERVAL_S", "0")
# Stored frames go to a folder of this test process, never into the checkout's media/; removed at exit.
if not os.environ.get("MEDIA_ROOT"):
    import atexit
    import shutil
    import tempfile

    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="inventory-test-media-")
    atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], ignore_errors=True)
# Connections are closed after each request and each consumer call in the test process, as they were
# before request threads were kept: threads the tests start and leave would otherwise hold one open
# and PostgreSQL refuses to drop the test database. (Live servers run with the default, 60 s;
# tests/inventory_monitor/test_asgi_handler.py checks the kept connections.)
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
