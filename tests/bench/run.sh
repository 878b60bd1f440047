#!/usr/bin/env bash
# `make bench`: Elysium side by side with its peers, in one run (see tests/bench/README.md).
#   1. series -> int16 HU volume: Elysium vs pydicom+numpy vs SimpleITK (GDCM), uncompressed and
#      JPEG 2000 lossless, 512x512x300 phantom;
#   2. STOW-RS ingest throughput: Elysium vs Orthanc (Debian packages orthanc + orthanc-dicomweb);
#   3. the coordinator worklist over 1,000,000 findings (server/db/examples/bench_worklist.rs, on
#      a private PostgreSQL cluster): p50/p95/max per query case and the plans, then the whole
#      server-rendered worklist page from `elysium serve` on that database;
#   4. screening with the active model (tests/bench/screening.sh): per-stage times on the
#      512 x 512 x 300 phantom and the throughput of one against two worker processes.
# Installs what it needs, idempotently: Debian packages that are missing (as root), a Python
# virtualenv with the pinned tests/bench/requirements.txt. Prints the table and writes it, with
# the machine, to tests/bench/RESULTS.md. Asserts no time: it fails only when something breaks,
# or when the tools' HU volumes differ (tests/bench/same_hu.py).
#
# Knobs (environment): BENCH_RUNS (load runs per tool, uncompressed; default 5), BENCH_J2K_RUNS
# (default 5), BENCH_STOW_BATCH (instances per request, 50), BENCH_STOW_CONCURRENCY (requests in
# flight, 3), BENCH_STOW_ROUNDS (rounds, each on fresh servers, 5), BENCH_CACHE (venv, data and
# results; default ~/.cache/elysium), CARGO_TARGET_DIR (as in the Makefile), BENCH_ONLY=worklist or
# screening (only that benchmark: replaces its section of RESULTS.md, keeps the rest) or ingest
# (only the load and STOW-RS benchmarks: rewrites RESULTS.md but keeps its other two sections),
# BENCH_SCREEN_CASES (cases per screening run, 24), BENCH_WORKLIST_FINDINGS (1000000; patients
# are a fifth of it), BENCH_WORKLIST_RUNS (runs per case, 50).
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
ONLY="${BENCH_ONLY:-}"
case "$ONLY" in
  "" | all | worklist | screening | ingest) ;;
  *) echo "BENCH_ONLY: 'worklist', 'screening' or 'ingest' (or empty for everything), not '$ONLY'" >&2; exit 2 ;;
esac
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

# A section (worklist, screening) at the end of RESULTS.md, between its markers, in place of any
# previous one; the rest of the file is kept.
section_into_results() { # NAME
  local md="$BENCH/RESULTS.md" kept="" begin="<!-- bench_$1: begin -->" end="<!-- bench_$1: end -->"
  [[ -f "$md" ]] && kept="$(awk -v b="$begin" -v e="$end" \
    '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$md")"
  { [[ -z "$kept" ]] || printf '%s\n\n' "$kept"
    echo "$begin"; cat "$RESULTS/$1.md"; echo "$end"; } > "$md.tmp"
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
ELYSIUM="$CARGO_TARGET_DIR/release/elysium"
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
command -v curl >/dev/null || apt_install curl
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
apt_install orthanc orthanc-dicomweb
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
# The phantom (generated once, kept in $DATA): only its .dcm files go into the benchmark folders.
PHANTOM_ARGS=(--patients 1 --seed 1 --rows 512 --slices 300)
stamp="phantom ${PHANTOM_ARGS[*]} $("$ELYSIUM" --version)"
UNCOMPRESSED="$DATA/uncompressed"
J2K="$DATA/j2k"
if [[ "$(cat "$DATA/phantom.stamp" 2>/dev/null)" != "$stamp" || ! -d "$UNCOMPRESSED" ]]; then
  log "elysium phantom ${PHANTOM_ARGS[*]}"
  rm -rf "$DATA/phantom" "$UNCOMPRESSED" "$J2K" "$J2K.complete"
  "$ELYSIUM" phantom --out "$DATA/phantom" "${PHANTOM_ARGS[@]}" >&2
  mkdir -p "$UNCOMPRESSED"
  find "$DATA/phantom" -name '*.dcm' -exec ln {} "$UNCOMPRESSED/" \;
  echo "$stamp" > "$DATA/phantom.stamp"
fi
log "JPEG 2000 lossless copy (pydicom + pylibjpeg-openjpeg)"
"$PY" "$BENCH/to_j2k.py" "$UNCOMPRESSED" "$J2K" >&2

# ---------------------------------------------------------------------------------------------
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
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
# A section (worklist, screening) as RESULTS.md has it now, for a run that does not redo it.
keep_section() { # NAME
  awk -v b="<!-- bench_$1: begin -->" -v e="<!-- bench_$1: end -->" \
    '$0 == e {skip = 0} skip {print} $0 == b {skip = 1}' "$BENCH/RESULTS.md" > "$RESULTS/$1.md"
}
if [[ "$ONLY" == ingest ]]; then
  keep_section worklist
  keep_section screening
else
  bench_worklist
  bench_screening
fi

# ---------------------------------------------------------------------------------------------
log "machine and versions"
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
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
    "postgresql": "$pg_version",
    "load": "$LOAD_START; $(cut -d' ' -f1-3 /proc/loadavg)",
}
json.dump(machine, open(f"{folder}/machine.json", "w"), indent=2)
json.dump(notes, open(f"{folder}/notes.json", "w"), indent=2)
PY
"$PY" "$BENCH/report.py" "$RESULTS" "$BENCH/RESULTS.md"
section_into_results worklist
section_into_results screening
log "raw results and server logs: $RESULTS"
log "written: tests/bench/RESULTS.md"
