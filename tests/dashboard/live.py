"""Real servers for browser tests and the latency benchmark: Daphne subprocesses (one or several,
sharing one SQLite file and optionally one redis-server), plus a headless Debian Chromium.

Nothing here is downloaded: Chromium is /usr/bin/chromium (apt), redis-server comes from apt.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct-horse-battery"

# Users and cameras every live server starts with. Managers may change thresholds, Operators only look,
# Auditors use the Vision Inspector.
SETUP_SCRIPT = """
import json
from django.contrib.auth.models import Group, User
from detection.stock.services import stock_thresholds_update
from devices.services import camera_create
users = {"manager": ["Managers", "Auditors"], "viewer": ["Operators"]}
for name, groups in users.items():
    user = User.objects.create_user(name, password=PASSWORD)
    user.groups.set(Group.objects.filter(name__in=groups))
keys = {}
for slug in SLUGS:
    camera, keys[slug] = camera_create(slug=slug)
    stock_thresholds_update(camera=camera, critical_level=3, target_capacity=15, smoothing_window=1)
print("KEYS=" + json.dumps(keys))
"""

# Signed-in sessions without a login request each (no password hashing): what Django's test client's
# force_login stores, in the server's own session store, for WebSocket clients that are not browsers.
SESSIONS_SCRIPT = """
import json
from django.contrib.auth.models import User
from django.test import Client
user = User.objects.get(username=USERNAME)
keys = []
for _ in range(COUNT):
    client = Client()
    client.force_login(user)
    keys.append(client.cookies["sessionid"].value)
print("SESSIONS=" + json.dumps(keys))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_path() -> Path:
    """MODEL_PATH from the environment, else the model shipped in the repo."""
    path = Path(os.environ.get("MODEL_PATH") or REPO / "detection" / "weights" / "package_detector.int8.onnx")
    if not path.is_file():
        raise RuntimeError(f"detection model not found at {path}; set MODEL_PATH")
    return path


def server_env(sqlite_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="inventory_monitor.settings", DEBUG="1", SQLITE_PATH=str(sqlite_path),
        MODEL_PATH=str(model_path()), DETECTOR_PRELOAD="1", DETECTOR_THREADS="1", LOG_LEVEL="WARNING",
        INGEST_RATE_FRAMES="100000", PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _shell(env: dict[str, str], script: str, prefix: str):
    """Run a script in `manage.py shell`; returns the JSON it printed after `prefix`."""
    out = subprocess.run([sys.executable, str(REPO / "manage.py"), "shell", "-c", script], cwd=REPO, env=env,
                         check=True, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    return json.loads(line.removeprefix(prefix))


def prepare_database(sqlite_path: Path, slugs: list[str], **extra_env: str) -> dict[str, str]:
    """Migrate a fresh SQLite file and create users and cameras; returns {slug: device key}."""
    env = server_env(sqlite_path, **extra_env)
    subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate", "-v0"], cwd=REPO, env=env, check=True)
    return _shell(env, f"PASSWORD = {PASSWORD!r}\nSLUGS = {slugs!r}\n" + SETUP_SCRIPT, "KEYS=")


def signed_in_sessions(sqlite_path: Path, username: str, count: int, **extra_env: str) -> list[str]:
    """`count` session keys signed in as `username` (pass the servers' SECRET_KEY in extra_env: the
    session data and the user's session hash are signed with it)."""
    if count <= 0:
        return []
    script = f"USERNAME = {username!r}\nCOUNT = {count}\n" + SESSIONS_SCRIPT
    return _shell(server_env(sqlite_path, **extra_env), script, "SESSIONS=")


@dataclass
class Daphne:
    sqlite_path: Path
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Daphne:
        self.port = self.port or free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "inventory_monitor.asgi:application"],
            cwd=REPO, env=server_env(self.sqlite_path, **self.extra_env), stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"daphne not healthy after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class RedisServer:
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not installed (apt-get install -y redis-server)")
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        """Stopped and started again on the same port, empty (as after a crash: nothing is saved)."""
        self.stop()
        self.start()


def post_frame(base_url: str, key: str, image: Path) -> dict:
    with image.open("rb") as fh:
        response = requests.post(f"{base_url}/api/v1/frames/", headers={"Authorization": f"Bearer {key}"},
                                 files={"image": (image.name, fh, "image/jpeg")}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def launch_chromium(playwright):
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def log_in(page, base_url: str, username: str, path: str = "/") -> None:
    page.goto(base_url + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def wait_live(page, timeout: float = 10_000) -> None:
    """The page's WebSocket is open (and the consumer has accepted it)."""
    page.wait_for_selector("#connection[data-state=live]", timeout=timeout)
