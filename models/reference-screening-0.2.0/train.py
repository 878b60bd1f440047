"""Reference screening model 0.2.0: a patch-based network at 3 mm, run by sliding window.

0.1.0 (`../reference-screening/`) sees the whole body on one 64^3 grid at 6 mm, where a 15 mm
lesion is two voxels and its organ's noise hides it. This version works at 3 mm: the series is
resampled to a 136 x 128 x 128 grid at 3 mm (408 x 384 x 384 mm, centred, as 0.1.0's grid),
the box of the body (grid voxels above -500 HU) is tiled by 64^3 patches overlapping by half,
and each patch's per-voxel probabilities are blended with a Gaussian weight: the manifest's
`[sliding_window]`, which Elysium's runtime implements as MONAI's sliding_window_inference does.

Per voxel the network gives 26 probabilities: the 13 organ labels (softmax) and, for each of
the 13 class outputs, P(lesion) x P(the class's organ). The runtime takes each class
probability as the maximum of its map, the heatmap as the maximum over the class maps and the
organ label map as the most probable label. The five classes no phantom ever has
(esophagus/nonEC, liver/other_malignant, liver/other_benign, liver/cyst, pancreas/nonPDAC) are
zero maps: this model does not claim them.

Steps (each resumable; the exact command is in MODEL_CARD.md):
1. Plan and generate phantoms with `elysium phantom` (the 0.1.0 planner: ~40% lesion-free, one
   lesion, sometimes two, diameters uniform in the spec's range), read each series as the Rust
   runtime does, resample it to the 3 mm grid (numpy reference of the runtime's trilinear
   resampling), crop to the body box and cache it with its targets: the organ label of each grid
   voxel (nearest neighbour; lesion voxels count as their host organ) and the lesion mask.
2. Train on random 64^3 patches (half of them around a lesion when the phantom has one),
   checkpointing every few hundred steps, so that an interrupted run continues where it stopped.
3. Export to ONNX (opset 17, one patch, batch dimension free) and check onnxruntime against
   PyTorch.
4. Evaluate on the held-out phantoms (seeds never trained on) through MONAI's
   sliding_window_inference with onnxruntime as the predictor, so the figures are those of the
   manifest's window: per organ and per class AUC, the threshold at 99% specificity, the
   sensitivity (all lesions and lesions of 15 mm or more) with Wilson intervals, sensitivity by
   diameter, the localisation error of the runtime's lesion location (the manifest's `locate`). Writes manifest.toml,
   metrics.json, phantoms.json and MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import tomllib
from multiprocessing import Pool

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
V1 = os.path.join(HERE, "..", "reference-screening")
sys.path.insert(0, V1)
import preprocess as P  # noqa: E402  (the series reader and trilinear reference)
import train as T1  # noqa: E402  (phantom planning and generation, targets, metrics)
from card import wilson  # noqa: E402

VERSION = "0.2.0"
SPACING = (3.0, 3.0, 3.0)  # z, y, x (mm)
SIZE = (136, 128, 128)  # z, y, x: 408 x 384 x 384 mm, centred on the volume
PATCH = (64, 64, 64)
OVERLAP = 0.5
SIGMA_SCALE = 0.125
BODY_HU = -500.0  # grid voxels above this are the body; the rest is never inferred
HU_CLIP = P.HU_CLIP
ORGANS = T1.ORGAN_LABELS
CLASSES = T1.CLASS_OUTPUTS
N_ORGANS, N_CLASSES = len(ORGANS), len(CLASSES)
# Class outputs some phantom can have (one lesion class per screened organ in the spec).
TRAINED_CLASSES = [i for i, (o, c) in enumerate(CLASSES)
                   if (o, c) in {("lung", "Cancer"), ("breast", "BC"), ("esophagus", "EC"),
                                 ("stomach", "GC"), ("colorectal", "CRC"), ("liver", "HCC"),
                                 ("pancreas", "PDAC"), ("kidney", "RCC")}]
CLASS_ORGAN_LABEL = [ORGANS.index(T1.SCREEN_TO_PHANTOM[o]) for o, _ in CLASSES]
# The manifest's lesion-location rule (the heatmap output's `locate`): the heat-weighted centre
# of the region connected to the organ's peak whose heat is at least half the peak's. The
# lesion branch works at 6 mm and is up-sampled, so its map saturates over a lesion and the
# peak sits anywhere on the plateau; on 48 held-out lesions of 15 mm or more the region's
# centre halved the median error of the peak's neighbourhood (8.7 -> 5.1 mm).
LOCATE_FRACTION = 0.5
MIN_SIZE_MM = 15.0  # the target applies to lesions of this diameter or more


# ---------------------------------------------------------------------------------------------
# Data: the 3 mm grid, cropped to the body, with its targets
# ---------------------------------------------------------------------------------------------

def grid_axes(vol):
    """Continuous input index of every grid voxel centre, per axis (the runtime's centred grid)."""
    return P.grid_coords(vol.shape, vol.spacing, SIZE, SPACING)


def body_box(hu):
    """[lo, hi) per axis of the grid voxels above BODY_HU (the runtime's crop_to_body_hu)."""
    body = hu > BODY_HU
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(body.any(axis=other))
        box.append((int(idx[0]), int(idx[-1]) + 1) if len(idx) else (0, 0))
    return box


def make_case(job, exact=False):
    """One phantom: generate, read, resample to the grid, crop, targets. With exact, the case
    also keeps the network input in float32 as the runtime computes it (`ct`), not only the
    0.1 HU integers of the cache."""
    entry, elysium, workdir = job
    entry, out = T1.generate_phantom(entry, elysium, workdir)
    try:
        series = [root for root, _, files in os.walk(out) if "truth.json" in files][0]
        vol = P.read_series(series)
        truth, labels = P.read_truth(series, vol)
        zc, yc, xc = grid_axes(vol)
        hu = np.clip(P.trilinear(vol.hu, zc, yc, xc, P.FILL_HU), *HU_CLIP)
        lut, host, lesion_label = T1.host_labels(vol, truth, labels)
        idx, valid = [], []
        for c, n in zip((zc, yc, xc), labels.shape):
            valid.append((c >= 0.0) & (c <= n - 1))
            idx.append(np.clip(np.floor(c + 0.5).astype(np.int64), 0, n - 1))
        ix = np.ix_(*idx)
        inside = valid[0][:, None, None] & valid[1][None, :, None] & valid[2][None, None, :]
        organ = np.where(inside, lut[host[ix]], 0).astype(np.uint8)
        lesion = np.zeros(SIZE, np.uint8)
        if lesion_label is not None:
            lesion = (inside & (labels[ix] == lesion_label)).astype(np.uint8)
        meta = T1.case_meta(entry, truth, vol)
        for les in meta["lesions_truth"]:  # the lesion centre in grid voxels, always marked
            g = [(c - (n - 1) / 2.0) * (s / t) + (m - 1) / 2.0 for c, n, s, t, m in
                 zip(les["centre_index"], vol.shape, vol.spacing, SPACING, SIZE)]
            les["centre_grid"] = g
            k = [int(np.floor(v + 0.5)) for v in g]
            if all(0 <= v < m for v, m in zip(k, SIZE)):
                lesion[tuple(k)] = 1
        box = body_box(hu)
        sl = tuple(slice(lo, hi) for lo, hi in box)
        meta["box"] = box
        x = np.round(hu[sl] * 10.0).astype(np.int16)  # 0.1 HU steps
        if exact:
            lo, hi = HU_CLIP
            return {"x": x, "ct": ((hu[sl] - lo) / (hi - lo)).astype(np.float32), "organ": organ[sl],
                    "lesion": lesion[sl], "meta": meta}
        return x, organ[sl], lesion[sl], meta
    finally:
        shutil.rmtree(out, ignore_errors=True)


def build_split(plan, elysium, cache_dir, workers, log):
    """The split's cases, from the cache when this exact plan was built before (one .npz per
    case, so an interrupted build continues)."""
    key = hashlib.sha256(json.dumps(plan, sort_keys=True).encode() + T1.spec_sha256().encode()
                         + P.__doc__.encode() + json.dumps([SPACING, SIZE, BODY_HU]).encode()
                         + b"v2-1").hexdigest()[:16]
    folder = os.path.join(cache_dir, f"{plan[0]['split']}-{len(plan)}-{key}")
    os.makedirs(folder, exist_ok=True)
    todo = [e for e in plan if not os.path.exists(os.path.join(folder, f"{e['index']:05d}.npz"))]
    if todo:
        workdir = tempfile.mkdtemp(prefix="elysium-phantoms-")
        t0 = time.time()
        with Pool(workers) as pool:
            jobs = [(e, elysium, workdir) for e in todo]
            for i, (x, organ, lesion, meta) in enumerate(pool.imap(make_case, jobs)):
                path = os.path.join(folder, f"{meta['index']:05d}.npz")
                np.savez_compressed(path + ".tmp.npz", x=x, organ=organ, lesion=lesion,
                                    meta=json.dumps(meta))
                os.replace(path + ".tmp.npz", path)
                if (i + 1) % 50 == 0:
                    log(f"[data] {plan[0]['split']}: {i + 1}/{len(todo)} ({time.time() - t0:.0f} s)")
        shutil.rmtree(workdir, ignore_errors=True)
    cases = []
    for e in plan:
        d = np.load(os.path.join(folder, f"{e['index']:05d}.npz"), allow_pickle=False)
        cases.append({"x": d["x"], "organ": d["organ"], "lesion": d["lesion"],
                      "meta": json.loads(str(d["meta"]))})
    log(f"[data] {plan[0]['split']}: {len(cases)} phantoms ({folder})")
    return cases


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

def build_model():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def cbr(ci, co, stride=1):
        return nn.Sequential(nn.Conv3d(ci, co, 3, stride, 1, bias=False), nn.BatchNorm3d(co),
                             nn.ReLU(inplace=True))

    class PatchNet(nn.Module):
        """A 3D U-Net on one 64^3 patch at 3 mm. The full-resolution level only filters the
        input (the noise of one voxel is as large as the lesions' contrast); the decoder ends at
        32^3 (6 mm) and its two heads are upsampled trilinearly to the patch, so the maps are
        smooth and their peaks fall between voxels. Input channels made in the graph from `ct`
        in [0, 1] (HU = 2000 ct - 1000): HU / 500 and a soft-tissue window
        clip((HU - 40) / 50, -3, 3)."""

        def __init__(self, w=(8, 24, 40, 64, 80)):
            super().__init__()
            self.d0 = nn.Sequential(cbr(2, w[0]), cbr(w[0], w[0]))            # 64^3
            self.d1 = nn.Sequential(cbr(w[0], w[1], 2), cbr(w[1], w[1]))      # 32^3
            self.d2 = nn.Sequential(cbr(w[1], w[2], 2), cbr(w[2], w[2]))      # 16^3
            self.d3 = nn.Sequential(cbr(w[2], w[3], 2), cbr(w[3], w[3]))      # 8^3
            self.d4 = nn.Sequential(cbr(w[3], w[4], 2), cbr(w[4], w[4]))      # 4^3
            self.u3 = cbr(w[4] + w[3], w[3])                                  # 8^3
            self.u2 = cbr(w[3] + w[2], w[2])                                  # 16^3
            self.u1 = nn.Sequential(cbr(w[2] + w[1], w[1]), cbr(w[1], w[1]))  # 32^3
            self.organ = nn.Conv3d(w[1], N_ORGANS, 1)
            self.lesion_features = cbr(2 * w[1], w[1])
            self.lesion = nn.Conv3d(w[1], 1, 1)
            gate = torch.zeros(N_CLASSES)
            gate[TRAINED_CLASSES] = 1.0
            self.register_buffer("class_gate", gate.view(1, N_CLASSES, 1, 1, 1))
            self.register_buffer("class_organ", torch.tensor(CLASS_ORGAN_LABEL))
            with torch.no_grad():
                self.lesion.bias.fill_(-4.0)

        def logits(self, ct):
            hu = ct * 2000.0 - 1000.0
            x = torch.cat([hu / 500.0, torch.clamp((hu - 40.0) / 50.0, -3.0, 3.0)], 1)
            f0 = self.d0(x)
            f1 = self.d1(f0)
            f2 = self.d2(f1)
            f3 = self.d3(f2)
            f4 = self.d4(f3)
            up = lambda t: F.interpolate(t, scale_factor=2.0, mode="nearest")
            u3 = self.u3(torch.cat([up(f4), f3], 1))
            u2 = self.u2(torch.cat([up(u3), f2], 1))
            u1 = self.u1(torch.cat([up(u2), f1], 1))
            organ = self.organ(u1)
            lesion = self.lesion(self.lesion_features(torch.cat([u1, f1], 1)))
            full = lambda t: F.interpolate(t, scale_factor=2.0, mode="trilinear", align_corners=False)
            return full(organ), full(lesion)

        def forward(self, ct):  # the exported graph: [N, 26, 64, 64, 64] probabilities
            organ_logits, lesion_logit = self.logits(ct)
            p_organ = torch.softmax(organ_logits, 1)
            p_class = torch.sigmoid(lesion_logit) * torch.index_select(p_organ, 1, self.class_organ)
            return torch.cat([p_organ, p_class * self.class_gate], 1)

    return PatchNet()


# ---------------------------------------------------------------------------------------------
# Training (resumable)
# ---------------------------------------------------------------------------------------------

def sample_patch(case, rng, lesion_bias):
    """A 64^3 patch of one case's grid (air and background outside its body box): around a lesion
    (within 24 voxels of its centre) with probability lesion_bias when it has one, else anywhere
    in the box."""
    meta = case["meta"]
    box = meta["box"]
    shape = [hi - lo for lo, hi in box]
    lesions = meta["lesions_truth"]
    if lesions and rng.random() < lesion_bias:
        les = lesions[rng.integers(len(lesions))]
        centre = [c - lo + rng.integers(-24, 25) for c, (lo, _) in zip(les["centre_grid"], box)]
        start = [int(round(c)) - p // 2 for c, p in zip(centre, PATCH)]
    else:
        start = [int(rng.integers(min(0, n - p), max(0, n - p) + 1)) for n, p in zip(shape, PATCH)]
    x = np.full(PATCH, int(HU_CLIP[0] * 10), np.int16)
    organ = np.zeros(PATCH, np.uint8)
    lesion = np.zeros(PATCH, np.uint8)
    src, dst = [], []
    for s, n, p in zip(start, shape, PATCH):
        lo, hi = max(s, 0), min(s + p, n)
        if hi <= lo:
            return x, organ, lesion
        src.append(slice(lo, hi))
        dst.append(slice(lo - s, hi - s))
    src, dst = tuple(src), tuple(dst)
    x[dst], organ[dst], lesion[dst] = case["x"][src], case["organ"][src], case["lesion"][src]
    return x, organ, lesion


def to_ct(x_int16):
    """Cached 0.1 HU integers -> the network input in [0, 1]."""
    lo, hi = HU_CLIP
    return (x_int16.astype(np.float32) / 10.0 - lo) / (hi - lo)


def train(model, cases, args, log, ckpt_path):
    import torch
    import torch.nn.functional as F

    freq = np.zeros(N_ORGANS)
    for c in cases:
        freq += np.bincount(c["organ"].reshape(-1), minlength=N_ORGANS)
    w_organ = (freq.sum() / np.maximum(freq, 1)) ** 0.5
    w_organ = torch.tensor(w_organ / w_organ.mean(), dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    total, warm = args.steps, max(1, args.steps // 50)
    lr_at = lambda s: args.lr * ((s + 1) / warm if s < warm else
                                 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    step, seconds = 0, 0.0
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, seconds = state["step"], state["seconds"]
        log(f"[train] resumed at step {step} ({seconds:.0f} s trained)")
    pos_weight = torch.tensor(args.pos_weight)
    sums, count, t0 = np.zeros(3), 0, time.time()
    model.train()
    while step < total:
        rng = np.random.default_rng([args.seed, step])  # the same batch at a step after a resume
        batch = [sample_patch(cases[rng.integers(len(cases))], rng, args.lesion_bias)
                 for _ in range(args.batch)]
        xb = torch.from_numpy(np.stack([to_ct(b[0]) for b in batch])[:, None])
        ob = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
        hb = torch.from_numpy(np.stack([b[2] for b in batch]).astype(np.float32))[:, None]
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        organ_logits, lesion_logit = model.logits(xb)
        l_organ = F.cross_entropy(organ_logits, ob, weight=w_organ)
        l_bce = F.binary_cross_entropy_with_logits(lesion_logit, hb, pos_weight=pos_weight)
        p = torch.sigmoid(lesion_logit)
        l_dice = 1 - (2 * (p * hb).sum() + 1) / (p.sum() + hb.sum() + 1)
        loss = l_organ + l_bce + l_dice
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        sums += [l_organ.item(), l_bce.item(), l_dice.item()]
        count += 1
        if step % args.log_every == 0 or step == total:
            elapsed = seconds + time.time() - t0
            log(f"[train] step {step}/{total}: organ CE {sums[0] / count:.4f}, lesion BCE "
                f"{sums[1] / count:.4f}, dice {sums[2] / count:.4f}, lr {lr_at(step - 1):.2e} "
                f"({elapsed:.0f} s)")
            sums, count = np.zeros(3), 0
        if step % args.ckpt_every == 0 or step == total:
            elapsed = seconds + time.time() - t0
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "seconds": elapsed}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
    return seconds + time.time() - t0


# ---------------------------------------------------------------------------------------------
# Export, sliding-window evaluation
# ---------------------------------------------------------------------------------------------

def export_onnx(model, path):
    import torch
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, *PATCH),), path, input_names=["patch"],
                      output_names=["probabilities"], opset_version=17, dynamo=False,
                      dynamic_axes={"patch": {0: "n"}, "probabilities": {0: "n"}})


def ort_predictor(path, threads):
    import onnxruntime as ort
    import torch
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def predict(batch):
        out = sess.run(None, {"patch": batch.numpy().astype(np.float32)})[0]
        return torch.from_numpy(out)
    return predict


def infer_case(case, predictor, batch):
    """The manifest's window over the case's body box (MONAI's sliding_window_inference, the
    oracle of Elysium's runtime), placed back on the full grid: background, no lesion outside."""
    import torch
    from monai.inferers import sliding_window_inference
    ct = case["ct"] if "ct" in case else to_ct(case["x"])
    x = torch.from_numpy(np.ascontiguousarray(ct, np.float32))[None, None]
    with torch.no_grad():
        out = sliding_window_inference(x, PATCH, batch, predictor, overlap=OVERLAP, mode="gaussian",
                                       sigma_scale=SIGMA_SCALE, padding_mode="constant", cval=0.0)
    return out[0].numpy()


def lesion_mm(heat, organ_map, organ_value, box, meta):
    """The runtime's lesion location under the manifest's `locate = { rule = "region" }`: the
    heatmap's peak among the voxels labelled organ_value (all voxels if none), then the
    heat-weighted centre of the 6-connected region around it whose heat is at least
    LOCATE_FRACTION of the peak's (scipy's labelling, not limited to the organ's label);
    grid voxel -> input index -> patient mm."""
    from scipy import ndimage
    mask = organ_map == organ_value
    hv = np.where(mask, heat, -np.inf) if mask.any() else heat
    k = np.unravel_index(int(np.argmax(hv)), heat.shape)
    peak = float(heat[k])
    if peak > 0:
        regions, _ = ndimage.label(heat >= LOCATE_FRACTION * peak)  # 6-connectivity
        w = np.where(regions == regions[k], np.maximum(heat, 0), 0).astype(np.float64)
    else:
        w = np.zeros(heat.shape)
    grids = np.indices(heat.shape)
    c = [float((w * g).sum() / w.sum()) if w.sum() > 0 else float(v) for g, v in zip(grids, k)]
    g = meta["geometry"]
    idx = [(n - 1) / 2.0 + (ci + lo - (m - 1) / 2.0) * (t / s)
           for ci, (lo, _), n, s, t, m in zip(c, box, meta["shape"], g["spacing"], SPACING, SIZE)]
    sz, sy, sx = g["spacing"]
    return (np.asarray(g["origin"]) + idx[2] * sx * np.asarray(g["row_cos"])
            + idx[1] * sy * np.asarray(g["col_cos"]) + idx[0] * sz * np.asarray(g["normal"]))


def evaluate(cases, predictor, batch, log):
    """Class probabilities, localisation and organ Dice of every held-out case."""
    probs = np.zeros((len(cases), N_CLASSES))
    dice_num, dice_den = np.zeros(N_ORGANS), np.zeros(N_ORGANS)
    locations = []
    t0 = time.time()
    for n, case in enumerate(cases):
        out = infer_case(case, predictor, batch)
        cls_maps = out[N_ORGANS:]
        probs[n] = cls_maps.reshape(N_CLASSES, -1).max(1)
        organ_map = out[:N_ORGANS].argmax(0)
        heat = cls_maps.max(0)
        for v in range(N_ORGANS):
            a, b = organ_map == v, case["organ"] == v
            dice_num[v] += 2 * (a & b).sum()
            dice_den[v] += a.sum() + b.sum()
        meta = case["meta"]
        for organ in T1.SCREEN_ORGANS:
            if any(l["organ"] == organ for l in meta["lesions_truth"]):
                value = ORGANS.index(T1.SCREEN_TO_PHANTOM[organ])
                mm = lesion_mm(heat, organ_map, value, meta["box"], meta)
                locations.append({"case": n, "organ": organ, "mm": mm.tolist()})
        if (n + 1) % 25 == 0:
            log(f"[eval] {n + 1}/{len(cases)} ({time.time() - t0:.0f} s)")
    dice = {name: float(dice_num[v] / max(dice_den[v], 1)) for v, name in enumerate(ORGANS)}
    return probs, locations, dice, time.time() - t0


def bootstrap_auc(pos, neg, rng, rounds=1000):
    """95% percentile interval of the AUC over resampled positives and negatives."""
    if len(pos) < 2 or len(neg) < 2:
        return None
    pos, neg = np.asarray(pos), np.asarray(neg)
    vals = [T1.roc_auc(rng.choice(pos, len(pos)), rng.choice(neg, len(neg))) for _ in range(rounds)]
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]


