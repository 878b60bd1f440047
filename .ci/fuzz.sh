#!/usr/bin/env bash
# The DICOM parse path (server/dicom/fuzz, target `parse`) under libFuzzer. libFuzzer needs -Z
# flags: RUSTC_BOOTSTRAP lets the stable toolchain accept them.
#
#   .ci/fuzz.sh replay    (make test) runs every committed input once: the seed corpus and every
#                         past finding in tests/fixtures/dicom/fuzz/. Deterministic: the same
#                         commit always gets the same verdict.
#   .ci/fuzz.sh explore   (make fuzz) fuzzes for FUZZ_SECONDS (default 600) from the seeds and
#                         what earlier runs on this machine found interesting. A crash is written
#                         to tests/fixtures/dicom/fuzz/found-*, where the replay and the parse
#                         regression tests pick it up once it is committed (with its fix).
set -euo pipefail
MODE="${1:-replay}"
cd "$(dirname "$0")/../server/dicom/fuzz"
FINDINGS="$(cd ../../../tests/fixtures/dicom/fuzz && pwd)"
TARGET="${CARGO_TARGET_DIR:-../../../target}-fuzz"
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=1536 -max_len=300000)
run() { RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TARGET" cargo fuzz run parse --fuzz-dir . "$@"; }
case "$MODE" in
  replay)
    # -runs=0: execute each input of the given folders once, then stop (no mutation).
    # The whole output when it fails (a build error or a crash), the last lines when it passes.
    log="$(mktemp)"
    if ! run corpus/parse "$FINDINGS" -- -runs=0 "${LIMITS[@]}" > "$log" 2>&1; then
      grep -v "rle_lossless.rs" "$log" | tail -n 80 >&2; rm -f "$log"; exit 1
    fi
    tail -n 3 "$log"; rm -f "$log"
    ;;
  explore)
    mkdir -p "$TARGET/corpus-parse"
    run "$TARGET/corpus-parse" corpus/parse "$FINDINGS" -- -max_total_time="${FUZZ_SECONDS:-600}" \
      -artifact_prefix="$FINDINGS/found-" "${LIMITS[@]}" -print_final_stats=1 2>&1 | grep -v "rle_lossless.rs" | tail -n 20
    ;;
  *) echo "usage: .ci/fuzz.sh replay|explore" >&2; exit 2 ;;
esac
