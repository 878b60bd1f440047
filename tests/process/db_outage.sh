#!/usr/bin/env bash
# PostgreSQL stopped under a running `elysium serve` while a signed-in session's requests keep
# coming, then started again. Every request is answered within a bound (no hang), with 200 or 503
# only. While the database is down, /healthz stays 200, /readyz is 503, and database-backed
# requests (the session's API calls, sign-in itself) are 503 `unavailable` with a message that
# says the database is unavailable (not a 500, no database error text). Once it is back (same
# data folder), the same server is ready again and the same session works, with no restart. The
# test runs its own private cluster (`elysium pg`), since it stops it; it needs no DATABASE_URL.
#   tests/process/db_outage.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$(realpath "$1")"
log() { echo "[db-outage] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log "$PG/postgres/server.log"; do [[ -f "$f" ]] && { echo "== $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-db-outage.XXXXXX")"
# PostgreSQL runs as `postgres` when this runs as root: it must be able to reach its folder.
chmod 711 "$WORK"
PG="$WORK/pg"
SERVER_PID=""
TRAFFIC_PID=""
unset DATABASE_URL ELYSIUM_DATA_DIR
pg() { "$ELYSIUM" pg --data-dir "$PG" "$@" 2>>"$WORK/pg.log"; }
cleanup() {
  [[ -n "$TRAFFIC_PID" ]] && { kill -TERM "$TRAFFIC_PID" 2>/dev/null || true; wait "$TRAFFIC_PID" 2>/dev/null || true; }
  [[ -n "$SERVER_PID" ]] && { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  pg stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "a private PostgreSQL cluster under $PG"
URL="$(pg start --database elysium_outage | tail -n 1)" || fail "elysium pg start"
export DATABASE_URL="$URL" ELYSIUM_DATA_DIR="$WORK/state"
"$ELYSIUM" migrate >/dev/null 2>"$WORK/migrate.log" || fail "migrate"
PASSWORD="db-outage-$RANDOM-password"
echo "$PASSWORD" | "$ELYSIUM" user add --username outage-admin --role admin --role coordinator --site OUTAGE-TEST \
  >/dev/null 2>"$WORK/user.log" || fail "user add"

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM_ADDR=127.0.0.1:0 ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 \
  ELYSIUM_ORPHAN_SWEEP_HOURS=0 "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!

# The bound on every request while the database is away: the pool waits 5 s for a connection
# (server/db/src/lib.rs), and a busy 2-core machine gets some slack on top.
BOUND=15
# request NAME [CURL ARGS...] -> "STATUS SECONDS"; the body is left in $WORK/NAME.body.
# A request that gets no answer within BOUND (curl's status 000) fails the test.
request() {
  local name="$1"; shift
  local out
  out="$(curl -s --max-time "$BOUND" -b "$WORK/cookies" -c "$WORK/cookies" -o "$WORK/$name.body" \
    -w '%{http_code} %{time_total}' "$@")" || true
  [[ "$out" != 000* ]] || fail "$name: no answer within $BOUND s (curl: $out)"
  echo "$out"
}
status_of() { local out; out="$(request "$@")"; echo "${out%% *}"; }
login() { request login -H 'content-type: application/json' \
  -d "{\"username\":\"outage-admin\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/login"; }
wait_ready() { # SECONDS
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/readyz")" == 200 ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited"
    sleep 0.2
  done
  return 1
}
wait_ready 120 || fail "the server was not ready within 120 s"

log "database up: ready, signed in, the API answers"
[[ "$(login)" == 200* ]] || fail "sign-in answered $(cat "$WORK/login.body")"
[[ "$(status_of me "$BASE/api/v1/me")" == 200 ]] || fail "/api/v1/me: $(cat "$WORK/me.body")"
grep -q outage-admin "$WORK/me.body" || fail "/api/v1/me is not the signed-in user: $(cat "$WORK/me.body")"
[[ "$(status_of worklist "$BASE/api/v1/worklist")" == 200 ]] || fail "/api/v1/worklist: $(cat "$WORK/worklist.body")"

log "database stopped under traffic (the session's /api/v1/me, one request after another)"
traffic() {
  while [[ ! -f "$WORK/traffic.stop" ]]; do
    curl -s --max-time "$BOUND" -b "$WORK/cookies" -o /dev/null -w '%{http_code}\n' "$BASE/api/v1/me" || true
  done > "$WORK/traffic.codes"
}
traffic &
TRAFFIC_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/traffic.codes" ]] && break; sleep 0.05; done
pg stop >/dev/null || fail "elysium pg stop"
for _ in $(seq 100); do grep -q '^503$' "$WORK/traffic.codes" && break; sleep 0.05; done
touch "$WORK/traffic.stop"
wait "$TRAFFIC_PID" || true
TRAFFIC_PID=""
codes="$(sort "$WORK/traffic.codes" | uniq -c | tr -s ' \n' ' ')"
grep -qvE '^(200|503)$' "$WORK/traffic.codes" && fail "requests during the stop were answered other than 200 or 503 (000: none within $BOUND s): $codes"
{ grep -q '^200$' "$WORK/traffic.codes" && grep -q '^503$' "$WORK/traffic.codes"; } ||
  fail "the traffic did not span the stop (200 before, 503 after): $codes"
log "  traffic across the stop: $codes"

# A database-backed request while the database is down: 503 within the bound, a JSON error whose
# message says the database is unavailable, and nothing of the database's own error text.
expect_unavailable() { # NAME [CURL ARGS...]
  local name="$1" out
  out="$(request "$@")"
  [[ "${out%% *}" == 503 ]] || fail "$name answered ${out%% *}, not 503, with the database down: $(cat "$WORK/$name.body")"
  python3 - "$WORK/$name.body" <<'PY' || fail "$name: not a clear 503 body: $(cat "$WORK/$name.body")"
import json, sys
error = json.load(open(sys.argv[1]))["error"]
message = error["message"].lower()
assert error["code"] == "unavailable", error
assert "database" in message and "unavailable" in message, message
for leak in ("sqlx", "pool", "connection refused", "no such file", "socket", "io error", "error communicating"):
    assert leak not in message, f"database error text in the message: {message}"
PY
  log "  $name: 503 in ${out#* } s"
}
for round in 1 2; do
  # Twice: the first finds the pool's connections dead, the second has none left to try.
  expect_unavailable "me-$round" "$BASE/api/v1/me"
  expect_unavailable "worklist-$round" "$BASE/api/v1/worklist"
done
out="$(login)"
[[ "${out%% *}" == 503 ]] || fail "sign-in answered ${out%% *}, not 503, with the database down: $(cat "$WORK/login.body")"
out="$(request readyz "$BASE/readyz")"
[[ "${out%% *}" == 503 ]] || fail "/readyz answered ${out%% *} with the database down"
out="$(request healthz "$BASE/healthz")"
[[ "${out%% *}" == 200 ]] || fail "/healthz answered ${out%% *}: the process is alive"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited while the database was down"
grep -qiE 'panick' "$WORK/serve.log" && fail "the server panicked"

log "database started again (same data folder)"
pg start --database elysium_outage >/dev/null || fail "elysium pg start (again)"
wait_ready 30 || fail "/readyz did not return to 200 within 30 s of the database's return"
deadline=$((SECONDS + 15))
until [[ "$(status_of me-again "$BASE/api/v1/me")" == 200 ]]; do
  ((SECONDS < deadline)) || fail "the session did not work again within 15 s: $(cat "$WORK/me-again.body")"
  sleep 0.2
done
grep -q outage-admin "$WORK/me-again.body" || fail "/api/v1/me after the outage: $(cat "$WORK/me-again.body")"
[[ "$(status_of worklist-again "$BASE/api/v1/worklist")" == 200 ]] || fail "/api/v1/worklist after the outage"
log "passed: 503 within ${BOUND} s while PostgreSQL was down; ready again and the same session works, no restart"
