#!/usr/bin/env bash
# A screening worker process killed mid-job (SIGKILL: no clean-up of any kind) leaves its job
# running under a lease; once the lease expires another `elysium worker` process takes the job
# and finishes it; every job ends done with exactly one result. Run by .ci/test.sh with the debug
# binary and the reference model; needs DATABASE_URL (a server it may create a database on) and
# ORT_DYLIB_PATH.
#   tests/process/worker_kill.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
ELYSIUM="$1"
log() { echo "[worker-kill] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/worker-*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-worker-kill.XXXXXX")"
PIDS=()
source tests/process/database.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  drop_database elysium_worker_kill
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$(fresh_database elysium_worker_kill)"
sql() { psql "$URL" -qAt -c "$1"; }
export DATABASE_URL="$URL" ELYSIUM_DATA_DIR="$WORK/state" ELYSIUM_MODELS_DIR="$PWD/models"
"$ELYSIUM" migrate >/dev/null

JOBS=6
LEASE=4
log "$JOBS phantom series, each queued for the reference model"
"$ELYSIUM" phantom --out "$WORK/phantoms" --patients "$JOBS" --seed 5150 --rows 128 >/dev/null
find "$WORK/phantoms" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
"$ELYSIUM" ingest --site KILL-TEST "$WORK/phantoms" >/dev/null
# The manifest's own name and version (its [input] and [[outputs]] tables have names too): a
# worker takes only the jobs of the version it runs.
read -r MODEL VERSION < <(python3 -c 'import sys, tomllib; m = tomllib.load(open(sys.argv[1], "rb")); print(m["name"], m["version"])' \
  models/reference-screening/manifest.toml)
[[ -n "$MODEL" && -n "$VERSION" ]] || fail "the reference model's manifest has no name or version"
sql "insert into screening_job (series_ref, model_name, model_version, reason, max_attempts)
     select id, '$MODEL', '$VERSION', 'rerun', 3 from series" >/dev/null

start_worker() { # NAME
  ELYSIUM_WORKERS=1 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_INFERENCE_DEVICE=cpu ELYSIUM_JOB_LEASE_SECONDS="$LEASE" \
    ELYSIUM_SCREENING_MODEL="$MODEL@$VERSION" "$ELYSIUM" worker > "$WORK/worker-$1.log" 2>&1 &
  PIDS+=("$!")
  echo "$!"
}

# Worker A is killed as soon as it runs a job. Whatever A held at the instant of the signal is
# the orphan (it may have finished the job it was seen with and taken the next one; should it
# hold none, a fresh worker A is tried again).
KILLED=""
for attempt in 1 2 3; do
  log "worker A (try $attempt): SIGKILL as soon as it is running a job"
  A="$(start_worker "a$attempt")"
  seen=""
  for _ in $(seq 600); do
    seen="$(sql "select id from screening_job where status = 'running' and lease_owner like '%:$A:%' limit 1")"
    [[ -n "$seen" ]] && break
    kill -0 "$A" 2>/dev/null || fail "worker A exited before claiming a job"
    sleep 0.1
  done
  [[ -n "$seen" ]] || fail "worker A claimed no job in 60 s"
  kill -KILL "$A"
  wait "$A" 2>/dev/null || true
  KILLED="$(sql "select id from screening_job where status = 'running' and lease_owner like '%:$A:%'")"
  [[ -n "$KILLED" ]] && break
done
[[ -n "$KILLED" ]] || fail "three killed workers held no job at the instant of the signal"
[[ "$(sql "select attempts from screening_job where id = $KILLED")" == 1 ]] || fail "job $KILLED had been tried before"
log "job $KILLED left running under A's lease; worker B starts"

B="$(start_worker b)"
for _ in $(seq 1200); do
  [[ "$(sql "select count(*) from screening_job where status in ('queued', 'running')")" == 0 ]] && break
  kill -0 "$B" 2>/dev/null || fail "worker B exited"
  sleep 0.1
done
kill -TERM "$B"; wait "$B" 2>/dev/null || true

[[ "$(sql "select count(*) from screening_job where status = 'done'")" == "$JOBS" ]] ||
  fail "not every job is done: $(sql "select id, status, attempts, last_error from screening_job")"
[[ "$(sql "select attempts from screening_job where id = $KILLED")" == 2 ]] ||
  fail "the killed job was not taken again exactly once: $(sql "select attempts from screening_job where id = $KILLED")"
[[ "$(sql "select count(*) from screening_result")" == "$JOBS" && \
   "$(sql "select count(distinct job_id) from screening_result")" == "$JOBS" ]] ||
  fail "expected one result per job: $(sql "select job_id, count(*) from screening_result group by 1")"
log "passed: job $KILLED, orphaned by SIGKILL, was finished by another worker after its ${LEASE} s lease"
