#!/usr/bin/env bash
# `make load-inference`: a backlog of screening jobs drained by two worker processes, none run
# twice, none lost. On a private PostgreSQL cluster, LOAD_SERIES (200) phantom series are stored
# with `elysium ingest`; `elysium serve` (no workers, no listener) runs the scheduler alone,
# which queues every complete series for the reference model (the quiet period set to 0), so
# the backlog is LOAD_SERIES queued jobs before any worker runs. The server is stopped and two
# `elysium worker` processes (one worker, one thread each, CPU) drain the queue. Checks with psql
# that every job ended done (or skipped with its reason, counted and reported), each tried
# exactly once, with exactly one result per done job and no series screened twice by one model
# version, and from the workers' own logs (a job's row forgets its lease owner once it ends)
# that each job was finished by exactly one worker, that both workers did work, and that no
# attempt was retried, lost its lease or failed. Prints and writes tests/load/INFERENCE.md with
# the machine, the build, the time to drain and the split between the workers. Asserts no time.
#
# Knobs: LOAD_SERIES (200), LOAD_ROWS (phantom matrix, 64; 160 slices, the 400 mm the reference
# model needs at least 300 mm of), LOAD_PROFILE (release or debug), CARGO_TARGET_DIR (as in the
# Makefile), LOAD_BINARY (an `elysium` binary to run instead of building one), ORT_DYLIB_PATH (as
# in the Makefile).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/load/run.sh
SERIES_WANTED="${LOAD_SERIES:-200}"
ROWS="${LOAD_ROWS:-64}"
PROFILE="${LOAD_PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}"
log() { echo "[load-inference] $*" >&2; }
fail() {
  log "FAILED: $*"
  local f
  for f in "$WORK"/*.log; do
    [[ -f "$f" ]] || continue
    echo "== $f" >&2
    if grep -q "panicked" "$f"; then grep -A 2 "panicked" "$f" | head -n 30 >&2; else tail -n 15 "$f" >&2; fi
  done
  exit 1
}
source tests/process/common.sh

# At least two series: both workers must have work.
if ! [[ "$SERIES_WANTED" =~ ^[1-9][0-9]*$ ]] || ((SERIES_WANTED < 2)); then
  log "LOAD_SERIES: a number of at least 2, not '$SERIES_WANTED'"; exit 2
fi
[[ -f "$ORT_DYLIB_PATH" ]] || { log "ORT_DYLIB_PATH ($ORT_DYLIB_PATH) is not the ONNX Runtime library: run make setup"; exit 1; }
command -v psql >/dev/null || { log "psql is missing: run make setup"; exit 1; }
LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg)"   # what else the machine was doing before this run
# What the results file says of the build (prepare_run calls a given binary just that).
BUILD="$PROFILE build"
[[ -n "${LOAD_BINARY:-}" ]] && BUILD="binary given as LOAD_BINARY (LOAD_PROFILE=$PROFILE)"
prepare_run load-inference
WORKER_PIDS=()
stop_workers() { # SIGTERM, at most 10 s, then SIGKILL
  local pid
  for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 40); do
    local alive=0
    for pid in "${WORKER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.25
  done
  for pid in "${WORKER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  { for pid in "${WORKER_PIDS[@]}"; do wait "$pid" || true; done; } 2>/dev/null
  WORKER_PIDS=()
}
trap 'stop_workers; finish_run' EXIT

export DATABASE_URL; DATABASE_URL="$("$ELYSIUM" pg --data-dir "$WORK/state" start --database elysium_load_inference)"
# Every process has a data folder of its own and shares the database, the object store and the
# models, as on hosts of their own.
export ELYSIUM_OBJECT_STORE="file://$WORK/objects" ELYSIUM_MODELS_DIR="$PWD/models" ELYSIUM_DATA_DIR="$WORK/state-cli"
mkdir -p "$WORK/objects"
"$ELYSIUM" migrate >/dev/null
sql() { psql "$DATABASE_URL" -qAt -c "$1"; }
# The reference model's name and version: the manifest's top-level keys (before its first table).
manifest_key() { awk -F'"' -v key="$1" '/^\[/ {exit} $1 == key " = " {print $2; exit}' models/reference-screening/manifest.toml; }
MODEL="$(manifest_key name)"
VERSION="$(manifest_key version)"
# Every process runs that version (the highest version found would be the default).
export ELYSIUM_SCREENING_MODEL="$MODEL@$VERSION"

log "$SERIES_WANTED phantom series of 160 slices, ${ROWS} x ${ROWS}"
"$ELYSIUM" phantom --out "$WORK/phantoms" --patients "$SERIES_WANTED" --seed 9090 --rows "$ROWS" >/dev/null
find "$WORK/phantoms" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
SERIES_FOUND="$(find "$WORK/phantoms" -mindepth 2 -maxdepth 2 -type d | wc -l)"
((SERIES_FOUND == SERIES_WANTED)) || fail "expected $SERIES_WANTED series, found $SERIES_FOUND"
SENT="$(find "$WORK/phantoms" -name '*.dcm' | wc -l)"

log "elysium ingest of $SENT instances (no worker, no scheduler yet)"
start="$(date +%s.%N)"
"$ELYSIUM" ingest --site LOAD-INFERENCE "$WORK/phantoms" > "$WORK/ingest.out" 2> "$WORK/ingest.log" || fail "elysium ingest"
INGEST_S="$(python3 -c "import time; print(round(time.time() - $start, 1))")"
rm -rf "$WORK/phantoms"
[[ "$(sql "select count(*) from instance")" == "$SENT" ]] || fail "$SENT instances sent, $(sql "select count(*) from instance") stored"
[[ "$(sql "select count(*) from series")" == "$SERIES_WANTED" ]] || fail "$(sql "select count(*) from series") series stored, not $SERIES_WANTED"
[[ "$(sql "select count(*) from screening_job")" == 0 ]] || fail "jobs were queued before the scheduler ran"

# The scheduler alone: a server with no worker and no listener, each series complete at once.
log "elysium serve, scheduler only (no worker): the backlog"
PORT="$(free_port)"
ELYSIUM_DATA_DIR="$WORK/state-serve" ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM=0 ELYSIUM_WORKERS=0 \
  ELYSIUM_AUTO_SCREENING=1 ELYSIUM_SERIES_QUIET_SECONDS=0 ELYSIUM_ORPHAN_SWEEP_HOURS=0 \
  "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
wait_http "http://127.0.0.1:$PORT/readyz"
# The scheduler takes 50 series a pass, a pass every 5 s.
deadline=$((SECONDS + 60 + SERIES_WANTED / 2))
start="$(date +%s.%N)"
until [[ "$(sql "select count(*) from screening_job")" == "$SERIES_WANTED" ]]; do
  ((SECONDS < deadline)) ||
    fail "the scheduler queued $(sql "select count(*) from screening_job") of $SERIES_WANTED series within $((60 + SERIES_WANTED / 2)) s"
  kill -0 "$SERVER_PID" 2>/dev/null || fail "elysium serve exited"
  sleep 1
done
QUEUE_S="$(python3 -c "import time; print(round(time.time() - $start, 1))")"
kill -TERM "$SERVER_PID"
for _ in $(seq 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
kill -KILL "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
jobs_now() { sql "select status, count(*) from screening_job group by 1 order by 1" | paste -sd' '; }
[[ "$(sql "select count(*) from screening_job where status = 'queued' and attempts = 0 and reason = 'auto'
           and generation = 1 and model_name = '$MODEL' and model_version = '$VERSION'")" == "$SERIES_WANTED" &&
   "$(sql "select count(distinct series_ref) from screening_job")" == "$SERIES_WANTED" ]] ||
  fail "the backlog is not $SERIES_WANTED queued automatic jobs of $MODEL $VERSION, one a series: $(jobs_now)"
log "  backlog: $SERIES_WANTED queued jobs, one a series, in ${QUEUE_S} s; the server stopped"

# Two worker processes, one worker and one thread each.
start_worker() { # NAME
  ELYSIUM_DATA_DIR="$WORK/state-$1" ELYSIUM_WORKERS=1 ELYSIUM_INTRA_THREADS=1 ELYSIUM_INFERENCE_DEVICE=cpu \
    ELYSIUM_LOG_FORMAT=json "$ELYSIUM" worker > "$WORK/worker-$1.log" 2>&1 &
  WORKER_PIDS+=("$!")
}
BOUND=$((30 + 5 * SERIES_WANTED))
log "workers A and B: draining the backlog (at most $BOUND s)"
start="$(date +%s.%N)"
start_worker a
start_worker b
deadline=$((SECONDS + BOUND))
until [[ "$(sql "select count(*) from screening_job where status in ('queued', 'running')")" == 0 ]]; do
  ((SECONDS < deadline)) || fail "the backlog was not drained within $BOUND s: $(jobs_now)"
  for pid in "${WORKER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a worker (pid $pid) exited: $(jobs_now)"; done
  sleep 1
done
DRAIN_S="$(python3 -c "import time; print(round(time.time() - $start, 1))")"
# A job's end is committed before its worker logs it: the last lines may still be on their way.
ended_lines() { cat "$WORK"/worker-*.log | grep -c '"message":"series \(screened\|skipped\)"' || true; }
deadline=$((SECONDS + 30))
until (($(ended_lines) >= SERIES_WANTED)); do
  ((SECONDS < deadline)) || break   # the check below says which jobs no worker logged
  sleep 0.25
done
stop_workers

log "checks: jobs, attempts, results, and who ran what"
jobs_list() { sql "select id, status, attempts, last_error from screening_job where $1 order by id limit 20"; }
DONE="$(sql "select count(*) from screening_job where status = 'done'")"
SKIPPED="$(sql "select count(*) from screening_job where status = 'skipped'")"
[[ "$(sql "select count(*) from screening_job")" == "$SERIES_WANTED" ]] ||
  fail "$(sql "select count(*) from screening_job") jobs, not the $SERIES_WANTED queued: $(jobs_now)"
((DONE + SKIPPED == SERIES_WANTED)) ||
  fail "not every job done or skipped: $(jobs_now); $(jobs_list "status not in ('done', 'skipped')")"
[[ "$(sql "select count(*) from screening_job where status = 'skipped' and coalesce(last_error, '') = ''")" == 0 ]] ||
  fail "a job was skipped without a reason: $(jobs_list "status = 'skipped'")"
[[ "$(sql "select count(*) from screening_job where attempts <> 1")" == 0 ]] ||
  fail "a job was not tried exactly once: $(jobs_list "attempts <> 1")"
[[ "$(sql "select count(*) from screening_result")" == "$DONE" &&
   "$(sql "select count(distinct job_id) from screening_result")" == "$DONE" ]] ||
  fail "$(sql "select count(*) from screening_result") results for $DONE done jobs: $(sql "select job_id, count(*) from screening_result group by 1 having count(*) > 1 limit 20")"
[[ "$(sql "select count(*) from screening_job j where j.status = 'done'
           and not exists (select 1 from screening_result r where r.job_id = j.id and r.series_ref = j.series_ref)")" == 0 &&
   "$(sql "select count(*) from screening_result r join screening_job j on j.id = r.job_id where j.status <> 'done'")" == 0 ]] ||
  fail "a done job without its result, or a result of a job not done"
[[ -z "$(sql "select series_ref, model_name, model_version from screening_result group by 1, 2, 3 having count(*) > 1 limit 20")" ]] ||
  fail "a series screened twice by one model version: $(sql "select series_ref, count(*) from screening_result group by 1 having count(*) > 1 limit 20")"
[[ "$(sql "select count(*) from screening_result where model_name <> '$MODEL' or model_version <> '$VERSION'")" == 0 ]] ||
  fail "a result not of $MODEL $VERSION"
grep -l 'panicked' "$WORK"/*.log >/dev/null && fail "a process panicked"

# Who ran what: each worker logs every job it ends ("series screened" or "series skipped", with
# the job's id); a job's row forgets its lease owner once it ends. Every job must be ended by
# exactly one worker, once, and no attempt may have been retried, lost or failed.
sql "select id from screening_job order by id" > "$WORK/jobs.txt"
cat > "$WORK/split.py" <<'PY'
import json, sys
ended, bad = {}, []
counts = []
for path in sys.argv[1:3]:
    n = 0
    for line in open(path, errors="replace"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        fields = event.get("fields", {})
        message = fields.get("message", "")
        if message in ("series screened", "series skipped"):
            ended.setdefault(int(fields["job"]), []).append(path)
            n += 1
        elif event.get("level") in ("WARN", "ERROR"):
            bad.append(f"{path}: {message} {fields}")
    counts.append(n)
jobs = {int(line) for line in open(sys.argv[3]) if line.strip()}
twice = {job: paths for job, paths in ended.items() if len(paths) > 1}
missing = sorted(jobs - set(ended))
extra = sorted(set(ended) - jobs)
problems = []
if twice: problems.append(f"jobs ended more than once: {dict(list(twice.items())[:10])}")
if missing: problems.append(f"jobs no worker ended: {missing[:20]}")
if extra: problems.append(f"jobs ended that are not in the table: {extra[:20]}")
if bad: problems.append("warnings or errors in the workers' logs: " + " | ".join(bad[:10]))
if problems:
    print("; ".join(problems), file=sys.stderr)
    sys.exit(1)
print(*counts)
PY
split="$(python3 "$WORK/split.py" "$WORK/worker-a.log" "$WORK/worker-b.log" "$WORK/jobs.txt")" ||
  fail "the workers' logs do not account for every job exactly once (above)"
read -r SPLIT_A SPLIT_B <<< "$split"
((SPLIT_A > 0 && SPLIT_B > 0)) || fail "one worker did all the work: A $SPLIT_A, B $SPLIT_B"

# The jobs' own timestamps: from the first claim to the last job's end.
read -r SPAN_S PER_MIN MEDIAN_MS < <(sql "select round(extract(epoch from max(finished_at) - min(started_at))::numeric, 1),
    round(count(*) * 60 / extract(epoch from max(finished_at) - min(started_at))::numeric, 1),
    (select round(percentile_cont(0.5) within group (order by (timings_ms->>'total')::float)::numeric)
       from screening_result)
  from screening_job" | tr '|' ' ')
SKIP_REASONS="$(sql "select last_error || ' (' || count(*) || ')' from screening_job where status = 'skipped' group by last_error" | paste -sd';')"
((SKIPPED == 0)) || log "  $SKIPPED jobs skipped (not expected for these phantoms): $SKIP_REASONS"

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME")"
pct() { python3 -c "print(round(100 * $1 / $2))"; }
{
  echo "# Inference backlog (\`make load-inference\`)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $machine; \`elysium\` $BUILD, the reference model"
  echo "($MODEL $VERSION) on ONNX Runtime's CPU provider, two \`elysium worker\` processes with one"
  echo "worker and one thread each, PostgreSQL (private cluster) on the same machine. Phantom series"
  echo "of 160 slices, ${ROWS} x ${ROWS}, stored by \`elysium ingest\` ($SENT instances in ${INGEST_S} s) and"
  echo "queued by the scheduler of \`elysium serve\` with no worker running (${QUEUE_S} s); the server is"
  echo "stopped before the workers start."
  echo
  echo "| Backlog | Drained in (workers started → queue empty) | First claim → last job ended | Series per minute | Median case | Worker A | Worker B |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  echo "| $SERIES_WANTED | ${DRAIN_S} s | ${SPAN_S} s | $PER_MIN | ${MEDIAN_MS} ms | $SPLIT_A ($(pct "$SPLIT_A" "$SERIES_WANTED") %) | $SPLIT_B ($(pct "$SPLIT_B" "$SERIES_WANTED") %) |"
  echo
  echo "Held: $DONE done and $SKIPPED skipped${SKIP_REASONS:+ ($SKIP_REASONS)} of $SERIES_WANTED jobs, each tried once"
  echo "(\`attempts = 1\`); one result per done job, no series screened twice by one model version; each"
  echo "job ended by exactly one worker (the workers' logs), none retried, lost or failed."
  echo
  echo "The drain time includes each worker's start (opening and warming its ONNX Runtime session)."
  echo "Series per minute is over the jobs' own timestamps."
  if python3 -c "import sys; sys.exit(0 if float('${LOADAVG%% *}') >= 0.5 else 1)"; then
    echo "Other work was running on the machine (load average $LOADAVG as this run began): the"
    echo "figures are noisy, an upper bound."
  else
    echo "The machine was otherwise idle (load average $LOADAVG as this run began)."
  fi
  if [[ "${LOAD_PROFILE:-release}" == debug ]]; then echo "A debug build: not the product's figures."; fi
} > tests/load/INFERENCE.md
cat tests/load/INFERENCE.md
log "held: $SERIES_WANTED queued jobs drained by two workers ($SPLIT_A and $SPLIT_B), each run once, $DONE results, none lost"
