#!/usr/bin/env python3
"""STOW-RS ingest throughput: POSTs a folder of DICOM files to a DICOMweb server.

    python stow_client.py URL DIR [--token T] [--batch 50] [--concurrency 3] [--name NAME]

URL is the STOW-RS endpoint (e.g. http://127.0.0.1:8080/dicomweb/studies). The files are sent
as `multipart/related; type="application/dicom"` bodies of --batch instances each, with
--concurrency requests in flight (a thread per request, each with its own requests.Session and
keep-alive connection). The bodies are built in memory before the clock starts, so the time is
the server's: from the first request sent to the last response received. No Origin header is
sent. Prints one JSON object: bytes of DICOM sent, seconds, MB/s (10^6 bytes per second),
the cores the whole machine kept busy meanwhile, HTTP statuses, and the instances each response reports stored (ReferencedSOPSequence) or failed
(FailedSOPSequence). Nothing here asserts a time.

With --raw each request carries one file as `application/dicom` (Orthanc's REST
`POST /instances`, used only when its DICOMweb plugin is missing); --batch is then ignored.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests


def list_files(folder):
    out = []
    for root, _dirs, files in os.walk(folder):
        out.extend(os.path.join(root, f) for f in files)
    return sorted(out)


def body(paths):
    boundary = uuid.uuid4().hex
    chunks = []
    size = 0
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        size += len(data)
        chunks.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return b"".join(chunks), content_type, size, len(paths)


def busy_seconds():
    """CPU time used by the whole machine so far (all CPUs, from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


def counted(response, key):
    """Items of sequence `key` (ReferencedSOPSequence 00081199, FailedSOPSequence 00081198), or
    for a raw POST /instances (Orthanc) 1 stored when its Status is Success/AlreadyStored."""
    try:
        doc = response.json()
    except ValueError:
        return 0
    if isinstance(doc, dict) and "Status" in doc:
        stored = doc["Status"] in ("Success", "AlreadyStored")
        return int(stored) if key == "00081199" else int(not stored)
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    return len((doc.get(key) or {}).get("Value") or [])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("dir")
    parser.add_argument("--token")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--name", default="server")
    parser.add_argument("--raw", action="store_true")
    args = parser.parse_args()

    paths = list_files(args.dir)
    if args.raw:
        args.batch = 1
        bodies = []
        for path in paths:
            with open(path, "rb") as f:
                data = f.read()
            bodies.append((data, "application/dicom", len(data), 1))
    else:
        bodies = [body(paths[i:i + args.batch]) for i in range(0, len(paths), args.batch)]
    headers = {"Accept": "application/dicom+json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    local = threading.local()

    def send(item):
        data, content_type, _size, _count = item
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        response = session.post(args.url, data=data,
                                headers={**headers, "Content-Type": content_type}, timeout=600)
        return (response.status_code, counted(response, "00081199"), counted(response, "00081198"),
                time.perf_counter() - started, response.text[:300] if response.status_code >= 300 else "")

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        busy = busy_seconds()
        start = time.perf_counter()
        results = list(pool.map(send, bodies))
        seconds = time.perf_counter() - start
        busy = busy_seconds() - busy

    total = sum(b[2] for b in bodies)
    statuses = {}
    for status, *_ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    report = {
        "tool": args.name,
        "url": args.url,
        "files": len(paths),
        "bytes": total,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "requests": len(bodies),
        "statuses": statuses,
        "stored": sum(r[1] for r in results),
        "failed": sum(r[2] for r in results),
        "request_s": [round(r[3], 3) for r in results],
        "seconds": seconds,
        "mb_per_s": total / seconds / 1e6,
        # Cores kept busy on the whole machine meanwhile (server, client, database, the rest).
        "cpu_busy_cores": round(busy / seconds, 2),
        "errors": [r[4] for r in results if r[4]][:3],
    }
    print(json.dumps(report))
    if any(r[0] >= 300 for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
