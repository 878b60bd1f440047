#!/usr/bin/env bash
# Builds the browser bundle into $SITE_ROOT/pkg (elysium.js, elysium.wasm, elysium.css):
# the `frontend` crate for wasm32 (hydrate), then wasm-bindgen. The server is built separately
# (a whole-workspace build would unify leptos's `hydrate` and `ssr` features).
# Usage: build-site.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
SITE_ROOT="${ELYSIUM_SITE_ROOT:-$TARGET/site}"
NAME=elysium   # = LEPTOS_OUTPUT_NAME in .cargo/config.toml
PROFILE=dev; OUT=debug
if [[ "${1:-}" == "--release" ]]; then PROFILE=wasm-release; OUT=wasm-release; fi

wasm_libdir="$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)"
if compgen -G "$wasm_libdir/libstd-*.rlib" >/dev/null; then
  WASM_CARGO=(cargo build)
else
  # Debian's rustc-web builds std for wasm32 from its sources (see setup.sh).
  WASM_CARGO=(env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
              /usr/bin/cargo build -Zbuild-std=std,panic_abort)
fi
WASM_TARGET="$TARGET/wasm"
CARGO_TARGET_DIR="$WASM_TARGET" "${WASM_CARGO[@]}" -p frontend --target wasm32-unknown-unknown --profile "$PROFILE"

mkdir -p "$SITE_ROOT/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$SITE_ROOT/pkg" --out-name "$NAME" \
  "$WASM_TARGET/wasm32-unknown-unknown/$OUT/frontend.wasm"
mv -f "$SITE_ROOT/pkg/${NAME}_bg.wasm" "$SITE_ROOT/pkg/$NAME.wasm"
cp style/main.css "$SITE_ROOT/pkg/$NAME.css"
cp style/favicon.svg "$SITE_ROOT/pkg/favicon.svg"
echo "[build-site] $SITE_ROOT/pkg" >&2
