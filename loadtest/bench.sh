#!/usr/bin/env bash
# The benchmark of docs/performance.md: client credentials (RS256, ES256), JWKS and discovery against
# `tessera serve` built with --release (System Log on, as always); the same JWKS and discovery
# bytes from a bare actix-web server (loadtest/ceiling), the most the HTTP stack can do; and —
# when npm is available — the peer (oidc-provider 9, installed and started by loadtest/peer).
# Loopback only, bounded runs.
#
#   loadtest/bench.sh [seconds-per-case]     (default 10)
#
# TESSERA_BIN=path benches that binary instead of building this tree's (to compare two
# commits on one machine in one sitting); SKIP_PEER=1 leaves the peer out.
#
# Prints one row per case: requests/s, p50/p99, server CPU-seconds per 1,000 requests,
# tokens per server CPU-second, peak RSS, and for Tessera the System Log records the case
# produced, stored and lost (after each case the bench waits for the spool to be loaded, and
# says how long that took); then the ratios to the targets of docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=${TESSERA_BENCH_PORT:-18480}
PEER_PORT=${PEER_BENCH_PORT:-18481}
CEILING_PORT=${CEILING_BENCH_PORT:-18482}
METRICS_PORT=${TESSERA_BENCH_METRICS_PORT:-18483}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

