#!/usr/bin/env bash
# `make load`: the pages people use most under many signed-in sessions at once. `elysium serve`
# in demo mode on a private PostgreSQL cluster, LOAD_SESSIONS (200) sessions signed in (three
# coordinators' to one administrator's), then wrk holds one connection per session for
# LOAD_SECONDS (60), each request the next of: the worklist, a finding page, a study page and
# the programme dashboard, each with the cookie of a session that may open it. Prints and writes
# to tests/load/RESULTS.md, with the machine: requests, throughput, p50/p95/p99 latency, every
# answer that was not 200 and every socket error; the server's log is searched for a pool
# exhausted into errors. Asserts no time: it fails only when an answer is not 200, a socket
# errs, or the pool gave out, which is what "the load held" means.
#
# Knobs: LOAD_SESSIONS, LOAD_SECONDS, LOAD_THREADS (wrk threads, 2), LOAD_PROFILE (release or
# debug; release is what the README's figures use), CARGO_TARGET_DIR (as in the Makefile),
# LOAD_BINARY (an `elysium` binary to run instead of building one).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/load/run.sh
SESSIONS="${LOAD_SESSIONS:-200}"
DURATION="${LOAD_SECONDS:-60}"
THREADS="${LOAD_THREADS:-2}"
PROFILE="${LOAD_PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
log() { echo "[load] $*" >&2; }
fail() {
  log "FAILED: $*"
  # A panic's message, not only the end of its backtrace; the whole log is kept for reading.
  grep -A 2 "panicked" "$WORK/serve.log" | head -n 30 >&2 || tail -n 30 "$WORK/serve.log" >&2
  cp "$WORK/serve.log" "${TMPDIR:-/tmp}/elysium-load-serve.log" && log "the server's log: ${TMPDIR:-/tmp}/elysium-load-serve.log"
  exit 1
}

if ! command -v wrk >/dev/null; then
  log "apt-get install wrk"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
prepare_run load

URL="$("$ELYSIUM" pg --data-dir "$WORK/state" start --database elysium_load)"
export DATABASE_URL="$URL"
"$ELYSIUM" migrate >/dev/null
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
PASSWORD="load-$(date +%s)-password"
log "elysium serve ($PROFILE) in demo mode: seeding the demo (a few minutes)"
ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_DATA_DIR="$WORK/state" ELYSIUM_ADDR="127.0.0.1:$PORT" \
  ELYSIUM_DICOM_ADDR=127.0.0.1:0 ELYSIUM_DEMO=1 ELYSIUM_DEMO_PASSWORD="$PASSWORD" \
  "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1200); do
  curl -sf "$BASE/readyz" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited"
  sleep 0.5
done
curl -sf "$BASE/readyz" >/dev/null || fail "not ready within 600 s"

sign_in() { # USER -> the session cookie's value
  curl -s -D - -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/login" |
    sed -nE 's/^[Ss]et-[Cc]ookie: elysium_session=([^;]+).*/\1/p' | tr -d '\r'
}
log "signing in $SESSIONS sessions"
: > "$WORK/coordinators"; : > "$WORK/admins"
for i in $(seq "$SESSIONS"); do
  if ((i % 4 == 0)); then user="admin"; list="admins"; else user="coordinator"; list="coordinators"; fi
  cookie="$(sign_in "$user")"
  [[ -n "$cookie" ]] || fail "sign-in $i ($user) gave no session"
  echo "$cookie" >> "$WORK/$list"
done

# A finding and a study the coordinator may open, from the API.
COOKIE="elysium_session=$(head -n 1 "$WORK/coordinators")"
FINDING="$(curl -sf -b "$COOKIE" "$BASE/api/v1/worklist" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')"
STUDY="$(curl -sf -b "$COOKIE" "$BASE/api/v1/findings/$FINDING" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("study_uid") or d["finding"]["study_uid"])')"
PATHS=(/worklist "/findings/$FINDING" "/studies/$STUDY" /admin/program)
for path in "${PATHS[@]}"; do
  sessions="$WORK/coordinators"
  [[ $path == /admin/* ]] && sessions="$WORK/admins"
  cookie="$(head -n 1 "$sessions")"
  status="$(curl -s -o /dev/null -w '%{http_code}' -b "elysium_session=$cookie" "$BASE$path")"
  [[ "$status" == 200 ]] || fail "$path answers $status before the load"
done

lua_list() { sed 's/.*/"&",/' "$1" | tr -d '\n'; }
cat > "$WORK/sessions.lua" <<LUA
-- Each request is the next page in turn, with the next session's cookie that may open it.
local coordinators = { $(lua_list "$WORK/coordinators") }
local admins = { $(lua_list "$WORK/admins") }
local paths = { "${PATHS[0]}", "${PATHS[1]}", "${PATHS[2]}", "${PATHS[3]}" }
local n = 0
request = function()
  n = n + 1
  local path = paths[(n % #paths) + 1]
  local list = (path == "/admin/program") and admins or coordinators
  return wrk.format("GET", path, { Cookie = "elysium_session=" .. list[(n % #list) + 1] })
end
-- wrk counts a redirect as a success; here anything but 200 is named (a lost session is a 303).
response = function(status)
  if status ~= 200 then io.write("NOT200 " .. status .. "\n") end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.connect, e.read, e.write, e.timeout))
end
LUA

log "wrk: $SESSIONS connections, $THREADS threads, ${DURATION} s over ${PATHS[*]}"
wrk -t"$THREADS" -c"$SESSIONS" -d"${DURATION}s" --timeout 30s --latency -s "$WORK/sessions.lua" "$BASE" > "$WORK/wrk.out"
grep -v '^NOT200' "$WORK/wrk.out"
result="$(grep '^RESULT' "$WORK/wrk.out")" || fail "wrk printed no result"
declare -A r
for pair in ${result#RESULT }; do r[${pair%%=*}]="${pair#*=}"; done
r[non200]="$(grep -c '^NOT200' "$WORK/wrk.out" || true)"
grep '^NOT200' "$WORK/wrk.out" | sort | uniq -c | head -n 5 >&2 || true
rps="$(python3 -c "print(round(${r[requests]} / ${r[seconds]}))")"
pool_errors="$(grep -ciE 'pool timed out|PoolTimedOut|database is unavailable' "$WORK/serve.log" || true)"

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME")"
{
  echo "# Web load (\`make load\`)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $machine; \`elysium serve\` ($PROFILE build) and wrk on the same"
  echo "machine over loopback, the demo's database on the private PostgreSQL cluster."
  echo
  echo "| Sessions | Seconds | Requests | Requests/s | p50 ms | p95 ms | p99 ms | max ms | not 200 | socket errors | pool errors |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "| $SESSIONS | ${r[seconds]} | ${r[requests]} | $rps | ${r[p50_ms]} | ${r[p95_ms]} | ${r[p99_ms]} | ${r[max_ms]} | ${r[non200]} | $((r[connect] + r[read] + r[write] + r[timeout])) | $pool_errors |"
  echo
  echo "Pages, in turn: the worklist, a finding page, a study page (coordinators' sessions) and the"
  echo "programme dashboard (administrators' sessions)."
} > tests/load/RESULTS.md
cat tests/load/RESULTS.md

((r[non200] == 0)) || fail "${r[non200]} answers were not 200"
((r[connect] + r[read] + r[write] + r[timeout] == 0)) || fail "socket errors: $result"
((pool_errors == 0)) || fail "the server's log reports the database pool exhausted or unavailable $pool_errors times"
log "held: $SESSIONS sessions for ${r[seconds]} s, every answer 200"
