"""Preprocessing contract of the reference screening model (importable, numpy only).

This module is the Python reference for what the Rust runtime implements; `manifest.toml`
states the same numbers. In short:

1. Read a CT series: HU = stored pixel * RescaleSlope + RescaleIntercept. Sort the slices by
   the projection of ImagePositionPatient on the slice normal n = row_cosines x col_cosines
   (the first and second triplets of ImageOrientationPatient), ASCENDING: slice 0 is the most
   caudal for an axial series. The volume is [Z, Y, X] (rows = y, columns = x). Spacing:
   sx = PixelSpacing[1] (between columns), sy = PixelSpacing[0] (between rows), sz = median of
   the gaps between consecutive sorted projections (numpy median: the mean of the two middle
   gaps when their count is even).
2. Resample to D x H x W = 64 x 64 x 64 at [tz, ty, tx] = [6.5, 6.0, 6.0] mm, centred on the
   volume: output voxel (k, j, i) samples the input at the continuous index
       z = (Z-1)/2 + (k - (D-1)/2) * tz/sz
       y = (Y-1)/2 + (j - (H-1)/2) * ty/sy
       x = (X-1)/2 + (i - (W-1)/2) * tx/sx
   by trilinear interpolation of HU (float64 here). A sample whose index lies outside
   [0, n-1] on any axis takes fill_hu = -1000 (the clip minimum). At a coordinate c on an
   axis of length n: c0 = floor(c), c1 = min(c0 + 1, n - 1), weight of c1 = c - c0.
3. Clip HU to [-1000, 1000] and normalise v -> (v + 1000) / 2000, giving [0, 1]; float32
   tensor `ct` of shape [1, 1, 64, 64, 64] (N, C, Z, Y, X), C order.

The label-map outputs (`organ_labels`, `lesion_heatmap`) are at stride 2: label voxel
(k, j, i) of the 32^3 grid is the 64-grid continuous index (2k + 0.5, 2j + 0.5, 2i + 0.5),
i.e. input index z = (Z-1)/2 + (2k + 0.5 - (D-1)/2) * tz/sz (and likewise y, x).
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field

import numpy as np

SIZE = (64, 64, 64)  # D, H, W  (z, y, x)
TARGET_SPACING_MM = (6.5, 6.0, 6.0)  # tz, ty, tx
HU_CLIP = (-1000.0, 1000.0)
FILL_HU = HU_CLIP[0]
LABEL_STRIDE = 2
LABEL_SIZE = tuple(s // LABEL_STRIDE for s in SIZE)  # 32, 32, 32


@dataclass
class Volume:
    hu: np.ndarray  # float32 [Z, Y, X], slices ascending along the normal
    spacing: tuple  # (sz, sy, sx) mm
    origin: np.ndarray  # ImagePositionPatient of sorted slice 0 (centre of its first pixel)
    row_cos: np.ndarray  # direction of increasing column index (x)
    col_cos: np.ndarray  # direction of increasing row index (y)
    normal: np.ndarray  # row_cos x col_cos (direction of increasing sorted slice index)
    files: list = field(default_factory=list)  # file names in sorted order

    @property
    def shape(self):
        return self.hu.shape

    def index_to_mm(self, z, y, x):
        """Continuous input index (z, y, x) -> patient coordinates (mm)."""
        sz, sy, sx = self.spacing
        return (self.origin + np.multiply.outer(np.asarray(x, float) * sx, self.row_cos)
                + np.multiply.outer(np.asarray(y, float) * sy, self.col_cos)
                + np.multiply.outer(np.asarray(z, float) * sz, self.normal))

    def mm_to_index(self, p):
        """Patient coordinates (mm) -> continuous input index (z, y, x)."""
        d = np.asarray(p, float) - self.origin
        sz, sy, sx = self.spacing
        return np.array([d @ self.normal / sz, d @ self.col_cos / sy, d @ self.row_cos / sx])


def read_series(series_dir: str) -> Volume:
    """Read one CT series folder (one DICOM file per slice) the way the Rust runtime does."""
    import pydicom

    names = sorted(n for n in os.listdir(series_dir) if n.lower().endswith(".dcm"))
    slices = []
    for n in names:
        ds = pydicom.dcmread(os.path.join(series_dir, n))
        iop = np.array([float(v) for v in ds.ImageOrientationPatient], float)
        ipp = np.array([float(v) for v in ds.ImagePositionPatient], float)
        slope = float(getattr(ds, "RescaleSlope", 1.0))
        intercept = float(getattr(ds, "RescaleIntercept", 0.0))
        px = ds.pixel_array.astype(np.float64) * slope + intercept
        ps = [float(v) for v in ds.PixelSpacing]
        slices.append((n, iop, ipp, px, ps))
    iop = slices[0][1]
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    proj = np.array([s[2] @ normal for s in slices])
    order = np.argsort(proj, kind="stable")
    proj = proj[order]
    sz = float(np.median(np.diff(proj))) if len(proj) > 1 else 1.0
    ps = slices[order[0]][4]
    hu = np.stack([slices[i][3] for i in order]).astype(np.float32)
    return Volume(hu=hu, spacing=(sz, ps[0], ps[1]), origin=slices[order[0]][2],
                  row_cos=row_cos, col_cos=col_cos, normal=normal,
                  files=[slices[i][0] for i in order])


def read_truth(series_dir: str, vol: Volume):
    """truth.json and the label map of a phantom series, in the volume's (sorted) order."""
    truth = json.load(open(os.path.join(series_dir, "truth.json")))
    g = truth["geometry"]
    assert truth["labels_order"] == "z,y,x", truth["labels_order"]
    labels = np.frombuffer(gzip.open(os.path.join(series_dir, truth["labels_file"])).read(), np.uint8)
    labels = labels.reshape(g["slices"], g["rows"], g["columns"])  # z in truth["files"] order
    file_index = {n: i for i, n in enumerate(truth["files"])}
    labels = labels[[file_index[n] for n in vol.files]]
    return truth, labels


