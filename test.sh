#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs what the tests need (Python packages in
# .venv, Debian's chromium for the browser tests, redis-server for the multi-worker test,
# postgresql for the second pass), runs pytest on SQLite (the laptop default), then runs the
# database-facing tests again on a throwaway PostgreSQL server (the production engine).
# Extra arguments go to a single pytest run on SQLite (e.g. ./test.sh tests/devices -x).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
pip_install() {  # quiet, minus the noise some mirrors' find-links produce; keeps pip's exit status
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" \
    > >(grep -v "is ignored: it is neither a file nor a directory" || true) 2>&1
}
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
echo "==> installing requirements/dev.txt and requirements/ml.txt"
pip_install -r requirements/dev.txt -r requirements/ml.txt
# Ultralytics drags in opencv-python; two cv2 packages share one folder and break each other.
if .venv/bin/python -m pip show -q opencv-python >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -y -q opencv-python opencv-python-headless
  pip_install --no-deps "$(grep -E '^opencv-python-headless==' requirements/base.txt)"
fi
# checkov (tests/deploy/test_checkov.py) pins a boto3 range that conflicts with ours: its own virtualenv.
echo "==> installing requirements/checkov.txt into .venv-checkov"
[ -x .venv-checkov/bin/python ] || "$PYTHON" -m venv .venv-checkov
.venv-checkov/bin/python -m pip install -q --disable-pip-version-check -r requirements/checkov.txt \
  > >(grep -v "is ignored: it is neither a file nor a directory" || true) 2>&1
.venv/bin/python -c "import cv2, onnxruntime, django; print('cv2', cv2.__version__, '| onnxruntime', onnxruntime.__version__, '| django', django.__version__)"
if [ $# -gt 0 ]; then exec .venv/bin/python -m pytest "$@"; fi
echo "==> pytest (SQLite)"
.venv/bin/python -m pytest
echo "==> pytest again on PostgreSQL: models, services, API, admin, dashboard views and consumer"
scripts/with_postgres.sh .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/detection tests/devices tests/dashboard -m "not browser and not redis"
