#!/usr/bin/env bash
# `make load-ingest`: ingest from many senders at once, as a hospital's PACS and modalities send.
# `elysium serve` on a private PostgreSQL cluster takes LOAD_SENDERS (8) dcmtk `storescu`
# processes at once, each sending its own phantom series by C-STORE, then as many STOW-RS senders
# (curl, one request a series) at once with series of their own, then every series again from
# all the senders together, C-STORE and STOW-RS at once, as a PACS retrying what it is not sure
# arrived. Checks with psql that each SOP instance sent is stored exactly once and that every
# STOW-RS original's SHA-256 is the file's; prints and writes tests/load/INGEST.md with each phase's
# instances, MB and seconds, and the machine. Asserts no time.
#
# Knobs: LOAD_SENDERS, LOAD_ROWS (phantom matrix, 256; 160 slices a series), LOAD_PROFILE
# (release or debug), CARGO_TARGET_DIR (as in the Makefile), LOAD_BINARY (an `elysium` binary
# to run instead of building one).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/load/run.sh
SENDERS="${LOAD_SENDERS:-8}"
ROWS="${LOAD_ROWS:-256}"
PROFILE="${LOAD_PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
log() { echo "[load-ingest] $*" >&2; }
fail() {
  log "FAILED: $*"
  grep -A 2 "panicked" "$WORK/serve.log" | head -n 30 >&2 || tail -n 30 "$WORK/serve.log" >&2
  exit 1
}
source tests/process/common.sh

command -v storescu >/dev/null || { log "dcmtk's storescu is missing: run make setup"; exit 1; }
prepare_run load-ingest

