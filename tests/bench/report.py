#!/usr/bin/env python3
"""Collects the JSON results of a `make bench` run into a table (stdout) and RESULTS.md.

    python report.py RESULTS_DIR OUTPUT_MD
    python report.py cstore RESULTS_DIR SECTION_MD
    python report.py summary RESULTS_MD

RESULTS_DIR holds machine.json, load-<case>-<tool>.json and stow-<server>-<round>.json from
run.sh. Ratios are reported against the issue's targets; nothing is asserted.

`cstore` writes the C-STORE section (cstore-machine.json and cstore-<server>-<round>.json), which
run.sh puts between its markers in RESULTS.md; the section carries its row of the summary table
in an HTML comment, and `summary` puts that row into RESULTS.md's summary table (in place of
the previous one; none without a C-STORE section), so that `BENCH_ONLY=cstore`, which rewrites
only its section, and the runs that rewrite the rest keep the summary whole.
"""

import json
import os
import re
import statistics
import sys

LOAD_CASES = [
    ("uncompressed", "Explicit VR Little Endian (uncompressed)"),
    ("j2k", "JPEG 2000 Lossless"),
]
LOAD_TOOLS = [
    ("elysium", "Elysium (elysium-dicom, rayon)"),
    ("pydicom", "pydicom + numpy (1 thread)"),
    ("pydicom-threads", "pydicom + numpy (ThreadPoolExecutor)"),
    ("simpleitk", "SimpleITK ImageSeriesReader (GDCM)"),
]
STOW_SERVERS = [("elysium", "Elysium"), ("orthanc", "Orthanc")]
# The targets: (minimum Elysium speed-up over the fastest peer, wording).
LOAD_TARGETS = {
    "uncompressed": (3.0, "Elysium ≥ 3× faster than the fastest peer (both cores)"),
    "j2k": (1.0, "Elysium no slower than the fastest peer"),
}
# Other processes' load (cores) above which a load measurement is flagged as disturbed.
NOISY_CORES = 0.25
STOW_TARGET = (2.0, "Elysium ≥ 2× Orthanc's MB/s")
CSTORE_TARGET = (2.0, "Elysium ≥ 2× Orthanc's MB/s")
CSTORE_SERVERS = [
    ("elysium", "Elysium", "`elysium serve` DICOM listener (AE `ELYSIUM`)"),
    ("orthanc", "Orthanc", "Orthanc's DICOM server (AE `ORTHANC`)"),
]
CSTORE_ROW = "| C-STORE ingest |"
SUMMARY_MARK = "<!-- summary row: "


