#!/usr/bin/env bash
# The demo's FHIR bundles parsed by an independent FHIR R4 implementation (fhir.resources, in the
# virtualenv .ci/setup.sh makes): a returning patient with screening results and biomarkers, and
# a patient whose tumour-board case is decided (mCODE primary cancer and clinical TNM).
# Usage: fhir_bundles.sh BASE_URL PASSWORD
set -euo pipefail
BASE="$1"; PASSWORD="$2"
PYTHON="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}/fhir-venv/bin/python"
[[ -x "$PYTHON" ]] || { echo "no FHIR virtualenv at $PYTHON: run .ci/setup.sh" >&2; exit 1; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
log() { echo "[fhir] $*"; }
curl_json() { curl -sf --max-time 60 -b "$WORK/jar" -c "$WORK/jar" "$@"; }

curl_json -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" \
  "$BASE/api/v1/auth/login" >/dev/null
record_of() { # PATIENT_ID → the record's id
  curl_json "$BASE/api/v1/patients?q=$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['items'][0]['id'])"
}
returning="$(record_of PL-0001)"
decided="$(curl_json "$BASE/api/v1/mdt/cases?status=decided" |
  python3 -c "import json,sys; print(next(i['patient']['id'] for i in json.load(sys.stdin)['items'] if i['cancer'] != 'larynx'))")"
curl_json "$BASE/api/v1/patients/$returning/fhir" > "$WORK/returning.json"
curl_json "$BASE/api/v1/patients/$decided/fhir" > "$WORK/decided.json"
"$PYTHON" tests/process/fhir_check.py "$WORK/returning.json"
"$PYTHON" tests/process/fhir_check.py "$WORK/decided.json" --expect-mcode
log "passed: both bundles parse as FHIR R4 and their references resolve; the decided case is mCODE"
