#!/usr/bin/env bash
# Memory per hot tenant (docs/performance.md, "Memory per hot tenant"): provisions N tenants
# (default 2,000), each with a scope on its default authorization server and a service app,
# restarts `tessera serve` so that nothing is loaded, then has every tenant issue one
# client-credentials token and serve its JWKS (which loads the tenant and its default server),
# and reads the server's RSS before, after, and once the idle tenants have been evicted.
#
#   loadtest/tenants.sh [tenants] [idle-seconds]     (default 2000 60)
#
# TESSERA_BIN=path measures that binary instead of building this tree's. Embedded default
# (SQLite, in-process store). Not a test: run by hand on an otherwise idle machine; below about
# a thousand tenants the start-up allocations outweigh the tenants and the figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
IDLE=${2:-60}
PORT=${TESSERA_TENANTS_PORT:-18495}
METRICS_PORT=${TESSERA_TENANTS_METRICS_PORT:-18496}
. loadtest/lib.sh
cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

OP=tenants-operator-token-0123456789abcdef
start() {
  env -u TESSERA_BIN TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_METRICS_LISTEN=127.0.0.1:$METRICS_PORT \
    TESSERA_DATA_DIR="$WORK/data" TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn \
    TESSERA_RATE_LIMITS__ENABLED=false TESSERA_HOT_IDLE_SECS="$IDLE" \
    "$BIN" serve >>"$WORK/tessera.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$WORK/tessera.log" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
loaded() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | awk '$1 == "tessera_hot_loaded_tenants" {print $2}'; }

start
echo "provisioning $N tenants..." >&2
python3 loadtest/tenants.py provision "http://127.0.0.1:$PORT" "$OP" "$N" "$WORK/clients.json"
stop
start
sleep 2
BEFORE=$(rss_kib)
echo "loading every tenant (a token and the JWKS each)..." >&2
python3 loadtest/tenants.py touch "http://127.0.0.1:$PORT" "$WORK/clients.json"
sleep 2
HOT=$(rss_kib)
HOT_LOADED=$(loaded)
echo "waiting for idle eviction (${IDLE}s idle, checked every 5 s)..." >&2
for _ in $(seq 1 $((IDLE + 60))); do
  [ "$(loaded)" = 0 ] && break
  sleep 1
done
sleep 5
EVICTED=$(rss_kib)
EVICTED_LOADED=$(loaded)
echo "loading every tenant again..." >&2
python3 loadtest/tenants.py touch "http://127.0.0.1:$PORT" "$WORK/clients.json"
sleep 2
AGAIN=$(rss_kib)

python3 - "$N" "$BEFORE" "$HOT" "$HOT_LOADED" "$EVICTED" "$EVICTED_LOADED" "$AGAIN" <<'PY'
import sys
n, before, hot, hot_loaded, evicted, evicted_loaded, again = sys.argv[1:]
n, before, hot, evicted, again = int(n), int(before), int(hot), int(evicted), int(again)
mib = lambda k: f"{k / 1024:,.1f} MiB"
print(f"| tenants | {n:,} |")
print("|---|---|")
print(f"| RSS after restart, nothing loaded | {mib(before)} |")
print(f"| RSS with every tenant hot ({hot_loaded} loaded) | {mib(hot)} |")
print(f"| memory per hot tenant | {(hot - before) * 1024 / n / 1000:,.1f} kB |")
print(f"| RSS after idle eviction ({evicted_loaded} loaded) | {mib(evicted)} |")
print(f"| returned by eviction | {(hot - evicted) / max(hot - before, 1):.0%} of what loading took |")
print(f"| RSS with every tenant hot again | {mib(again)} |")
PY
