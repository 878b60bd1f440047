#!/usr/bin/env bash
# Runs on the GPU host, from the kit tests/bench/gpu/pack.sh made: generates the benchmark's
# 512 x 512 x 300 phantom with the kit's own binary, then screens it with `elysium screen`,
# first with the CUDA provider (RUNS runs, default 6; `--inference-device cuda` fails rather
# than fall back to the CPU), then on the CPU with all cores for comparison (3 runs). Writes
# nvidia-smi.txt, cuda.jsonl, cpu.jsonl and their logs to $OUT. When the kit carries the
# realistic-size network (models-nnunet/, pack.sh with BENCH_NNUNET=1), it screens the same
# phantom with it on CUDA too (NNUNET_RUNS runs, default 5), sampling the GPU's memory in use
# every 0.2 s: nnunet-cuda.jsonl, nnunet-gpu-memory.txt.
set -euo pipefail
KIT="$(cd "$(dirname "$0")" && pwd)"
: "${OUT:?set OUT to a folder for the results}"
mkdir -p "$OUT"
WORK="${TMPDIR:-/tmp}/elysium-gpu-run"
rm -rf "$WORK"; mkdir -p "$WORK"
# The CUDA libraries the provider links against, wherever the host keeps them (Python packages
# included).
NVL="$(find / -xdev \( -name 'libcublasLt.so.1*' -o -name 'libcublas.so.1*' -o -name 'libcudnn.so.9*' \
      -o -name 'libcurand.so.1*' -o -name 'libcufft.so.1*' -o -name 'libnvrtc.so.1*' -o -name 'libcudart.so.1*' \) \
      2>/dev/null | xargs -r -n1 dirname | sort -u | tr '\n' ':')"
export LD_LIBRARY_PATH="$KIT/lib:$NVL${LD_LIBRARY_PATH:-}"
export ORT_DYLIB_PATH="$(ls "$KIT"/lib/libonnxruntime.so.* | head -1)" ELYSIUM_MODELS_DIR="$KIT/models"
# The README's figure is the reference model 0.1.0's (ELYSIUM_SCREENING_MODEL picks another).
export ELYSIUM_SCREENING_MODEL="${ELYSIUM_SCREENING_MODEL:-reference-screening@0.1.0}"
(nvidia-smi || true) > "$OUT/nvidia-smi.txt" 2>&1
(ldd "$KIT/lib/libonnxruntime_providers_cuda.so" | grep 'not found' || true) > "$OUT/missing-libraries.txt"
"$KIT/bin/elysium" phantom --out "$WORK/phantom" --patients 1 --seed 1 --rows 512 --slices 300 > "$OUT/phantom.log" 2>&1
"$KIT/bin/elysium" screen --inference-device cuda --intra-threads 1 --runs "${RUNS:-6}" "$WORK/phantom" \
  > "$OUT/cuda.jsonl" 2> "$OUT/cuda.log" || echo "cuda run failed: see cuda.log" >&2
"$KIT/bin/elysium" screen --inference-device cpu --intra-threads "$(nproc)" --runs 3 "$WORK/phantom" \
  > "$OUT/cpu.jsonl" 2> "$OUT/cpu.log" || echo "cpu run failed: see cpu.log" >&2
if [[ -d "$KIT/models-nnunet" ]]; then
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/nnunet-gpu-memory.txt" 2>&1 &
  SAMPLER=$!
  ELYSIUM_MODELS_DIR="$KIT/models-nnunet" ELYSIUM_SCREENING_MODEL=nnunet-size-benchmark \
    "$KIT/bin/elysium" screen --inference-device cuda --intra-threads "$(nproc)" --runs "${NNUNET_RUNS:-5}" "$WORK/phantom" \
    > "$OUT/nnunet-cuda.jsonl" 2> "$OUT/nnunet-cuda.log" || echo "nnunet cuda run failed: see nnunet-cuda.log" >&2
  kill "$SAMPLER" 2>/dev/null || true
fi
rm -rf "$WORK"
