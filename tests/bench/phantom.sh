#!/usr/bin/env bash
# The benchmarks' case, one for all of them: the 512 x 512 x 300 phantom (`elysium phantom
# --patients 1 --seed 1 --rows 512 --slices 300`), generated once into DATA/phantom with its .dcm
# files linked into DATA/uncompressed, and generated again only when the binary's version
# changes (DATA/phantom.stamp); its JPEG 2000 copy (DATA/j2k, made by run.sh) goes with it.
#   tests/bench/phantom.sh ELYSIUM DATA    prints DATA/uncompressed
set -euo pipefail
ELYSIUM="$1" DATA="$2"
ARGS=(--patients 1 --seed 1 --rows 512 --slices 300)
stamp="phantom ${ARGS[*]} $("$ELYSIUM" --version)"
if [[ "$(cat "$DATA/phantom.stamp" 2>/dev/null)" != "$stamp" || ! -d "$DATA/uncompressed" ]]; then
  echo "[bench $(date +%H:%M:%S)] elysium phantom ${ARGS[*]}" >&2
  rm -rf "$DATA/phantom" "$DATA/uncompressed" "$DATA/j2k" "$DATA/j2k.complete"
  mkdir -p "$DATA"
  "$ELYSIUM" phantom --out "$DATA/phantom" "${ARGS[@]}" >&2
  mkdir -p "$DATA/uncompressed"
  find "$DATA/phantom" -name '*.dcm' -exec ln {} "$DATA/uncompressed/" \;
  echo "$stamp" > "$DATA/phantom.stamp"
fi
echo "$DATA/uncompressed"
