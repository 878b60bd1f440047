#!/usr/bin/env bash
# The S3 object store failing in the middle of a STOW-RS request, two ways: every request refused
# (403 AccessDenied) and the endpoint gone (its process killed: connections refused). Either way
# the parts stored before the failure are answered as stored and every later part as failed
# (FailureReason A700), within a bound, and no instance is registered whose object is not in the
# bucket with the size and SHA-256 of its row. Once the store is back, each series sent again
# stores the rest, each SOP instance exactly once. The bucket is moto's S3 server (installed by
# .ci/setup.sh) behind a small proxy of this test's, and it is the proxy that refuses or is
# killed: moto keeps its objects only in memory, so killing moto itself would lose the objects
# already stored as well. Run by .ci/test.sh with the debug binary; needs DATABASE_URL (a server
# it may create a database on).
#   tests/process/store_failure.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$(realpath "$1")"
log() { echo "[store-failure] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
source tests/process/moto.sh

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-store-failure.XXXXXX")"
PIDS=()
source tests/process/database.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  drop_database elysium_store_failure
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$(fresh_database elysium_store_failure)"
sql() { psql "$URL" -qAt -c "$1"; }

start_moto

# The proxy: each request is passed to moto, or answered 403 AccessDenied (which the S3 client
# does not retry) while the file DENY exists.
DENY="$WORK/deny"
cat > "$WORK/proxy.py" <<'PY'
import http.client, http.server, os, sys
port, upstream, deny = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
DENIED = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def relay(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if os.path.exists(deny):
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(DENIED)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(DENIED)
            self.close_connection = True
            return
        upstream_connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        upstream_connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            upstream_connection.putheader(name, value)
        upstream_connection.endheaders(body)
        response = upstream_connection.getresponse()
        data = response.read()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", response.getheader("Content-Length", str(len(data))) if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream_connection.close()
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay
http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
PY
PROXY_PORT="$(free_port)"
start_proxy() {
  "$PY" "$WORK/proxy.py" "$PROXY_PORT" "$MOTO_PORT" "$DENY" >> "$WORK/proxy.log" 2>&1 &
  PROXY=$!
  PIDS+=("$PROXY")
  wait_http "http://127.0.0.1:$PROXY_PORT/"
}
start_proxy

BUCKET=elysium-store-failure
export AWS_ACCESS_KEY_ID=elysium-test AWS_SECRET_ACCESS_KEY=elysium-test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT="http://127.0.0.1:$PROXY_PORT" AWS_ALLOW_HTTP=true
export DATABASE_URL="$URL" ELYSIUM_DATA_DIR="$WORK/state" ELYSIUM_OBJECT_STORE="s3://$BUCKET/objects"
# s3.py (straight to moto, never through the proxy): create | objects (KEY SIZE SHA-256 per line)
cat > "$WORK/s3.py" <<'PY'
import hashlib, sys
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
bucket, command = sys.argv[2], sys.argv[3]
if command == "create":
    s3.create_bucket(Bucket=bucket)
elif command == "objects":
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            print(item["Key"], len(body), hashlib.sha256(body).hexdigest())
PY
s3() { "$PY" "$WORK/s3.py" "http://127.0.0.1:$MOTO_PORT" "$BUCKET" "$@"; }
s3 create
"$ELYSIUM" migrate >/dev/null

log "two phantom series, each one STOW-RS body"
BOUNDARY=elysium-store-failure-boundary
make_series() { # NAME SEED SLICES: $WORK/NAME.body, and the files' SHA-256 in $WORK/NAME.sha256
  "$ELYSIUM" phantom --out "$WORK/$1" --patients 1 --seed "$2" --rows 128 --slices "$3" >/dev/null
  find "$WORK/$1" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
  local f
  find "$WORK/$1" -name '*.dcm' | sort | while read -r f; do
    printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$BOUNDARY"; cat "$f"; printf '\r\n'
  done > "$WORK/$1.body"
  printf -- '--%s--\r\n' "$BOUNDARY" >> "$WORK/$1.body"
  find "$WORK/$1" -name '*.dcm' -exec sha256sum {} + | cut -d' ' -f1 | sort > "$WORK/$1.sha256"
  [[ "$(wc -l < "$WORK/$1.sha256")" == "$3" ]] || fail "the phantom $1 has not $3 instances"
}
make_series denied 5353 40
make_series refused 5454 12

PORT="$(free_port)"
ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM=0 ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_ORPHAN_SWEEP_HOURS=0 \
  "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/readyz"
echo "store-failure-test-password" | "$ELYSIUM" user add --username store-sender --role admin --site STORE-TEST >/dev/null
TOKEN="$("$ELYSIUM" token create --username store-sender --name store-failure --scope dicom:write 2>"$WORK/token.log" |
  tail -n 1 | tr -d '[:space:]')" || fail "token create: $(cat "$WORK/token.log")"
stow() { # NAME OUTPUT [CURL ARGS...]: prints the status
  local name="$1" out="$2"; shift 2
  curl -s -o "$out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
    --data-binary @"$WORK/$name.body" "$@" "http://127.0.0.1:$PORT/dicomweb/studies"
}

# Every instance row names an object in the bucket with the row's size and SHA-256.
check_objects() { # WHEN
  s3 objects | sed "s|^objects/||" | sort > "$WORK/bucket.txt" || fail "$1: listing the bucket"
  sql "select object_key || ' ' || size_bytes || ' ' || sha256 from instance" | sort > "$WORK/rows.txt"
  local missing
  missing="$(comm -23 "$WORK/rows.txt" "$WORK/bucket.txt")"
  [[ -z "$missing" ]] || fail "$1: instance rows whose object is not in the bucket as recorded: $missing"
}

# fail_mid_request NAME HOW: sends series NAME (new to the server) in about 10 s, and once 3 of its
# instances are registered makes the store fail (HOW: `deny`, every request refused; `kill`, the
# endpoint gone); then checks the answer (202: stored and failed parts) against the database.
fail_mid_request() {
  local name="$1" how="$2" before status sent stored curl_pid
  before="$(sql "select count(*) from instance")"
  sent="$(wc -l < "$WORK/$name.sha256")"
  log "STOW-RS of $sent instances; the store fails ($how) once 3 are registered"
  # curl itself in the background (not a function's subshell), so that $! is curl's own id.
  curl -s -o "$WORK/$name-1.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
    --data-binary @"$WORK/$name.body" --limit-rate "$(($(stat -c %s "$WORK/$name.body") / 10))" --max-time 120 \
    "http://127.0.0.1:$PORT/dicomweb/studies" > "$WORK/$name-1.status" 2>/dev/null &
  curl_pid=$!
  PIDS+=("$curl_pid")
  for _ in $(seq 300); do
    (($(sql "select count(*) from instance") >= before + 3)) && break
    kill -0 "$curl_pid" 2>/dev/null || fail "the request ended before 3 instances were registered: $(cat "$WORK/$name-1.json")"
    sleep 0.1
  done
  (($(sql "select count(*) from instance") >= before + 3)) || fail "3 instances were not registered within 30 s"
  case "$how" in
    deny) touch "$DENY" ;;
    kill) kill -KILL "$PROXY"; wait "$PROXY" 2>/dev/null || true ;;
  esac
  local started=$SECONDS
  wait "$curl_pid" || fail "the request got no answer within 120 s (curl status $?)"
  status="$(cat "$WORK/$name-1.status")"
  [[ "$status" == 202 ]] || fail "STOW-RS answered $status, not 202 (some stored, some failed): $(head -c 2000 "$WORK/$name-1.json")"
  stored=$(($(sql "select count(*) from instance") - before))
  python3 - "$WORK/$name-1.json" "$sent" "$stored" <<'PY' > "$WORK/$name.referenced" || fail "the response: $(head -c 3000 "$WORK/$name-1.json")"
