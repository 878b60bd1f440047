"""Check preprocess.py's numpy trilinear resampling against scipy.ndimage.map_coordinates.

Usage: python check_preprocess.py SERIES_DIR [SERIES_DIR ...]
   or: python check_preprocess.py --generate [--elysium PATH]   (makes two phantoms in a temp dir)

For each series: the 64^3 HU grid from preprocess.resample_hu must equal
map_coordinates(order=1, mode='constant', cval=-1000) on the same coordinates to 1e-4 HU, and
the label-map nearest-neighbour sampling must equal map_coordinates(order=0). Exits non-zero
on a mismatch.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.ndimage import map_coordinates

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import preprocess as P  # noqa: E402


def scipy_resample_hu(vol) -> np.ndarray:
    """The 64^3 HU grid by scipy's trilinear interpolation (the independent reference)."""
    zc, yc, xc = P.grid_coords(vol.shape, vol.spacing)
    Z, Y, X = np.meshgrid(zc, yc, xc, indexing="ij")
    return map_coordinates(vol.hu.astype(np.float64), [Z, Y, X], order=1, mode="constant",
                           cval=P.FILL_HU)


def scipy_tensor(vol) -> np.ndarray:
    """The model input `ct` ([64, 64, 64] float32) from scipy's resampling."""
    return P.normalise(scipy_resample_hu(vol))


def check(series_dir: str) -> bool:
    vol = P.read_series(series_dir)
    ours = P.resample_hu(vol)
    ref = scipy_resample_hu(vol)
    # mode='constant' with cval = fill: samples outside [0, n-1] on any axis are the fill value,
    # as in the contract (the two could differ only for an index exactly on the border).
    diff = np.abs(ours - ref)
    ok = diff.max() <= 1e-4
    tensor = P.preprocess(vol)
    ref_t = P.normalise(ref)
    tdiff = np.abs(tensor[0, 0] - ref_t).max()
    ok &= tdiff <= 1e-6
    msg = (f"{series_dir}: volume {vol.shape} spacing {tuple(round(s, 4) for s in vol.spacing)} "
           f"max |numpy - scipy| = {diff.max():.3g} HU, tensor {tdiff:.3g}")
    if os.path.exists(os.path.join(series_dir, "labels.u8.gz")):
        _, labels = P.read_truth(series_dir, vol)
        ours_l = P.nearest_labels(labels, vol)
        lz, ly, lx = P.label_grid_coords(vol)
        LZ, LY, LX = np.meshgrid(lz, ly, lx, indexing="ij")
        # order=0: nearest neighbour; outside [0, n-1] -> background, as preprocess.nearest_labels.
        ref_l = map_coordinates(labels, [LZ, LY, LX], order=0, mode="constant", cval=0)
        lab_ok = np.array_equal(ours_l, ref_l)
        ok &= lab_ok
        msg += f", labels nearest {'equal' if lab_ok else 'DIFFER'}"
    print(("OK   " if ok else "FAIL ") + msg)
    return bool(ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("series", nargs="*")
    ap.add_argument("--generate", action="store_true")
    ap.add_argument("--elysium", default="/tmp/elysium-phantom")
    a = ap.parse_args()
    dirs = list(a.series)
    tmp = None
    if a.generate:
        tmp = tempfile.mkdtemp(prefix="elysium-check-")
        for seed, rows, extra in [(11, 128, ["--lesion", "liver:30"]), (12, 96, ["--slices", "120"])]:
            subprocess.run([a.elysium, "phantom", "--out", f"{tmp}/{seed}", "--patients", "1",
                            "--seed", str(seed), "--rows", str(rows), *extra],
                           check=True, capture_output=True)
            dirs += glob.glob(f"{tmp}/{seed}/*/*")
    if not dirs:
        ap.error("give series folders or --generate")
    results = [check(d) for d in dirs]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
