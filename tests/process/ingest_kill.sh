#!/usr/bin/env bash
# `elysium serve` killed (SIGKILL: no clean-up of any kind) in the middle of a STOW-RS request
# leaves no half-registered instance: every instance row it left names an object that is in the
# object store with the size and SHA-256 the row records. Restarted on the same database and
# data folder, the server takes the whole series sent again, and each SOP instance is then
# stored exactly once. Run by .ci/test.sh with the debug binary; needs DATABASE_URL (a server it
# may create a database on).
#   tests/process/ingest_kill.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$(realpath "$1")"
log() { echo "[ingest-kill] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-ingest-kill.XXXXXX")"
PIDS=()
source tests/process/database.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  drop_database elysium_ingest_kill
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$(fresh_database elysium_ingest_kill)"
sql() { psql "$URL" -qAt -c "$1"; }
export DATABASE_URL="$URL" ELYSIUM_DATA_DIR="$WORK/state"
"$ELYSIUM" migrate >/dev/null

log "one phantom series, as one STOW-RS body"
"$ELYSIUM" phantom --out "$WORK/phantoms" --patients 1 --seed 4242 --rows 512 --slices 80 >/dev/null
find "$WORK/phantoms" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
mapfile -t FILES < <(find "$WORK/phantoms" -name '*.dcm' | sort)
SENT=${#FILES[@]}
((SENT >= 20)) || fail "the phantom has only $SENT instances"
BOUNDARY=elysium-ingest-kill-boundary
for f in "${FILES[@]}"; do
  printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$BOUNDARY"; cat "$f"; printf '\r\n'
done > "$WORK/stow.body"
printf -- '--%s--\r\n' "$BOUNDARY" >> "$WORK/stow.body"
BODY_BYTES="$(stat -c %s "$WORK/stow.body")"

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
start_server() { # LOG
  ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM_ADDR=127.0.0.1:0 ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 \
    ELYSIUM_ORPHAN_SWEEP_HOURS=0 "$ELYSIUM" serve > "$WORK/$1.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
  for _ in $(seq 480); do
    curl -s --max-time 5 -o /dev/null -f "$BASE/readyz" && return 0
    kill -0 "$SERVER" 2>/dev/null || fail "the server exited"
    sleep 0.25
  done
  fail "the server was not ready within 120 s"
}
start_server serve-1
echo "ingest-kill-test-password" | "$ELYSIUM" user add --username kill-sender --role admin --site KILL-TEST >/dev/null
TOKEN="$("$ELYSIUM" token create --username kill-sender --name ingest-kill --scope dicom:write 2>"$WORK/token.log" |
  tail -n 1 | tr -d '[:space:]')" || fail "token create: $(cat "$WORK/token.log")"

# Every instance row names an object in the store with the row's size and SHA-256.
check_objects() { # WHEN
  local key size sha path bad=0
  while IFS='|' read -r key size sha; do
    path="$ELYSIUM_DATA_DIR/objects/$key"
    if [[ ! -f "$path" ]]; then log "  $1: no object for the row of $key"; bad=1; continue; fi
    [[ "$(stat -c %s "$path")" == "$size" ]] || { log "  $1: $key is not $size bytes"; bad=1; }
    [[ "$(sha256sum < "$path" | cut -d' ' -f1)" == "$sha" ]] || { log "  $1: $key is not SHA-256 $sha"; bad=1; }
  done < <(sql "select object_key, size_bytes, sha256 from instance")
  ((bad == 0)) || fail "$1: instance rows whose object is missing or differs"
}

# Sent at full speed, so that the server is busy storing (parts written to the store, their rows
# not yet committed) at whatever instant the signal lands; a throttled body would mostly find it
# waiting between parts. Full-size slices keep the whole series well over a second of work.
log "STOW-RS of $SENT instances ($BODY_BYTES bytes); SIGKILL once 5 are registered"
# curl itself in the background (not a function's subshell), so that $! is curl's own id.
curl -s -o "$WORK/stow-1.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
  --data-binary @"$WORK/stow.body" --max-time 60 "$BASE/dicomweb/studies" \
  > "$WORK/stow-1.status" 2>/dev/null &
CURL=$!
PIDS+=("$CURL")
registered=0
for _ in $(seq 300); do
  registered="$(sql "select count(*) from instance")"
  ((registered >= 5)) && break
  kill -0 "$CURL" 2>/dev/null || fail "the request ended before 5 instances were registered: $(cat "$WORK/stow-1.json")"
  sleep 0.05
done
((registered >= 5)) || fail "5 instances were not registered within 30 s"
kill -KILL "$SERVER"
wait "$SERVER" 2>/dev/null || true
wait "$CURL" 2>/dev/null || true
[[ "$(cat "$WORK/stow-1.status")" != 200 ]] || fail "the killed request was answered 200"
KEPT="$(sql "select count(*) from instance")"
((KEPT < SENT)) || fail "all $SENT instances were registered before the kill: not mid-ingest"
check_objects "after the kill"
# Objects without a row (written, not yet registered at the kill) are allowed: the orphan sweep's.
log "killed with $KEPT of $SENT instances registered; $(find "$ELYSIUM_DATA_DIR/objects" -type f | wc -l) files in the object store"

log "server restarted on the same database and data folder; the whole series sent again"
start_server serve-2
status="$(curl -s -o "$WORK/stow-2.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY" \
  --data-binary @"$WORK/stow.body" --max-time 60 "$BASE/dicomweb/studies")" || true
[[ "$status" == 200 ]] || fail "the resend answered $status: $(head -c 2000 "$WORK/stow-2.json")"
python3 - "$WORK/stow-2.json" "$SENT" <<'PY' || fail "the resend's response: $(head -c 2000 "$WORK/stow-2.json")"
import json, sys
body = json.load(open(sys.argv[1]))
referenced = body.get("00081199", {}).get("Value", [])
assert len(referenced) == int(sys.argv[2]), f"{len(referenced)} referenced, not {sys.argv[2]}"
assert not body.get("00081198", {}).get("Value"), "failed instances listed"
PY
[[ "$(sql "select count(*) from instance")" == "$SENT" ]] ||
  fail "$(sql "select count(*) from instance") instance rows, not $SENT"
[[ "$(sql "select count(distinct sop_instance_uid) from instance")" == "$SENT" ]] ||
  fail "an instance is stored twice: $(sql "select sop_instance_uid, count(*) from instance group by 1 having count(*) > 1")"
[[ "$(sql "select count(*) from series")" == 1 ]] || fail "one series, not: $(sql "select series_uid from series")"
# Every file sent is the object of its row, byte for byte.
check_objects "after the resend"
sent_digests="$(for f in "${FILES[@]}"; do sha256sum < "$f" | cut -d' ' -f1; done | sort)"
[[ "$sent_digests" == "$(sql "select sha256 from instance order by 1")" ]] ||
  fail "the stored instances are not the files sent"
log "passed: killed mid-request with $KEPT of $SENT registered, no half-registered instance; the resend stored each instance once"
