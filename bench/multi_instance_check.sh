#!/usr/bin/env bash
# Two Orders API instances on one PostgreSQL database behind nginx (deploy/nginx.conf),
# then bench/multi_instance_check.py proves that no state lives in a process.
#
#   bench/multi_instance_check.sh          (make multi-check)
#
# Instance one serves with --workers 1, instance two with --workers 2, on 127.0.0.1:8001
# and :8002 (the ports deploy/nginx.conf names), nginx on 127.0.0.1:8080. The database
# ($MULTI_CHECK_DB, default orders_multi_check on $PGHOST:$PGPORT, default
# 127.0.0.1:5432) is dropped and recreated. Everything started here is stopped on exit,
# whatever happens (trap), and the database is dropped again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
DB="${MULTI_CHECK_DB:-orders_multi_check}"
PORTS=(8001 8002)
NGINX_PORT=8080
ADMIN_EMAIL="admin@multi-check.example.com"

say() { printf '    %s\n' "$*"; }
die() { printf 'multi-instance check: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
if [[ -z "$NGINX" ]]; then
  [[ "$(id -u)" == 0 ]] || die "nginx is not installed: run 'sudo apt-get install -y nginx'"
  say "installing nginx (Debian's package)"
  # RUNLEVEL=1: install only; the distribution's own nginx service is not started.
  apt_install() { RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=300 install -y -q nginx; }
  apt_install >/dev/null || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null; apt_install >/dev/null; }
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi
[[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "MULTI_CHECK_DB must be a plain identifier, not '$DB'"
pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL is not answering on $PGHOST:$PGPORT"
for port in "${PORTS[@]}" "$NGINX_PORT"; do
  "$PYTHON" -c "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port))" 2>/dev/null \
    || die "port 127.0.0.1:$port is in use; deploy/nginx.conf needs 8001, 8002 and 8080"
done

# ---------------------------------------------------------------- clean-up, always
PREFIX="$(mktemp -d /tmp/orders-multi-check.XXXXXX)"
PIDS=()
psql_admin() {
  PGOPTIONS="-c client_min_messages=warning" \
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -v ON_ERROR_STOP=1 -q -c "$1"
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -f "$PREFIX/nginx.pid" ]]; then
    "$NGINX" -p "$PREFIX/" -c "$ROOT/deploy/nginx.conf" -e "$PREFIX/error.log" -s stop 2>/dev/null || true
  fi
  # Each instance is a process group of its own (setsid): its workers go with it, even
  # when they outlive a parent that had to be killed, so no port stays taken.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 150); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if (( status != 0 )); then
    for log in "$PREFIX"/*.log; do
      [[ -f "$log" ]] && { echo "--- last lines of $(basename "$log")"; tail -n 20 "$log"; }
    done
  fi
  psql_admin "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$PREFIX"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- database, instances, nginx
export DATABASE_URL="postgresql+asyncpg://$PGUSER@$PGHOST:$PGPORT/$DB"
SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export SECRET_KEY BCRYPT_ROUNDS=4 LOG_LEVEL=WARNING PYTHONPATH="$ROOT"
export ADMIN_PASSWORD
ADMIN_PASSWORD="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(16))')"

say "database $DB (recreated), migrations, an admin"
psql_admin "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
psql_admin "CREATE DATABASE \"$DB\""
# From the prefix, so no .env of the checkout leaks into the instances' settings.
(cd "$PREFIX" && "$PYTHON" -m app migrate \
  && "$PYTHON" -m app create-admin --email "$ADMIN_EMAIL" --name "Check Admin") >"$PREFIX/setup.log" 2>&1

start_instance() {  # port workers
  (cd "$PREFIX" && exec setsid "$PYTHON" -m app serve --host 127.0.0.1 --port "$1" \
    --workers "$2" --no-access-log >"$PREFIX/instance-$1.log" 2>&1) &
  PIDS+=($!)
  say "instance on 127.0.0.1:$1 with --workers $2 (pid $!)"
}
start_instance "${PORTS[0]}" 1
start_instance "${PORTS[1]}" 2

"$NGINX" -t -q -p "$PREFIX/" -c "$ROOT/deploy/nginx.conf" -e "$PREFIX/error.log"
"$NGINX" -p "$PREFIX/" -c "$ROOT/deploy/nginx.conf" -e "$PREFIX/error.log"
say "nginx on 127.0.0.1:$NGINX_PORT (deploy/nginx.conf, prefix $PREFIX, pid $(cat "$PREFIX/nginx.pid"))"

wait_healthy() {  # url: /health answers 200 within 90 s (a loaded machine), else the check fails
  "$PYTHON" - "$1" <<'PY' || die "$1/health did not answer 200 within 90 s"
import sys, time, httpx
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        if httpx.get(sys.argv[1] + "/health", timeout=2).status_code == 200:
            sys.exit(0)
    except httpx.HTTPError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}
for url in "http://127.0.0.1:${PORTS[0]}" "http://127.0.0.1:${PORTS[1]}" "http://127.0.0.1:$NGINX_PORT"; do
  wait_healthy "$url"
done

# ---------------------------------------------------------------- the checks
echo
"$PYTHON" -m bench.multi_instance_check \
  --nginx "http://127.0.0.1:$NGINX_PORT" \
  --instances "http://127.0.0.1:${PORTS[0]}" "http://127.0.0.1:${PORTS[1]}" \
  --access-log "$PREFIX/access.log" \
  --admin-email "$ADMIN_EMAIL"
