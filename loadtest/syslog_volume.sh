#!/usr/bin/env bash
# The System Log at volume (docs/performance.md, "The System Log at ten million events"): fills
# one tenant's log with N events (default 10,000,000) spread over the last 90 days, copies of a
# real token-grant row the server itself stored (one in 1,000 of another event type, one in
# 100 for another client), then times `GET /api/v1/logs` queries against `tessera serve`.
#
#   loadtest/syslog_volume.sh [events] [postgres|sqlite]     (default 10000000 postgres)
#
# PostgreSQL: a scratch database `tessera_volume` on $VOLUME_PG (default
# postgres://postgres@127.0.0.1:5432), dropped at the end. SQLite: a scratch data directory.
# TESSERA_BIN=path uses that binary instead of building this tree's. Not a test: run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
BACKEND=${2:-postgres}
PORT=${TESSERA_VOLUME_PORT:-18490}
PG=${VOLUME_PG:-postgres://postgres@127.0.0.1:5432}
CHUNK=1000000
. loadtest/lib.sh
cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ "$BACKEND" = postgres ] && psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS tessera_volume' >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

OP=volume-operator-token-0123456789abcdef
ENVS=(TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_METRICS_LISTEN=127.0.0.1:0 TESSERA_DATA_DIR="$WORK/data"
  TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn TESSERA_RATE_LIMITS__ENABLED=false)
case $BACKEND in
  postgres)
    psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS tessera_volume' -c 'CREATE DATABASE tessera_volume' >/dev/null
    ENVS+=(TESSERA_DATABASE_URL="$PG/tessera_volume")
    sql() { psql -qAt "$PG/tessera_volume" -c "$1"; } ;;
  sqlite)
    sql() { sqlite3 "$WORK/data/tessera.db" "$1"; } ;;
  *) echo "backend: postgres or sqlite" >&2; exit 2 ;;
esac
start() {
  env -u TESSERA_BIN "${ENVS[@]}" "$BIN" serve >>"$WORK/tessera.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$WORK/tessera.log" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

start
ORG=$(curl -sf -XPOST "http://127.0.0.1:$PORT/operator/v1/tenants" -H "Authorization: Bearer $OP" \
  -H 'Content-Type: application/json' -d '{"name":"volume"}')
TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["apiToken"])' "$ORG")
TENANT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$ORG")
API="http://127.0.0.1:$PORT/t/volume/api/v1"
H=(-H "Authorization: SSWS $TOKEN" -H 'Content-Type: application/json')
APP=$(curl -sf -XPOST "$API/apps" "${H[@]}" -d '{"name":"oidc_client","label":"volume","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"service","grant_types":["client_credentials"]}}}')
CID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["credentials"]["oauthClient"]["client_id"])' "$APP")
CSECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["credentials"]["oauthClient"]["client_secret"])' "$APP")
curl -sf -XPOST "$API/authorizationServers/default/scopes" "${H[@]}" -d '{"name":"volume.read"}' >/dev/null
curl -sf -XPOST "http://127.0.0.1:$PORT/t/volume/oauth2/default/v1/token" -u "$CID:$CSECRET" \
  -d 'grant_type=client_credentials&scope=volume.read' >/dev/null
# The template: the token grant the server just stored (its spool is loaded within a second).
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM log_events WHERE event_type = 'app.oauth2.as.token.grant'")" -ge 1 ] && break
  sleep 0.2
