#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server: DATABASE_URL points at it while the command
# runs, and the server and its data are removed afterwards. Used by test.sh to run the
# database-facing tests on the engine production uses. Needs Debian's postgresql package.
#   scripts/with_postgres.sh .venv/bin/python -m pytest tests/detection
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "with_postgres: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
workdir=$(mktemp -d /tmp/inventory-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
  chown postgres "$workdir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$workdir/data" -U postgres -A trust --no-sync >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/log" -w \
  -o "-p $port -k $workdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "==> PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port"
"$@"
