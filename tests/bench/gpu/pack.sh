#!/usr/bin/env bash
# Packs what the GPU figure of the screening benchmark needs (a whole 512 x 512 x 300 case with
# the CUDA provider, target at most 2 s) for a GPU host that has the NVIDIA driver and the CUDA
# user-space libraries but no network, no Rust toolchain, no ONNX Runtime GPU build and no
# PostgreSQL: the release `elysium` binary, ONNX Runtime's GPU libraries from the PyPI wheel
# `onnxruntime-gpu` (the version of the CPU library the project uses), the models of models/
# and tests/bench/gpu/run.sh, as one xz tarball split into pieces of PIECE_MB (default
# 47) under .state/gpu-kit/ (ignored by git), for hosts that accept only small transfers.
#
# On the GPU host, with the pieces copied into one folder:
#   cat p* | xz -d | tar x -C /tmp/g && OUT=/some/dir /tmp/g/kit/run.sh
# run.sh generates the phantom there, screens it with `elysium screen` on CUDA (and on the CPU
# for comparison) and leaves JSON lines and logs in $OUT; tests/bench/gpu/report.py turns them
# into the Markdown for tests/bench/RESULTS.md. Nothing here asserts a time.
#
# With BENCH_NNUNET=1 the kit also carries the realistic-size network of tests/bench/nnunet.sh
# (nnU-Net's default 3D full-resolution U-Net, 125 MB of random weights: exported by
# `tests/bench/nnunet.sh` or `BENCH_ONLY=nnunet make bench` into ~/.cache/elysium/bench-nnunet
# first), and run.sh screens the phantom with it on CUDA too: two or three more pieces.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
ORT_VERSION=1.31.1
CACHE="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/onnxruntime-gpu-$ORT_VERSION"
KIT="$ROOT/.state/gpu-kit"
log() { echo "[gpu-kit] $*" >&2; }

if [[ ! -f "$CACHE/libonnxruntime_providers_cuda.so" ]]; then
  log "onnxruntime-gpu==$ORT_VERSION (PyPI wheel)"
  rm -rf "$CACHE.tmp"; mkdir -p "$CACHE.tmp"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_28_x86_64 "onnxruntime-gpu==$ORT_VERSION" -d "$CACHE.tmp"
  python3 - "$CACHE.tmp" <<'PY'
import glob, os, sys, zipfile
folder = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(os.path.join(folder, "onnxruntime_gpu-*.whl"))[0])
for name in wheel.namelist():
    base = os.path.basename(name)
    if name.startswith("onnxruntime/capi/") and base.startswith(("libonnxruntime.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so")):
        with open(os.path.join(folder, base), "wb") as out:
            out.write(wheel.read(name))
PY
  rm -f "$CACHE.tmp"/*.whl
  rm -rf "$CACHE"; mv "$CACHE.tmp" "$CACHE"
fi

log "build (release)"
cargo build --locked --release -p server >&2

rm -rf "$KIT"; mkdir -p "$KIT/stage/kit/bin" "$KIT/stage/kit/lib" "$KIT/stage/kit/models" "$KIT/pieces"
cp "$CARGO_TARGET_DIR/release/elysium" "$KIT/stage/kit/bin/"
cp "$CACHE"/lib* "$KIT/stage/kit/lib/"
# Every model folder (manifest and ONNX file; the models are small): the binary picks the active
# one on the host by its own rule, or by ELYSIUM_SCREENING_MODEL.
for manifest in "$ROOT"/models/*/manifest.toml; do
  model="$(dirname "$manifest")"
  mkdir -p "$KIT/stage/kit/models/${model##*/}"
  cp "$manifest" "$model"/*.onnx "$KIT/stage/kit/models/${model##*/}/"
done
if [[ "${BENCH_NNUNET:-0}" == 1 ]]; then
  NNUNET="${BENCH_CACHE:-$HOME/.cache/elysium}/bench-nnunet/nnunet-size"
  [[ -f "$NNUNET/manifest.toml" ]] ||
    { log "no exported network in $NNUNET: run tests/bench/nnunet.sh (or BENCH_ONLY=nnunet make bench) first"; exit 1; }
  mkdir -p "$KIT/stage/kit/models-nnunet/nnunet-size"
  cp "$NNUNET/manifest.toml" "$NNUNET/model.onnx" "$KIT/stage/kit/models-nnunet/nnunet-size/"
fi
cp "$ROOT/tests/bench/gpu/run.sh" "$KIT/stage/kit/"
log "xz (a few minutes on two cores)"
tar -C "$KIT/stage" -cf - kit | xz -T2 -9 | split -b "${PIECE_MB:-47}M" -d - "$KIT/pieces/p"
rm -rf "$KIT/stage"
ls -l "$KIT/pieces" >&2
log "pieces in $KIT/pieces; on the host: cat p* | xz -d | tar x -C /tmp/g && OUT=... /tmp/g/kit/run.sh"
