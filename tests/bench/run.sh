#!/usr/bin/env bash
# `make bench`: Elysium side by side with its peers, in one run (see tests/bench/README.md).
#   1. series -> int16 HU volume: Elysium vs pydicom+numpy vs SimpleITK (GDCM), uncompressed and
#      JPEG 2000 lossless, 512x512x300 phantom;
#   2. STOW-RS ingest throughput: Elysium vs Orthanc (Debian packages orthanc + orthanc-dicomweb);
#   3. the coordinator worklist over 1,000,000 findings (server/db/examples/bench_worklist.rs, on
#      a private PostgreSQL cluster): p50/p95/max per query case and the plans, then the whole
#      server-rendered worklist page from `elysium serve` on that database;
#   4. screening with the active model (tests/bench/screening.sh): per-stage times on the
#      512 x 512 x 300 phantom and the throughput of one against two worker processes;
#   5. C-STORE ingest throughput: Elysium's DICOM listener vs Orthanc's, the same series sent by
#      dcmtk's storescu (a few senders at once, as a PACS sends), each server checked afterwards
#      to hold exactly the SOP instances sent;
#   6. a network of the size hospitals deploy (tests/bench/nnunet.sh): nnU-Net's default 3D
#      full-resolution U-Net, random weights, by sliding window on the same phantom: the whole
#      case, the network's share and everything else's.
# Installs what it needs, idempotently: Debian packages that are missing (as root), a Python
# virtualenv with the pinned tests/bench/requirements.txt. Prints the table and writes it, with
# the machine, to tests/bench/RESULTS.md. Asserts no time: it fails only when something breaks,
# or when the tools' HU volumes differ (tests/bench/same_hu.py).
#
# Knobs (environment): BENCH_RUNS (load runs per tool, uncompressed; default 5), BENCH_J2K_RUNS
# (default 5), BENCH_STOW_BATCH (instances per request, 50), BENCH_STOW_CONCURRENCY (requests in
# flight, 3), BENCH_STOW_ROUNDS (rounds, each on fresh servers, 5), BENCH_CACHE (venv, data and
# results; default ~/.cache/elysium), CARGO_TARGET_DIR (as in the Makefile), BENCH_ONLY=worklist,
# screening, nnunet or cstore (only that benchmark: replaces its section of RESULTS.md, and for cstore its
# row of the summary table, keeps the rest) or ingest (only the load and STOW-RS benchmarks:
# rewrites RESULTS.md but keeps its other sections), BENCH_SCREEN_CASES (cases per screening
# run, 24), BENCH_WORKLIST_FINDINGS (1000000; patients are a fifth of it), BENCH_WORKLIST_RUNS
# (runs per case, 50), BENCH_CSTORE_SENDERS (storescu processes at once, each sending its share
# of the series in one association; 3), BENCH_CSTORE_ROUNDS (C-STORE rounds, each on fresh
# servers, 5), BENCH_CSTORE_NODELAY (1: dcmtk's TCP_NODELAY=1 for storescu and Orthanc, which
# both use dcmtk's network code; 0: dcmtk's default, Nagle's algorithm on, see the README).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
BENCH="$ROOT/tests/bench"
CACHE="${BENCH_CACHE:-$HOME/.cache/elysium}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/elysium/target}"
VENV="$CACHE/bench-venv"
DATA="$CACHE/bench-data"
RUNS="${BENCH_RUNS:-5}"
J2K_RUNS="${BENCH_J2K_RUNS:-5}"
BATCH="${BENCH_STOW_BATCH:-50}"
CONCURRENCY="${BENCH_STOW_CONCURRENCY:-3}"
STOW_ROUNDS="${BENCH_STOW_ROUNDS:-5}"
CSTORE_SENDERS="${BENCH_CSTORE_SENDERS:-3}"
CSTORE_ROUNDS="${BENCH_CSTORE_ROUNDS:-5}"
CSTORE_NODELAY="${BENCH_CSTORE_NODELAY:-1}"
ONLY="${BENCH_ONLY:-}"
case "$ONLY" in
  "" | all | worklist | screening | nnunet | ingest | cstore) ;;
  *) echo "BENCH_ONLY: 'worklist', 'screening', 'nnunet', 'cstore' or 'ingest' (or empty for everything), not '$ONLY'" >&2; exit 2 ;;
