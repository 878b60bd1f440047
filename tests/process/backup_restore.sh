#!/usr/bin/env bash
# `elysium backup` and `elysium restore`: the demo system backed up and restored into an empty
# database and an empty object store has every row of every table (compared by psql, not by
# Elysium) and every original (compared by sha256sum with the database's checksums), serves an
# original over WADO-RS, and its audit trail still refuses UPDATE, DELETE and TRUNCATE. A restore
# into a database that is not empty, of a backup with one damaged byte, or over an object key that
# holds other bytes is refused and changes nothing; a backup into a folder that holds something is
# refused. Run by .ci/test.sh with the debug binary; needs DATABASE_URL (a server it may create
# databases on) and PostgreSQL's client programs (psql, pg_dump, pg_restore).
#   tests/process/backup_restore.sh ELYSIUM_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/process/common.sh
ELYSIUM="$(realpath "$1")"
log() { echo "[backup-restore] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/elysium-backup.XXXXXX")"
SERVER_PID=""
source tests/process/database.sh
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  for db in a b c; do drop_database "elysium_backup_$db"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
start_server() { # URL DATA_DIR LOG [VAR=VALUE...]: serves in the background, waits for /readyz
  local url="$1" data="$2" name="$3"; shift 3
  PORT="$(free_port)"
  env "$@" ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 ELYSIUM_ORPHAN_SWEEP_HOURS=0 DATABASE_URL="$url" \
    ELYSIUM_DATA_DIR="$data" ELYSIUM_ADDR="127.0.0.1:$PORT" ELYSIUM_DICOM_ADDR=127.0.0.1:0 \
    "$ELYSIUM" serve > "$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  # Demo seeding (generating and storing its phantoms) comes before the server listens: minutes
  # for a debug build on a busy 2-core machine.
  for _ in $(seq 1800); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server ($name) exited"
    sleep 0.5
  done
  fail "the server ($name) was not ready within 900 s"
}
sql() { psql "$1" -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
# Every table of Elysium's schemas with the md5 of its rows (as text, in order): the whole
# database's content, compared between the original and the restored one. The audit trail is
# fingerprinted up to MAX_AUDIT (the restore adds its own row after it); the sessions are not
# (a backup leaves them out).
fingerprint() { # URL MAX_AUDIT
  local tables query="" t
  tables="$(sql "$1" "select format('%I.%I', table_schema, table_name) from information_schema.tables
                       where table_schema in ('public', 'tower_sessions') and table_type = 'BASE TABLE'
                         and (table_schema, table_name) <> ('tower_sessions', 'session') order by 1")"
  for t in $tables; do
    local where=""
    [[ "$t" == public.audit_event ]] && where="where id <= $2"
    query+="select '$t', count(*), md5(coalesce(string_agg(r::text, E'\\n' order by r::text), '')) from $t r $where union all "
  done
  sql "$1" "${query% union all }"
}
is_empty() { # URL: no relation, function or schema of its own
  [[ "$(sql "$1" "select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                          where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_')
                        + (select count(*) from pg_namespace where nspname not in ('public', 'information_schema')
                           and nspname !~ '^pg_')")" == 0 ]]
}

A_URL="$(fresh_database elysium_backup_a)"
B_URL="$(fresh_database elysium_backup_b)"
C_URL="$(fresh_database elysium_backup_c)"

log "system A: the demo, seeded by one run of the server"
start_server "$A_URL" "$WORK/a" serve-a ELYSIUM_DEMO=1 ELYSIUM_DEMO_PASSWORD="backup-demo-$(date +%s)-password"
stop_server
declare -A COUNT
for table in study instance finding mdt_decision mdt_signature audit_event; do
  COUNT[$table]="$(sql "$A_URL" "select count(*) from $table")"
  [[ "${COUNT[$table]}" -gt 0 ]] || fail "the demo seeded no rows of $table"
done
MAX_AUDIT="$(sql "$A_URL" "select max(id) from audit_event")"
A_PRINT="$(fingerprint "$A_URL" "$MAX_AUDIT")"
log "A: ${COUNT[study]} studies, ${COUNT[instance]} instances, ${COUNT[finding]} findings, ${COUNT[mdt_decision]} board decisions, ${COUNT[mdt_signature]} signatures, ${COUNT[audit_event]} audit rows"

log "elysium backup"
OUT="$WORK/backup"
DATABASE_URL="$A_URL" ELYSIUM_DATA_DIR="$WORK/a" "$ELYSIUM" backup "$OUT" > "$WORK/backup.log" 2>&1 || fail "backup"
[[ -f "$OUT/manifest.json" && -f "$OUT/database.dump" ]] || fail "the backup has no manifest or dump: $(ls -R "$OUT")"
[[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["objects"]))' "$OUT/manifest.json")" == "${COUNT[instance]}" ]] ||
  fail "the manifest does not list one object per instance"
[[ "$(sql "$A_URL" "select count(*) from audit_event where action = 'backup.create' and id > $MAX_AUDIT")" == 1 ]] ||
  fail "the backup is not in A's audit trail"
[[ "$(fingerprint "$A_URL" "$MAX_AUDIT")" == "$A_PRINT" ]] || fail "the backup changed A's data"

log "a backup into a folder that holds something is refused"
mkdir "$WORK/full" && echo keep > "$WORK/full/note"
DATABASE_URL="$A_URL" ELYSIUM_DATA_DIR="$WORK/a" "$ELYSIUM" backup "$WORK/full" > "$WORK/refused-full.log" 2>&1 &&
  fail "a backup went into a folder that is not empty"
grep -q "not an empty folder" "$WORK/refused-full.log" || fail "unclear refusal: $(cat "$WORK/refused-full.log")"
[[ "$(ls -A "$WORK/full")" == note && "$(cat "$WORK/full/note")" == keep ]] || fail "the folder was changed"
DATABASE_URL="$A_URL" ELYSIUM_DATA_DIR="$WORK/a" "$ELYSIUM" backup "$OUT" > "$WORK/refused-again.log" 2>&1 &&
  fail "a backup went over an existing backup"
compgen -G "$WORK/.*incomplete*" >/dev/null && fail "a refused backup left a folder behind: $(ls -A "$WORK")"

log "elysium restore into the empty database B and the empty data folder"
is_empty "$B_URL" || fail "B is not empty to begin with"
DATABASE_URL="$B_URL" ELYSIUM_DATA_DIR="$WORK/b" "$ELYSIUM" restore "$OUT" > "$WORK/restore.log" 2>&1 || fail "restore"
for table in study instance finding mdt_decision mdt_signature; do
  [[ "$(sql "$B_URL" "select count(*) from $table")" == "${COUNT[$table]}" ]] ||
    fail "$table: $(sql "$B_URL" "select count(*) from $table") rows restored, ${COUNT[$table]} backed up"
done
[[ "$(sql "$B_URL" "select count(*) from audit_event")" == "$((COUNT[audit_event] + 1))" ]] ||
  fail "audit_event: $(sql "$B_URL" "select count(*) from audit_event") rows restored, ${COUNT[audit_event]} backed up (+1: the restore)"
[[ "$(sql "$B_URL" "select action from audit_event where id > $MAX_AUDIT")" == backup.restore ]] ||
  fail "the restore is not the restored trail's one new row: $(sql "$B_URL" "select id, action from audit_event where id > $MAX_AUDIT")"
[[ "$(sql "$B_URL" "select count(*) from tower_sessions.session")" == 0 ]] || fail "sessions were restored"
diff <(echo "$A_PRINT") <(fingerprint "$B_URL" "$MAX_AUDIT") > "$WORK/fingerprint.diff" ||
  fail "the restored tables differ from the backed-up ones: $(cat "$WORK/fingerprint.diff")"

log "every original in the restored store matches the database's SHA-256 (sha256sum)"
sql "$B_URL" "select sha256 || '  ' || object_key from instance" > "$WORK/checksums"
[[ "$(wc -l < "$WORK/checksums")" == "${COUNT[instance]}" ]] || fail "not one checksum per instance"
(cd "$WORK/b/objects" && sha256sum --quiet -c "$WORK/checksums") > "$WORK/sha256sum.log" 2>&1 ||
  fail "restored objects differ from the database's checksums: $(head -n 5 "$WORK/sha256sum.log")"
[[ "$(find "$WORK/b/objects" -type f | wc -l)" == "${COUNT[instance]}" ]] || fail "the restored store holds other objects"

log "the restored audit trail is still append-only"
for statement in "update audit_event set action = 'tampered'" "delete from audit_event" "truncate audit_event"; do
  psql "$B_URL" -X -qAt -c "$statement" > "$WORK/tamper.log" 2>&1 && fail "B accepted: $statement"
  grep -q "append-only" "$WORK/tamper.log" || fail "'$statement' failed for another reason: $(cat "$WORK/tamper.log")"
done

log "a second restore into B (not empty now) is refused and changes nothing"
B_PRINT="$(fingerprint "$B_URL" 9223372036854775807)"
DATABASE_URL="$B_URL" ELYSIUM_DATA_DIR="$WORK/b" "$ELYSIUM" restore "$OUT" > "$WORK/refused-b.log" 2>&1 &&
  fail "a restore went into a database that is not empty"
grep -q "not empty" "$WORK/refused-b.log" || fail "unclear refusal: $(cat "$WORK/refused-b.log")"
[[ "$(fingerprint "$B_URL" 9223372036854775807)" == "$B_PRINT" ]] || fail "the refused restore changed B"

log "a backup with one damaged byte is refused, naming the file; C stays empty"
cp -r "$OUT" "$WORK/damaged"
read -r DAMAGED_SHA DAMAGED_KEY < <(sql "$A_URL" "select sha256, object_key from instance order by object_key limit 1" | tr '|' ' ')
DAMAGED="objects/${DAMAGED_SHA:0:2}/$DAMAGED_SHA"
python3 - "$WORK/damaged/$DAMAGED" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(200)
    byte = f.read(1)
    f.seek(200)
    f.write(bytes([byte[0] ^ 0x01]))
PY
DATABASE_URL="$C_URL" ELYSIUM_DATA_DIR="$WORK/c" "$ELYSIUM" restore "$WORK/damaged" > "$WORK/refused-damaged.log" 2>&1 &&
  fail "a damaged backup was restored"
grep -qF "$DAMAGED" "$WORK/refused-damaged.log" || fail "the refusal does not name $DAMAGED: $(cat "$WORK/refused-damaged.log")"
is_empty "$C_URL" || fail "the refused restore changed C"
[[ ! -e "$WORK/c" ]] || [[ -z "$(find "$WORK/c" -type f)" ]] || fail "the refused restore wrote objects: $(find "$WORK/c" -type f)"

log "a restore over an object key that holds other bytes is refused; C stays empty"
mkdir -p "$(dirname "$WORK/c/objects/$DAMAGED_KEY")"
echo "not the original" > "$WORK/c/objects/$DAMAGED_KEY"
DATABASE_URL="$C_URL" ELYSIUM_DATA_DIR="$WORK/c" "$ELYSIUM" restore "$OUT" > "$WORK/refused-conflict.log" 2>&1 &&
  fail "a restore overwrote an object"
grep -qF "$DAMAGED_KEY" "$WORK/refused-conflict.log" || fail "the refusal does not name the key: $(cat "$WORK/refused-conflict.log")"
is_empty "$C_URL" || fail "the refused restore changed C"
[[ "$(find "$WORK/c" -type f | wc -l)" == 1 && "$(cat "$WORK/c/objects/$DAMAGED_KEY")" == "not the original" ]] ||
  fail "the refused restore changed C's store"

log "the restored system serves an original over WADO-RS"
start_server "$B_URL" "$WORK/b" serve-b
TOKEN="$(DATABASE_URL="$B_URL" ELYSIUM_DATA_DIR="$WORK/b" "$ELYSIUM" token create --username admin --name backup-test \
  --scope dicom:read 2>"$WORK/token.log" | tail -n 1 | tr -d '[:space:]')" || fail "token create: $(cat "$WORK/token.log")"
read -r STUDY SERIES SOP KEY < <(sql "$B_URL" "select st.study_uid, se.series_uid, i.sop_instance_uid, i.object_key
  from instance i join series se on se.id = i.series_ref join study st on st.id = se.study_ref
  order by i.object_key limit 1" | tr '|' ' ')
curl -sf -H "Authorization: Bearer $TOKEN" -o "$WORK/wado.body" \
  "http://127.0.0.1:$PORT/dicomweb/studies/$STUDY/series/$SERIES/instances/$SOP" || fail "WADO-RS of $SOP"
python3 -c 'import sys; body, original = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(); sys.exit(0 if original in body else 1)' \
  "$WORK/wado.body" "$WORK/a/objects/$KEY" || fail "WADO-RS did not return A's original of $SOP"
stop_server
log "passed: ${COUNT[study]} studies, ${COUNT[instance]} instances, ${COUNT[finding]} findings, ${COUNT[mdt_decision]} board decisions and ${COUNT[audit_event]} audit rows restored whole"
