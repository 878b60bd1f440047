#!/usr/bin/env python3
"""Fails the benchmark when the tools did not all produce the same HU volume.

    python same_hu.py RESULTS_DIR

Reads the load-<case>-<tool>.json results of run.sh. Every tool (bench_load, load_peers.py)
reports `hu_sha256`: the SHA-256 of its int16 HU volume, little endian, in slice, row, column
order, slices sorted along the normal. A volume with one voxel changed, or with its slices in
another order, has another checksum (a sum would not notice the order). Every result of every
case (uncompressed and its JPEG 2000 lossless copy) must have Elysium's uncompressed volume's
shape and checksum. Prints one line per result; exits 1 naming each difference, 0 when all
agree. A tool that did not run has no result and is not compared (run.sh notes its failure).
"""

import json
import os
import sys

CASES = ["uncompressed", "j2k"]
TOOLS = ["elysium", "pydicom", "pydicom-threads", "simpleitk"]
REFERENCE = ("uncompressed", "elysium")


def results(folder):
    """{(case, tool): result} for the results present."""
    found = {}
    for case in CASES:
        for tool in TOOLS:
            path = os.path.join(folder, f"load-{case}-{tool}.json")
            if os.path.exists(path):
                with open(path) as f:
                    found[(case, tool)] = json.load(f)
    return found


def differences(found):
    """A sentence for each result whose volume is not the reference's."""
    reference = found.get(REFERENCE)
    if reference is None:
        return [f"no result from {REFERENCE[1]} on the {REFERENCE[0]} series to compare with"]
    if not reference.get("hu_sha256"):
        return [f"{REFERENCE[1]} ({REFERENCE[0]}) reported no hu_sha256"]
    out = []
    for (case, tool), result in found.items():
        if (case, tool) == REFERENCE:
            continue
        shape, digest = result.get("shape"), result.get("hu_sha256")
        if shape != reference.get("shape") or digest != reference["hu_sha256"]:
            out.append(
                f"{tool} on the {case} series: shape {shape}, HU SHA-256 {digest}; "
                f"{REFERENCE[1]} on the {REFERENCE[0]} series: shape {reference.get('shape')}, "
                f"HU SHA-256 {reference['hu_sha256']}"
            )
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = results(sys.argv[1])
    for (case, tool), result in sorted(found.items()):
        print(f"{case:>12} {tool:<16} {result.get('shape')} {result.get('hu_sha256')}", file=sys.stderr)
    problems = differences(found)
    if problems:
        print("The tools did not produce the same HU volume:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"Raw results: {sys.argv[1]}", file=sys.stderr)
        sys.exit(1)
    print(f"All {len(found)} volumes are the same (HU SHA-256 {found[REFERENCE]['hu_sha256']}).", file=sys.stderr)


if __name__ == "__main__":
    main()
