#!/usr/bin/env bash
# The compose topology (deploy/compose.yaml) as plain processes on loopback, for machines
# without a container engine: 2 token, 2 introspection, 1 admin and 1 keys replica of the
# tessera binary against one PostgreSQL and one Redis, behind Debian's nginx with the same
# routing (deploy/nginx/routes.conf).
#
#   deploy/local-cluster.sh start    # migrate, start everything, wait until each is ready
#   deploy/local-cluster.sh stop     # stop what `start` started (by PID), gracefully
#   deploy/local-cluster.sh status   # which processes are up
#   deploy/local-cluster.sh kill NAME   # SIGKILL one replica (e.g. token-1), as a crash would
#   deploy/local-cluster.sh start NAME  # start one replica again (nginx is left alone: its
#                                       # upstreams name fixed ports and it retries a replica
#                                       # that is back after fail_timeout)
#
# Settings (environment):
#   TESSERA_BIN        the binary (default: target/release/tessera, else target/debug/tessera)
#   CLUSTER_DIR        state, logs and PID files (default: /tmp/tessera-cluster)
#   CLUSTER_PORT       nginx's port; replicas use the next six (default: 18600)
#   DATABASE_URL       PostgreSQL (default: postgres://postgres@127.0.0.1:5432/tessera_cluster,
#                      created when missing)
#   REDIS_URL          (default: redis://127.0.0.1:6379)
#   TESSERA_OPERATOR_TOKEN, TESSERA_MASTER_KEY   generated into CLUSTER_DIR when unset
#   TESSERA_LOG_LEVEL  (default: info)
# Any other TESSERA_* variable is passed to every replica.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${CLUSTER_DIR:-/tmp/tessera-cluster}"
PORT="${CLUSTER_PORT:-18600}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tessera_cluster}"
NGINX="${NGINX:-/usr/sbin/nginx}"
BIN="${TESSERA_BIN:-}"
if [ -z "$BIN" ]; then
  if [ -x "$ROOT/target/release/tessera" ]; then BIN="$ROOT/target/release/tessera"
  else BIN="$ROOT/target/debug/tessera"; fi
fi
# Tessera refuses TESSERA_* variables it does not know; this one is the script's.
unset TESSERA_BIN

# name service port
REPLICAS=(
  "token-1 token $((PORT + 1))"
  "token-2 token $((PORT + 2))"
  "introspection-1 introspection $((PORT + 3))"
  "introspection-2 introspection $((PORT + 4))"
  "admin admin $((PORT + 5))"
  "keys keys $((PORT + 6))"
)

log() { echo "local-cluster: $*" >&2; }