def load(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return None
    return json.loads(text)


def rounds_of(folder, kind, server):
    """The rounds `{kind}-{server}-1.json`, `-2.json`, ... up to the first one missing."""
    rounds = []
    for n in range(1, 1000):
        r = load(folder, f"{kind}-{server}-{n}.json")
        if r is None:
            break
        rounds.append(r)
    return rounds


def stow_rounds(folder, server):
    return rounds_of(folder, "stow", server)


def met(value, target):
    return "**met**" if value >= target else "**not met**"


def cstore_rounds(folder, server):
    return rounds_of(folder, "cstore", server)


def cstore_section(folder, output):
    """The C-STORE section (Markdown, without its markers), with its summary row in a comment."""
    machine = load(folder, "cstore-machine.json") or {}
    rounds = {server: cstore_rounds(folder, server) for server, _, _ in CSTORE_SERVERS}
    lines = []
    out = lines.append
    out("## C-STORE ingest throughput (DICOM listeners)")
    out("")
    out(f"Written by `make bench` (tests/bench/run.sh; `BENCH_ONLY=cstore` runs this section alone) on "
        f"{machine.get('date', '?')}: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('ram', '?')}, {machine.get('os', '?')}; {machine.get('elysium', '?')} with "
        f"{machine.get('postgresql', '?')}; Orthanc {machine.get('orthanc', '?')}; dcmtk "
        f"{machine.get('dcmtk', '?')}. Load average (1, 5, 15 min) at the start, at the end: "
        f"{machine.get('load', '?')}. See tests/bench/README.md for what is measured and how; "
        "nothing here is asserted.")
    out("")
    first = next((r[0] for r in rounds.values() if r), None)
    if first:
        n = max(len(r) for r in rounds.values())
        out(f"The uncompressed series ({first['files']} files, {first['bytes'] / 1e6:.1f} MB, the one "
            f"of section 2) sent over localhost by dcmtk's `storescu` as a PACS sends it: "
            f"{first['senders']} `storescu +sd +r` processes started at once, each with its share of "
            "the files (the sorted files dealt out one by one) in one association, so every "
            "instance is sent once; the same shares, senders and client for both servers. The time "
            "runs from the senders' start (the first association) to the last `storescu` exit; "
            "MB/s = DICOM file bytes / that time. After each round the server must hold exactly "
            "the SOP Instance UIDs sent, each once (Elysium: its database; Orthanc: "
            f"`GET /instances?expand`), or the run fails. {n} rounds, alternating between the "
            "servers, each on a freshly started, empty server; the median round counts. *Server "
            "cores*: CPU the server used per second of the round (Elysium with its PostgreSQL "
            "cluster); *other load*: cores that processes other than the server and the senders "
            "kept busy (near 0 the numbers are clean).")
        out("")
        out("Each server as shipped, but for what a listener needs: Elysium (release) with "
            "`ELYSIUM_DICOM_SITE` (the site it files what it receives under) and "
            "`ELYSIUM_DICOM_ACCEPT_ANY_AE=true`, no screening workers (`ELYSIUM_WORKERS=0`, "
            "`ELYSIUM_AUTO_SCREENING=0`: the ingest alone, as Orthanc does it), its private "
            "PostgreSQL cluster (fsync on) and local file object store; Orthanc with its DICOM "
            "server on, any calling AE title accepted (`DicomCheckCalledAet: false`, "
            "`DicomAlwaysAllowStore: true`), no plugin, its SQLite index and uncompressed storage "
            "(`SyncStorageArea` on, its default), and `MaximumPduLength` 131072, the PDU size "
            "Elysium offers by default, instead of its 16 KiB default, so that `storescu` sends "
            "both the same PDUs.")
        out("")
        if first.get("tcp_nodelay"):
            out("`storescu` and Orthanc run with dcmtk's `TCP_NODELAY=1` (Nagle's algorithm off; "
                "`BENCH_CSTORE_NODELAY=1`, the default here). With this dcmtk's default, Nagle's "
                "algorithm on, every instance waits on a delayed TCP acknowledgement on loopback "
                "(tens of milliseconds, in Orthanc's responses as well as in `storescu`'s sends), "
                "and the rounds would time those waits rather than the ingest. Elysium sets "
                "nothing: its listener does not wait on them.")
        else:
            out("`storescu` and Orthanc run with dcmtk's default, Nagle's algorithm on "
                "(`BENCH_CSTORE_NODELAY=0`): every instance can wait on a delayed TCP "
                "acknowledgement (tens of milliseconds), in Orthanc's responses as well as in "
                "`storescu`'s sends; these rounds time that latency as much as the ingest.")
        out("")
    out("| Server | Listener | Median s | Median MB/s | Median instances/s | MB/s per round | "
        "Server cores per round | Other load per round | Instances held |")
    out("|---|---|---|---|---|---|---|---|---|")
    medians = {}
    noisy = []
    for server, label, listener in CSTORE_SERVERS:
        rs = rounds.get(server)
        if not rs:
            out(f"| {label} | {listener} | not run | | | | | | |")
            continue
        valid = [r for r in rs if r.get("exact") and not any(r.get("storescu_exit_codes") or [])]
        per_round = ", ".join(f"{r['mb_per_s']:.0f}" + ("" if r in valid else " (invalid)") for r in rs)
        cores = ", ".join(f"{r.get('server_cores', '?')}" for r in rs)
        other = ", ".join(f"{r.get('other_cpu_cores', 0):.2f}" for r in rs)
        noisy += [f"{label} round {r['round']}: {r['other_cpu_cores']:.2f} cores" for r in rs
                  if r.get("other_cpu_cores", 0) > NOISY_CORES]
        held = " + ".join(f"{r.get('held', '?')}" for r in rs) + f" of {rs[0]['files']} each"
        if valid:
            mbs = statistics.median(r["mb_per_s"] for r in valid)
            ips = statistics.median(r["instances_per_s"] for r in valid)
            secs = statistics.median(r["seconds"] for r in valid)
            medians[server] = mbs
            out(f"| {label} | {listener} | {secs:.2f} | {mbs:.1f} | {ips:.0f} | {per_round} | {cores} | "
                f"{other} | {held} |")
        else:
            out(f"| {label} | {listener} | no valid round | | | {per_round} | {cores} | {other} | {held} |")
    out("")
    out("Per round (s, MB/s, instances/s, whole machine's busy cores):")
    out("")
    out("| Round | " + " | ".join(label for _, label, _ in CSTORE_SERVERS) + " |")
    out("|---|" + "---|" * len(CSTORE_SERVERS))
    for i in range(max((len(r) for r in rounds.values()), default=0)):
        cells = []
        for server, _, _ in CSTORE_SERVERS:
            rs = rounds.get(server) or []
            r = rs[i] if i < len(rs) else None
            cells.append("–" if r is None else
                         f"{r['seconds']:.2f} s, {r['mb_per_s']:.0f} MB/s, {r['instances_per_s']:.0f}/s, "
                         f"{r.get('cpu_busy_cores', '?')} busy")
        out(f"| {i + 1} | " + " | ".join(cells) + " |")
    out("")
    if noisy:
        out(f"**Disturbed:** other processes used more than {NOISY_CORES} of a core during: "
            + "; ".join(noisy) + ". Those rounds are not comparable; rerun on a quiet machine.")
        out("")
    target, wording = CSTORE_TARGET
    if "elysium" in medians and "orthanc" in medians:
        ratio = medians["elysium"] / medians["orthanc"]
        out(f"Elysium / Orthanc (median MB/s): **{ratio:.2f}×**. Target ({wording}): {met(ratio, target)}.")
        row = f"{CSTORE_ROW} {wording} | {ratio:.2f}× | {met(ratio, target)} |"
    else:
        out("Not enough valid rounds to compare.")
        row = f"{CSTORE_ROW} {wording} | not measured | – |"
    out("")
    out(f"{SUMMARY_MARK}{row} -->")
    text = "\n".join(lines) + "\n"
    with open(output, "w") as f:
        f.write(text)
    print(text)


def summary_row(path):
    """Puts the C-STORE section's summary row into RESULTS.md's summary table."""
    with open(path) as f:
        lines = f.read().split("\n")
    row = None
    for line in lines:
        m = re.fullmatch(re.escape(SUMMARY_MARK) + r"(.*) -->", line.strip())
        if m:
            row = m.group(1)
    lines = [line for line in lines if not line.startswith(CSTORE_ROW)]
    try:
        start = lines.index("| Case | Target | Measured | |")
    except ValueError:
        return  # no summary table: a RESULTS.md that only has sections
    end = start
    while end + 1 < len(lines) and lines[end + 1].startswith("|"):
        end += 1
    if row:
        lines.insert(end + 1, row)
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    if sys.argv[1] == "cstore":
        return cstore_section(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "summary":
        return summary_row(sys.argv[2])
    folder, output = sys.argv[1], sys.argv[2]
    machine = load(folder, "machine.json") or {}
    lines = []
    out = lines.append
    out("# Benchmark results")
    out("")
    out("Written by `make bench` (tests/bench/run.sh) on "
        f"{machine.get('date', '?')}; see tests/bench/README.md for what is measured and how. "
        "Times are medians of several runs with a warm page cache; no number here is asserted "
        "anywhere.")
    out("")
    out("## Machine")
    out("")
    out("| | |")
    out("|---|---|")
    for key, label in [
        ("cpu", "CPU"), ("cores", "Cores (nproc)"), ("ram", "RAM"), ("os", "OS"), ("kernel", "Kernel"),
        ("load", "Load average (1, 5, 15 min) at the start, at the end"),
        ("disk", "Data folder file system"), ("rustc", "rustc"), ("elysium", "Elysium"),
        ("python", "Python"), ("python_packages", "Python packages"), ("orthanc", "Orthanc"),
        ("orthanc_dicomweb", "Orthanc DICOMweb plugin"), ("dcmtk", "dcmtk (storescu, C-STORE section)"),
        ("postgresql", "PostgreSQL (Elysium's private cluster)"),
    ]:
        out(f"| {label} | {machine.get(key, '?')} |")
    out("")

    summary = []
    observations = []
    out("## 1. Series → int16 HU volume")
    out("")
    shape = None
    for case, _ in LOAD_CASES:
        r = load(folder, f"load-{case}-elysium.json")
        if r:
            shape = r.get("shape")
            break
    out(f"One synthetic CT phantom series (`elysium phantom --patients 1 --seed 1 --rows 512 "
        f"--slices 300`), volume {' × '.join(map(str, shape)) if shape else '?'} (slices × rows × "
        "columns), loaded from the list of its file paths to an int16 HU volume in memory "
        "(file reads, parsing, decoding, sorting along the slice normal, rescale). MB/s is the "
        "series' bytes on disk over the median time. *Speed-up* is the tool's median over "
        "Elysium's (above 1: Elysium is faster). *HU SHA-256* (its first 12 hex digits) is the "
        "checksum of the tool's int16 volume in slice, row, column order: every tool, in both "
        "cases, produced the same voxels in the same order as Elysium's uncompressed load (the "
        "run fails otherwise, tests/bench/same_hu.py). *Other load*: cores that other processes "
        "on the machine kept busy while the tool ran (tests/bench/measured.py); near 0 the numbers "
        "are clean.")
    out("")
    noisy = []
    for case, title in LOAD_CASES:
        results = {tool: load(folder, f"load-{case}-{tool}.json") for tool, _ in LOAD_TOOLS}
        out(f"### {title}")
        out("")
        any_result = next((r for r in results.values() if r), None)
        if any_result:
            out(f"{any_result['files']} files, {any_result['bytes'] / 1e6:.1f} MB.")
            out("")
        out("| Tool | Threads | Median s | Min s | Runs | MB/s | Peak RSS MiB | HU SHA-256 | Other load | Speed-up of Elysium |")
        out("|---|---|---|---|---|---|---|---|---|---|")
        ely = results.get("elysium")
        reference = load(folder, "load-uncompressed-elysium.json")
        reference_sha = reference.get("hu_sha256") if reference else None
        for tool, label in LOAD_TOOLS:
            r = results.get(tool)
            if not r:
                out(f"| {label} | – | not run | | | | | | | |")
                continue
            speedup = f"{r['median_s'] / ely['median_s']:.2f}×" if ely and tool != "elysium" else "–"
            digest = r.get("hu_sha256") or "?"
            same = "" if reference_sha is None else (" (same)" if digest == reference_sha else " (**differs**)")
            rss = f"{r['peak_rss_mib']:.0f}" if r.get("peak_rss_mib") else "?"
            other = r.get("other_cpu_cores")
            if other is not None and other > NOISY_CORES:
                noisy.append(f"{title}, {label}: {other:.2f} cores")
            other = "?" if other is None else f"{other:.2f}"
            out(f"| {label} | {r.get('threads') or '?'} | {r['median_s']:.3f} | {r['min_s']:.3f} | "
                f"{len(r['runs_s'])} | {r['bytes'] / r['median_s'] / 1e6:.0f} | {rss} | "
                f"`{digest[:12]}`{same} | {other} | {speedup} |")
        out("")
        if ely and "read_parse_median_s" in ely:
            out(f"Elysium's stages (medians): reading and parsing the files "
                f"{ely['read_parse_median_s']:.3f} s, `load_series` (decoding, sorting, "
                f"rescaling) {ely['load_series_median_s']:.3f} s.")
            out("")
        peers = [(r["median_s"], tool) for tool, r in results.items() if r and tool != "elysium"]
        target, wording = LOAD_TARGETS[case]
        if ely and peers:
            fastest_s, fastest = min(peers)
            ratio = fastest_s / ely["median_s"]
            label = dict(LOAD_TOOLS)[fastest]
            line = (f"Fastest peer: {label}, {fastest_s:.3f} s. Elysium: {ely['median_s']:.3f} s, "
                    f"**{ratio:.2f}×** the fastest peer's speed. Target ({wording}): {met(ratio, target)}.")
            out(line)
            summary.append(f"| Load, {title} | {wording} | {ratio:.2f}× vs {label} | {met(ratio, target)} |")
        else:
            out("Not enough results to compare.")
            summary.append(f"| Load, {title} | {wording} | not measured | – |")
        out("")

    if noisy:
        out(f"**Disturbed:** other processes used more than {NOISY_CORES} of a core during: "
            + "; ".join(noisy) + ". Those times are not comparable; rerun `make bench` on a quiet machine.")
        out("")

    out("## 2. STOW-RS ingest throughput")
    out("")
    rounds = {s: stow_rounds(folder, s) for s, _ in STOW_SERVERS}
    any_result = next((r[0] for r in rounds.values() if r), None)
    if any_result:
        out(f"The uncompressed series ({any_result['files']} files, {any_result['bytes'] / 1e6:.1f} MB) "
            f"POSTed to each server on localhost by the same client (tests/bench/stow_client.py): "
            f"{any_result['requests']} `multipart/related; type=\"application/dicom\"` requests of "
            f"{any_result['batch']} instances, {any_result['concurrency']} in flight, bodies built "
            "before the clock starts. MB/s = DICOM bytes sent / wall time (first request to last "
            f"response). {max(len(r) for r in rounds.values())} rounds, alternating between the "
            "servers, each round on a freshly started, empty server; the median round counts. *Busy "
            "cores*: CPU the whole machine used per second of each round (server, its database, "
            "the client), out of the machine's cores.")
        out("")
    out("| Server | Endpoint | Median s | Median MB/s | MB/s per round | Busy cores | Instances stored | HTTP statuses |")
    out("|---|---|---|---|---|---|---|---|")
    medians = {}
    for server, label in STOW_SERVERS:
        rs = rounds.get(server)
        if not rs:
            out(f"| {label} | – | not run | | | | | |")
            continue
        valid = [r for r in rs if r["stored"] == r["files"] and r["failed"] == 0]
        endpoint = rs[0]["url"].split("/", 3)[-1]
        statuses = {}
        for r in rs:
            for k, v in r["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        stored = " + ".join(f"{r['stored']}" for r in rs) + f" of {rs[0]['files']} each"
        busy = ", ".join(f"{r.get('cpu_busy_cores', '?')}" for r in rs)
        per_round = ", ".join(f"{r['mb_per_s']:.0f}" + ("" if r in valid else " (invalid)") for r in rs)
        if valid:
            mbs = statistics.median(r["mb_per_s"] for r in valid)
            secs = statistics.median(r["seconds"] for r in valid)
            medians[server] = mbs
            out(f"| {label} | `/{endpoint}` | {secs:.2f} | {mbs:.1f} | {per_round} | {busy} | {stored} | {statuses} |")
        else:
            out(f"| {label} | `/{endpoint}` | no valid round | | {per_round} | {busy} | {stored} | {statuses} |")
    out("")
    target, wording = STOW_TARGET
    busy = {srv: statistics.median(r.get("cpu_busy_cores", 0) for r in rs) for srv, rs in rounds.items() if rs}
    if "elysium" in busy and "orthanc" in busy:
        cores = machine.get("cores", "?")
        observations.append(
            f"STOW-RS: the machine was {busy['elysium']:.2f} of {cores} cores busy during Elysium's "
            f"rounds (server, PostgreSQL and client together) and {busy['orthanc']:.2f} during "
            f"Orthanc's (median): "
            + ("Elysium leaves CPU unused, so its ingest waits on something other than the CPU "
               "(per-instance latency) rather than running out of it."
               if busy["elysium"] < busy["orthanc"] else "both are close to CPU-bound."))
    if "elysium" in medians and "orthanc" in medians:
        ratio = medians["elysium"] / medians["orthanc"]
        out(f"Elysium / Orthanc (median MB/s): **{ratio:.2f}×**. Target ({wording}): {met(ratio, target)}.")
        summary.append(f"| STOW-RS ingest | {wording} | {ratio:.2f}× | {met(ratio, target)} |")
    else:
        out("Not enough valid rounds to compare (an instance was refused or a request failed).")
        summary.append(f"| STOW-RS ingest | {wording} | not measured | – |")
    out("")

    out("## Limits of these numbers")
    out("")
    out("- One machine, one synthetic series (300 slices of 512 × 512, 12 bits stored), warm page "
        "cache, localhost HTTP: no network, no cold disk reads, no other series shapes.")
    out("- Each server runs as shipped: Elysium with its private PostgreSQL cluster (fsync on) and "
        "local file object store; Orthanc 1.10 (Debian 12) with its default SQLite index and "
        "uncompressed storage. Neither is tuned.")
    out("- pydicom and SimpleITK run from Python; their times include the interpreter's overhead, "
        "as they would in a Python pipeline. pydicom decodes JPEG 2000 with pylibjpeg-openjpeg, "
        "SimpleITK with GDCM's OpenJPEG, Elysium with the `openjp2` crate (a Rust port of OpenJPEG).")
    out("- Medians of 5 runs (load) and 5 rounds (STOW-RS); the other-load column shows whether the "
        "machine was quiet. Ratios near a target (within about 5 %) can flip between runs.")
    out("")

    notes = load(folder, "notes.json") or []
    body = lines[:]
    lines.clear()
    out("## Summary")
    out("")
    out("| Case | Target | Measured | |")
    out("|---|---|---|---|")
    lines.extend(summary)
    out("")
    if observations:
        out("Observations from this run:")
        out("")
        for o in observations:
            out(f"- {o}")
        out("")
    if notes:
        out("Notes from this run:")
        out("")
        for note in notes:
            out(f"- {note}")
        out("")
    summary_lines = lines[:]
    # Title and intro, then the summary, then the details and the machine.
    text = "\n".join(body[:4] + summary_lines + body[4:]) + "\n"
    with open(output, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
