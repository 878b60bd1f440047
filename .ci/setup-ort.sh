#!/usr/bin/env bash
# Installs ONNX Runtime's C library (CPU build) from the PyPI `onnxruntime` wheel, checked by its
# SHA-256, into $ELYSIUM_TOOLS/onnxruntime-<version>/, idempotently. Elysium loads it at run time
# (`ORT_DYLIB_PATH`, which the Makefile points here); nothing is downloaded at build time. GPU hosts
# point ORT_DYLIB_PATH at the library of `onnxruntime-gpu` instead.
set -euo pipefail
TOOLS="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}"
ORT_VERSION=1.31.1
# onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl (the tag is pinned, so the local Python
# version does not matter: `pip download` installs nothing).
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
DEST="$TOOLS/onnxruntime-$ORT_VERSION"
LIB="$DEST/libonnxruntime.so.$ORT_VERSION"
[[ -s "$LIB" ]] && exit 0
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "onnxruntime==$ORT_VERSION --hash=sha256:$ORT_WHEEL_SHA256" > "$tmp/requirements.txt"
echo "[setup] ONNX Runtime $ORT_VERSION (CPU) from PyPI" >&2
python3 -m pip download -q --no-deps --require-hashes --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 -r "$tmp/requirements.txt" -d "$tmp"
mkdir -p "$DEST"
python3 - "$tmp" "$DEST" "$ORT_VERSION" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest, version = sys.argv[1:]
wheel = glob.glob(os.path.join(tmp, "onnxruntime-*.whl"))[0]
name = f"libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as z, z.open(f"onnxruntime/capi/{name}") as src, open(os.path.join(dest, name + ".part"), "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(os.path.join(dest, name + ".part"), os.path.join(dest, name))
PY