secret() { # a file's content, created with 32 random bytes (base64url) when missing
  local file="$DIR/$1"
  if [ ! -s "$file" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$file")
  fi
  cat "$file"
}

# Alive and not a zombie (a killed replica whose parent, the shell that started it, is gone
# may wait unreaped where PID 1 does not reap).
running() {
  local pid
  pid="$(cat "$DIR/pids/$1.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  ! [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]
}

wait_ready() { # name url
  for _ in $(seq 1 150); do
    if curl -sf -o /dev/null "$2"; then return 0; fi
    if ! running "$1"; then log "$1 exited; see $DIR/logs/$1.log"; tail -n 20 "$DIR/logs/$1.log" >&2; return 1; fi
    sleep 0.2
  done
  log "$1 did not become ready at $2"; return 1
}

environment() { # what every replica is started with
  mkdir -p "$DIR/pids" "$DIR/logs" "$DIR/nginx"
  export TESSERA_OPERATOR_TOKEN="${TESSERA_OPERATOR_TOKEN:-$(secret operator-token)}"
  export TESSERA_MASTER_KEY="${TESSERA_MASTER_KEY:-$(secret master-key)}"
  export TESSERA_PUBLIC_URL="${TESSERA_PUBLIC_URL:-http://127.0.0.1:$PORT}"
  export TESSERA_LOG_LEVEL="${TESSERA_LOG_LEVEL:-info}"
  export DATABASE_URL REDIS_URL
}

launch() { # name service port: start one replica unless it runs
  if running "$1"; then log "$1 already running"; return 0; fi
  # Each replica's Prometheus metrics on loopback, 100 ports above its own.
  TESSERA_LISTEN="127.0.0.1:$3" TESSERA_METRICS_LISTEN="127.0.0.1:$(($3 + 100))" \
    TESSERA_INSTANCE_ID="$1" TESSERA_DATA_DIR="$DIR/data-$1" \
    OTEL_SERVICE_NAME="tessera-$2" \
    nohup "$BIN" serve --service "$2" </dev/null >>"$DIR/logs/$1.log" 2>&1 &
  echo $! >"$DIR/pids/$1.pid"
}

start_one() { # name: start one replica again, leaving nginx and the others alone
  local r name service port
  for r in "${REPLICAS[@]}"; do
    read -r name service port <<<"$r"
    if [ "$name" = "$1" ]; then
      environment
      launch "$name" "$service" "$port"
      wait_ready "$name" "http://127.0.0.1:$port/readyz"
      log "$name up"
      return 0
    fi
  done
  log "no replica named $1"; exit 2
}

start() {
  [ -x "$BIN" ] || { log "no tessera binary at $BIN (cargo build --release)"; exit 1; }
  [ -x "$NGINX" ] || { log "nginx not found at $NGINX (apt-get install nginx-light)"; exit 1; }
  environment
  # A fresh database when the named one does not exist (the server half of the URL, db "postgres").
  local db="${DATABASE_URL##*/}"; db="${db%%\?*}"
  if command -v psql >/dev/null && ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db\"" && log "created database $db"
  fi
  log "migrating $db"
  if ! TESSERA_DATA_DIR="$DIR/data-migrate" "$BIN" migrate >>"$DIR/logs/migrate.log" 2>&1; then
    log "migration failed:"; head -n 5 "$DIR/logs/migrate.log" >&2; exit 1
  fi
  for r in "${REPLICAS[@]}"; do
    read -r name service port <<<"$r"
    launch "$name" "$service" "$port"
  done
  for r in "${REPLICAS[@]}"; do
    read -r name _ port <<<"$r"
    wait_ready "$name" "http://127.0.0.1:$port/readyz"
  done
  upstream() { # service -> server lines
    for r in "${REPLICAS[@]}"; do
      read -r _ service port <<<"$r"
      [ "$service" = "$1" ] && echo "        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"
    done
  }
  cat >"$DIR/nginx/nginx.conf" <<CONF
# Generated by deploy/local-cluster.sh; the routing is deploy/nginx/routes.conf.
worker_processes 1;
pid $DIR/pids/nginx.pid;
error_log $DIR/logs/nginx-error.log warn;
daemon on;
events { worker_connections 1024; }
http {
    client_body_temp_path $DIR/nginx/body;
    proxy_temp_path $DIR/nginx/proxy;
    fastcgi_temp_path $DIR/nginx/fastcgi;
    uwsgi_temp_path $DIR/nginx/uwsgi;
    scgi_temp_path $DIR/nginx/scgi;
    log_format tessera_no_query '\$remote_addr [\$time_iso8601] "\$request_method \$uri" \$status '
                                '\$body_bytes_sent \${request_time}s upstream=\$upstream_addr';
    upstream tessera_token {
$(upstream token)
        keepalive 32;
    }
    upstream tessera_introspection {
$(upstream introspection)
        keepalive 32;
    }
    upstream tessera_admin {
$(upstream admin)
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$PORT;
        include $DIR/nginx/routes.conf;
    }
}
CONF
  # The routing as deployed, but logging to a file: routes.conf logs to stdout (a container's
  # log), which a daemonised nginx loses on its first reload.
  sed "s|access_log /dev/stdout |access_log $DIR/logs/nginx-access.log |" \
    "$ROOT/deploy/nginx/routes.conf" >"$DIR/nginx/routes.conf"
  if running nginx; then "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -s reload
  else "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/logs/nginx-error.log" \
      </dev/null 2>>"$DIR/logs/nginx-error.log"
  fi
  wait_ready nginx "http://127.0.0.1:$PORT/healthz"
  log "up: http://127.0.0.1:$PORT (operator token in $DIR/operator-token unless set)"
}

stop() {
  if running nginx; then "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -s quit 2>/dev/null || kill "$(cat "$DIR/pids/nginx.pid")"; fi
  for r in "${REPLICAS[@]}"; do
    read -r name _ _ <<<"$r"
    if running "$name"; then kill -TERM "$(cat "$DIR/pids/$name.pid")"; fi
  done
  # Graceful shutdown drains in-flight requests (up to 10 s); then anything left is killed.
  for _ in $(seq 1 60); do
    local alive=0
    for r in "${REPLICAS[@]}"; do read -r name _ _ <<<"$r"; running "$name" && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for r in "${REPLICAS[@]}"; do
    read -r name _ _ <<<"$r"
    if running "$name"; then log "$name did not stop in time; killing"; kill -KILL "$(cat "$DIR/pids/$name.pid")"; fi
    rm -f "$DIR/pids/$name.pid"
  done
  for _ in $(seq 1 25); do running nginx || break; sleep 0.2; done
  rm -f "$DIR/pids/nginx.pid"
  log "stopped"
}

status() {
  for r in "${REPLICAS[@]}" "nginx - $PORT"; do
    read -r name _ port <<<"$r"
    if running "$name"; then echo "$name up (pid $(cat "$DIR/pids/$name.pid"), port $port)"; else echo "$name down"; fi
  done
}

case "${1:-}" in
  start) if [ -n "${2:-}" ]; then start_one "$2"; else start; fi ;;
  stop) stop ;;
  status) status ;;
  kill) running "${2:?name}" && kill -KILL "$(cat "$DIR/pids/$2.pid")" && log "killed $2" ;;
  *) echo "usage: $0 start [NAME]|stop|status|kill NAME" >&2; exit 2 ;;
esac