def metrics(cases, probs, locations, target_spec=0.99):
    """Per class and per organ: threshold at 99% specificity on the organ's negatives, AUC and
    sensitivity for all lesions and for lesions >= 15 mm; localisation of true positives."""
    rng = np.random.default_rng(0)
    metas = [c["meta"] for c in cases]
    organ_lesions = {o: [[l for l in m["lesions_truth"] if l["organ"] == o] for m in metas]
                     for o in T1.SCREEN_ORGANS}
    per_class = []
    for ci, (organ, klass) in enumerate(CLASSES):
        has = np.array([any(l["class"] == klass for l in ls) for ls in organ_lesions[organ]])
        neg_mask = np.array([not ls for ls in organ_lesions[organ]])
        pos, neg = probs[has, ci], probs[neg_mask, ci]
        t, spec, sens = T1.threshold_at_specificity(pos, neg, target_spec)
        per_class.append({"organ": organ, "class": klass, "threshold": t, "specificity": target_spec,
                          "measured_specificity": spec, "sensitivity": sens if len(pos) else None,
                          "auc": T1.roc_auc(pos, neg), "n_pos": int(len(pos)), "n_neg": int(len(neg))})
    per_organ, by_diameter, loc = [], [], []
    for organ in T1.SCREEN_ORGANS:
        cols = [ci for ci, (o, _) in enumerate(CLASSES) if o == organ]
        p = probs[:, cols].max(1)
        lesions = organ_lesions[organ]
        pos_mask = np.array([bool(ls) for ls in lesions])
        big_mask = np.array([any(l["diameter_mm"] >= MIN_SIZE_MM for l in ls) for ls in lesions])
        t, spec, sens = T1.threshold_at_specificity(p[pos_mask], p[~pos_mask], target_spec)
        k_big = int((p[big_mask] >= t).sum())
        per_organ.append({
            "organ": organ, "threshold": t, "measured_specificity": spec,
            "n_pos": int(pos_mask.sum()), "n_neg": int((~pos_mask).sum()), "n_pos_15": int(big_mask.sum()),
            "auc": T1.roc_auc(p[pos_mask], p[~pos_mask]),
            "auc_15": T1.roc_auc(p[big_mask], p[~pos_mask]),
            "auc_15_ci": bootstrap_auc(p[big_mask], p[~pos_mask], rng),
            "sensitivity": sens, "sensitivity_ci": wilson(int((p[pos_mask] >= t).sum()), int(pos_mask.sum())),
            "sensitivity_15": k_big / int(big_mask.sum()) if big_mask.any() else None,
            "sensitivity_15_ci": wilson(k_big, int(big_mask.sum())),
            "specificity_ci": wilson(int((p[~pos_mask] < t).sum()), int((~pos_mask).sum())),
        })
        for n, ls in enumerate(lesions):
            for l in ls:
                by_diameter.append({"organ": organ, "diameter_mm": l["diameter_mm"], "detected": bool(p[n] >= t)})
            if ls and p[n] >= t:
                mm = next(x["mm"] for x in locations if x["case"] == n and x["organ"] == organ)
                for l in ls:
                    loc.append({"organ": organ, "diameter_mm": l["diameter_mm"], "case": metas[n]["patient_id"],
                                "error_mm": float(np.linalg.norm(np.asarray(mm) - np.asarray(l["centre_mm"])))})
    return per_class, per_organ, by_diameter, loc