log "$((2 * SENDERS)) phantom series of 160 slices, ${ROWS} x ${ROWS}"
"$ELYSIUM" phantom --out "$WORK/phantoms" --patients "$((2 * SENDERS))" --seed 8080 --rows "$ROWS" >/dev/null
find "$WORK/phantoms" -type f ! -name '*.dcm' -delete   # ground truth files, not DICOM
mapfile -t SERIES < <(find "$WORK/phantoms" -mindepth 2 -maxdepth 2 -type d | sort)
((${#SERIES[@]} == 2 * SENDERS)) || fail "expected $((2 * SENDERS)) series, found ${#SERIES[@]}"

export DATABASE_URL; DATABASE_URL="$("$ELYSIUM" pg --data-dir "$WORK/state" start --database elysium_load_ingest)"
"$ELYSIUM" migrate >/dev/null
sql() { psql "$DATABASE_URL" -qAt -c "$1"; }
# The sending PACS's account (and with it the site LOAD, where the listener files what it gets).
echo "load-ingest-password" | "$ELYSIUM" user add --username load-pacs --role admin --site LOAD >/dev/null
TOKEN="$("$ELYSIUM" token create --username load-pacs --name load --scope dicom:write 2>/dev/null | tail -n 1 | tr -d '[:space:]')"
PORT="$(free_port)"
DICOM_PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_DATA_DIR="$WORK/state" ELYSIUM_ADDR="127.0.0.1:$PORT" \
  ELYSIUM_DICOM_ADDR="127.0.0.1:$DICOM_PORT" ELYSIUM_DICOM_ACCEPT_ANY_AE=true ELYSIUM_DICOM_SITE=LOAD \
  "$ELYSIUM" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
wait_http "$BASE/readyz"

store_cstore() { # INDEX DIR
  storescu -aet "LOAD$1" -aec ELYSIUM +sd +r 127.0.0.1 "$DICOM_PORT" "$2" > "$WORK/storescu-$1.log" 2>&1
}
store_stow() { # INDEX DIR
  local boundary="elysium-load-$1" body="$WORK/stow-$1.body" file
  { for file in "$2"/*.dcm; do
      printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$boundary"; cat "$file"; printf '\r\n'
    done; printf -- '--%s--\r\n' "$boundary"; } > "$body"
  local status
  status="$(curl -s --max-time 600 -o "$WORK/stow-$1.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$boundary" \
    --data-binary @"$body" "$BASE/dicomweb/studies")"
  rm -f "$body"
  [[ "$status" == 200 ]]
}
# PHASE NAME, then INDEX:PROTOCOL:DIR per sender, all at once; prints "instances MB seconds".
phase() {
  local name="$1"; shift
  local start pids=() spec bytes=0 files=0
  for spec in "$@"; do
    files=$((files + $(find "${spec#*:*:}" -name '*.dcm' | wc -l)))
    bytes=$((bytes + $(du -sb "${spec#*:*:}" | cut -f1)))
  done
  start="$(date +%s.%N)"
  for spec in "$@"; do
    IFS=: read -r index protocol dir <<< "$spec"
    if [[ $protocol == cstore ]]; then store_cstore "$index" "$dir" & else store_stow "$index" "$dir" & fi
    pids+=($!)
  done
  local failed=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  ((failed == 0)) || fail "$name: $failed of ${#pids[@]} senders failed (see $WORK)"
  python3 -c "import time; print($files, round($bytes / 1e6, 1), round(time.time() - $start, 2))"
}

cstore=(); stow=(); both=()
for i in $(seq 0 $((SENDERS - 1))); do
  cstore+=("$i:cstore:${SERIES[$i]}")
  stow+=("$((SENDERS + i)):stow:${SERIES[$((SENDERS + i))]}")
  # The resend: every series again by the protocol that first sent it, all senders at once. (A
  # resend by the other protocol is a duplicate too, though the originals differ in their file
  # meta information, which the listener writes itself: tests/integration/dimse.rs covers it.)
  both+=("$i:cstore:${SERIES[$i]}" "$((SENDERS + i)):stow:${SERIES[$((SENDERS + i))]}")
done
log "$SENDERS C-STORE senders at once"
read -r c_n c_mb c_s < <(phase "C-STORE" "${cstore[@]}")
log "$SENDERS STOW-RS senders at once"
read -r s_n s_mb s_s < <(phase "STOW-RS" "${stow[@]}")
log "every series again, $((2 * SENDERS)) senders at once, C-STORE and STOW-RS"
read -r r_n r_mb r_s < <(phase "resend" "${both[@]}")

sent="$(find "$WORK/phantoms" -name '*.dcm' | wc -l)"
stored="$(sql "select count(*) from instance")"
distinct="$(sql "select count(distinct sop_instance_uid) from instance")"
[[ "$stored" == "$sent" && "$distinct" == "$sent" ]] ||
  fail "$sent instances sent, $stored rows and $distinct distinct SOP instance UIDs stored"
# What STOW-RS sent is kept byte for byte: each of those files' SHA-256 is a stored original's.
# (C-STORE sends the data set alone; the listener writes the file meta information itself, so
# those originals are not the sender's files byte for byte, and are checked by count above.)
for dir in "${SERIES[@]:SENDERS}"; do find "$dir" -name '*.dcm' -exec sha256sum {} +; done | cut -d' ' -f1 | sort > "$WORK/sent.sha256"
sql "select sha256 from instance order by 1" > "$WORK/stored.sha256"
[[ -z "$(comm -23 "$WORK/sent.sha256" "$WORK/stored.sha256")" ]] || fail "a STOW-RS original is not stored byte for byte"

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME")"
rate() { python3 -c "print(round($1 / $2, 1))"; }
{
  echo "# Ingest under load (\`make load-ingest\`)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $machine; \`elysium serve\` ($PROFILE build), dcmtk's storescu and"
  echo "curl on the same machine over loopback. Phantom series of 160 slices, ${ROWS} x ${ROWS}."
  echo
  echo "| Phase | Senders at once | Instances | MB | Seconds | Instances/s | MB/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "| C-STORE (storescu) | $SENDERS | $c_n | $c_mb | $c_s | $(rate "$c_n" "$c_s") | $(rate "$c_mb" "$c_s") |"
  echo "| STOW-RS (curl, a request a series) | $SENDERS | $s_n | $s_mb | $s_s | $(rate "$s_n" "$s_s") | $(rate "$s_mb" "$s_s") |"
  echo "| Everything again, both protocols at once | $((2 * SENDERS)) | $r_n | $r_mb | $r_s | $(rate "$r_n" "$r_s") | $(rate "$r_mb" "$r_s") |"
  echo
  echo "Stored: $stored instances for $sent sent, each once; every STOW-RS original byte for byte."
} > tests/load/INGEST.md
cat tests/load/INGEST.md
log "held: $sent instances from $((2 * SENDERS)) senders, each stored once"
