"""The serving image, checked without Docker (no engine here): what it installs, who it runs as,
which port it serves, and that the entrypoint is valid shell that ends in Daphne."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.strip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        elif raw.strip():
            lines.append(raw.strip())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def arguments(instruction: str) -> list[str]:
    return [args for name, args in instructions() if name == instruction]


def test_it_builds_from_python_311_slim():
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]+)?", arguments("FROM")[0].split()[0])


def test_it_installs_the_serving_requirements_only():
    runs = " ".join(arguments("RUN"))
    assert "pip install -r requirements/base.txt" in runs
    assert "ml.txt" not in runs and "dev.txt" not in runs
    assert not re.search(r"\b(torch|ultralytics)\b", runs)
    # The requirements file is copied on its own first, so code changes reuse the dependency layer.
    copies = arguments("COPY")
    assert copies[0].split()[0] == "requirements/base.txt"


def test_it_runs_as_a_non_root_user():
    users = arguments("USER")
    assert users, "no USER: the container would run as root"
    final = users[-1].split(":")[0]
    assert final not in {"root", "0"}
    assert "useradd" in " ".join(arguments("RUN")) and final in " ".join(arguments("RUN"))


def test_it_collects_static_files_at_build_time_with_a_throwaway_key():
    collect = [run for run in arguments("RUN") if "collectstatic" in run]
    assert collect and "SECRET_KEY=" in collect[0] and "DEBUG=0" in collect[0]


def test_it_checks_health_on_healthz():
    (healthcheck,) = arguments("HEALTHCHECK")
    assert "/healthz" in healthcheck


def test_it_exposes_the_port_the_entrypoint_serves():
    exposed = {int(port) for args in arguments("EXPOSE") for port in re.findall(r"\d+", args)}
    served = re.findall(r"exec daphne\b.*?-p\s+(\d+)", ENTRYPOINT.read_text())
    assert served and exposed == {int(served[-1])}
    (healthcheck,) = arguments("HEALTHCHECK")
    assert f"127.0.0.1:{served[-1]}/healthz" in healthcheck


def test_the_entrypoint_is_valid_bash():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    result = subprocess.run([bash, "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_entrypoint_is_the_image_entrypoint_and_serves_behind_the_alb():
    (entrypoint,) = arguments("ENTRYPOINT")
    assert entrypoint == '["/app/docker/entrypoint.sh"]'  # exec form: signals reach Daphne
    script = ENTRYPOINT.read_text()
    assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
    assert re.search(r"exec daphne -b 0\.0\.0\.0 -p \d+ inventory_monitor\.asgi:application", script)
    # Daphne's --proxy-headers trusts the client-written first X-Forwarded-For entry: a forged
    # "127.0.0.1" would open loopback-only /metrics through the load balancer.
    assert "--proxy-headers" not in script.split("exec daphne", 1)[1]
    assert 'if [ "${RUN_MIGRATIONS:-0}" = "1" ]' in script and "manage.py migrate --no-input" in script
    assert ENTRYPOINT.stat().st_mode & 0o111, "entrypoint is not executable"


def test_the_entrypoint_runs_a_given_command_instead_of_serving(tmp_path):
    # One-off ECS tasks (migrate, create_camera) override the command: it must run, not Daphne.
    result = subprocess.run([str(ENTRYPOINT), "echo", "one-off"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "RUN_MIGRATIONS": "0"}, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "one-off"


def test_the_build_context_leaves_out_local_state_but_keeps_the_model():
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", "ml/runs", "node_modules", "test-artifacts", "db.sqlite3*", ".git", "terraform"} <= ignored
    assert not any(pattern.startswith(("detection", "*.onnx", "**/*.onnx")) for pattern in ignored)
