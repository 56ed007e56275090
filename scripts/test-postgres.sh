#!/usr/bin/env bash
# A throwaway PostgreSQL server for goldenpath's tests, on 127.0.0.1 only.
#   scripts/test-postgres.sh start DIR   initdb (password auth) + start on a free port; prints the admin URL
#   scripts/test-postgres.sh stop DIR    stop it
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql). As root, the server runs as the
# postgres user, as PostgreSQL refuses to run as root.
set -euo pipefail

find_bin() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

start() {
  local dir=$1 bin port
  bin=$(find_bin) || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  # Password authentication, as on a real server: the tests check that a rotated password stops working.
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/admin.pw"
    chmod 600 "$dir/admin.pw"; [ "$(id -u)" = 0 ] && chown postgres "$dir/admin.pw"
    as_owner "$bin/initdb" -D "$dir/data" -A scram-sha-256 --pwfile="$dir/admin.pw" -U postgres >"$dir/initdb.log" 2>&1
  fi
  port=$(freeport)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
  echo "postgres://postgres:$(cat "$dir/admin.pw")@127.0.0.1:$port/postgres?sslmode=disable" | tee "$dir/url"
}

stop() {
  local dir=$1 bin
  bin=$(find_bin) || exit 0
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
}

case "${1:-}" in
  start) start "${2:?DIR}" ;;
  stop) stop "${2:?DIR}" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