import json, sys
body, sent, stored = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
referenced = body.get("00081199", {}).get("Value", [])
failed = body.get("00081198", {}).get("Value", [])
assert len(referenced) + len(failed) == sent, f"{len(referenced)} stored + {len(failed)} failed != {sent} sent"
assert len(referenced) == stored, f"{len(referenced)} answered stored, {stored} registered"
assert failed, "no part answered as failed"
for item in failed:
    assert item["00081197"]["Value"] == [0xA700], item
for item in referenced:
    print(item["00081155"]["Value"][0])
PY
  sort "$WORK/$name.referenced" > "$WORK/$name.referenced.sorted"
  sql "select sop_instance_uid from instance order by 1" > "$WORK/registered.txt"
  [[ -z "$(comm -23 "$WORK/$name.referenced.sorted" "$WORK/registered.txt")" ]] ||
    fail "instances answered as stored are not registered"
  check_objects "after the failure ($how)"
  log "  $stored of $sent stored, the rest answered A700 (in $((SECONDS - started)) s after the failure); nothing registered without its object"
}

fail_mid_request denied deny
rm "$DENY"
fail_mid_request refused kill
log "the store works again (the endpoint back); both series sent again"
start_proxy
TOTAL=0
for name in denied refused; do
  status="$(stow "$name" "$WORK/$name-2.json" --max-time 60)" || true
  [[ "$status" == 200 ]] || fail "the resend of $name answered $status: $(head -c 2000 "$WORK/$name-2.json")"
  TOTAL=$((TOTAL + $(wc -l < "$WORK/$name.sha256")))
done
[[ "$(sql "select count(*) from instance")" == "$TOTAL" ]] ||
  fail "$(sql "select count(*) from instance") instance rows, not $TOTAL"
[[ "$(sql "select count(distinct sop_instance_uid) from instance")" == "$TOTAL" ]] || fail "an instance is stored twice"
check_objects "after the resend"
[[ "$(sort "$WORK/denied.sha256" "$WORK/refused.sha256")" == "$(sql "select sha256 from instance order by 1")" ]] ||
  fail "the stored instances are not the files sent"
log "passed: the parts not stored answered A700 whether the bucket refused or was gone; the resend stored each of $TOTAL instances once"
