#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh Debian 12 machine (as root, registries
# only), idempotently: a second run with everything present takes about a second.
#   - PostgreSQL binaries (Debian `postgresql`) for the private cluster
#   - a wasm32 std: Debian's rustc-web builds std from source (rustup cannot fetch targets here)
#   - wasm-bindgen-cli at exactly the version in Cargo.lock
#   - ONNX Runtime's CPU library from the PyPI wheel (.ci/setup-ort.sh)
#   - the OHIF viewer's built application from the npm registry (.ci/setup-ohif.sh)
#   - Debian chromium and npm playwright-core (and dicomweb-client) for the browser suite
#     (SETUP_E2E=0 skips them)
#   - moto's S3 server in a virtualenv, for the S3 object store test (SETUP_S3=0 skips it)
#   - fhir.resources and pydicom in virtualenvs, the independent readers of the FHIR bundles and
#     the de-identified export (SETUP_FHIR=0 and SETUP_DEID=0 skip them)
# Tools that are not Debian packages go under $ELYSIUM_TOOLS (default ~/.cache/elysium-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}"
PLAYWRIGHT_VERSION=1.65.1
# dicomweb-client, the DICOMweb library of the OHIF viewer, for the browser suite's DICOMweb test.
DICOMWEB_CLIENT_VERSION=0.11.3
# axe-core's playwright binding: the browser suite's accessibility checks (WCAG 2.1 AA).
AXE_PLAYWRIGHT_VERSION=4.14.1
log() { echo "[setup] $*" >&2; }
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  ((APT_UPDATED)) || { apt-get update -qq; APT_UPDATED=1; }
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# PostgreSQL: initdb/pg_ctl on the PATH or in Debian's versioned folder.
if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  apt_install postgresql
fi
command -v psql >/dev/null || apt_install postgresql-client
command -v curl >/dev/null || apt_install curl
# dcmtk: storescu and echoscu, a real PACS client for the C-STORE listener tests (and dcmcjpls,
# an independent JPEG-LS encoder for them).
command -v storescu >/dev/null || apt_install dcmtk
# cmake and a C++ compiler build CharLS, the JPEG-LS codec (dicom-pixeldata's `charls` feature).
command -v cmake >/dev/null || apt_install cmake
command -v c++ >/dev/null || apt_install g++
# The PDF reports: a CJK font for Chinese names and labels (Typst's bundled fonts are Latin),
# and poppler's pdftotext, pdffonts and pdfimages, the independent reader their tests use.
[[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || apt_install fonts-wqy-microhei
# Noto Sans CJK beside it: its faces have the rare ideographs of names (CJK Extension B, 𠮷) that
# WenQuanYi Micro Hei lacks; a report falls back to it for those.
[[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]] || apt_install fonts-noto-cjk
command -v pdftotext >/dev/null || apt_install poppler-utils

# ONNX Runtime's C library for the screening inference (loaded at run time).
.ci/setup-ort.sh
# The OHIF viewer's built application, served under /ohif/.
.ci/setup-ohif.sh

# wasm32 std: rustup's if it has one, else Debian's rustc-web with std sources.
wasm_libdir="$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)"
if ! compgen -G "$wasm_libdir/libstd-*.rlib" >/dev/null; then
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
want="$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]]; then
  log "cargo install wasm-bindgen-cli $want (several minutes, once)"
  cargo install wasm-bindgen-cli --version "=$want" --locked --force ||
    cargo install wasm-bindgen-cli --version "=$want" --force
fi

# cargo-fuzz for the bounded fuzzing run of the DICOM parse path in `make test`.
if [[ "${SETUP_FUZZ:-1}" == 1 ]] && ! cargo fuzz --version >/dev/null 2>&1; then
  log "cargo install cargo-fuzz (a few minutes, once)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

# A Python virtualenv at the versions of a requirements file, remade when the file changes.
python_venv() { # DIR REQUIREMENTS WHAT
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  local want
  want="$(sha256sum "$2" | cut -d' ' -f1)"
  if [[ "$(cat "$1/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    log "$3 (virtualenv $1)"
    rm -rf "$1"
    python3 -m venv "$1"
    "$1/bin/pip" install -q --disable-pip-version-check -r "$2"
    echo "$want" > "$1/.requirements.sha256"
  fi
}

# moto's S3 server: an S3-compatible endpoint for tests/process/s3_store.sh (the object store as
# several servers would share it).
if [[ "${SETUP_S3:-1}" == 1 ]]; then
  python_venv "$TOOLS/s3-venv" tests/process/s3-requirements.txt "moto S3 server"
fi

# fhir.resources (FHIR R4): an independent parser for the FHIR bundles
# (tests/process/fhir_bundles.sh).
if [[ "${SETUP_FHIR:-1}" == 1 ]]; then
  python_venv "$TOOLS/fhir-venv" tests/process/fhir-requirements.txt "fhir.resources"
fi

# pydicom: an independent reading of the de-identified export (tests/process/deid_check.sh).
if [[ "${SETUP_DEID:-1}" == 1 ]]; then
  python_venv "$TOOLS/deid-venv" tests/process/deid-requirements.txt "pydicom"
fi

if [[ "${SETUP_E2E:-1}" == 1 ]]; then
  apt_install chromium
  mkdir -p "$TOOLS"
  [[ -f "$TOOLS/package.json" ]] || echo '{"private":true}' > "$TOOLS/package.json"
  have="$(node -p "require('$TOOLS/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
  if [[ "$have" != "$PLAYWRIGHT_VERSION" ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "playwright-core@$PLAYWRIGHT_VERSION" >&2
  fi
  have="$(node -p "require('$TOOLS/node_modules/dicomweb-client/package.json').version" 2>/dev/null || true)"
  if [[ "$have" != "$DICOMWEB_CLIENT_VERSION" ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "dicomweb-client@$DICOMWEB_CLIENT_VERSION" >&2
  fi
  have="$(node -p "require('$TOOLS/node_modules/@axe-core/playwright/package.json').version" 2>/dev/null || true)"
  if [[ "$have" != "$AXE_PLAYWRIGHT_VERSION" ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "@axe-core/playwright@$AXE_PLAYWRIGHT_VERSION" >&2
  fi
fi
log "ready"
