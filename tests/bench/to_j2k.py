#!/usr/bin/env python3
"""Re-encodes a folder of DICOM files as JPEG 2000 lossless (pydicom 3 + pylibjpeg-openjpeg).

    python to_j2k.py SRC DST

Writes DST/<same relative path> for every file under SRC, on one process per core, and checks
that each re-encoded slice decodes to the same pixels.
DST.complete, beside DST, marks a finished run: with it present and naming the same file count,
nothing is redone.
"""

import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pydicom
from pydicom.uid import JPEG2000Lossless


def convert(job):
    src, dst = job
    ds = pydicom.dcmread(src)
    original = ds.pixel_array.copy()
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    ds.save_as(dst, enforce_file_format=True)
    again = pydicom.dcmread(dst).pixel_array
    if not np.array_equal(original, again):
        raise SystemExit(f"{dst}: JPEG 2000 round trip changed the pixels")
    return os.path.getsize(src), os.path.getsize(dst)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    jobs = []
    for root, _dirs, files in os.walk(src):
        for name in files:
            path = os.path.join(root, name)
            jobs.append((path, os.path.join(dst, os.path.relpath(path, src))))
    marker = dst.rstrip("/") + ".complete"
    if os.path.exists(marker) and open(marker).read().strip() == str(len(jobs)):
        print(f"{dst}: already converted ({len(jobs)} files)")
        return
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        sizes = list(pool.map(convert, jobs, chunksize=8))
    before = sum(s for s, _ in sizes)
    after = sum(d for _, d in sizes)
    with open(marker, "w") as f:
        f.write(f"{len(jobs)}\n")
    print(f"{dst}: {len(jobs)} files, {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB "
          f"(ratio {before / after:.2f})")


if __name__ == "__main__":
    main()