echo "building release binaries..." >&2
if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release -q -p tessera
fi
BIN=${TESSERA_BIN:-./target/release/tessera}
# (The server refuses unknown TESSERA_* variables, so TESSERA_BIN is not passed on to it.)
cargo build --release -q -p tessera-jose --example sign_rate
cargo build --release -q -p tessera-ceiling
WORK=$(mktemp -d)
cleanup() {
  for pid in "${SERVER_PID:-}" "${PEER_PID:-}" "${CEILING_PID:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
TICKS=$(getconf CLK_TCK)

# A counter of the Tessera server's metrics (0 when absent).
metric() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="tessera_$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'; }

# Waits until every System Log record the server spooled is loaded or counted lost (at most
# 300 s); prints "produced stored lost seconds-to-drain" since the counters read in $1.
log_drain() {
  local s0 e0 l0 s e l start=$SECONDS
  read -r s0 e0 l0 <<<"$1"
  while :; do
    s=$(metric system_log_spooled_total); e=$(metric system_log_events_total); l=$(metric system_log_lost_total)
    [ $((e + l)) -ge "$s" ] && break
    [ $((SECONDS - start)) -ge 300 ] && break
    sleep 0.2
  done
  echo "$((s - s0)) $((e - e0)) $((l - l0)) $((SECONDS - start))"
}
log_counters() { echo "$(metric system_log_spooled_total) $(metric system_log_events_total) $(metric system_log_lost_total)"; }

# case NAME PID URL SCRIPT CONNECTIONS [BODY AUTH]; with LOGGED=1, the System Log columns.
run_case() {
  local name=$1 pid=$2 url=$3 script=$4 conns=$5
  local before after out counters log="— | — | — | —"
  [ "${LOGGED:-}" = 1 ] && counters=$(log_counters)
  before=$(cpu_ticks "$pid")
  out=$(BODY=${6:-} AUTH=${7:-} wrk -t2 -c"$conns" -d"${DURATION}s" --latency -s "loadtest/wrk/$script" "$url" | grep RESULT)
  after=$(cpu_ticks "$pid")
  if [ "${LOGGED:-}" = 1 ]; then
    local produced stored lost drain
    read -r produced stored lost drain <<<"$(log_drain "$counters")"
    log="$produced | $stored | $lost | $drain"
  fi
  local rps p50 p99 non2xx
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
  python3 - "$name" "$rps" "$p50" "$p99" "$non2xx" "$before" "$after" "$TICKS" "$DURATION" "$(rss_kb "$pid")" "$log" <<'PY'
import sys
name, rps, p50, p99, non2xx, b, a, ticks, dur, rss, log = sys.argv[1:]
rps = float(rps); cpu = (int(a) - int(b)) / int(ticks); total = rps * float(dur)
per_cpu_s = total / cpu if cpu else 0
print(f"| {name} | {rps:,.0f} | {float(p50):.2f} | {float(p99):.2f} | {1000*cpu/total if total else 0:.3f} | {per_cpu_s:,.0f} | {int(rss)//1024} | {non2xx} | {log} |")
PY
}

echo "raw signing rate (one core):" >&2
SIGN=$(./target/release/examples/sign_rate)
echo "$SIGN" >&2

# --- Tessera -------------------------------------------------------------------------------
OP=bench-operator-token-0123456789abcdef
TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_METRICS_LISTEN=127.0.0.1:$METRICS_PORT TESSERA_DATA_DIR="$WORK/data" \
  TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn TESSERA_RATE_LIMITS__ENABLED=false \
  env -u TESSERA_BIN "$BIN" serve >"$WORK/tessera.log" 2>&1 &
SERVER_PID=$!
wait_ready() {
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not become ready in 30 s; its log:" >&2
  cat "$WORK/tessera.log" >&2
  exit 1
}
wait_ready
ORG=$(curl -sf -XPOST "http://127.0.0.1:$PORT/operator/v1/tenants" -H "Authorization: Bearer $OP" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}')
TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["apiToken"])' "$ORG")
API="http://127.0.0.1:$PORT/t/bench/api/v1"
H=(-H "Authorization: SSWS $TOKEN" -H 'Content-Type: application/json')
curl -sf -XPOST "$API/authorizationServers/default/scopes" "${H[@]}" -d '{"name":"bench.read"}' >/dev/null
APP=$(curl -sf -XPOST "$API/apps" "${H[@]}" -d '{"name":"oidc_client","label":"bench","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"service","grant_types":["client_credentials"]}}}')
CID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["credentials"]["oauthClient"]["client_id"])' "$APP")
CSECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["credentials"]["oauthClient"]["client_secret"])' "$APP")
ES=$(curl -sf -XPOST "$API/authorizationServers" "${H[@]}" -d '{"name":"es","audiences":["api://es"],"credentials":{"signing":{"alg":"ES256"}}}')
ESID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$ES")
curl -sf -XPOST "$API/authorizationServers/$ESID/scopes" "${H[@]}" -d '{"name":"bench.read"}' >/dev/null
POL=$(curl -sf -XPOST "$API/authorizationServers/$ESID/policies" "${H[@]}" -d '{"type":"OAUTH_AUTHORIZATION_POLICY","name":"all","description":"all","conditions":{"clients":{"include":["ALL_CLIENTS"]}}}')
PID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$POL")
curl -sf -XPOST "$API/authorizationServers/$ESID/policies/$PID/rules" "${H[@]}" -d '{"type":"RESOURCE_ACCESS","name":"cc","conditions":{"grantTypes":{"include":["client_credentials"]},"scopes":{"include":["*"]}}}' >/dev/null
AUTH="Basic $(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)"
BASE="http://127.0.0.1:$PORT/t/bench/oauth2"
# Warm up the hot state.
curl -sf -XPOST "$BASE/default/v1/token" -H "Authorization: $AUTH" -d 'grant_type=client_credentials&scope=bench.read' >/dev/null
curl -sf -XPOST "$BASE/$ESID/v1/token" -H "Authorization: $AUTH" -d 'grant_type=client_credentials&scope=bench.read' >/dev/null

