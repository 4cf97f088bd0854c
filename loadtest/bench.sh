#!/usr/bin/env bash
# The benchmark of docs/performance.md: client credentials (RS256, ES256), JWKS and discovery against
# `tessera serve` built with --release, and — when npm is available — against the peer
# (oidc-provider 9, installed and started by loadtest/peer). Loopback only, bounded runs.
#
#   loadtest/bench.sh [seconds-per-case]     (default 10)
#
# TESSERA_BIN=path benches that binary instead of building this tree's (to compare two
# commits on one machine in one sitting); SKIP_PEER=1 leaves the peer out.
#
# Prints one row per case: requests/s, p50/p99, server CPU-seconds per 1,000 requests,
# tokens per server CPU-second, peak RSS; then the ratios to the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
PORT=${TESSERA_BENCH_PORT:-18480}
PEER_PORT=${PEER_BENCH_PORT:-18481}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

echo "building release binaries..." >&2
if [ -z "${TESSERA_BIN:-}" ]; then
  cargo build --release -q -p tessera
fi
BIN=${TESSERA_BIN:-./target/release/tessera}
# (The server refuses unknown TESSERA_* variables, so TESSERA_BIN is not passed on to it.)
cargo build --release -q -p tessera-jose --example sign_rate
WORK=$(mktemp -d)
cleanup() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; [ -n "${PEER_PID:-}" ] && kill "$PEER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
TICKS=$(getconf CLK_TCK)

# case NAME PID URL SCRIPT CONNECTIONS [BODY AUTH]
run_case() {
  local name=$1 pid=$2 url=$3 script=$4 conns=$5
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(BODY=${6:-} AUTH=${7:-} wrk -t2 -c"$conns" -d"${DURATION}s" --latency -s "loadtest/wrk/$script" "$url" | grep RESULT)
  after=$(cpu_ticks "$pid")
  local rps p50 p99 non2xx
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
  python3 - "$name" "$rps" "$p50" "$p99" "$non2xx" "$before" "$after" "$TICKS" "$DURATION" "$(rss_kb "$pid")" <<'PY'
import sys
name, rps, p50, p99, non2xx, b, a, ticks, dur, rss = sys.argv[1:]
rps = float(rps); cpu = (int(a) - int(b)) / int(ticks); total = rps * float(dur)
per_cpu_s = total / cpu if cpu else 0
print(f"| {name} | {rps:,.0f} | {float(p50):.2f} | {float(p99):.2f} | {1000*cpu/total if total else 0:.3f} | {per_cpu_s:,.0f} | {int(rss)//1024} | {non2xx} |")
PY
}

echo "raw signing rate (one core):" >&2
SIGN=$(./target/release/examples/sign_rate)
echo "$SIGN" >&2

# --- Tessera -------------------------------------------------------------------------------
OP=bench-operator-token-0123456789abcdef
TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_DATA_DIR="$WORK/data" TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn TESSERA_RATE_LIMITS__ENABLED=false \
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
echo "| case | req/s | p50 ms | p99 ms | server CPU-s per 1k | req per server CPU-s | peak RSS MiB | non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
T_RS64=$(run_case "tessera RS256 client credentials, 64 conns" "$SERVER_PID" "$BASE/default/v1/token" token.lua 64 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_RS64"
T_RS8=$(run_case "tessera RS256 client credentials, 8 conns" "$SERVER_PID" "$BASE/default/v1/token" token.lua 8 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_RS8"
T_ES=$(run_case "tessera ES256 client credentials, 64 conns" "$SERVER_PID" "$BASE/$ESID/v1/token" token.lua 64 "grant_type=client_credentials&scope=bench.read" "$AUTH"); echo "$T_ES"
T_JWKS=$(run_case "tessera JWKS" "$SERVER_PID" "$BASE/default/v1/keys" get.lua 64); echo "$T_JWKS"
T_DISC=$(run_case "tessera discovery" "$SERVER_PID" "$BASE/default/.well-known/openid-configuration" get.lua 64); echo "$T_DISC"
AT=$(curl -sf -XPOST "$BASE/default/v1/token" -H "Authorization: $AUTH" -d 'grant_type=client_credentials&scope=bench.read' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
T_INTRO=$(run_case "tessera introspection, JWT, in-process denylist" "$SERVER_PID" "$BASE/default/v1/introspect" token.lua 64 "token=$AT" "$AUTH"); echo "$T_INTRO"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
# The same data, now with the short-lived store (denylist, revocation epochs) in Redis.
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379} TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_DATA_DIR="$WORK/data" \
  TESSERA_OPERATOR_TOKEN=$OP TESSERA_LOG_LEVEL=warn TESSERA_RATE_LIMITS__ENABLED=false env -u TESSERA_BIN "$BIN" serve >>"$WORK/tessera.log" 2>&1 &
SERVER_PID=$!
wait_ready
curl -sf -XPOST "$BASE/default/v1/introspect" -H "Authorization: $AUTH" -d "token=$AT" >/dev/null
T_INTRO_REDIS=$(run_case "tessera introspection, JWT, Redis denylist" "$SERVER_PID" "$BASE/default/v1/introspect" token.lua 64 "token=$AT" "$AUTH"); echo "$T_INTRO_REDIS"
kill "$SERVER_PID"; SERVER_PID=

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
  echo
  python3 - "$T_RS64" "$P_RS64" "$T_ES" "$P_ES" "$T_JWKS" "$P_JWKS" "$T_DISC" "$P_DISC" "$T_RS8" "$SIGN" "$T_INTRO" "$T_INTRO_REDIS" "$P_INTRO" <<'PY'
import sys
rows = sys.argv[1:9]; t_rs8 = sys.argv[9]; sign = sys.argv[10]; intro, intro_redis, p_intro = sys.argv[11:14]
rps = lambda row: float(row.split("|")[2].replace(",", ""))
per_cpu = lambda row: float(row.split("|")[6].replace(",", ""))
p99 = lambda row: float(row.split("|")[4])
raw_rs = float(sign.splitlines()[0].split(":")[1])
print(f"RS256 tokens per server CPU-second / raw RSA-2048 signs per core-second: {per_cpu(rows[0]) / raw_rs:.2f} (target >= 0.85)")
print(f"RS256 throughput, 64 conns, Tessera / peer: {rps(rows[0]) / rps(rows[1]):.2f}x (target >= 2.5x)")
print(f"ES256 throughput, Tessera / peer: {rps(rows[2]) / rps(rows[3]):.2f}x (target >= 10x)")
print(f"JWKS throughput, Tessera / peer: {rps(rows[4]) / rps(rows[5]):.2f}x (target >= 8x)")
print(f"discovery throughput, Tessera / peer: {rps(rows[6]) / rps(rows[7]):.2f}x (target >= 8x)")
print(f"p99 at 8 conns (RS256): {p99(t_rs8):.2f} ms (target <= 3 ms)")
print(f"introspection (in-process denylist) / peer opaque introspection: {rps(intro) / rps(p_intro):.2f}x (target >= 5x)")
print(f"introspection (Redis denylist) / peer opaque introspection: {rps(intro_redis) / rps(p_intro):.2f}x (target >= 2x)")
PY
fi
