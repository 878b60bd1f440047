#!/usr/bin/env bash
# No patient data in the server's log: every patient ID, every part of every patient name (each
# component of each DICOM name group: alphabetic, ideographic, phonetic) and every accession
# number in the database is looked for in the log of a server that has run the demo and the
# whole browser suite (sign-ins, searches, uploads, follow-up, the tumour board, reports). The
# names come from the database, not from the code that writes the log, so a new log line that
# prints a name is caught whatever field it is in.
#   tests/process/log_phi.sh LOG DATABASE_URL
set -euo pipefail
LOG="$1"
URL="$2"
log() { echo "[log-phi] $*" >&2; }

[[ -s "$LOG" ]] || { log "FAILED: $LOG is empty or missing"; exit 1; }

# Name parts of the demo that are also ordinary words of the log, each with why: the programme
# history's synthetic patients are all HISTORY^nnnnn (their IDs, PG-nnnnn, are still looked for),
# and one phantom patient's given name is the demo radiologist's, "Ravi Radiologist", whom the
# start-up banner names as an account.
ORDINARY_WORDS=(history ravi)

# One term per line. Name components shorter than three characters (Li, Wu, 王) are left out:
# as words they also occur in ordinary log text and would make the check fail for nothing;
# the patient IDs and the longer name parts of the same patients are still looked for.
terms="$(mktemp)"
trap 'rm -f "$terms"' EXIT
psql "$URL" -qAt -c "
  select patient_id from patient where length(patient_id) >= 3
  union
  select part from patient, regexp_split_to_table(coalesce(name, ''), '[=^ ]') as part where length(part) >= 3
  union
  select accession_number from study where length(coalesce(accession_number, '')) >= 3
" | sort -u | grep -v -x -i -F -f <(printf '%s\n' "${ORDINARY_WORDS[@]}") > "$terms"
count="$(wc -l < "$terms")"
((count > 0)) || { log "FAILED: the database holds no patient to look for"; exit 1; }

# Whole words, fixed strings, case-insensitive: `OKAFOR` in a log is Okafor.
if found="$(grep -F -w -i -o -f "$terms" "$LOG" | sort | uniq -c | sort -rn)"; then
  log "FAILED: patient data in $LOG (occurrences, term):"
  echo "$found" | head -n 20 >&2
  grep -F -w -i -n -f "$terms" "$LOG" | head -n 5 | cut -c1-300 >&2
  exit 1
fi
log "$count patient IDs, name parts and accession numbers: none in $(wc -l < "$LOG") lines of log"
