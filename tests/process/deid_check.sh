#!/usr/bin/env bash
# `elysium export --deidentify` on a database and its object store (the demo's, in `make test`),
# its output read by an independent DICOM implementation (pydicom, in the virtualenv
# .ci/setup.sh makes) against the originals: tests/process/deid_check.py. Also: the command
# refuses without a key, and never writes into a folder that is not empty.
# Usage: deid_check.sh ELYSIUM DATABASE_URL DATA_DIR
set -euo pipefail
ELYSIUM="$1"; DB="$2"; DATA="$3"
PYTHON="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/deid-venv/bin/python"
[[ -x "$PYTHON" ]] || { echo "no pydicom virtualenv at $PYTHON: run .ci/setup.sh" >&2; exit 1; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
log() { echo "[deid] $*"; }
KEY="deid-check-$(date +%s)-0123456789abcdefghij"
export_cmd() { env DATABASE_URL="$DB" ELYSIUM_DATA_DIR="$DATA" ELYSIUM_EXPORT_KEY="$KEY" "$ELYSIUM" export --deidentify "$@"; }

log "without ELYSIUM_EXPORT_KEY the command refuses, and writes nothing"
if env -u ELYSIUM_EXPORT_KEY DATABASE_URL="$DB" ELYSIUM_DATA_DIR="$DATA" \
    "$ELYSIUM" export --deidentify --from 2000-01-01 --to 2099-12-31 "$WORK/nokey" > "$WORK/nokey.log" 2>&1; then
  echo "the export ran without a key" >&2; exit 1
fi
grep -q ELYSIUM_EXPORT_KEY "$WORK/nokey.log" || { cat "$WORK/nokey.log" >&2; exit 1; }
[[ ! -e "$WORK/nokey" ]]

log "into a folder that is not empty: refused, the folder untouched"
mkdir "$WORK/taken"; echo mine > "$WORK/taken/notes.txt"
if export_cmd --from 2000-01-01 --to 2099-12-31 "$WORK/taken" > "$WORK/taken.log" 2>&1; then
  echo "the export wrote into a folder that was not empty" >&2; exit 1
fi
[[ "$(ls -A "$WORK/taken")" == notes.txt ]]

log "the export of every scan date"
export_cmd --from 2000-01-01 --to 2099-12-31 "$WORK/export"
ls -A "$WORK" | grep -q incomplete && { echo "a staging folder was left behind" >&2; exit 1; }

log "pydicom reads every file back against the originals"
ELYSIUM_EXPORT_KEY="$KEY" "$PYTHON" tests/process/deid_check.py "$WORK/export" "$DATA/objects" \
  server/dicom/src/deidentify/ps3.15-table-e1-1.tsv
log "passed"