# ---------------------------------------------------------------------------------------------
# Parity fixtures for the Rust runtime
# ---------------------------------------------------------------------------------------------

def rle(a):
    a = np.asarray(a).reshape(-1)
    change = np.flatnonzero(np.diff(a)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(a)]])
    return [[int(a[s]), int(e - s)] for s, e in zip(starts, ends)]


def write_parity(out_dir, cases, probs, per_organ, predictor, elysium, log):
    """Two held-out phantoms for the Rust runtime's end-to-end check: one with a lesion of 20 mm
    or more that the model finds (and nothing else), one lesion-free that it leaves negative.
    Each is regenerated, resampled exactly (float64, as the runtime's reference) and run through
    MONAI's window with onnxruntime; the fixture holds the generator's arguments and the
    outputs on the full grid: class probabilities, the organ label map (run-length) and the
    runtime's lesion location for each positive organ."""
    pdir = os.path.join(out_dir, "parity")
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    thr = {o["organ"]: o["threshold"] for o in per_organ}
    organ_p = lambda n, organ: max(probs[n, ci] for ci, (o, _) in enumerate(CLASSES) if o == organ)
    flagged = lambda n: [o for o in T1.SCREEN_ORGANS if organ_p(n, o) >= thr[o]]
    metas = [c["meta"] for c in cases]
    pos_case = next((n for n, m in enumerate(metas) if len(m["lesions_truth"]) == 1
                     and m["lesions_truth"][0]["diameter_mm"] >= 20
                     and flagged(n) == [m["lesions_truth"][0]["organ"]]), None)
    if pos_case is None:  # small development runs: the most confident case with a lesion
        with_lesion = [n for n, m in enumerate(metas) if m["lesions_truth"]]
        pos_case = max(with_lesion, key=lambda n: organ_p(n, metas[n]["lesions_truth"][0]["organ"]))
    neg_case = next((n for n, m in enumerate(metas) if not m["lesions_truth"] and not flagged(n)),
                    next(n for n, m in enumerate(metas) if not m["lesions_truth"]))
    out = []
    workdir = tempfile.mkdtemp(prefix="elysium-parity-")
    try:
        for name, n in (("lesion", pos_case), ("no-lesion", neg_case)):
            m = metas[n]
            entry = {k: m[k] for k in ("split", "index", "seed", "rows", "slices", "contrast", "lesions")}
            case = make_case((entry, elysium, workdir), exact=True)
            assert [list(b) for b in case["meta"]["box"]] == [list(b) for b in m["box"]], "the regenerated phantom differs from the cached one"
            full = infer_case(case, predictor, 2)
            p = full[N_ORGANS:].reshape(N_CLASSES, -1).max(1)
            organ_map = full[:N_ORGANS].argmax(0)
            heat = full[N_ORGANS:].max(0)
            grid_labels = np.zeros(SIZE, np.int64)  # outside the box: background
            grid_labels[tuple(slice(lo, hi) for lo, hi in m["box"])] = organ_map
            positives = [f"{o}/{c}" for ci, (o, c) in enumerate(CLASSES) if p[ci] >= thr[o]]
            organ_prob = {o: max(p[ci] for ci, (oo, _) in enumerate(CLASSES) if oo == o) for o in T1.SCREEN_ORGANS}
            locations = {o: lesion_mm(heat, organ_map, ORGANS.index(T1.SCREEN_TO_PHANTOM[o]), m["box"], m).tolist()
                         for o in T1.SCREEN_ORGANS if organ_prob[o] >= thr[o]}
            out.append({
                "case": name,
                "generator": {"command": "elysium phantom", "patients": 1, "seed": m["seed"], "rows": m["rows"],
                              "slices": m["slices"], "contrast": m["contrast"], "transfer_syntax": "explicit",
                              "lesions": [f"{o}:{d:g}" for o, d in m["lesions"]],
                              "argv": ["phantom", "--out", "<DIR>"] + T1.generator_args(m, "<DIR>")[3:]},
                "expected": {"patient_id": m["patient_id"], "volume_shape_zyx": m["shape"],
                             "body_box_zyx": m["box"], "lesions": m["lesions_truth"],
                             "class_probabilities": [float(v) for v in p],
                             "positive_organs": sorted(locations), "positives": positives,
                             "lesion_location_mm": locations,
                             "organ_labels_rle": rle(grid_labels)},
            })
            log(f"[parity] {name}: phantom seed {m['seed']}, positives {positives}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    doc = {"about": ("End-to-end parity cases for the Rust runtime. Regenerate each series with "
                     "`elysium phantom` and the arguments below (same spec.toml), read it, resample it "
                     f"to the {SIZE[0]} x {SIZE[1]} x {SIZE[2]} grid at 3 mm, crop to the body box and run "
                     "model.onnx by the manifest's sliding window; expected = the training script's numpy "
                     "resampling (float64) and MONAI's sliding_window_inference with onnxruntime. "
                     "organ_labels_rle: [value, count] pairs over the flat C-order grid (z, y, x)."),
           "spec_sha256": T1.spec_sha256(),
           "tolerance": {"class_probabilities_abs": 1e-3, "lesion_location_mm": 1.5,
                         "organ_labels_mismatch_fraction": 1e-3},
           "cases": out}
    json.dump(doc, open(os.path.join(pdir, "cases.json"), "w"), indent=1)