done
stop
TEMPLATE=$(sql "SELECT max(seq) FROM log_events WHERE event_type = 'app.oauth2.as.token.grant'")
[ -n "$TEMPLATE" ] || { echo "no token grant was stored to copy" >&2; exit 1; }
NOW_MS=$(($(date +%s) * 1000))
SPAN_MS=$((90 * 24 * 3600 * 1000))
echo "filling the log with $N events on $BACKEND (in chunks of $CHUNK)..." >&2
FILL_START=$SECONDS
for ((from = 1; from <= N; from += CHUNK)); do
  to=$((from + CHUNK - 1)); [ "$to" -gt "$N" ] && to=$N
  # Row g: created evenly over the 90 days, oldest first; every 1,000th is a
  # user.session.start, every 100th names another client (target id 0oaother).
  case $BACKEND in
    postgres) sql "INSERT INTO log_events (tenant_id, id, event_type, severity, display_message, actor, target, outcome, client, details, created, last_updated)
      SELECT tenant_id, md5(g::text)::uuid::text,
        CASE WHEN g % 1000 = 0 THEN 'user.session.start' ELSE event_type END, severity, display_message,
        actor, CASE WHEN g % 100 = 0 THEN replace(target, '$CID', '0oaother') ELSE target END,
        outcome, client, details, $NOW_MS - $SPAN_MS + g * ($SPAN_MS / $N), $NOW_MS - $SPAN_MS + g * ($SPAN_MS / $N)
      FROM log_events, generate_series($from, $to) AS g WHERE seq = $TEMPLATE" ;;
    sqlite) sql "WITH RECURSIVE s(g) AS (SELECT $from UNION ALL SELECT g + 1 FROM s WHERE g < $to)
      INSERT INTO log_events (tenant_id, id, event_type, severity, display_message, actor, target, outcome, client, details, created, last_updated)
      SELECT tenant_id, lower(hex(randomblob(16))),
        CASE WHEN g % 1000 = 0 THEN 'user.session.start' ELSE event_type END, severity, display_message,
        actor, CASE WHEN g % 100 = 0 THEN replace(target, '$CID', '0oaother') ELSE target END,
        outcome, client, details, $NOW_MS - $SPAN_MS + g * ($SPAN_MS / $N), $NOW_MS - $SPAN_MS + g * ($SPAN_MS / $N)
      FROM log_events, s WHERE seq = $TEMPLATE" ;;
  esac
  echo "  $to events ($((SECONDS - FILL_START)) s)" >&2
done
# The marks a loader writes as it goes (where the log stood, about once a second while it is
# loading): one for every third row here, about one per 2.3 s of the 90 days.
sql "INSERT INTO log_marks (seq, stored) SELECT seq, created FROM log_events WHERE tenant_id = '$TENANT' AND seq % 3 = 0 ON CONFLICT (seq) DO NOTHING"
case $BACKEND in
  postgres) sql "VACUUM ANALYZE log_events"; SIZE=$(sql "SELECT pg_size_pretty(pg_total_relation_size('log_events'))") ;;
  sqlite) sql "ANALYZE"; SIZE="$(du -h "$WORK/data/tessera.db" | cut -f1) (the database file)" ;;
esac
STORED=$(sql "SELECT count(*) FROM log_events WHERE tenant_id = '$TENANT'")
echo "stored: $STORED events of one tenant, $SIZE, filled in $((SECONDS - FILL_START)) s" >&2
start

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
SINCE90=$(date -u -d '-91 days' +%Y-%m-%dT%H:%M:%SZ)
# Each query three times; prints the slowest and the events in the first page.
timed() {
  local name=$1 url=$2 worst=0 t count
  for _ in 1 2 3; do
    t=$(curl -s -o "$WORK/page.json" -w '%{time_total}' -H "Authorization: SSWS $TOKEN" "$url")
    worst=$(python3 -c "print(max($worst, $t))")
  done
  count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/page.json")
  printf '| %s | %d | %.0f |\n' "$name" "$count" "$(python3 -c "print($worst * 1000)")"
}
echo
echo "| query ($STORED events of one tenant, $BACKEND) | events in the first page | slowest of 3, ms |"
echo "|---|---|---|"
timed "default window (last 7 days), limit 100" "$API/logs"
timed "last 7 days, newest first, limit 1000" "$API/logs?limit=1000&sortOrder=DESCENDING"
timed "one day 45 days ago, ascending" "$API/logs?since=$(date -u -d '-45 days' +%Y-%m-%dT%H:%M:%SZ)&until=$(date -u -d '-44 days' +%Y-%m-%dT%H:%M:%SZ)"
timed "one day 45 days ago, newest first" "$API/logs?since=$(date -u -d '-45 days' +%Y-%m-%dT%H:%M:%SZ)&until=$(date -u -d '-44 days' +%Y-%m-%dT%H:%M:%SZ)&sortOrder=DESCENDING"
timed "eventType eq \"user.session.start\" (1 in 1,000), 90 days" "$API/logs?since=$SINCE90&filter=$(enc 'eventType eq "user.session.start"')"
timed "target.id eq \"0oaother\" (1 in 100), 90 days" "$API/logs?since=$SINCE90&filter=$(enc 'target.id eq "0oaother"')"
timed "q=session (keyword, 1 in 1,000), 90 days" "$API/logs?since=$SINCE90&q=session"
timed "outcome.result eq \"SUCCESS\", 90 days, limit 1000" "$API/logs?since=$SINCE90&limit=1000&filter=$(enc 'outcome.result eq "SUCCESS"')"
