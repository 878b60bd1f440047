#!/usr/bin/env bash
# Screening benchmark (part of `make bench`; run alone with `tests/bench/screening.sh`): the
# production path end to end on the 512 x 512 x 300 phantom of the load benchmark, with the
# reference model 0.1.0 (whole-volume, 64³ grid; ELYSIUM_SCREENING_MODEL picks another, e.g.
# reference-screening@0.2.0 for the sliding window at 3 mm), on this machine's CPU.
#   1. per-stage times (decode, volume, resample, inference, post-processing, storage) as the
#      pipeline stores them with every result: BENCH_SCREEN_CASES cases by one worker process;
#   2. throughput: the same number of cases by one worker process, then by two, each worker with
#      one intra-op thread (`elysium worker`, the queue shared through PostgreSQL), in
#      BENCH_SCREEN_ROUNDS rounds (default 5); the median ratio is the figure.
# Workers are started first and warmed up; the clock runs from queueing the jobs to the last one
# done, read from the jobs' own timestamps (enqueued_at, finished_at) so that the script's
# polling does not blur it. Writes a Markdown section to $OUT (default: stdout). Asserts no time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
CACHE="${BENCH_CACHE:-$HOME/.cache/elysium}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
CASES="${BENCH_SCREEN_CASES:-48}"
ROUNDS="${BENCH_SCREEN_ROUNDS:-5}"
export ELYSIUM_MODELS_DIR="${ELYSIUM_MODELS_DIR:-$ROOT/models}"
export ELYSIUM_SCREENING_MODEL="${ELYSIUM_SCREENING_MODEL:-reference-screening@0.1.0}"
OUT="${OUT:-/dev/stdout}"
log() { echo "[bench screening $(date +%H:%M:%S)] $*" >&2; }

.ci/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}"
log "build (release)"
cargo build --locked --release -p server >&2
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"

SERIES="$(tests/bench/phantom.sh "$ELYSIUM" "$CACHE/bench-data")"

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
  # One session waits for the queue to empty: starting psql (a Perl wrapper on Debian) every few
  # hundred milliseconds would take CPU from the workers, and the timing comes from the jobs.
  sql "do \$\$ begin
         while exists (select 1 from screening_job where status in ('queued', 'running')) loop
           perform pg_sleep(0.5);
         end loop;
       end \$\$"
  stop_workers
  local failed
  failed="$(sql "select count(*) from screening_job where status <> 'done'")"
  [[ "$failed" == 0 ]] || { sql "select last_error from screening_job where status <> 'done' limit 1" >&2; exit 1; }
  sql "select round(extract(epoch from max(finished_at) - min(enqueued_at))::numeric, 3) from screening_job"
}
# Findings would be raised once per series and then deduplicated; they do not matter here.
# One process, then two, ROUNDS times over: the ratio of each round, and their median.
STAGES="[]"; STAGES_TWO="[]"; ONE=""; TWO=""
# Every case's stored timings so far, with those of the run just done.
add_stages() { sql "select coalesce(json_agg(timings_ms), '[]') from screening_result" | python3 -c "import json, sys; print(json.dumps(json.loads(sys.argv[1]) + json.load(sys.stdin)))" "$1"; }
for round in $(seq "$ROUNDS"); do
  log "round $round: one worker process, $CASES cases"
  ONE="$ONE $(run_cases 1)"
  STAGES="$(add_stages "$STAGES")"
  log "round $round: two worker processes, $CASES cases"
  TWO="$TWO $(run_cases 2)"
  STAGES_TWO="$(add_stages "$STAGES_TWO")"
done
MODEL_LINE="$(grep -m1 'screening worker(s):' "$RUNTIME/worker-1-1.log")"

python3 - "$ONE" "$TWO" "$CASES" "$STAGES" "$MODEL_LINE" "$STAGES_TWO" > "$OUT" <<'PY'
import json, os, platform, statistics, sys
ones, twos = [float(v) for v in sys.argv[1].split()], [float(v) for v in sys.argv[2].split()]
cases, stages, model, stages_two = int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5], json.loads(sys.argv[6])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0) / 2**20
print("## Screening (512 x 512 x 300 phantom, CPU)\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM. {model.strip()}\n")
print(f"Per stage, as stored with each result: {len(stages)} cases by one worker process with one thread "
      "(ELYSIUM_INTRA_THREADS=1, for ONNX Runtime and the worker's own pool).\n")
print("The last column: the same stages while two worker processes ran side by side, which shows "
      "where they get in each other's way.\n")
print("| Stage | median ms | min | max | median ms, two processes |\n|---|---|---|---|---|")
def median_of(rows, stage):
    values = [s[stage] for s in rows if stage in s]
    return f"{statistics.median(values):.0f}" if values else "–"
for stage in ["decode", "volume", "resample", "inference", "postprocess", "storage", "total"]:
    values = [s[stage] for s in stages if stage in s]
    print(f"| {stage} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} | {median_of(stages_two, stage)} |")
non_model = [s["total"] - s["inference"] for s in stages]
non_model_two = [s["total"] - s["inference"] for s in stages_two]
print(f"| everything but inference | {statistics.median(non_model):.0f} | {min(non_model):.0f} | {max(non_model):.0f} | "
      f"{statistics.median(non_model_two):.0f} |")
print()
print(f"Throughput, {cases} cases per run, one intra-op thread per worker, from the jobs' timestamps "
      "(first queued to last finished); one process, then two, in each round:\n")
print("| Round | one process: s (cases/s) | two processes: s (cases/s) | two against one |\n|---|---|---|---|")
ratios = []
for i, (one, two) in enumerate(zip(ones, twos), 1):
    ratios.append(one / two)
    print(f"| {i} | {one:.1f} ({cases / one:.3f}) | {two:.1f} ({cases / two:.3f}) | {one / two:.2f}x |")
print(f"\nTwo worker processes against one, median of {len(ratios)} rounds: **{statistics.median(ratios):.2f}x**.")
PY
log "done"