def axis_coords(n_in: int, s_in: float, n_out: int, t_out: float, stride: int = 1,
                offset: float = 0.0) -> np.ndarray:
    """Continuous input indices sampled along one axis.

    Output index m of an n_out grid (stride 1) maps to c = (n_in-1)/2 + (m - (n_out-1)/2) * t/s.
    With stride 2 and offset 0.5 (the label grid), m is replaced by 2*m + 0.5.
    """
    m = np.arange(n_out // stride, dtype=np.float64) * stride + offset
    return (n_in - 1) / 2.0 + (m - (n_out - 1) / 2.0) * (t_out / s_in)


def grid_coords(shape_in, spacing_in, size=SIZE, target=TARGET_SPACING_MM, stride=1, offset=0.0):
    return [axis_coords(shape_in[a], spacing_in[a], size[a], target[a], stride, offset)
            for a in range(3)]


def trilinear(vol: np.ndarray, zc: np.ndarray, yc: np.ndarray, xc: np.ndarray,
              fill: float) -> np.ndarray:
    """Trilinear interpolation of vol [Z, Y, X] on the grid zc x yc x xc (1-D index arrays).

    Any sample with an index outside [0, n-1] on any axis is `fill`. Computed in float64.
    """
    vol = np.asarray(vol, dtype=np.float64)
    parts = []
    for c, n in zip((zc, yc, xc), vol.shape):
        c = np.asarray(c, np.float64)
        valid = (c >= 0.0) & (c <= n - 1)
        c0 = np.floor(np.where(valid, c, 0.0)).astype(np.int64)
        c1 = np.minimum(c0 + 1, n - 1)
        f = np.where(valid, c, 0.0) - c0
        parts.append((c0, c1, f, valid))
    (z0, z1, fz, vz), (y0, y1, fy, vy), (x0, x1, fx, vx) = parts
    Z0, Z1, FZ = z0[:, None, None], z1[:, None, None], fz[:, None, None]
    Y0, Y1, FY = y0[None, :, None], y1[None, :, None], fy[None, :, None]
    X0, X1, FX = x0[None, None, :], x1[None, None, :], fx[None, None, :]
    out = (vol[Z0, Y0, X0] * ((1 - FZ) * (1 - FY) * (1 - FX))
           + vol[Z0, Y0, X1] * ((1 - FZ) * (1 - FY) * FX)
           + vol[Z0, Y1, X0] * ((1 - FZ) * FY * (1 - FX))
           + vol[Z0, Y1, X1] * ((1 - FZ) * FY * FX)
           + vol[Z1, Y0, X0] * (FZ * (1 - FY) * (1 - FX))
           + vol[Z1, Y0, X1] * (FZ * (1 - FY) * FX)
           + vol[Z1, Y1, X0] * (FZ * FY * (1 - FX))
           + vol[Z1, Y1, X1] * (FZ * FY * FX))
    valid = vz[:, None, None] & vy[None, :, None] & vx[None, None, :]
    return np.where(valid, out, fill)


def resample_hu(vol: Volume) -> np.ndarray:
    """HU on the 64^3 model grid (float64, before clipping)."""
    zc, yc, xc = grid_coords(vol.shape, vol.spacing)
    return trilinear(vol.hu, zc, yc, xc, FILL_HU)


def normalise(hu: np.ndarray) -> np.ndarray:
    lo, hi = HU_CLIP
    return ((np.clip(hu, lo, hi) - lo) / (hi - lo)).astype(np.float32)


def preprocess(vol: Volume) -> np.ndarray:
    """The model input `ct`: float32 [1, 1, 64, 64, 64]."""
    return normalise(resample_hu(vol))[None, None]


def label_grid_coords(vol: Volume):
    """Continuous input indices of the 32^3 label-map voxel centres (per axis)."""
    return grid_coords(vol.shape, vol.spacing, stride=LABEL_STRIDE, offset=0.5)


def nearest_labels(labels: np.ndarray, vol: Volume, fill: int = 0) -> np.ndarray:
    """Nearest-neighbour sample of a label map (in the volume's order) at the 32^3 label grid.

    Index = floor(c + 0.5); a centre outside [0, n-1] on any axis is `fill` (background),
    like the image samples outside the volume."""
    idx = []
    valids = []
    for c, n in zip(label_grid_coords(vol), labels.shape):
        valid = (c >= 0.0) & (c <= n - 1)  # same validity rule as the image samples
        i = np.clip(np.floor(c + 0.5).astype(np.int64), 0, n - 1)
        idx.append(i)
        valids.append(valid)
    out = labels[idx[0][:, None, None], idx[1][None, :, None], idx[2][None, None, :]]
    valid = valids[0][:, None, None] & valids[1][None, :, None] & valids[2][None, None, :]
    return np.where(valid, out, fill).astype(labels.dtype)


def label_cell_of_index(vol: Volume, z, y, x):
    """Input continuous indices -> the 32^3 label-map cell containing them (may be out of range)."""
    cells = []
    for c, n, s, t, size in zip((z, y, x), vol.shape, vol.spacing, TARGET_SPACING_MM, SIZE):
        m64 = (np.asarray(c, float) - (n - 1) / 2.0) * (s / t) + (size - 1) / 2.0
        cells.append(np.floor((m64 + 0.5) / LABEL_STRIDE).astype(np.int64))
    return cells


def label_voxel_to_mm(vol: Volume, k, j, i):
    """Label-map voxel (k, j, i) (integers or arrays) -> patient coordinates (mm) of its centre."""
    zc, yc, xc = label_grid_coords(vol)
    return vol.index_to_mm(zc[k], yc[j], xc[i])
