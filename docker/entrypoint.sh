#!/usr/bin/env bash
# Container entrypoint.
#   no arguments  -> (optionally migrate, then) serve with Daphne on port 8000
#   arguments     -> (optionally migrate, then) run them, e.g. `python manage.py migrate --no-input`
#                    as a one-off ECS task, `python manage.py create_camera dock-3 ...`, or
#                    `python manage.py pull_cameras` (the camera puller: terraform/puller.tf)
#
# RUN_MIGRATIONS=1 runs `manage.py migrate` first. Convenient for one task; with several tasks
# starting at once they race on the same migrations, so production runs migrations as a one-off
# task before the deploy instead (terraform/README.md).
set -euo pipefail

cd "$(dirname "$0")/.."  # /app in the image

# Behind an ALB, health checks arrive with the task's private IP as Host header; Django rejects
# hosts it does not serve (400), so the ALB would mark every task unhealthy. On ECS the task
# metadata endpoint tells us that IP: allow it, nothing else.
if [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ]; then
  task_ip=$(python - <<'PY'
import json, os, urllib.request
with urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"], timeout=3) as response:
    print(json.load(response)["Networks"][0]["IPv4Addresses"][0])
PY
  ) || task_ip=""
  if [ -n "$task_ip" ]; then
    export ALLOWED_HOSTS="${ALLOWED_HOSTS:+${ALLOWED_HOSTS},}${task_ip}"
  else
    echo "entrypoint: could not read the task IP from ECS metadata; ALB health checks may get 400" >&2
  fi
fi

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
  echo "entrypoint: RUN_MIGRATIONS=1, applying migrations"
  python manage.py migrate --no-input
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

# No --proxy-headers: Daphne would take the FIRST X-Forwarded-For entry, which the client writes, as the
# client address, so "X-Forwarded-For: 127.0.0.1" through the ALB would pass loopback-only checks
# (/metrics) and dodge the login lockout. The scheme comes from X-Forwarded-Proto via Django's
# SECURE_PROXY_SSL_HEADER, the client address for throttling from the ALB's LAST entry
# (inventory_monitor/client_ip.py), both only with BEHIND_TLS_PROXY=1.
exec daphne -b 0.0.0.0 -p 8000 inventory_monitor.asgi:application
