#!/usr/bin/env bash
# The object store on S3-compatible storage, as several Elysium servers would share a bucket
# (moto's S3 server, installed by .ci/setup.sh): `elysium ingest` and STOW-RS keep each original
# in the bucket byte for byte, WADO-RS returns it from there, and the orphan sweep removes an
# object no instance references while keeping the registered ones. Run by .ci/test.sh with the
# debug binary; needs DATABASE_URL (a server it may create a database on).
#   tests/process/s3_store.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$1"
log() { echo "[s3-store] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
source tests/process/moto.sh

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-s3.XXXXXX")"
PIDS=()
source tests/process/database.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  drop_database elysium_s3_store
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$(fresh_database elysium_s3_store)"

start_moto
BUCKET=elysium-s3-test
export AWS_ACCESS_KEY_ID=elysium-test AWS_SECRET_ACCESS_KEY=elysium-test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT" AWS_ALLOW_HTTP=true
export DATABASE_URL="$URL" ELYSIUM_DATA_DIR="$WORK/state" ELYSIUM_OBJECT_STORE="s3://$BUCKET/objects"
# s3.py: create | keys | put KEY FILE | contains KEY FILE (the object's bytes equal the file's)
cat > "$WORK/s3.py" <<'PY'
import os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
bucket, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if command == "create":
    s3.create_bucket(Bucket=bucket)
elif command == "keys":
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        print(item["Key"])
elif command == "put":
    s3.put_object(Bucket=bucket, Key=args[0], Body=open(args[1], "rb").read())
elif command == "equals":
    body = s3.get_object(Bucket=bucket, Key=args[0])["Body"].read()
    sys.exit(0 if body == open(args[1], "rb").read() else 1)
PY
s3() { "$PY" "$WORK/s3.py" "$BUCKET" "$@"; }
s3 create

CT_SMALL=tests/fixtures/dicom/pydicom/CT_small.dcm
J2K=tests/fixtures/dicom/pydicom/693_J2KI.dcm
log "elysium ingest into s3://$BUCKET/objects"
"$ELYSIUM" migrate >/dev/null
"$ELYSIUM" ingest --site S3-TEST "$CT_SMALL" > "$WORK/ingest.log" 2>&1 || fail "ingest"
grep -q "stored 1," "$WORK/ingest.log" || fail "ingest did not store CT_small: $(cat "$WORK/ingest.log")"
KEY="$(s3 keys)"
[[ "$KEY" == objects/instances/*.dcm && "$(wc -l <<< "$KEY")" == 1 ]] || fail "one object under objects/instances/, not: $KEY"
s3 equals "$KEY" "$CT_SMALL" || fail "the object in the bucket is not the original, byte for byte"

log "elysium serve on the same bucket: STOW-RS in, WADO-RS out"
PORT="$(free_port)"
ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM=0 ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_ORPHAN_SWEEP_HOURS=0 \
  "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/readyz"
echo "s3-store-test-password" | "$ELYSIUM" user add --username s3-admin --role admin --site S3-TEST >/dev/null
TOKEN="$("$ELYSIUM" token create --username s3-admin --name s3-test --scope dicom:write --scope dicom:read 2>"$WORK/token.log" |
  tail -n 1 | tr -d '[:space:]')" || fail "token create: $(cat "$WORK/token.log")"
BOUNDARY=elysium-s3-boundary
{ printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$BOUNDARY"; cat "$J2K"; printf '\r\n--%s--\r\n' "$BOUNDARY"; } > "$WORK/stow.body"
status="$(curl -s -o "$WORK/stow.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
  --data-binary @"$WORK/stow.body" "http://127.0.0.1:$PORT/dicomweb/studies")"
[[ "$status" == 200 ]] || fail "STOW-RS answered $status: $(cat "$WORK/stow.json")"
RETRIEVE="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["00081199"]["Value"][0]["00081190"]["Value"][0])' "$WORK/stow.json")"
[[ "$(s3 keys | wc -l)" == 2 ]] || fail "two objects in the bucket after STOW-RS, not: $(s3 keys)"
curl -sf -H "Authorization: Bearer $TOKEN" -o "$WORK/wado.body" "$RETRIEVE" || fail "WADO-RS $RETRIEVE"
python3 -c 'import sys; body, original = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(); sys.exit(0 if original in body else 1)' \
  "$WORK/wado.body" "$J2K" || fail "WADO-RS did not return the original from the bucket"

log "the orphan sweep on the bucket"
ORPHAN=objects/instances/1.2.3/1.2.3.4/1.2.3.4.5.dcm
s3 put "$ORPHAN" "$CT_SMALL"
"$ELYSIUM" sweep-orphans --older-than-minutes 0 > "$WORK/sweep.log" 2>&1 || fail "sweep-orphans"
grep -q "examined 3 objects; removed 1 orphan" "$WORK/sweep.log" || fail "sweep: $(cat "$WORK/sweep.log")"
keys="$(s3 keys)"
grep -qx "$ORPHAN" <<< "$keys" && fail "the orphan is still in the bucket"
[[ "$(wc -l <<< "$keys")" == 2 ]] || fail "the two registered objects stay, not: $keys"
[[ "$(psql "$URL" -qAt -c "select count(*) from audit_event where action = 'storage.sweep'")" == 1 ]] || fail "the sweep is audited"
log "passed: ingest, STOW-RS, WADO-RS and the orphan sweep on s3://$BUCKET"
