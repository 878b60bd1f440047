#!/usr/bin/env bash
# Fuzzes the DICOM parse path (server/dicom/fuzz, target `parse`) for FUZZ_SECONDS (default 60).
# libFuzzer needs -Z flags: RUSTC_BOOTSTRAP lets the stable toolchain accept them. A finding
# is left in server/dicom/fuzz/artifacts/parse/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/../server/dicom/fuzz"
TARGET="${CARGO_TARGET_DIR:-../../../target}-fuzz"
# The committed seeds, plus what earlier runs on this machine found interesting.
mkdir -p "$TARGET/corpus-parse"
RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TARGET" cargo fuzz run parse --fuzz-dir . "$TARGET/corpus-parse" corpus/parse -- \
  -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -malloc_limit_mb=1536 -max_len=300000 \
  -print_final_stats=1 2>&1 | grep -v "rle_lossless.rs" | tail -n 20
