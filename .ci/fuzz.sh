#!/usr/bin/env bash
# Elysium's hostile inputs under libFuzzer (server/dicom/fuzz), one target each:
#   parse            any bytes as an instance: header parsing, validation, first frame, volume
#   pdu              any bytes as what a sender writes to the C-STORE listener: PDUs read as the
#                    listener reads them, every P-DATA value through its reassembly and command parse
#   stow_multipart   a Content-Type line, then a STOW-RS body in small chunks: every part read
#                    within the limits
# libFuzzer needs -Z flags: RUSTC_BOOTSTRAP lets the stable toolchain accept them.
#
#   .ci/fuzz.sh replay    (make test) for each target: every committed input once (its seeds in
#                         server/dicom/fuzz/corpus/TARGET and its past findings in
#                         tests/fixtures/dicom/fuzz/): deterministic, the same commit always gets
#                         the same verdict. No mutation here: libFuzzer does not repeat a mutation
#                         run exactly even with a fixed -seed and -runs (the coverage it reaches
#                         differs by a few percent from run to run), so such a run in `make test`
#                         could pass once and fail once on the same commit.
#   .ci/fuzz.sh explore [TARGET]
#                         (make fuzz) fuzzes TARGET (default: each in turn) for FUZZ_SECONDS
#                         (default 600, each target) from the seeds and what earlier runs on this
#                         machine found interesting. A crash is written to the target's findings
#                         folder as found-*, where the replay (and for parse, its regression
#                         tests) picks it up once it is committed (with its fix).
set -euo pipefail
MODE="${1:-replay}"
cd "$(dirname "$0")/../server/dicom/fuzz"
FINDINGS="$(cd ../../../tests/fixtures/dicom/fuzz && pwd)"
TARGET="${CARGO_TARGET_DIR:-../../../target}-fuzz"
TARGETS=(parse pdu stow_multipart)
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=1536 -max_len=300000)
run() { local target="$1"; shift; RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TARGET" cargo fuzz run "$target" --fuzz-dir . "$@"; }
# Where a target's findings are kept. parse's are the folder itself, from before the other
# targets; libFuzzer reads folders recursively, so parse replays the others' too, which any
# bytes must survive anyway.
findings() { if [ "$1" = parse ]; then echo "$FINDINGS"; else echo "$FINDINGS/$1"; fi; }
# The committed inputs of a target: its seeds, and its findings once it has any.
inputs() { echo "corpus/$1"; if [ -d "$(findings "$1")" ]; then findings "$1"; fi; }
# The build's output is long and one of CharLS's sources warns on every build.
quiet() { grep -v "rle_lossless.rs"; }
case "$MODE" in
  replay)
    for target in "${TARGETS[@]}"; do
      mapfile -t committed < <(inputs "$target")
      log="$(mktemp)"
      # -runs=0: execute each committed input once, then stop (no mutation).
      # The whole output when it fails (a build error or a crash), the last lines when it passes.
      if ! run "$target" "${committed[@]}" -- -runs=0 "${LIMITS[@]}" > "$log" 2>&1; then
        quiet < "$log" | tail -n 80 >&2; rm -f "$log"; exit 1
      fi
      echo "$target: $(grep -E '^Done|INITED' "$log" | tail -n 1)"
      rm -f "$log"
    done
    ;;
  explore)
    selected=("${TARGETS[@]}")
    if [ -n "${2:-}" ]; then selected=("$2"); fi
    # A crash ends that target's run, not the others'; the exit status says whether any crashed.
    status=0
    for target in "${selected[@]}"; do
      [[ " ${TARGETS[*]} " == *" $target "* ]] || { echo "no fuzz target $target (${TARGETS[*]})" >&2; exit 2; }
      mapfile -t committed < <(inputs "$target")
      mkdir -p "$TARGET/corpus-$target" "$(findings "$target")"
      echo "== $target"
      run "$target" "$TARGET/corpus-$target" "${committed[@]}" -- -max_total_time="${FUZZ_SECONDS:-600}" \
        -artifact_prefix="$(findings "$target")/found-" "${LIMITS[@]}" -print_final_stats=1 2>&1 | quiet | tail -n 20 \
        || status=1
    done
    exit "$status"
    ;;
  *) echo "usage: .ci/fuzz.sh replay | explore [${TARGETS[*]// /|}]" >&2; exit 2 ;;
esac