esac
for knob in CSTORE_SENDERS CSTORE_ROUNDS; do
  [[ "${!knob}" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_$knob: a positive whole number, not '${!knob}'" >&2; exit 2; }
done
[[ "$CSTORE_NODELAY" == 0 || "$CSTORE_NODELAY" == 1 ]] ||
  { echo "BENCH_CSTORE_NODELAY: 0 or 1, not '$CSTORE_NODELAY'" >&2; exit 2; }
WORKLIST_FINDINGS="${BENCH_WORKLIST_FINDINGS:-1000000}"
WORKLIST_RUNS="${BENCH_WORKLIST_RUNS:-50}"
RESULTS="$CACHE/bench-results/$(date +%Y%m%d-%H%M%S)"
RUNTIME="$(mktemp -d "${TMPDIR:-/tmp}/elysium-bench.XXXXXX")"
# Run as root, Elysium's private cluster runs as the postgres user, which must reach its folder.
chmod 755 "$RUNTIME"
export DEBIAN_FRONTEND=noninteractive
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$RESULTS" "$DATA"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
NOTES=()
note() { NOTES+=("$1"); log "note: $1"; }

ELYSIUM_PID=""
ORTHANC_PID=""
# Stops what this script started: SIGTERM lets elysium stop its private PostgreSQL cluster.
stop_pid() {
  local pid="$1" i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop in 30 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$ELYSIUM_PID"; ELYSIUM_PID=""
  stop_pid "$ORTHANC_PID"; ORTHANC_PID=""
  # A private cluster left behind by a killed server (normally already stopped).
  if [[ -n "${ELYSIUM_DATA:-}" && -x "${ELYSIUM:-}" && -d "$ELYSIUM_DATA/postgres" ]]; then
    ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" pg stop >/dev/null 2>&1 || true
  fi
  rm -rf "$RUNTIME"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 3. The worklist: a private cluster under $RUNTIME (never DATABASE_URL from the caller), the
# bench_worklist example fills it and times the queries, then `elysium serve` on that database
# times the whole worklist page (sign-in cookie, server-side render) as a browser requests it.
# The example writes a Markdown section, kept between these markers in RESULTS.md, and the page
# timings are added to it.
bench_worklist() {
  ELYSIUM_DATA="$RUNTIME/worklist"
  local url port password="worklist-page-pass-7" jar="$RUNTIME/worklist-cookies"
  url="$(ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" pg start --database elysium_bench_worklist | tail -n 1)"
  log "worklist: $WORKLIST_FINDINGS findings, $WORKLIST_RUNS runs per case (example bench_worklist of elysium-db, release)"
  DATABASE_URL="$url" TMPDIR="$RUNTIME" "$CARGO_TARGET_DIR/release/examples/bench_worklist" \
    --findings "$WORKLIST_FINDINGS" --patients "$((WORKLIST_FINDINGS / 5 > 0 ? WORKLIST_FINDINGS / 5 : 1))" \
    --runs "$WORKLIST_RUNS" --out "$RESULTS/worklist.md"

  log "worklist page: elysium serve on the same database"
  for user in bench-coordinator-01 bench-admin; do
    printf '%s\n' "$password" | DATABASE_URL="$url" "$ELYSIUM" user passwd "$user" >/dev/null
  done
  port="$(free_port)"
  # No screening workers, DICOM listener or demo: the web server alone, as coordinators use it.
  DATABASE_URL="$url" ELYSIUM_DATA_DIR="$ELYSIUM_DATA" ELYSIUM_ADDR="127.0.0.1:$port" ELYSIUM_DICOM=0 \
    ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 "$ELYSIUM" serve > "$RESULTS/worklist-serve.log" 2>&1 &
  ELYSIUM_PID=$!
  wait_http "http://127.0.0.1:$port/readyz" "$ELYSIUM_PID" "$RESULTS/worklist-serve.log"
  {
    echo
    echo "### The worklist page (server-side render)"
    echo
    echo "\`GET /worklist...\` on \`elysium serve\` (release, no screening workers) over the same database,"
    echo "signed in as a browser is (session cookie), timed by curl from request to the last byte of the"
    echo "HTML, which carries the rendered rows and counts; $WORKLIST_RUNS runs per case after 5 warm-up runs."
    echo
    echo "| page | user | p50 ms | p95 ms | max ms | bytes |"
    echo "|---|---|---|---|---|---|"
  } >> "$RESULTS/worklist.md"
  page_case() { # USER LABEL PATH
    rm -f "$jar"
    curl -sf -o /dev/null -c "$jar" --data-urlencode "username=$1" --data-urlencode "password=$password" \
      "http://127.0.0.1:$port/login"
    local i times="$RUNTIME/worklist-times" bytes
    for i in $(seq 5); do curl -sf -o /dev/null -b "$jar" "http://127.0.0.1:$port$3"; done
    : > "$times"
    for i in $(seq "$WORKLIST_RUNS"); do
      curl -sf -o /dev/null -b "$jar" -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$port$3" >> "$times"
    done
    bytes="$(tail -n 1 "$times" | cut -d' ' -f2)"
    sort -n "$times" | awk -v label="$2" -v user="$1" -v path="$3" -v bytes="$bytes" '
      { t[NR] = $1 * 1000 }
      END { p95 = int(NR * 0.95 + 0.999); if (p95 < 1) p95 = 1
            printf "| %s (`%s`) | %s | %.1f | %.1f | %.1f | %d |\n", label, path, user, t[int((NR + 1) / 2)], t[p95], t[NR], bytes }' \
      >> "$RESULTS/worklist.md"
  }
  page_case bench-coordinator-01 "My queue" "/worklist?quick=mine"
  page_case bench-coordinator-01 "all open, own site" "/worklist"
  page_case bench-admin "all open, all sites" "/worklist"
  page_case bench-admin "overdue, all sites" "/worklist?quick=overdue"
  page_case bench-admin "by probability, page 100" "/worklist?sort=probability&page=100"
  stop_pid "$ELYSIUM_PID"; ELYSIUM_PID=""
  ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" pg stop >/dev/null
  # A million findings take gigabytes; the later sections need the disk.
  rm -rf "$ELYSIUM_DATA"; ELYSIUM_DATA=""
  tail -n 9 "$RESULTS/worklist.md" >&2
}
# 4. Screening: tests/bench/screening.sh (the production pipeline on the 512 x 512 x 300 phantom
# with the active model, per stage, and one against two `elysium worker` processes).
bench_screening() {
  log "screening: the active model on the 512 x 512 x 300 phantom (tests/bench/screening.sh)"
  OUT="$RESULTS/screening.md" "$BENCH/screening.sh"
}
# 6. The realistic-size network: tests/bench/nnunet.sh (nnU-Net's default 3D full-resolution
# U-Net by sliding window on the same phantom, `elysium screen`).
bench_nnunet() {
  log "nnunet: a network of the size hospitals deploy on the 512 x 512 x 300 phantom (tests/bench/nnunet.sh)"
  OUT="$RESULTS/nnunet.md" "$BENCH/nnunet.sh"
}

# 5. C-STORE ingest: the uncompressed phantom series sent by dcmtk's storescu, as a PACS sends it,
# to Elysium's DICOM listener and to Orthanc's. CSTORE_SENDERS storescu processes at once, each
# with its share of the series (the sorted files dealt out one by one, so every share is about
# the same size) in one association: the same files, senders and client for both servers, each
# instance sent once. CSTORE_ROUNDS rounds alternate between the servers, each on a fresh, empty
# server. Timed from the senders' start (the first association) to the last storescu exit; then
# each server must hold exactly the SOP instances sent, each once, or the run fails.
# CSTORE_NODELAY=1 sets dcmtk's TCP_NODELAY=1 for storescu and Orthanc: with Nagle's algorithm on
# (this dcmtk's default) each instance waits on a delayed TCP acknowledgement (tens of ms) on
# loopback, and the rounds would time that rather than the ingest. Elysium needs no such switch.
CSTORE_SHARES=()
cstore_prepare() {
  local dir="$DATA/cstore-shares" i=0 file sent
  rm -rf "$dir"
  CSTORE_SHARES=()
  for i in $(seq "$CSTORE_SENDERS"); do mkdir -p "$dir/$i"; CSTORE_SHARES+=("$dir/$i"); done
  i=0
  while IFS= read -r file; do
    ln "$file" "$dir/$((i % CSTORE_SENDERS + 1))/"
    i=$((i + 1))
  done < <(find "$UNCOMPRESSED" -name '*.dcm' | sort)
  # What each server must hold afterwards: the SOP Instance UIDs sent, sorted.
  find "$UNCOMPRESSED" -name '*.dcm' -print0 | xargs -0 dcmdump -q +P 0008,0018 |
    sed -n 's/^(0008,0018) UI \[\([^]]*\)\].*/\1/p' | sort > "$RESULTS/cstore-sent.uids"
  sent="$(sort -u "$RESULTS/cstore-sent.uids" | wc -l)"
  if ((sent != i)); then
    log "FAILED: $i files but $sent distinct SOP Instance UIDs read from them (dcmdump)"; exit 1
  fi
}
wait_dicom() { # PORT CALLED_AE PID LOG: until the listener answers a C-ECHO
  local i
  for i in $(seq 240); do
    echoscu -aet BENCH -aec "$2" 127.0.0.1 "$1" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { log "the server exited; its log:"; tail -n 40 "$4" >&2; return 1; }
    sleep 0.5
  done
  log "no C-ECHO answer on port $1 in 120 s"; tail -n 40 "$4" >&2; return 1
}
# One round's senders, all at once; writes its JSON. ROOTS (comma-separated process ids: the
# server, and Elysium's PostgreSQL postmaster) with their descendants are the server, whose CPU
# time counts as its own (children they reaped included); what the machine was busy beyond the
# server's and the senders' time is the *other load*, as in tests/bench/measured.py.
cstore_send() { # NAME ROUND PORT CALLED_AE ROOTS
  # Each round starts with nothing of the previous rounds (or the server's start) left to flush.
  sync
  "$PY" - "$RESULTS/cstore-$1-$2.json" "$@" "$CSTORE_NODELAY" "${CSTORE_SHARES[@]}" <<'PY'
import json, os, resource, subprocess, sys, time
out, name, rnd, port, aec, roots, nodelay = sys.argv[1:8]
shares = sys.argv[8:]
env = {k: v for k, v in os.environ.items() if k != "TCP_NODELAY"}
if nodelay == "1":
    env["TCP_NODELAY"] = "1"
roots = [int(p) for p in roots.split(",") if p.strip()]
tick = os.sysconf("SC_CLK_TCK")

def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / tick

def server_cpu():
    """CPU seconds of the roots and their descendants, with their reaped children's."""
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # ppid, then utime stime cutime cstime
        procs[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    ours = {p for p in roots if p in procs}
    while True:
        more = {p for p, (parent, _) in procs.items() if parent in ours and p not in ours}
        if not more:
            break
        ours |= more
    return sum(procs[p][1] for p in ours) / tick

files = [os.path.join(d, f) for d in shares for f in os.listdir(d)]
size = sum(os.path.getsize(f) for f in files)
logs = [open(f"{out[:-len('.json')]}-sender{i + 1}.log", "w") for i in range(len(shares))]
server0, children0 = server_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
busy0, start = machine_busy(), time.perf_counter()
senders = [
    subprocess.Popen(["storescu", "-aet", f"BENCH{i + 1}", "-aec", aec, "+sd", "+r", "127.0.0.1", port, share],
                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
    for i, (share, log) in enumerate(zip(shares, logs))
]
codes = [s.wait() for s in senders]
seconds, busy1 = time.perf_counter() - start, machine_busy()
server1, children1 = server_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
client = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
server = server1 - server0
report = {
    "server": name, "round": int(rnd), "senders": len(shares), "called_ae": aec,
    "tcp_nodelay": nodelay == "1",
    "files": len(files), "bytes": size, "seconds": round(seconds, 4),
    "mb_per_s": round(size / seconds / 1e6, 2), "instances_per_s": round(len(files) / seconds, 2),
    "storescu_exit_codes": codes,
    "cpu_busy_cores": round((busy1 - busy0) / seconds, 2),
    "server_cores": round(server / seconds, 2),
    "client_cores": round(client / seconds, 2),
    "other_cpu_cores": round(max(0.0, (busy1 - busy0) - server - client) / seconds, 3),
}
with open(out, "w") as f:
    json.dump(report, f)
    f.write("\n")
PY
}
# After a round: the server's SOP Instance UIDs (one a line, from HELD) against those sent. Adds
# what it found to the round's JSON and logs the round; fails the run unless every sender exited
# 0 and the server holds exactly the instances sent, each once.
cstore_check() { # NAME ROUND HELD
  "$PY" - "$RESULTS/cstore-$1-$2.json" "$3" "$RESULTS/cstore-sent.uids" <<'PY' || {
import collections, json, sys
out, held_file, sent_file = sys.argv[1:4]
r = json.load(open(out))
held = collections.Counter(line.strip() for line in open(held_file) if line.strip())
sent = {line.strip() for line in open(sent_file) if line.strip()}
r["held"] = sum(held.values())
r["missing"] = len(sent - set(held))
r["unexpected"] = len(set(held) - sent)
r["duplicates"] = sum(n - 1 for n in held.values() if n > 1)
r["exact"] = r["held"] == len(sent) and not (r["missing"] or r["unexpected"] or r["duplicates"])
json.dump(r, open(out, "w"))
print("%d/%d held, %.2f s, %.0f MB/s, %.0f instances/s, server %.2f cores, other load %.2f cores"
      % (r["held"], r["files"], r["seconds"], r["mb_per_s"], r["instances_per_s"], r["server_cores"],
         r["other_cpu_cores"]), file=sys.stderr)
ok = r["exact"] and not any(r["storescu_exit_codes"])
if not ok:
    print(f"storescu exit codes {r['storescu_exit_codes']}; {r['missing']} missing, {r['unexpected']} "
          f"unexpected, {r['duplicates']} duplicates", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
    log "FAILED: C-STORE to $1 (round $2): the server does not hold exactly the instances sent, or a" \
      "sender failed (above; the senders' logs and the server's are in $RESULTS)"
    exit 1
  }
}

# Elysium: a fresh data folder (private PostgreSQL cluster, local file object store) per round.
cstore_elysium() { # ROUND
  ELYSIUM_DATA="$RUNTIME/cstore-elysium-$1"
  local port dicom_port url postmaster serve_log="$RESULTS/cstore-elysium-serve-$1.log"
  # The site the listener files what it receives under must exist when it starts (`user add`
  # creates it); both commands start and stop the private cluster themselves.
  ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" migrate > /dev/null 2> "$RESULTS/cstore-elysium-setup-$1.log"
  printf '%s\n' "cstore-throughput-pass-7" | ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" user add \
    --username bench --role admin --site BENCH > /dev/null 2>> "$RESULTS/cstore-elysium-setup-$1.log"
  port="$(free_port)"; dicom_port="$(free_port)"
  # The ingest alone, as Orthanc does it: no screening workers and no screening queued.
  ELYSIUM_DATA_DIR="$ELYSIUM_DATA" ELYSIUM_ADDR="127.0.0.1:$port" ELYSIUM_DICOM_ADDR="127.0.0.1:$dicom_port" \
    ELYSIUM_DICOM_SITE=BENCH ELYSIUM_DICOM_ACCEPT_ANY_AE=true \
    ELYSIUM_DICOM_MAX_ASSOCIATIONS="$((CSTORE_SENDERS > 16 ? CSTORE_SENDERS : 16))" \
    ELYSIUM_WORKERS=0 ELYSIUM_AUTO_SCREENING=0 "$ELYSIUM" serve > "$serve_log" 2>&1 &
  ELYSIUM_PID=$!
  wait_http "http://127.0.0.1:$port/readyz" "$ELYSIUM_PID" "$serve_log"
  wait_dicom "$dicom_port" ELYSIUM "$ELYSIUM_PID" "$serve_log"
  postmaster="$(head -n 1 "$ELYSIUM_DATA/postgres/data/postmaster.pid" 2>/dev/null || true)"
  [[ -n "$postmaster" ]] || note "C-STORE round $1: no postmaster.pid; Elysium's PostgreSQL CPU counted as other load"
  cstore_send elysium "$1" "$dicom_port" ELYSIUM "$ELYSIUM_PID,$postmaster"
  # What it holds, from its database (`pg start` reuses the running cluster and prints its URL).
  url="$(ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" pg start 2>/dev/null | tail -n 1)"
  psql "$url" -qAt -c 'select sop_instance_uid from instance' > "$RESULTS/cstore-elysium-$1.uids"
  # SIGTERM: Elysium stops its PostgreSQL cluster before it exits.
  stop_pid "$ELYSIUM_PID"; ELYSIUM_PID=""
  if [[ -f "$ELYSIUM_DATA/postgres/data/postmaster.pid" ]]; then
    note "Elysium left its PostgreSQL cluster running after SIGTERM (C-STORE round $1)"
  fi
  rm -rf "$ELYSIUM_DATA"; ELYSIUM_DATA=""
  cstore_check elysium "$1" "$RESULTS/cstore-elysium-$1.uids"
}

# Orthanc: a fresh storage and SQLite index (its default) per round, its DICOM listener on, any
# calling AE title accepted.
cstore_orthanc() { # ROUND
  local folder="$RUNTIME/cstore-orthanc-$1" port dicom_port log="$RESULTS/cstore-orthanc-$1.log"
  mkdir -p "$folder"
  port="$(free_port)"; dicom_port="$(free_port)"
  "$PY" - "$folder" "$port" "$dicom_port" "$CSTORE_SENDERS" <<'PY'
import json, sys
folder, http_port, dicom_port, senders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
config = {
    "Name": "ELYSIUM-BENCH",
    "StorageDirectory": f"{folder}/storage",
    "IndexDirectory": f"{folder}/index",
    "HttpPort": http_port,
    "RemoteAccessAllowed": False,
    "AuthenticationEnabled": False,
    "StorageCompression": False,
    "Plugins": [],
    "DicomServerEnabled": True,
    "DicomAet": "ORTHANC",
    "DicomPort": dicom_port,
    # Any calling AE title, from any host, may store (no DicomModalities list).
    "DicomCheckCalledAet": False,
    "DicomAlwaysAllowStore": True,
    "DicomAlwaysAllowEcho": True,
    "DicomCheckModalityHost": False,
    "UnknownSopClassAccepted": True,
    # One thread per association at least (its default is 4).
    "DicomThreadsCount": max(4, senders),
    # The PDU size Elysium offers by default (128 KiB; Orthanc's maximum) instead of Orthanc's
    # 16 KiB default, so that both receive the same PDUs from storescu.
    "MaximumPduLength": 131072,
}
json.dump(config, open(f"{folder}/orthanc.json", "w"), indent=2)
PY
  local dcmtk_env=(env -u TCP_NODELAY)
  ((CSTORE_NODELAY)) && dcmtk_env=(env TCP_NODELAY=1)
  "${dcmtk_env[@]}" Orthanc "$folder/orthanc.json" > "$log" 2>&1 &
  ORTHANC_PID=$!
  wait_http "http://127.0.0.1:$port/system" "$ORTHANC_PID" "$log"
  wait_dicom "$dicom_port" ORTHANC "$ORTHANC_PID" "$log"
  cstore_send orthanc "$1" "$dicom_port" ORTHANC "$ORTHANC_PID"
  curl -sf "http://127.0.0.1:$port/instances?expand" | "$PY" -c 'import json, sys
for i in json.load(sys.stdin): print(i["MainDicomTags"]["SOPInstanceUID"])' > "$RESULTS/cstore-orthanc-$1.uids"
  stop_pid "$ORTHANC_PID"; ORTHANC_PID=""
  rm -rf "$folder"
  cstore_check orthanc "$1" "$RESULTS/cstore-orthanc-$1.uids"
}

bench_cstore() {
  local load_start
  load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
  cstore_prepare
  log "C-STORE: $(find "$UNCOMPRESSED" -name '*.dcm' | wc -l) files ($(du -shL "$UNCOMPRESSED" | cut -f1)) in" \
    "$CSTORE_SENDERS shares, one storescu each, all at once; $CSTORE_ROUNDS rounds; TCP_NODELAY=$CSTORE_NODELAY"
  warm "$UNCOMPRESSED"
  # Alternating rounds, each server fresh, so that a passing disturbance hits both alike.
  for round in $(seq "$CSTORE_ROUNDS"); do
    log "C-STORE round $round/$CSTORE_ROUNDS: Elysium"
    cstore_elysium "$round"
    log "C-STORE round $round/$CSTORE_ROUNDS: Orthanc"
    cstore_orthanc "$round"
  done
  # The section carries its own machine line: BENCH_ONLY=cstore rewrites it alone.
  local pg_bin
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  "$PY" - "$RESULTS/cstore-machine.json" <<PY
import json, os, platform, sys
def first(path, key):
    for line in open(path):
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return "?"
os_release = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
json.dump({
    "date": "$(date -u +'%Y-%m-%d %H:%M UTC')",
    "cpu": first("/proc/cpuinfo", "model name"),
    "cores": os.cpu_count(),
    "ram": f"{int(first('/proc/meminfo', 'MemTotal').split()[0]) / 1024 / 1024:.1f} GiB",
    "os": os_release.get("PRETTY_NAME", "?").strip('"'),
    "elysium": """$("$ELYSIUM" --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- . ':!Makefile' ':!tests/bench' 2>/dev/null || echo ', uncommitted changes'))""",
    "orthanc": "$(pkgver orthanc) (Debian)",
    "dcmtk": "$(pkgver dcmtk) (Debian)",
    "postgresql": """$("${pg_bin:-/usr/bin}/postgres" --version 2>/dev/null || echo '?')""",
    "load": "$load_start; $(cut -d' ' -f1-3 /proc/loadavg)",
}, open(sys.argv[1], "w"), indent=2)
PY
  "$PY" "$BENCH/report.py" cstore "$RESULTS" "$RESULTS/cstore.md"
}

# A section (worklist, screening, cstore) of RESULTS.md, between its markers: in place of the
# previous one where the file has it, else at the end; the rest of the file is kept.
section_into_results() { # NAME
  local md="$BENCH/RESULTS.md" kept="" begin="<!-- bench_$1: begin -->" end="<!-- bench_$1: end -->"
  if [[ -f "$md" ]] && grep -qxF -- "$begin" "$md"; then
    awk -v b="$begin" -v e="$end" -v section="$RESULTS/$1.md" '
      $0 == b { print; while ((getline line < section) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$md" > "$md.tmp"
  else
    [[ -f "$md" ]] && kept="$(awk -v b="$begin" -v e="$end" \
      '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$md")"
    { [[ -z "$kept" ]] || printf '%s\n\n' "$kept"
      echo "$begin"; cat "$RESULTS/$1.md"; echo "$end"; } > "$md.tmp"
  fi
  mv "$md.tmp" "$md"
}

# ---------------------------------------------------------------------------------------------
log "dependencies"
APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  local sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  ((APT_UPDATED)) || { "${sudo[@]}" apt-get update -qq; APT_UPDATED=1; }
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  apt_install postgresql
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL PID LOG
  local i
  for i in $(seq 240); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { log "the server exited; its log:"; tail -n 40 "$3" >&2; return 1; }
    sleep 0.5
  done
  log "no answer from $1 in 120 s"; tail -n 40 "$3" >&2; return 1
}
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"
# The phantom (tests/bench/phantom.sh: generated once, kept in $DATA): only its .dcm files go
# into the benchmark folders.
UNCOMPRESSED="$DATA/uncompressed"
J2K="$DATA/j2k"
make_phantom() { "$BENCH/phantom.sh" "$ELYSIUM" "$DATA" >/dev/null; }
if [[ "$ONLY" == cstore ]]; then
  command -v curl >/dev/null || apt_install curl
  command -v psql >/dev/null || apt_install postgresql-client
  apt_install orthanc dcmtk
  # The C-STORE benchmark and its report need the standard library only: no virtualenv.
  PY=python3
  log "build (release): elysium"
  cargo build --locked --release -p server
  make_phantom
  bench_cstore
  section_into_results cstore
  "$PY" "$BENCH/report.py" summary "$BENCH/RESULTS.md"
  log "raw results and server logs: $RESULTS"
  log "written: the C-STORE section of tests/bench/RESULTS.md and its row of the summary"
  exit 0
fi
if [[ "$ONLY" == worklist ]]; then
  command -v curl >/dev/null || apt_install curl
  log "build (release): elysium and the bench_worklist example"
  cargo build --locked --release -p server
  cargo build --locked --release -p elysium-db --example bench_worklist
  bench_worklist
  section_into_results worklist
  log "raw results: $RESULTS"
  log "written: the worklist section of tests/bench/RESULTS.md"
  exit 0
fi
if [[ "$ONLY" == screening ]]; then
  bench_screening
  section_into_results screening
  log "raw results: $RESULTS"
  log "written: the screening section of tests/bench/RESULTS.md"
  exit 0
fi
if [[ "$ONLY" == nnunet ]]; then
  bench_nnunet
  section_into_results nnunet
  log "raw results: $RESULTS"
  log "written: the nnunet section of tests/bench/RESULTS.md"
  exit 0
fi
command -v curl >/dev/null || apt_install curl
command -v psql >/dev/null || apt_install postgresql-client
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
apt_install orthanc orthanc-dicomweb dcmtk
ORTHANC_PLUGIN="$(dpkg -L orthanc-dicomweb | grep -m1 '/libOrthancDicomWeb\.so$' || true)"

if [[ ! -x "$VENV/bin/python" ]]; then
  log "python virtualenv $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
want="$(sha256sum "$BENCH/requirements.txt" | cut -d' ' -f1)"
if [[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
  log "pip install -r tests/bench/requirements.txt"
  "$PY" -m pip install -q --disable-pip-version-check -r "$BENCH/requirements.txt"
  echo "$want" > "$VENV/.requirements.sha256"
fi

log "build (release): elysium and the bench_load and bench_worklist examples"
cargo build --locked --release -p server
cargo build --locked --release -p elysium-dicom --example bench_load
cargo build --locked --release -p elysium-db --example bench_worklist
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"
BENCH_LOAD="$CARGO_TARGET_DIR/release/examples/bench_load"

# ---------------------------------------------------------------------------------------------
make_phantom
log "JPEG 2000 lossless copy (pydicom + pylibjpeg-openjpeg)"
"$PY" "$BENCH/to_j2k.py" "$UNCOMPRESSED" "$J2K" >&2

# ---------------------------------------------------------------------------------------------
show() { # a load result, on one line
  log "    $("$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("median %.3f s, runs %s, other load %.2f cores" % (r["median_s"], " ".join("%.3f" % x for x in r["runs_s"]), r["other_cpu_cores"]))' "$1")"
}
for case in uncompressed j2k; do
  dir="$DATA/$case"
  runs="$RUNS"; [[ "$case" == j2k ]] && runs="$J2K_RUNS"
  log "load: $case ($(find "$dir" -type f | wc -l) files, $(du -sh "$dir" | cut -f1)), $runs runs per tool"
  warm "$dir"
  log "  elysium"
  "$PY" "$BENCH/measured.py" "$RESULTS/load-$case-elysium.json" -- "$BENCH_LOAD" "$dir" --runs "$runs"
  show "$RESULTS/load-$case-elysium.json"
  for tool in simpleitk pydicom-threads pydicom; do
    log "  $tool"
    if "$PY" "$BENCH/measured.py" "$RESULTS/load-$case-$tool.json" -- \
      "$PY" "$BENCH/load_peers.py" "$tool" "$dir" --runs "$runs"; then
      show "$RESULTS/load-$case-$tool.json"
    else
      note "load $case: $tool failed (see the log above)"
    fi
  done
done
# The claim that every tool loads the same volume: the SHA-256 of each int16 volume (slice, row,
# column order), both cases against Elysium's uncompressed one. A difference ends the run.
log "load: every tool's HU volume against Elysium's (SHA-256, slice-row-column order)"
if ! "$PY" "$BENCH/same_hu.py" "$RESULTS"; then
  log "FAILED: the tools did not produce the same HU volume (above); raw results in $RESULTS"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
stow() { # NAME ROUND URL [TOKEN] [EXTRA ARGS...]
  local out="$RESULTS/stow-$1-$2.json"
  local args=("$3" "$UNCOMPRESSED" --name "$1" --batch "$BATCH" --concurrency "$CONCURRENCY")
  [[ -n "${4:-}" ]] && args+=(--token "$4")
  args+=("${@:5}")
  # Each round starts with nothing of the previous rounds (or the server's start) left to flush.
  sync
  "$PY" "$BENCH/stow_client.py" "${args[@]}" > "$out" || {
    note "STOW-RS to $1 (round $2) reported errors: $(head -c 600 "$out")"; true; }
  log "  round $2: $("$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("%d/%d stored, %.2f s, %.0f MB/s" % (r["stored"], r["files"], r["seconds"], r["mb_per_s"]))' "$out" 2>/dev/null || echo '?')"
}

# Elysium: a fresh data folder (private PostgreSQL cluster, local file object store) per round.
stow_elysium() { # ROUND
  ELYSIUM_DATA="$RUNTIME/elysium-$1"
  local port password="stow-throughput-pass-7" token
  port="$(free_port)"
  ELYSIUM_DATA_DIR="$ELYSIUM_DATA" ELYSIUM_ADDR="127.0.0.1:$port" ELYSIUM_DICOM=0 \
    "$ELYSIUM" serve > "$RESULTS/elysium-serve-$1.log" 2>&1 &
  ELYSIUM_PID=$!
  wait_http "http://127.0.0.1:$port/readyz" "$ELYSIUM_PID" "$RESULTS/elysium-serve-$1.log"
  # While the server runs: both reuse its cluster (and leave it running).
  printf '%s\n' "$password" |
    ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" user add --username bench --role admin --site BENCH >/dev/null
  token="$(ELYSIUM_DATA_DIR="$ELYSIUM_DATA" "$ELYSIUM" token create --username bench --name bench --scope dicom:write 2>/dev/null |
    tail -n 1 | tr -d '[:space:]')"
  stow elysium "$1" "http://127.0.0.1:$port/dicomweb/studies" "$token"
  # SIGTERM: Elysium stops its PostgreSQL cluster before it exits.
  stop_pid "$ELYSIUM_PID"; ELYSIUM_PID=""
  if [[ -f "$ELYSIUM_DATA/postgres/data/postmaster.pid" ]]; then
    note "Elysium left its PostgreSQL cluster running after SIGTERM (round $1)"
  fi
  rm -rf "$ELYSIUM_DATA"
}

# Orthanc: a fresh storage and SQLite index (its default) per round, no DICOM listener.
stow_orthanc() { # ROUND
  local folder="$RUNTIME/orthanc-$1" port dicom_port
  mkdir -p "$folder"
  port="$(free_port)"; dicom_port="$(free_port)"
  "$PY" - "$folder" "$port" "$dicom_port" "$ORTHANC_PLUGIN" <<'PY'
import json, sys
folder, http_port, dicom_port, plugin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
config = {
    "Name": "ELYSIUM-BENCH",
    "StorageDirectory": f"{folder}/storage",
    "IndexDirectory": f"{folder}/index",
    "HttpPort": http_port,
    "DicomServerEnabled": False,
    "DicomPort": dicom_port,
    "RemoteAccessAllowed": False,
    "AuthenticationEnabled": False,
    "StorageCompression": False,
    "Plugins": [plugin] if plugin else [],
    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
}
json.dump(config, open(f"{folder}/orthanc.json", "w"), indent=2)
PY
  Orthanc "$folder/orthanc.json" > "$RESULTS/orthanc-$1.log" 2>&1 &
  ORTHANC_PID=$!
  wait_http "http://127.0.0.1:$port/system" "$ORTHANC_PID" "$RESULTS/orthanc-$1.log"
  if [[ -n "$ORTHANC_PLUGIN" ]]; then
    stow orthanc "$1" "http://127.0.0.1:$port/dicom-web/studies"
  else
    stow orthanc "$1" "http://127.0.0.1:$port/instances" "" --raw
  fi
  stop_pid "$ORTHANC_PID"; ORTHANC_PID=""
  rm -rf "$folder"
}

[[ -n "$ORTHANC_PLUGIN" ]] ||
  note "the orthanc-dicomweb plugin was not found: Orthanc received one instance per REST POST /instances"
warm "$UNCOMPRESSED"
# Alternating rounds, each server fresh, so that a passing disturbance hits both alike.
for round in $(seq "$STOW_ROUNDS"); do
  log "STOW-RS round $round/$STOW_ROUNDS: Elysium"
  stow_elysium "$round"
  log "STOW-RS round $round/$STOW_ROUNDS: Orthanc"
  stow_orthanc "$round"
done

# ---------------------------------------------------------------------------------------------
# A section (worklist, screening, cstore) as RESULTS.md has it now, for a run that does not redo it.
keep_section() { # NAME
  [[ -f "$BENCH/RESULTS.md" ]] || return 0
  awk -v b="<!-- bench_$1: begin -->" -v e="<!-- bench_$1: end -->" \
    '$0 == e {skip = 0} skip {print} $0 == b {skip = 1}' "$BENCH/RESULTS.md" > "$RESULTS/$1.md"
}
# The GPU section is measured on a GPU host (tests/bench/gpu/), never here: every run keeps it.
keep_section gpu
if [[ "$ONLY" == ingest ]]; then
  keep_section cstore
  keep_section worklist
  keep_section screening
  keep_section nnunet
else
  bench_cstore
  bench_worklist
  bench_screening
  bench_nnunet
fi

# ---------------------------------------------------------------------------------------------
log "machine and versions"
pg_version="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
pg_version="$("${pg_version:-/usr/bin}/postgres" --version 2>/dev/null || echo '?')"
"$PY" - "$RESULTS" "${NOTES[@]}" <<PY
import json, os, platform, sys
from importlib.metadata import version
folder, notes = sys.argv[1], sys.argv[2:]
def first(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"
os_release = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
import SimpleITK as sitk
machine = {
    "date": "$(date -u +'%Y-%m-%d %H:%M UTC')",
    "cpu": first("/proc/cpuinfo", "model name"),
    "cores": os.cpu_count(),
    "ram": f"{int(first('/proc/meminfo', 'MemTotal').split()[0]) / 1024 / 1024:.1f} GiB",
    "os": os_release.get("PRETTY_NAME", "?").strip('"'),
    "kernel": platform.release(),
    "disk": """$(df -T "$DATA" | awk 'NR==2 {print $2}')""",
    "rustc": """$(rustc --version)""",
    "elysium": """$("$ELYSIUM" --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- . ':!Makefile' ':!tests/bench' ':!server/dicom/examples/bench_load.rs' 2>/dev/null || echo ', uncommitted changes'))""",
    "python": platform.python_version(),
    "python_packages": ", ".join(f"{p} {version(p)}" for p in
        ["pydicom", "numpy", "pylibjpeg", "pylibjpeg-openjpeg", "SimpleITK", "requests"])
        + f" (ITK {sitk.Version.ITKVersionString()})",
    "orthanc": "$(pkgver orthanc) (Debian)",
    "orthanc_dicomweb": "$(pkgver orthanc-dicomweb) (Debian)",
    "dcmtk": "$(pkgver dcmtk) (Debian)",
    "postgresql": "$pg_version",
    "load": "$LOAD_START; $(cut -d' ' -f1-3 /proc/loadavg)",
}
json.dump(machine, open(f"{folder}/machine.json", "w"), indent=2)
json.dump(notes, open(f"{folder}/notes.json", "w"), indent=2)
PY
"$PY" "$BENCH/report.py" "$RESULTS" "$BENCH/RESULTS.md"
# A C-STORE section kept from RESULTS.md by BENCH_ONLY=ingest may be absent (never measured).
if [[ -s "$RESULTS/cstore.md" ]]; then section_into_results cstore; fi
section_into_results worklist
section_into_results screening
# A section kept by BENCH_ONLY=ingest may be absent (never measured).
if [[ -s "$RESULTS/nnunet.md" ]]; then section_into_results nnunet; fi
if [[ -s "$RESULTS/gpu.md" ]]; then section_into_results gpu; fi
# The summary table's C-STORE row, from the C-STORE section (or none without one).
"$PY" "$BENCH/report.py" summary "$BENCH/RESULTS.md"
log "raw results and server logs: $RESULTS"
log "written: tests/bench/RESULTS.md"