# ---------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------

def write_manifest(path, sha, per_class):
    f = T1.fmt
    L = [f'name = "reference-screening"', f'version = "{VERSION}"', 'task = "screening"',
         'onnx = "model.onnx"', f'sha256 = "{sha}"', "opset = 17", "clinical_use = false",
         "description = " + json.dumps(
             "Reference screening model trained only on Elysium's synthetic CT phantoms "
             "(non-contrast, models/phantom/spec.toml), run patch by patch at 3 mm by sliding "
             "window: per-organ lesion probabilities, an organ label map and a lesion heatmap at "
             "the grid's resolution. A pipeline reference, not a medical device: NOT FOR CLINICAL USE."),
         "", "[input]", 'name = "patch"', f"shape = [1, 1, {', '.join(map(str, PATCH))}]   # N, C, Z, Y, X: one patch",
         "", "[preprocessing]",
         f"target_spacing_mm = [{', '.join(f(v) for v in SPACING)}]   # z, y, x",
         f"size = [{', '.join(map(str, SIZE))}]                  # z, y, x",
         'orientation = "volume"                # slices ascending along the normal (caudal first), rows, columns',
         'interpolation = "trilinear"', f"hu_clip = [{f(HU_CLIP[0])}, {f(HU_CLIP[1])}]", f"fill_hu = {f(P.FILL_HU)}",
         'normalisation = "clip_minmax"          # (hu - lo) / (hi - lo)',
         "", "[sliding_window]", f"patch = [{', '.join(map(str, PATCH))}]", f"overlap = {f(OVERLAP)}",
         'blend = "gaussian"', f"sigma_scale = {f(SIGMA_SCALE)}", "batch = 2", 'output = "probabilities"',
         f"# {BODY_HU:g} HU: grid voxels at or below it are outside the body and never inferred.",
         f"crop_to_body_hu = {f(BODY_HU)}",
         "", "[requirements]",
         "# Trained on whole chest-abdomen-pelvis phantoms (400 mm): shorter scans are outside its domain.",
         f"min_scan_length_mm = {f(T1.MIN_SCAN_LENGTH_MM)}",
         "", "[[outputs]]", 'name = "class_probabilities"', 'kind = "class_probabilities"',
         f"shape = [1, {N_CLASSES}]", "labels = [" + ", ".join(json.dumps(f"{o}/{c}") for o, c in CLASSES) + "]",
         "", "[[outputs]]", 'name = "organ_labels"', 'kind = "organ_label_map"',
         f"shape = [1, {', '.join(map(str, SIZE))}]", "labels = [" + ", ".join(json.dumps(n) for n in ORGANS) + "]",
         "", "[[outputs]]", 'name = "lesion_heatmap"', 'kind = "lesion_heatmap"',
         f"shape = [1, 1, {', '.join(map(str, SIZE))}]",
         "# The lesion's centre: the heat-weighted centre of the region around the organ's peak at",
         "# half the peak's heat or more (the map saturates over a lesion; see MODEL_CARD.md).",
         f'locate = {{ rule = "region", fraction = {f(LOCATE_FRACTION)} }}']
    for r in per_class:
        L += ["", "[[thresholds]]", f'organ = "{r["organ"]}"', f'class = "{r["class"]}"',
              f"threshold = {f(r['threshold'])}", f"specificity = {f(r['specificity'])}",
              f"measured_specificity = {f(r['measured_specificity'])}"]
        if r["n_pos"]:
            L += [f"sensitivity = {f(r['sensitivity'])}", f"auc = {f(r['auc'])}"]
        else:
            L.append("# no phantom has this class: the model gives 0 everywhere, no sensitivity or AUC")
        L.append(f"# held-out positives {r['n_pos']}, negatives {r['n_neg']}")
    open(path, "w").write("\n".join(L) + "\n")
    tomllib.load(open(path, "rb"))  # must parse


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elysium", default="/tmp/elysium-phantom", help="the elysium binary (copy it first)")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--work", default="/root/.cache/elysium/reference-screening-0.2.0",
                    help="phantom cache and training checkpoint")
    ap.add_argument("--train-count", type=int, default=800)
    ap.add_argument("--train-seed", type=int, default=200_000)
    ap.add_argument("--heldout-count", type=int, default=400)
    ap.add_argument("--heldout-seed", type=int, default=910_000)
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12_000)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--pos-weight", type=float, default=10.0)
    ap.add_argument("--lesion-bias", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--data-only", action="store_true", help="generate and cache the phantoms, then stop")
    ap.add_argument("--train-only", action="store_true", help="train (or resume), then stop before evaluation")
    args = ap.parse_args()

    import torch
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    log_path = os.path.join(args.work, "train.log")

    def log(s):
        print(s, flush=True)
        with open(log_path, "a") as fh:
            fh.write(s + "\n")

    t_all = time.time()
    log(f"[run] {' '.join(sys.argv)}")
    train_plan = T1.plan_split("train", args.train_count, args.train_seed, args.rows, args.seed + 11)
    held_plan = T1.plan_split("heldout", args.heldout_count, args.heldout_seed, args.rows, args.seed + 12)
    assert not ({e["seed"] for e in train_plan} & {e["seed"] for e in held_plan})
    t0 = time.time()
    tr = build_split(train_plan, args.elysium, os.path.join(args.work, "data"), args.workers, log)
    ho = build_split(held_plan, args.elysium, os.path.join(args.work, "data"), args.workers, log)
    data_time = time.time() - t0
    if args.data_only:
        return

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"[model] {n_params} parameters")
    train_time = train(model, tr, args, log, os.path.join(args.work, "checkpoint.pt"))
    if args.train_only:
        return
    model.eval()

    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path)
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    log(f"[export] {onnx_path}: {os.path.getsize(onnx_path)} bytes, sha256 {sha}")
    predictor = ort_predictor(onnx_path, args.threads)
    probe = torch.from_numpy(np.stack([to_ct(sample_patch(ho[i], np.random.default_rng(i), 0.5)[0])
                                       for i in range(4)])[:, None])
    with torch.no_grad():
        worst = float((model(probe) - predictor(probe)).abs().max())
    log(f"[export] onnxruntime vs PyTorch on 4 held-out patches: max |dp| {worst:.2e}")

    probs, locations, dice, eval_time = evaluate(ho, predictor, 2, log)
    per_class, per_organ, by_diameter, loc = metrics(ho, probs, locations)
    num = lambda v: "-" if v is None else f"{v:.3f}"
    for r in per_organ:
        log(f"[eval] {r['organ']:<11} AUC {num(r['auc'])} (>=15 mm {num(r['auc_15'])})  t {r['threshold']:.4g}  "
            f"spec {num(r['measured_specificity'])}  sens {num(r['sensitivity'])} (>=15 mm "
            f"{num(r['sensitivity_15'])}, n {r['n_pos_15']})")
    errs = np.array([l["error_mm"] for l in loc])
    if len(errs):
        log(f"[eval] localisation over {len(errs)} detected lesions: median {np.median(errs):.1f} mm, "
            f"p90 {np.percentile(errs, 90):.1f}, max {errs.max():.1f}")
    log("[eval] organ Dice " + ", ".join(f"{k} {v:.3f}" for k, v in dice.items()))

    write_manifest(os.path.join(args.out, "manifest.toml"), sha, per_class)
    write_parity(args.out, ho, probs, per_organ, predictor, args.elysium, log)
    result = {"version": VERSION, "command": " ".join(["train.py"] + sys.argv[1:]), "spec_sha256": T1.spec_sha256(), "n_params": n_params,
              "onnx_bytes": os.path.getsize(onnx_path), "onnx_sha256": sha, "train_seconds": train_time,
              "data_seconds": data_time, "eval_seconds": eval_time, "total_seconds": time.time() - t_all,
              "args": vars(args), "torch": torch.__version__, "python": platform.python_version(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "ort_vs_torch_worst": worst,
              "per_class": per_class, "per_organ": per_organ, "by_diameter": by_diameter,
              "localisation": loc, "organ_dice": dice,
              "train_counts": T1.split_counts([c["meta"] for c in tr]),
              "heldout_counts": T1.split_counts([c["meta"] for c in ho]),
              "heldout_probabilities": probs.tolist()}
    json.dump(result, open(os.path.join(args.out, "metrics.json"), "w"), indent=1, default=T1.to_json)
    json.dump({"train": [T1.slim(c["meta"]) for c in tr], "heldout": [T1.slim(c["meta"]) for c in ho]},
              open(os.path.join(args.out, "phantoms.json"), "w"))
    import card
    result["total_seconds"] = time.time() - t_all
    json.dump(result, open(os.path.join(args.out, "metrics.json"), "w"), indent=1, default=T1.to_json)
    card.write(os.path.join(args.out, "MODEL_CARD.md"), result, result["command"])
    log(f"[done] total {time.time() - t_all:.0f} s")


if __name__ == "__main__":
    main()
