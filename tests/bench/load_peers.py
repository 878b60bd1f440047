#!/usr/bin/env python3
"""Series -> HU volume load time for the Python peers of Elysium's loader.

    python load_peers.py TOOL DIR [--runs N]

TOOL is one of
  pydicom          pydicom + numpy, one thread: read every file, decode its pixels, apply
                   RescaleSlope/Intercept to int16, sort by ImagePositionPatient projected on the
                   slice normal (cross product of ImageOrientationPatient), stack.
  pydicom-threads  the same with a concurrent.futures.ThreadPoolExecutor of one worker per core
                   (the idiomatic pool for I/O; numpy and the codecs may release the GIL).
  simpleitk        SimpleITK (ITK + GDCM): ImageSeriesReader.GetGDCMSeriesFileNames(DIR) to sort
                   the series, then ImageSeriesReader with GDCMImageIO and an int16 output; ITK's
                   own default thread count (one per core).

Each run starts from the list of file paths (listed once, untimed) and ends with the int16 HU
volume in memory; the page cache is warm (the caller reads the files first). Prints one JSON
object like the Elysium runner's (tests/bench/README.md), with `hu_sha256`: the SHA-256 of the
volume as int16 little endian in slice, row, column order, computed as bench_load computes it,
so that a volume with other voxels, or its slices in another order, gives another checksum.
Nothing here asserts a time.
"""

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def list_files(folder):
    out = []
    for root, _dirs, files in os.walk(folder):
        out.extend(os.path.join(root, f) for f in files)
    return sorted(out)


def pydicom_loader(workers):
    import pydicom

    def one(path):
        ds = pydicom.dcmread(path)
        iop = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
        normal = np.cross(iop[:3], iop[3:])
        distance = float(np.dot(normal, np.asarray(ds.ImagePositionPatient, dtype=np.float64)))
        pixels = ds.pixel_array
        slope = float(getattr(ds, "RescaleSlope", 1) or 1)
        intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
        if slope == 1 and intercept.is_integer():
            hu = pixels.astype(np.int16)
            hu += np.int16(intercept)
        else:
            hu = np.rint(pixels * slope + intercept).clip(-32768, 32767).astype(np.int16)
        return distance, hu

    def load(paths):
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                slices = list(pool.map(one, paths))
        else:
            slices = [one(p) for p in paths]
        slices.sort(key=lambda s: s[0])
        return np.stack([s[1] for s in slices])

    return load


def simpleitk_loader(folder):
    import SimpleITK as sitk

    def load(_paths):
        # GDCM reads and sorts the series' headers (by position along the normal).
        names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder)
        reader = sitk.ImageSeriesReader()
        reader.SetImageIO("GDCMImageIO")
        reader.SetFileNames(names)
        reader.SetOutputPixelType(sitk.sitkInt16)
        return reader.Execute()

    return load


def hu_sha256(array):
    """SHA-256 (hex) of an HU volume as int16 little endian in (slice, row, column) order."""
    if array.ndim != 3 or array.dtype != np.int16:
        raise ValueError(f"expected an int16 (slice, row, column) volume, not {array.dtype} {array.shape}")
    # No copy when the volume already is C-ordered little-endian int16 (the usual case).
    return hashlib.sha256(np.ascontiguousarray(array, dtype="<i2").data).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["pydicom", "pydicom-threads", "simpleitk"])
    parser.add_argument("dir")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    paths = list_files(args.dir)
    if not paths:
        sys.exit(f"no files under {args.dir}")
    if args.tool == "simpleitk":
        load = simpleitk_loader(args.dir)
        threads = None
    else:
        threads = cores if args.tool == "pydicom-threads" else 1
        load = pydicom_loader(threads)

    seconds = []
    volume = None
    for _ in range(args.runs):
        volume = None
        start = time.perf_counter()
        volume = load(paths)
        seconds.append(time.perf_counter() - start)

    if args.tool == "simpleitk":
        import SimpleITK as sitk

        threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        array = sitk.GetArrayViewFromImage(volume)
    else:
        array = volume
    # Read before hashing, which may copy the volume.
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "tool": args.tool,
        "threads": threads,
        "files": len(paths),
        "bytes": sum(os.path.getsize(p) for p in paths),
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "hu_sha256": hu_sha256(array),
        "runs_s": seconds,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "peak_rss_mib": peak_rss_mib,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
