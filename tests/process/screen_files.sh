#!/usr/bin/env bash
# `elysium screen` on files, no database: the reference model's parity case with a liver lesion
# (models/reference-screening/parity/cases.json) is screened from its phantom folder, the
# ground-truth files beside the DICOM files are left out, and the JSON carries the provider,
# the per-stage timings and the positives the parity file expects; the lesion-free case raises
# nothing. Run by .ci/test.sh with the debug binary; needs ORT_DYLIB_PATH.
#   tests/process/screen_files.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
ELYSIUM="$1"
log() { echo "[screen-files] $*" >&2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-screen-files.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# The parity cases are 0.1.0's: pin it (the highest version is the default).
export ELYSIUM_MODELS_DIR="$PWD/models" ELYSIUM_SCREENING_MODEL=reference-screening@0.1.0

for case in lesion no-lesion; do
  # The phantom command line the parity file records for the case.
  read -r -a ARGV < <(python3 -c "
import json, sys
case = next(c for c in json.load(open('models/reference-screening/parity/cases.json'))['cases'] if c['case'] == sys.argv[1])
print(' '.join(a.replace('<DIR>', sys.argv[2]) for a in case['generator']['argv']))" "$case" "$WORK/$case")
  "$ELYSIUM" "${ARGV[@]}" >/dev/null
  "$ELYSIUM" screen --inference-device cpu --runs 2 "$WORK/$case" > "$WORK/$case.json"
  python3 - "$case" "$WORK/$case.json" <<'PY'
import json, sys
case, path = sys.argv[1], sys.argv[2]
runs = [json.loads(line) for line in open(path)]
expected = next(c for c in json.load(open("models/reference-screening/parity/cases.json"))["cases"] if c["case"] == case)
wanted = expected["expected"]["positives_at_manifest_thresholds"]
assert [r["run"] for r in runs] == [1, 2], runs
for r in runs:
    assert r["execution_provider"] == "CPUExecutionProvider" and r["device"] == "cpu", r
    assert r["model"]["name"] == "reference-screening" and len(r["model"]["sha256"]) == 64, r["model"]
    assert r["files_left_out"] == 2, "truth.json and labels.u8.gz are not DICOM"
    assert set(r["timings_ms"]) >= {"decode", "volume", "resample", "inference", "postprocess", "total"}, r["timings_ms"]
    got = [f'{p["organ"]}/{p["class"]}' for p in r["positives"]]
    assert got == wanted, (case, got, wanted)
    assert set(r["tumor_probabilities"]) >= {"lung", "liver", "kidney"}, r["tumor_probabilities"]
    assert r["biomarkers"]["liver_hu"] is not None, r["biomarkers"]
# The same series screened twice gives the same result (the reused volume memory included).
strip = lambda r: {k: v for k, v in r.items() if k not in ("run", "timings_ms")}
assert strip(runs[0]) == strip(runs[1]), "a second run differs"
print(f"{case}: {len(runs)} runs, positives {wanted or 'none'}")
PY
done
log "ok"