echo
echo "| case | req/s | p50 ms | p99 ms | server CPU-s per 1k | req per server CPU-s | peak RSS MiB | non-2xx | log records produced | stored | lost | s to drain |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
export LOGGED=1
T_RS64=$(run_case "tessera RS256 client credentials, 64 conns" "$SERVER_PID" "$BASE/default/v1/token" token.lua 64 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_RS64"
T_RS8=$(run_case "tessera RS256 client credentials, 8 conns" "$SERVER_PID" "$BASE/default/v1/token" token.lua 8 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_RS8"
T_ES=$(run_case "tessera ES256 client credentials, 64 conns" "$SERVER_PID" "$BASE/$ESID/v1/token" token.lua 64 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_ES"
T_JWKS=$(run_case "tessera JWKS" "$SERVER_PID" "$BASE/default/v1/keys" get.lua 64); echo "$T_JWKS"
T_DISC=$(run_case "tessera discovery" "$SERVER_PID" "$BASE/default/.well-known/openid-configuration" get.lua 64); echo "$T_DISC"
AT=$(curl -sf -XPOST "$BASE/default/v1/token" -H "Authorization: $AUTH" -d 'grant_type=client_credentials&scope=bench.read' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
T_INTRO=$(run_case "tessera introspection, JWT, in-process denylist" "$SERVER_PID" "$BASE/default/v1/introspect" token.lua 64 "token=$AT" "$AUTH"); echo "$T_INTRO"
curl -sf "$BASE/default/v1/keys" -o "$WORK/keys.json"
curl -sf "$BASE/default/.well-known/openid-configuration" -o "$WORK/discovery.json"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
# The same data, now with the short-lived store (denylist, revocation epochs) in Redis.
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379} TESSERA_LISTEN=127.0.0.1:$PORT \
  TESSERA_METRICS_LISTEN=127.0.0.1:$METRICS_PORT TESSERA_DATA_DIR="$WORK/data" \
  TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn TESSERA_RATE_LIMITS__ENABLED=false env -u TESSERA_BIN "$BIN" serve >>"$WORK/tessera.log" 2>&1 &
SERVER_PID=$!
wait_ready
curl -sf -XPOST "$BASE/default/v1/introspect" -H "Authorization: $AUTH" -d "token=$AT" >/dev/null
T_INTRO_REDIS=$(run_case "tessera introspection, JWT, Redis denylist" "$SERVER_PID" "$BASE/default/v1/introspect" token.lua 64 "token=$AT" "$AUTH"); echo "$T_INTRO_REDIS"
kill "$SERVER_PID"; SERVER_PID=
unset LOGGED

# --- The ceiling: the same JWKS and discovery bytes from a bare actix-web handler ----------------
./target/release/tessera-ceiling "127.0.0.1:$CEILING_PORT" "$WORK/keys.json" "$WORK/discovery.json" >"$WORK/ceiling.log" 2>&1 &
CEILING_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$CEILING_PORT/keys" >/dev/null && break; sleep 0.1; done
C_JWKS=$(run_case "ceiling JWKS (bare actix-web, same bytes)" "$CEILING_PID" "http://127.0.0.1:$CEILING_PORT/keys" get.lua 64); echo "$C_JWKS"
C_DISC=$(run_case "ceiling discovery (bare actix-web, same bytes)" "$CEILING_PID" "http://127.0.0.1:$CEILING_PORT/discovery" get.lua 64); echo "$C_DISC"
kill "$CEILING_PID"; CEILING_PID=
P_RS64= P_ES= P_JWKS= P_DISC= P_INTRO=

# --- The peer ------------------------------------------------------------------------------
if command -v npm >/dev/null && [ "${SKIP_PEER:-}" != 1 ]; then
  echo "installing and starting the peer (oidc-provider 9)..." >&2
  (cd loadtest/peer && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  PORT=$PEER_PORT node loadtest/peer/server.mjs >"$WORK/peer.log" 2>&1 &
  PEER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" >/dev/null && break; sleep 0.1; done
  PAUTH="Basic $(printf 'bench:bench-secret-0123456789' | base64 -w0)"
  P_RS64=$(run_case "peer RS256 client credentials, 64 conns" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/token" token.lua 64 "grant_type=client_credentials&scope=bench.read&resource=api%3A%2F%2Frs" "$PAUTH"); echo "$P_RS64"
  P_RS8=$(run_case "peer RS256 client credentials, 8 conns" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/token" token.lua 8 "grant_type=client_credentials&scope=bench.read&resource=api%3A%2F%2Frs" "$PAUTH"); echo "$P_RS8"
  P_ES=$(run_case "peer ES256 client credentials, 64 conns" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/token" token.lua 64 "grant_type=client_credentials&scope=bench.read&resource=api%3A%2F%2Fes" "$PAUTH"); echo "$P_ES"
  P_JWKS=$(run_case "peer JWKS" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/jwks" get.lua 64); echo "$P_JWKS"
  P_DISC=$(run_case "peer discovery" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" get.lua 64); echo "$P_DISC"
  P_AT=$(curl -sf -XPOST "http://127.0.0.1:$PEER_PORT/token" -H "Authorization: $PAUTH" -d 'grant_type=client_credentials&scope=bench.read&resource=api%3A%2F%2Fopaque' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  P_INTRO=$(run_case "peer introspection, opaque token" "$PEER_PID" "http://127.0.0.1:$PEER_PORT/token/introspection" token.lua 64 "token=$P_AT" "$PAUTH"); echo "$P_INTRO"
fi

echo
python3 - <<PY
rows = dict(t_rs64="$T_RS64", t_rs8="$T_RS8", t_es="$T_ES", t_jwks="$T_JWKS", t_disc="$T_DISC",
            t_intro="$T_INTRO", t_intro_redis="$T_INTRO_REDIS", c_jwks="$C_JWKS", c_disc="$C_DISC",
            p_rs64="$P_RS64", p_es="$P_ES", p_jwks="$P_JWKS", p_disc="$P_DISC", p_intro="$P_INTRO")
sign = """$SIGN""".splitlines()
col = lambda name, i: float(rows[name].split("|")[i].replace(",", ""))
rps = lambda name: col(name, 2)
p99 = lambda name: col(name, 4)
per_cpu = lambda name: col(name, 6)
raw_rs = float(sign[0].split(":")[1]); raw_es = float(sign[1].split(":")[1])
def line(what, value, target, unit=""):
    met = value >= target[1] if target[0] == ">=" else value <= target[1]
    print(f"{what}: {value:.2f}{unit} (target {target[0]} {target[1]}{unit}: {'met' if met else 'NOT met'})")
print("Against the targets, this run:")
line("RS256 tokens per server CPU-second / raw RSA-2048 signs per core-second", per_cpu("t_rs64") / raw_rs, (">=", 0.90))
line("ES256 tokens per server CPU-second / raw ES256 signs per core-second", per_cpu("t_es") / raw_es, (">=", 0.50))
line("p99 at 8 connections (RS256)", p99("t_rs8"), ("<=", 3), unit=" ms")
line("JWKS / bare actix-web handler, same bytes", rps("t_jwks") / rps("c_jwks"), (">=", 0.9))
line("discovery / bare actix-web handler, same bytes", rps("t_disc") / rps("c_disc"), (">=", 0.9))
if rows["p_intro"]:
    line("JWT introspection (Redis denylist) / peer opaque introspection", rps("t_intro_redis") / rps("p_intro"), (">=", 3), unit="x")
    line("JWT introspection (in-process denylist) / peer opaque introspection", rps("t_intro") / rps("p_intro"), (">=", 5), unit="x")
    line("RS256 throughput, 64 conns, Tessera / peer", rps("t_rs64") / rps("p_rs64"), (">=", 2.5), unit="x")
    line("ES256 throughput, Tessera / peer", rps("t_es") / rps("p_es"), (">=", 10), unit="x")
    line("JWKS throughput, Tessera / peer", rps("t_jwks") / rps("p_jwks"), (">=", 8), unit="x")
    line("discovery throughput, Tessera / peer", rps("t_disc") / rps("p_disc"), (">=", 8), unit="x")
PY
