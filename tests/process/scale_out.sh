#!/usr/bin/env bash
# Scale-out: two `elysium serve` processes and two `elysium worker` processes on one PostgreSQL
# database and one S3 bucket (moto's S3 server, installed by .ci/setup.sh), each process with a
# data folder of its own, traffic spread over both web servers. A session signed in on one server
# works on the other (and signed out on one is signed out on both); STOW-RS uploads of phantom
# series go to both, one series to both at once; both servers' schedulers queue the complete
# series. Mid-traffic one web server and one worker are killed (SIGKILL: no clean-up of any
# kind) while the server is storing a series and the worker is running a job. The session keeps
# working on the surviving server, the series in flight is sent again to it (as a PACS retries)
# and the remaining uploads succeed there, and the killed worker's job is taken by the other
# worker once its lease expires. At the end each SOP instance sent is stored exactly once with its
# object in the bucket as recorded, and each series has exactly one screening job, done, with
# exactly one result. Run by .ci/test.sh with the debug binary and the reference model; needs
# DATABASE_URL (a server it may create a database on) and ORT_DYLIB_PATH.
#   tests/process/scale_out.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$(realpath "$1")"
log() { echo "[scale-out] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
source tests/process/moto.sh
[[ -f "${ORT_DYLIB_PATH:-}" ]] || { log "ORT_DYLIB_PATH does not name the ONNX Runtime library"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-scale-out.XXXXXX")"
PIDS=()
source tests/process/database.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  { for pid in "${PIDS[@]}"; do wait "$pid" || true; done; } 2>/dev/null
  drop_database elysium_scale_out
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$(fresh_database elysium_scale_out)"
sql() { psql "$URL" -qAt -c "$1"; }

start_moto
BUCKET=elysium-scale-out
export AWS_ACCESS_KEY_ID=elysium-test AWS_SECRET_ACCESS_KEY=elysium-test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT" AWS_ALLOW_HTTP=true
# Every process shares the database, the bucket and the models; each has its own data folder
# (set per process below), as each would on a host of its own. They all run reference model
# 0.1.0, the quickest, pinned because the highest version found is the default.
export DATABASE_URL="$URL" ELYSIUM_OBJECT_STORE="s3://$BUCKET/objects" ELYSIUM_MODELS_DIR="$PWD/models" \
  ELYSIUM_DATA_DIR="$WORK/state-cli" ELYSIUM_SCREENING_MODEL=reference-screening@0.1.0
# s3.py: create | objects (KEY SIZE SHA-256 per line)
cat > "$WORK/s3.py" <<'PY'
import hashlib, os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
bucket, command = sys.argv[1], sys.argv[2]
if command == "create":
    s3.create_bucket(Bucket=bucket)
elif command == "objects":
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            print(item["Key"], len(body), hashlib.sha256(body).hexdigest())
PY
s3() { "$PY" "$WORK/s3.py" "$BUCKET" "$@"; }
s3 create
"$ELYSIUM" migrate >/dev/null

SERIES=7
log "$SERIES phantom series, one STOW-RS body each"
"$ELYSIUM" phantom --out "$WORK/phantoms" --patients "$SERIES" --seed 6161 --rows 64 >/dev/null
find "$WORK/phantoms" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
BOUNDARY=elysium-scale-out-boundary
mapfile -t SERIES_DIRS < <(find "$WORK/phantoms" -mindepth 2 -maxdepth 2 -type d | sort)
((${#SERIES_DIRS[@]} == SERIES)) || fail "the phantoms are ${#SERIES_DIRS[@]} series, not $SERIES"
SENT=0
for i in "${!SERIES_DIRS[@]}"; do
  find "${SERIES_DIRS[$i]}" -name '*.dcm' | sort | while read -r f; do
    printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$BOUNDARY"; cat "$f"; printf '\r\n'
  done > "$WORK/series-$i.body"
  printf -- '--%s--\r\n' "$BOUNDARY" >> "$WORK/series-$i.body"
  SENT=$((SENT + $(find "${SERIES_DIRS[$i]}" -name '*.dcm' | wc -l)))
done
find "$WORK/phantoms" -name '*.dcm' -exec sha256sum {} + | cut -d' ' -f1 | sort > "$WORK/sent.sha256"

# The web servers serve only (ELYSIUM_WORKERS=0); both run the scheduler that queues complete
# series. A series is complete once its sender's request ended (or after a quiet period, long
# here, so that the series whose request was cut off is not queued before it is sent again).
PORT_A="$(free_port)"
PORT_B="$(free_port)"
start_server() { # NAME PORT
  ELYSIUM_ADDR="127.0.0.1:$2" ELYSIUM_DATA_DIR="$WORK/state-$1" ELYSIUM_DICOM=0 ELYSIUM_WORKERS=0 \
    ELYSIUM_AUTO_SCREENING=1 ELYSIUM_SERIES_QUIET_SECONDS=120 ELYSIUM_ORPHAN_SWEEP_HOURS=0 \
    "$ELYSIUM" serve > "$WORK/serve-$1.log" 2>&1 &
  PIDS+=("$!")
}
LEASE=5
start_worker() { # NAME
  ELYSIUM_DATA_DIR="$WORK/state-$1" ELYSIUM_WORKERS=1 ELYSIUM_INFERENCE_DEVICE=cpu ELYSIUM_JOB_LEASE_SECONDS="$LEASE" \
    "$ELYSIUM" worker > "$WORK/worker-$1.log" 2>&1 &
  PIDS+=("$!")
}
log "servers A and B, workers A and B"
start_server a "$PORT_A"; SERVER_A=$!
start_server b "$PORT_B"; SERVER_B=$!
start_worker a; WORKER_A=$!
start_worker b; WORKER_B=$!
wait_ready() { # PID URL WHAT
  for _ in $(seq 480); do
    curl -s --max-time 5 -o /dev/null -f "$2" && return 0
    kill -0 "$1" 2>/dev/null || fail "$3 exited"
    sleep 0.25
  done
  fail "$3 was not ready within 120 s"
}
wait_ready "$SERVER_A" "http://127.0.0.1:$PORT_A/readyz" "server A"
wait_ready "$SERVER_B" "http://127.0.0.1:$PORT_B/readyz" "server B"
wait_worker() { # PID NAME
  for _ in $(seq 480); do
    grep -q 'screening worker(s):' "$WORK/worker-$2.log" && return 0
    kill -0 "$1" 2>/dev/null || fail "worker $2 exited"
    sleep 0.25
  done
  fail "worker $2 did not start within 120 s"
}
wait_worker "$WORKER_A" a
wait_worker "$WORKER_B" b

PASSWORD="scale-out-$RANDOM-password"
echo "$PASSWORD" | "$ELYSIUM" user add --username scale-admin --role admin --role coordinator --site SCALE-TEST \
  >/dev/null 2>"$WORK/user.log" || fail "user add"
TOKEN="$("$ELYSIUM" token create --username scale-admin --name scale-out --scope dicom:write 2>"$WORK/token.log" |
  tail -n 1 | tr -d '[:space:]')" || fail "token create"

# Every request is bounded; 000 is no answer within the bound.
BOUND=30
sign_in() { # JAR PORT: prints the status
  curl -s --max-time "$BOUND" -c "$1" -o "$WORK/login.body" -w '%{http_code}' -H 'content-type: application/json' \
    -d "{\"username\":\"scale-admin\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$2/api/v1/auth/login" || true
}
get() { # JAR PORT PATH: prints the status; the body in $WORK/get.body
  curl -s --max-time "$BOUND" -b "$1" -o "$WORK/get.body" -w '%{http_code}' "http://127.0.0.1:$2$3" || true
}
# The session (its cookie, from a sign-in on server A) on server PORT: who it is, and the worklist.
session_works() { # PORT WHEN
  local status
  status="$(get "$WORK/session" "$1" /api/v1/me)"
  [[ "$status" == 200 ]] || fail "$2: /api/v1/me on port $1 answered $status: $(cat "$WORK/get.body")"
  grep -q scale-admin "$WORK/get.body" || fail "$2: /api/v1/me on port $1 is not the signed-in user: $(cat "$WORK/get.body")"
  status="$(get "$WORK/session" "$1" /api/v1/worklist)"
  [[ "$status" == 200 ]] || fail "$2: /api/v1/worklist on port $1 answered $status: $(head -c 2000 "$WORK/get.body")"
}

log "one session, signed in on A, used on A and B; a second, signed in on B, signed out on A"
[[ "$(sign_in "$WORK/session" "$PORT_A")" == 200 ]] || fail "sign-in on A: $(cat "$WORK/login.body")"
session_works "$PORT_A" "signed in on A"
session_works "$PORT_B" "signed in on A, used on B"
[[ "$(sign_in "$WORK/other" "$PORT_B")" == 200 ]] || fail "sign-in on B: $(cat "$WORK/login.body")"
[[ "$(get "$WORK/other" "$PORT_A" /api/v1/me)" == 200 ]] || fail "the session signed in on B does not work on A"
status="$(curl -s --max-time "$BOUND" -b "$WORK/other" -o "$WORK/logout.body" -w '%{http_code}' -X POST \
  "http://127.0.0.1:$PORT_A/api/v1/auth/logout")" || true
[[ "$status" == 2* ]] || fail "sign-out on A answered $status: $(cat "$WORK/logout.body")"
status="$(get "$WORK/other" "$PORT_B" /api/v1/me)"
[[ "$status" == 401 ]] || fail "a session signed out on A answered $status on B, not 401: $(cat "$WORK/get.body")"

# stow_start I PORT NAME [CURL ARGS...]: series I to server PORT, in the background; the status is
# left in $WORK/NAME.status, the response in $WORK/NAME.json, curl's id in $CURL.
stow_start() {
  local i="$1" port="$2" name="$3"; shift 3
  # curl itself in the background (not a function's subshell), so that $! is curl's own id.
  curl -s -o "$WORK/$name.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
    --data-binary @"$WORK/series-$i.body" --max-time 90 "$@" "http://127.0.0.1:$port/dicomweb/studies" \
    > "$WORK/$name.status" 2>/dev/null &
  CURL=$!
  PIDS+=("$CURL")
}
# stow_check I NAME: the request NAME answered 200, every instance of series I stored, none failed.
stow_check() {
  local status
  status="$(cat "$WORK/$2.status")"
  [[ "$status" == 200 ]] || fail "STOW-RS $2 answered $status: $(head -c 2000 "$WORK/$2.json")"
  python3 - "$WORK/$2.json" "$(find "${SERIES_DIRS[$1]}" -name '*.dcm' | wc -l)" <<'PY' || fail "the response to $2: $(head -c 2000 "$WORK/$2.json")"
import json, sys
body = json.load(open(sys.argv[1]))
referenced = body.get("00081199", {}).get("Value", [])
assert len(referenced) == int(sys.argv[2]), f"{len(referenced)} referenced, not {sys.argv[2]}"
assert not body.get("00081198", {}).get("Value"), "failed instances listed"
PY
}
stow() { # I PORT NAME: sends and waits
  stow_start "$@"
  wait "$CURL" || true
  stow_check "$1" "$3"
}

log "series 0 to A and 1 to B at once; then series 2 to both at once"
stow_start 0 "$PORT_A" s0-a; first=$CURL
stow_start 1 "$PORT_B" s1-b; second=$CURL
wait "$first" || true; wait "$second" || true
stow_check 0 s0-a; stow_check 1 s1-b
session_works "$PORT_B" "after the first uploads"
stow_start 2 "$PORT_A" s2-a; first=$CURL
stow_start 2 "$PORT_B" s2-b; second=$CURL
wait "$first" || true; wait "$second" || true
stow_check 2 s2-a; stow_check 2 s2-b
session_works "$PORT_A" "after the upload to both"

# Series 4 goes to A slowly (about 20 s), so that A is killed storing it, while series 3 goes to
# B at full speed: its job is queued (within the schedulers' 5 s) and run while series 4 is still
# on its way. Once 3 of series 4's instances are registered, the first worker seen running a job
# is killed at the same instant as A; whatever it held at the instant of the signal is the
# orphaned job (it may have finished the job it was seen with and taken the next one).
SERIES_4_UID="$(basename "${SERIES_DIRS[4]}")"
SERIES_4_FILES="$(find "${SERIES_DIRS[4]}" -name '*.dcm' | wc -l)"
in_series_4() { sql "select count(*) from instance i join series s on s.id = i.series_ref where s.series_uid = '$SERIES_4_UID'"; }
held_by() { sql "select id from screening_job where status = 'running' and lease_owner like '%:$1:%'"; }
log "series 3 to B; series 4 to A, slowly: SIGKILL to A once some of it is stored, and to a worker running a job"
stow_start 4 "$PORT_A" s4-a --limit-rate "$(($(stat -c %s "$WORK/series-4.body") / 20))"
IN_FLIGHT=$CURL
stow_start 3 "$PORT_B" s3-b; SERIES_3=$CURL
VICTIM=""
deadline=$((SECONDS + 30))
turn=0
while [[ -z "$VICTIM" ]]; do
  ((SECONDS < deadline)) || fail "within 30 s, no worker ran a job while series 4 was being stored on A"
  kill -0 "$IN_FLIGHT" 2>/dev/null || fail "the upload to A ended before the kill: $(cat "$WORK/s4-a.status") $(head -c 2000 "$WORK/s4-a.json")"
  if (($(in_series_4) >= 3)); then
    for worker in "$WORKER_A" "$WORKER_B"; do
      [[ -n "$(held_by "$worker")" ]] || continue
      kill -KILL "$SERVER_A" "$worker" || fail "server A or the worker was gone before the signal"
      VICTIM=$worker
      break
    done
  fi
  [[ -n "$VICTIM" ]] && break
  # The session meanwhile, on A and B in turn.
  if ((turn++ % 2)); then session_works "$PORT_A" "during the uploads"; else session_works "$PORT_B" "during the uploads"; fi
  sleep 0.1
done
if [[ "$VICTIM" == "$WORKER_A" ]]; then VICTIM_NAME=A SURVIVOR=$WORKER_B SURVIVOR_NAME=B; else VICTIM_NAME=B SURVIVOR=$WORKER_A SURVIVOR_NAME=A; fi
# (Grouped: the shell's own "Killed" notices go with the redirection.)
{ wait "$SERVER_A" || true; wait "$VICTIM" || true; wait "$IN_FLIGHT" || true; } 2>/dev/null
[[ "$(cat "$WORK/s4-a.status")" != 200 ]] || fail "the upload to the killed server was answered 200"
KEPT="$(in_series_4)"
((KEPT < SERIES_4_FILES)) || fail "all $SERIES_4_FILES instances of series 4 were registered before the kill: not mid-ingest"
KILLED_JOB="$(held_by "$VICTIM")"
log "  server A killed with $KEPT of series 4's $SERIES_4_FILES instances registered; worker $VICTIM_NAME holding job ${KILLED_JOB:-none}"
[[ -z "$KILLED_JOB" || "$(sql "select attempts from screening_job where id = $KILLED_JOB")" == 1 ]] ||
  fail "job $KILLED_JOB had been tried before"
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$PORT_A/healthz" && fail "server A still answers after SIGKILL"
wait "$SERIES_3" || true
stow_check 3 s3-b

# Should the killed worker have finished its job between the look and the signal (and taken no
# other), a fresh worker C is killed the same way on a job of its own, from the series still to
# come.
FRESH=""
if [[ -z "$KILLED_JOB" ]]; then
  log "  worker $VICTIM_NAME held no job at the instant of the signal: a fresh worker C is killed on a job of its own"
  start_worker c; FRESH=$!
  wait_worker "$FRESH" c
fi

log "server B alone: the session, series 4 sent again (the whole series), then series 5 and 6"
session_works "$PORT_B" "after the kill"
stow 4 "$PORT_B" s4-b
session_works "$PORT_B" "after the resend"
stow 5 "$PORT_B" s5-b
stow 6 "$PORT_B" s6-b
session_works "$PORT_B" "after the last upload"

if [[ -n "$FRESH" ]]; then
  deadline=$((SECONDS + 30))
  until [[ -n "$(held_by "$FRESH")" ]]; do
    ((SECONDS < deadline)) || fail "worker C ran no job within 30 s"
    kill -0 "$FRESH" 2>/dev/null || fail "worker C exited"
    sleep 0.05
  done
  kill -KILL "$FRESH"
  { wait "$FRESH" || true; } 2>/dev/null
  KILLED_JOB="$(held_by "$FRESH")"
  [[ -n "$KILLED_JOB" ]] || fail "worker C, too, held no job at the instant of the signal"
  [[ "$(sql "select attempts from screening_job where id = $KILLED_JOB")" == 1 ]] || fail "job $KILLED_JOB had been tried before"
  log "  worker C killed holding job $KILLED_JOB"
fi

log "waiting for every series' screening (worker $SURVIVOR_NAME alone; job $KILLED_JOB once its ${LEASE} s lease expires)"
deadline=$((SECONDS + 90))
until [[ "$(sql "select count(*) from series s where not exists
                 (select 1 from screening_job j where j.series_ref = s.id and j.status = 'done')")" == 0 &&
         "$(sql "select count(*) from screening_job where status in ('queued', 'running')")" == 0 ]]; do
  ((SECONDS < deadline)) ||
    fail "not every series was screened within 90 s: $(sql "select id, series_ref, status, attempts, last_error from screening_job")"
  kill -0 "$SURVIVOR" 2>/dev/null || fail "worker $SURVIVOR_NAME exited"
  kill -0 "$SERVER_B" 2>/dev/null || fail "server B exited"
  sleep 0.5
done

log "checks: instances, objects in the bucket, jobs and results"
[[ "$(sql "select count(*) from series")" == "$SERIES" ]] || fail "$(sql "select count(*) from series") series, not $SERIES"
[[ "$(sql "select count(*) from instance")" == "$SENT" ]] ||
  fail "$(sql "select count(*) from instance") instance rows, not $SENT (the files sent)"
[[ "$(sql "select count(distinct sop_instance_uid) from instance")" == "$SENT" ]] ||
  fail "an instance is stored twice: $(sql "select sop_instance_uid, count(*) from instance group by 1 having count(*) > 1")"
[[ "$(sql "select sha256 from instance order by 1")" == "$(cat "$WORK/sent.sha256")" ]] ||
  fail "the stored instances are not the files sent"
s3 objects | sed "s|^objects/||" | sort > "$WORK/bucket.txt" || fail "listing the bucket"
sql "select object_key || ' ' || size_bytes || ' ' || sha256 from instance" | sort > "$WORK/rows.txt"
missing="$(comm -23 "$WORK/rows.txt" "$WORK/bucket.txt")"
[[ -z "$missing" ]] || fail "instance rows whose object is not in the bucket as recorded: $missing"
# Objects without a row (written by A, not yet registered at the kill) would be the orphan sweep's;
# the resend writes the same keys (they name the content), so none are expected; they are counted only.
log "  $(wc -l < "$WORK/rows.txt") instance rows, each with its object; $(wc -l < "$WORK/bucket.txt") objects in the bucket"
jobs="$(sql "select id, series_ref, reason, generation, status, attempts, last_error from screening_job order by id")"
[[ "$(sql "select count(*) from screening_job")" == "$SERIES" &&
   "$(sql "select count(distinct series_ref) from screening_job where status = 'done' and reason = 'auto'")" == "$SERIES" ]] ||
  fail "not exactly one automatic job per series, each done: $jobs"
[[ "$(sql "select attempts from screening_job where id = $KILLED_JOB")" == 2 ]] ||
  fail "the killed worker's job $KILLED_JOB was not taken again exactly once: $jobs"
[[ "$(sql "select count(*) from screening_job where id <> $KILLED_JOB and attempts <> 1")" == 0 ]] ||
  fail "a job other than the killed worker's was tried more than once: $jobs"
[[ "$(sql "select count(*) from screening_result")" == "$SERIES" && \
   "$(sql "select count(distinct job_id) from screening_result")" == "$SERIES" ]] ||
  fail "expected one result per job: $(sql "select job_id, count(*) from screening_result group by 1")"
grep -l 'panicked' "$WORK"/*.log >/dev/null && fail "a process panicked"
log "passed: $SENT instances of $SERIES series over two servers, each stored once in the bucket (A killed with $KEPT of a series registered, resent to B); one session on both; job $KILLED_JOB, orphaned by SIGKILL, finished by worker $SURVIVOR_NAME; every series screened once, one result each"
