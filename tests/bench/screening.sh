#!/usr/bin/env bash
# Screening benchmark (part of `make bench`; run alone with `tests/bench/screening.sh`): the
# production path end to end on the 512 x 512 x 300 phantom of the load benchmark, with the
# active screening model, on this machine's CPU.
#   1. per-stage times (decode, volume, resample, inference, post-processing, storage) as the
#      pipeline stores them with every result: BENCH_SCREEN_CASES cases by one worker process;
#   2. throughput: the same number of cases by one worker process, then by two, each worker with
#      one intra-op thread (`elysium worker`, the queue shared through PostgreSQL).
# Workers are started first and warmed up; the clock runs from queueing the jobs to the last one
# done, read from the jobs' own timestamps (enqueued_at, finished_at) so that the script's
# polling does not blur it. Writes a Markdown section to $OUT (default: stdout). Asserts no time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
CACHE="${BENCH_CACHE:-$HOME/.cache/elysium}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
CASES="${BENCH_SCREEN_CASES:-48}"
export ELYSIUM_MODELS_DIR="${ELYSIUM_MODELS_DIR:-$ROOT/models}"
OUT="${OUT:-/dev/stdout}"
log() { echo "[bench screening $(date +%H:%M:%S)] $*" >&2; }

.ci/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}"
log "build (release)"
cargo build --locked --release -p server >&2
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"

DATA="$CACHE/bench-data"
SERIES="$DATA/uncompressed"
if [[ ! -d "$SERIES" ]]; then
  log "phantom 512 x 512 x 300"
  "$ELYSIUM" phantom --out "$DATA/phantom" --patients 1 --seed 1 --rows 512 --slices 300 >&2
  mkdir -p "$SERIES"
  find "$DATA/phantom" -name '*.dcm' -exec ln {} "$SERIES/" \;
fi

RUNTIME="$(mktemp -d "${TMPDIR:-/tmp}/elysium-bench-screening.XXXXXX")"
chmod 755 "$RUNTIME"
export ELYSIUM_DATA_DIR="$RUNTIME/state"
WORKERS=()
cleanup() {
  for pid in "${WORKERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${WORKERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$ELYSIUM" pg --data-dir "$ELYSIUM_DATA_DIR" stop >/dev/null 2>&1 || true
  rm -rf "$RUNTIME"
}
trap cleanup EXIT
export DATABASE_URL="$("$ELYSIUM" pg --data-dir "$ELYSIUM_DATA_DIR" start --database bench)"
"$ELYSIUM" migrate >&2
log "ingest $(find "$SERIES" -name '*.dcm' | wc -l) instances"
"$ELYSIUM" ingest --site BENCH "$SERIES" >&2
sql() { psql "$DATABASE_URL" -qAt -c "$1"; }

MODEL_LINE=""

start_workers() { # n
  WORKERS=()
  local i
  for i in $(seq "$1"); do
    ELYSIUM_WORKERS=1 ELYSIUM_INTRA_THREADS=1 ELYSIUM_INFERENCE_DEVICE=cpu "$ELYSIUM" worker > "$RUNTIME/worker-$1-$i.log" 2>&1 &
    WORKERS+=("$!")
  done
  for i in $(seq "$1"); do
    until grep -q 'screening worker(s):' "$RUNTIME/worker-$1-$i.log"; do
      kill -0 "${WORKERS[$((i - 1))]}" 2>/dev/null || { cat "$RUNTIME/worker-$1-$i.log" >&2; exit 1; }
      sleep 0.2
    done
  done
}
stop_workers() {
  for pid in "${WORKERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${WORKERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  WORKERS=()
}
run_cases() { # workers -> seconds for $CASES cases
  start_workers "$1"
  local model version
  # "1 screening worker(s): NAME VERSION on PROVIDER (DEVICE)"
  MODEL_LINE="$(grep -m1 'screening worker(s):' "$RUNTIME/worker-$1-1.log")"
  read -r model version < <(echo "$MODEL_LINE" | sed -E 's/.*: ([^ ]+) ([^ ]+) on .*/\1 \2/')
  log "  $MODEL_LINE"
  sql "delete from screening_result; delete from screening_job;" >/dev/null 2>&1 || true
  sql "insert into screening_job (series_ref, model_name, model_version, reason, max_attempts)
       select id, '$model', '$version', 'rerun', 1 from series, generate_series(1, $CASES)"
  until [[ "$(sql "select count(*) from screening_job where status in ('queued', 'running')")" == 0 ]]; do sleep 0.2; done
  stop_workers
  local failed
  failed="$(sql "select count(*) from screening_job where status <> 'done'")"
  [[ "$failed" == 0 ]] || { sql "select last_error from screening_job where status <> 'done' limit 1" >&2; exit 1; }
  sql "select round(extract(epoch from max(finished_at) - min(enqueued_at))::numeric, 3) from screening_job"
}
# Findings would be raised once per series and then deduplicated; they do not matter here.
log "one worker process, $CASES cases"
run_cases 1 > "$RUNTIME/one"
STAGES="$(sql "select json_agg(timings_ms) from screening_result")"
log "two worker processes, $CASES cases"
run_cases 2 > "$RUNTIME/two"
ONE="$(cat "$RUNTIME/one")"; TWO="$(cat "$RUNTIME/two")"
MODEL_LINE="$(grep -m1 'screening worker(s):' "$RUNTIME/worker-1-1.log")"

python3 - "$ONE" "$TWO" "$CASES" "$STAGES" "$MODEL_LINE" > "$OUT" <<'PY'
import json, os, platform, statistics, subprocess, sys
one, two, cases, stages, model = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0) / 2**20
print("## Screening (512 x 512 x 300 phantom, CPU)\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM. {model.strip()}\n")
print(f"Per stage, as stored with each result: {len(stages)} cases by one worker process with one thread "
      "(ELYSIUM_INTRA_THREADS=1, for ONNX Runtime and the worker's own pool).\n")
print("| Stage | median ms | min | max |\n|---|---|---|---|")
for stage in ["decode", "volume", "resample", "inference", "postprocess", "storage", "total"]:
    values = [s[stage] for s in stages if stage in s]
    print(f"| {stage} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} |")
non_model = [s["total"] - s["inference"] for s in stages]
print(f"| everything but inference | {statistics.median(non_model):.0f} | {min(non_model):.0f} | {max(non_model):.0f} |")
print()
print(f"Throughput, {cases} cases, one intra-op thread per worker: one worker process {cases / one:.3f} cases/s "
      f"({one:.1f} s), two worker processes {cases / two:.3f} cases/s ({two:.1f} s): **{one / two:.2f}x**.")
PY
log "done"
