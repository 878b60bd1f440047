#!/usr/bin/env bash
# Realistic-size screening benchmark (part of `make bench`; alone: `BENCH_ONLY=nnunet make bench`
# or this script): a network of the size hospitals deploy, nnU-Net's default 3D full-resolution
# U-Net for CT (about 31 M parameters, patch 128^3 at 1.5 mm, random weights;
# tests/bench/nnunet/export.py exports it to ONNX here, nothing is committed), run by Elysium's
# sliding window on the 512 x 512 x 300 phantom with `elysium screen` on this machine's CPU.
# Per run: the whole case, the network's share (the time inside ONNX Runtime) and everything
# else's (reading, the HU volume, resampling, tiling and blending, post-processing).
# Writes a Markdown section to $OUT (default: stdout). Asserts no time.
#
# Knobs: BENCH_NNUNET_RUNS (cases, default 2: the first includes nothing extra, the session is
# opened and warmed before), BENCH_NNUNET_THREADS (ONNX Runtime intra-op threads, default: the
# machine's cores), BENCH_CACHE (default ~/.cache/elysium; the PyTorch venv is its train-venv,
# the one the reference model trains in).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
CACHE="${BENCH_CACHE:-$HOME/.cache/elysium}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
RUNS="${BENCH_NNUNET_RUNS:-2}"
THREADS="${BENCH_NNUNET_THREADS:-$(nproc)}"
OUT="${OUT:-/dev/stdout}"
VENV="$CACHE/train-venv"
log() { echo "[bench nnunet $(date +%H:%M:%S)] $*" >&2; }
for knob in RUNS THREADS; do
  [[ "${!knob}" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_NNUNET_$knob: a positive whole number, not '${!knob}'" >&2; exit 2; }
done

.ci/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}"

# PyTorch and dynamic-network-architectures, pinned (the reference model's training venv plus
# tests/bench/nnunet/requirements.txt).
[[ -x "$VENV/bin/python" ]] || { log "python virtualenv $VENV"; python3 -m venv "$VENV"; }
want="$(cat models/reference-screening-0.2.0/requirements.txt tests/bench/nnunet/requirements.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$VENV/.nnunet-requirements.sha256" 2>/dev/null)" != "$want" ]]; then
  log "pip install (PyTorch, dynamic-network-architectures; a few GB the first time)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r models/reference-screening-0.2.0/requirements.txt \
    -r tests/bench/nnunet/requirements.txt
  echo "$want" > "$VENV/.nnunet-requirements.sha256"
fi

MODELS="$CACHE/bench-nnunet"
stamp="$(sha256sum tests/bench/nnunet/export.py | cut -d' ' -f1)"
if [[ "$(cat "$MODELS/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  log "export the network to ONNX"
  rm -rf "$MODELS"; mkdir -p "$MODELS"
  "$VENV/bin/python" tests/bench/nnunet/export.py "$MODELS/nnunet-size" > "$MODELS/export.json"
  echo "$stamp" > "$MODELS/.stamp"
fi

log "build (release)"
cargo build --locked --release -p server >&2
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"
SERIES="$(tests/bench/phantom.sh "$ELYSIUM" "$CACHE/bench-data")"

log "elysium screen: $RUNS case(s), $THREADS intra-op thread(s)"
RUNTIME="$(mktemp -d "${TMPDIR:-/tmp}/elysium-bench-nnunet.XXXXXX")"
trap 'rm -rf "$RUNTIME"' EXIT
peak_kib() { awk '/Maximum resident set size/ {print $NF}' "$1"; }
ELYSIUM_MODELS_DIR="$MODELS" ELYSIUM_SCREENING_MODEL=nnunet-size-benchmark ELYSIUM_INFERENCE_DEVICE=cpu \
  ELYSIUM_INTRA_THREADS="$THREADS" /usr/bin/time -v "$ELYSIUM" screen "$SERIES" --runs "$RUNS" \
  > "$RUNTIME/runs.jsonl" 2> "$RUNTIME/time.txt" || { cat "$RUNTIME/time.txt" >&2; exit 1; }

python3 - "$RUNTIME/runs.jsonl" "$MODELS/export.json" "$(peak_kib "$RUNTIME/time.txt")" "$THREADS" > "$OUT" <<'PY'
import json, os, platform, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
export = json.load(open(sys.argv[2]))
peak_gib, threads = int(sys.argv[3]) / 2**20, sys.argv[4]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0) / 2**20
r0 = runs[0]
print("## Realistic-size network (nnU-Net default 3D full resolution, CPU)\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM; ONNX Runtime's CPU provider, "
      f"{threads} intra-op thread(s).\n")
print(f"Network: `PlainConvUNet` (dynamic-network-architectures), {export['parameters']:,} parameters, "
      f"{export['onnx_bytes'] / 2**20:.0f} MiB ONNX, patch {export['patch']}^3 at {export['spacing_mm']} mm, "
      "random weights; Elysium's sliding window with overlap 0.5, Gaussian blending, cropped to the body. "
      f"Case: the {r0['volume']['slices']} x {r0['volume']['rows']} x {r0['volume']['columns']} phantom, "
      f"`elysium screen`, {len(runs)} run(s).\n")
print("| Run | whole case (s) | network, inside ONNX Runtime (s) | everything else (s) | everything else, share |")
print("|---|---|---|---|---|")
shares = []
for r in runs:
    t = r["timings_ms"]
    total, network = t["total"] / 1000, t["network"] / 1000
    shares.append((total - network) / total)
    print(f"| {r['run']} | {total:.1f} | {network:.1f} | {total - network:.2f} | {100 * shares[-1]:.1f} % |")
t = runs[-1]["timings_ms"]
print()
print("Stages of the last run (ms): " + ", ".join(f"{k} {t[k]:.0f}" for k in
      ["decode", "volume", "resample", "inference", "network", "postprocess", "total"] if k in t)
      + f". Peak resident memory of the process: {peak_gib:.1f} GiB.\n")
print(f"Everything but the network, median share: **{100 * statistics.median(shares):.1f} %** of the case "
      "(target: at most 10 %).")
PY
log "done"
