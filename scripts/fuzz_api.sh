#!/usr/bin/env bash
# Fuzz every endpoint for 5xx answers (issue 19): schemathesis on /api/schema/, then
# scripts/fuzz_dashboard.py on the dashboard's forms and query strings. Loopback only; a throwaway
# SQLite database and media folder under a temp dir. About 2 minutes on the 2-core dev box.
#   scripts/fuzz_api.sh [EXAMPLES]     (default 100 per operation; exits 1 on any 5xx)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
PORT=${FUZZ_PORT:-8765}
BASE=http://127.0.0.1:$PORT
TMP=$(mktemp -d)
export DEBUG=1 SQLITE_PATH=$TMP/db.sqlite3 MEDIA_ROOT=$TMP/media
PY=.venv/bin/python
$PY manage.py migrate --no-input -v 0
KEY=$($PY manage.py create_camera fuzz-cam | tail -1)
$PY manage.py shell -v 0 -c "
from django.contrib.auth.models import Group, User
User.objects.create_superuser('fuzzadmin', 'fuzz@example.invalid', 'fuzzpass123')
User.objects.create_user('fuzzmgr', password='fuzzpass123').groups.add(Group.objects.get(name='Managers'))"
.venv/bin/daphne -b 127.0.0.1 -p "$PORT" inventory_monitor.asgi:application > "$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "$BASE/api/schema/" && break; sleep 0.2; done

login() {  # prints "sessionid csrftoken" for user $1
  local jar=$TMP/jar-$1 token
  curl -s -c "$jar" -b "$jar" -o /dev/null "$BASE/accounts/login/"
  token=$(awk '$6=="csrftoken"{print $7}' "$jar")
  curl -s -c "$jar" -b "$jar" -o /dev/null -H "Referer: $BASE/accounts/login/" \
    --data "csrfmiddlewaretoken=$token&username=$1&password=fuzzpass123" "$BASE/accounts/login/"
  echo "$(awk '$6=="sessionid"{print $7}' "$jar") $(awk '$6=="csrftoken"{print $7}' "$jar")"
}

# A frame first, so the flag endpoint has an event to aim at.
$PY -c "from PIL import Image; Image.new('RGB', (320, 240), (150, 110, 60)).save('$TMP/frame.jpg')"
curl -s -o /dev/null -H "Authorization: Bearer $KEY" -F "image=@$TMP/frame.jpg" "$BASE/api/v1/frames/"
EVENT=$($PY manage.py shell -v 0 -c "from detection.models import DetectionEvent; print(DetectionEvent.objects.latest('id').id)")
printf '[parameters]\n"path.slug" = "fuzz-cam"\n"path.event_id" = %s\n"query.camera" = "fuzz-cam"\n' "$EVENT" > "$TMP/schemathesis.toml"

read -r SESSION CSRF < <(login fuzzadmin)
status=0
.venv/bin/schemathesis --config-file "$TMP/schemathesis.toml" run "$BASE/api/schema/" -c not_a_server_error \
  -n "$N" -w 2 --continue-on-failure --suppress-health-check all --request-timeout 20 \
  -H "Authorization: Bearer $KEY" -H "Cookie: sessionid=$SESSION; csrftoken=$CSRF" -H "X-CSRFToken: $CSRF" \
  -H "Referer: $BASE/" || status=1

read -r SESSION CSRF < <(login fuzzmgr)
EVENT=$($PY manage.py shell -v 0 -c "from detection.models import DetectionEvent; print(DetectionEvent.objects.latest('id').id)")
$PY scripts/fuzz_dashboard.py "$BASE" "$SESSION" "$CSRF" fuzz-cam "$EVENT" "$N" || status=1

if grep -a "Internal Server Error" -A40 "$TMP/server.log"; then status=1; fi
exit $status
