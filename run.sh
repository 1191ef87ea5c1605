#!/usr/bin/env bash
# Set up and start Smart Inventory Monitor on this machine: SQLite, in-memory channel layer, the
# shipped model, a demo camera whose key is printed, and an admin login. Re-running is safe.
#   PORT=8000 HOST=127.0.0.1 ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
pip_install() {  # quiet, minus the noise some mirrors' find-links produce; keeps pip's exit status
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" \
    > >(grep -v "is ignored: it is neither a file nor a directory" || true) 2>&1
}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
echo "==> installing requirements/base.txt"
pip_install -r requirements/base.txt
# A laptop demo: DEBUG on unless the caller configured a real deployment (SECRET_KEY set).
if [ -z "${SECRET_KEY:-}" ]; then export DEBUG=${DEBUG:-1}; fi
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py demo_setup --port "${PORT:-8000}"
echo "==> serving on http://${HOST:-127.0.0.1}:${PORT:-8000}/  (Ctrl-C stops)"
exec .venv/bin/daphne -b "${HOST:-127.0.0.1}" -p "${PORT:-8000}" inventory_monitor.asgi:application
