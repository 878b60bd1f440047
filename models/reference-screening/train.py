"""Reference screening model: phantoms -> preprocessing -> training -> ONNX -> calibration.

One command, end to end (see MODEL_CARD.md for the exact one that produced model.onnx):

    python train.py --elysium /tmp/elysium-phantom

1. Plans and generates synthetic CT phantoms with `elysium phantom` (non-contrast, 128 rows):
   a training set and a separate held-out set (disjoint seeds), ~40% lesion-free, the rest one
   lesion (sometimes two) in one of the eight screened organs, diameter uniform in the spec's
   range for that organ. Optionally a small robustness set at 512 rows (not used for
   calibration).
2. Reads each series exactly as the Rust runtime does and preprocesses it (preprocess.py):
   64^3 grid at 6.5 x 6 x 6 mm, trilinear, HU clipped to [-1000, 1000], scaled to [0, 1].
   Targets: organ labels (nearest neighbour at the 32^3 label grid, lesion voxels counted as
   their host organ), lesion coverage (a 32^3 cell is positive when any lesion voxel of the
   phantom's label map falls in it) and the 13 organ/class presence labels.
3. Trains a small 3D CNN on CPU (PyTorch), exports it to ONNX (opset 17, static shapes) and
   checks onnxruntime against PyTorch.
4. On the held-out set only (with the ONNX model, through onnxruntime): per organ and per
   class ROC AUC, the threshold at 99% specificity, measured specificity, sensitivity;
   localisation error of the heatmap peak. Writes manifest.toml, metrics.json, MODEL_CARD.md
   and the parity fixtures.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from multiprocessing import Pool

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import preprocess as P  # noqa: E402

SPEC_PATH = os.path.join(HERE, "..", "phantom", "spec.toml")

# Model organ classes (index = value in `organ_labels`).
ORGAN_LABELS = ["background", "lung", "breast", "esophagus", "stomach", "colon", "liver",
                "pancreas", "kidney", "spleen", "vertebra", "aorta", "heart"]
# Phantom label id (spec.toml) -> model organ class; everything else is background/other.
PHANTOM_NAME_TO_MODEL = {"lung": "lung", "breast": "breast", "esophagus": "esophagus",
                         "stomach": "stomach", "colon": "colon", "liver": "liver",
                         "pancreas": "pancreas", "kidney": "kidney", "spleen": "spleen",
                         "vertebra": "vertebra", "aorta": "aorta", "heart": "heart"}
# The 13 class outputs, in order (organ as screening names it, class).
CLASS_OUTPUTS = [("lung", "Cancer"), ("breast", "BC"), ("esophagus", "EC"), ("esophagus", "nonEC"),
                 ("stomach", "GC"), ("colorectal", "CRC"), ("liver", "HCC"),
                 ("liver", "other_malignant"), ("liver", "other_benign"), ("liver", "cyst"),
                 ("pancreas", "PDAC"), ("pancreas", "nonPDAC"), ("kidney", "RCC")]
SCREEN_ORGANS = ["lung", "breast", "esophagus", "stomach", "colorectal", "liver", "pancreas", "kidney"]
# Screening organ -> phantom organ name (spec [[lesion]].organ) and model organ-label name.
SCREEN_TO_PHANTOM = {o: ("colon" if o == "colorectal" else o) for o in SCREEN_ORGANS}
# Class output -> index of its organ in SCREEN_ORGANS.
CLASS_ORGAN = [SCREEN_ORGANS.index(o) for o, _ in CLASS_OUTPUTS]


def load_spec():
    spec = tomllib.load(open(SPEC_PATH, "rb"))
    rules = {r["organ"]: r for r in spec["lesion"]}
    return spec, rules


def spec_sha256():
    return hashlib.sha256(open(SPEC_PATH, "rb").read()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Data: plans, generation, preprocessing, targets
# ---------------------------------------------------------------------------------------------

def plan_split(name, count, base_seed, rows, rng_seed, lesion_free=0.4, two_lesions=0.15):
    """Deterministic list of phantoms: seed, rows and lesions (phantom organ, diameter mm)."""
    _, rules = load_spec()
    rng = np.random.default_rng([rng_seed, base_seed])  # disjoint seed ranges -> independent plans
    n_free = int(round(count * lesion_free))
    kinds = np.array([0] * n_free + [1] * (count - n_free))
    rng.shuffle(kinds)
    organ_bag = []
    plan = []
    for i, k in enumerate(kinds):
        lesions = []
        if k:
            n = 2 if rng.random() < two_lesions else 1
            for _ in range(n):
                if not organ_bag:  # balanced: every organ once per block of eight
                    organ_bag = list(rng.permutation(SCREEN_ORGANS))
                organ = str(organ_bag.pop())
                if any(l[0] == SCREEN_TO_PHANTOM[organ] for l in lesions):
                    organ_bag.insert(0, organ)
                    continue
                lo, hi = rules[SCREEN_TO_PHANTOM[organ]]["diameter_mm"]
                lesions.append([SCREEN_TO_PHANTOM[organ], round(float(rng.uniform(lo, hi)), 1)])
        plan.append({"split": name, "index": i, "seed": int(base_seed + i), "rows": int(rows),
                     "slices": None, "contrast": False, "lesions": lesions})
    return plan


def generator_args(entry, out_dir):
    args = ["phantom", "--out", out_dir, "--patients", "1", "--seed", str(entry["seed"]),
            "--rows", str(entry["rows"])]
    if entry.get("slices"):
        args += ["--slices", str(entry["slices"])]
    for organ, d in entry["lesions"]:
        args += ["--lesion", f"{organ}:{d:g}"]
    if entry.get("contrast"):
        args.append("--contrast")
    return args


def targets(vol, truth, labels):
    """Organ labels (32^3 uint8), lesion coverage (32^3 uint8), class presence (13 uint8)."""
    lut, host, lesion_label = host_labels(vol, truth, labels)
    organ = lut[P.nearest_labels(host, vol)]
    return organ, lesion_coverage(vol, truth, labels, lesion_label), class_presence(truth)


def host_labels(vol, truth, labels):
    """The phantom label -> model organ table, the label map with each lesion voxel given the
    phantom label of its lesion's host organ, and the lesion label (None without lesions)."""
    names = {int(k): v for k, v in truth["labels"].items()}
    lut = np.zeros(256, np.uint8)
    for pid, name in names.items():
        if name in PHANTOM_NAME_TO_MODEL:
            lut[pid] = ORGAN_LABELS.index(PHANTOM_NAME_TO_MODEL[name])
    lesion_label = None
    host = labels.copy()
    lesions = truth.get("lesions", [])
    if lesions:
        lesion_label = lesions[0]["label"]
        idx = np.argwhere(labels == lesion_label)  # [n, 3] (z, y, x) in sorted order
        if len(idx):
            # Each lesion voxel -> the host organ of the nearest lesion (by lobe surface).
            mm = vol.index_to_mm(idx[:, 0], idx[:, 1], idx[:, 2])
            best = np.full(len(idx), np.inf)
            owner = np.zeros(len(idx), np.int64)
            for li, les in enumerate(lesions):
                for lobe in les.get("lobes") or [{"centre_mm": les["centre_mm"], "radius_mm": les["diameter_mm"] / 2}]:
                    d = np.linalg.norm(mm - np.asarray(lobe["centre_mm"]), axis=1) - lobe["radius_mm"]
                    take = d < best
                    best[take] = d[take]
                    owner[take] = li
            host[idx[:, 0], idx[:, 1], idx[:, 2]] = np.array([lesions[o]["organ_label"] for o in owner], np.uint8)
    return lut, host, lesion_label


def lesion_coverage(vol, truth, labels, lesion_label):
    heat = np.zeros(P.LABEL_SIZE, np.uint8)
    lesions = truth.get("lesions", [])
    if lesion_label is not None:
        idx = np.argwhere(labels == lesion_label)
        pts = [idx[:, 0], idx[:, 1], idx[:, 2]]
        extra = [vol.mm_to_index(l["centre_mm"]) for l in lesions]
        pts = [np.concatenate([pts[a], [e[a] for e in extra]]) for a in range(3)]
        cz, cy, cx = P.label_cell_of_index(vol, *pts)
        ok = ((cz >= 0) & (cz < P.LABEL_SIZE[0]) & (cy >= 0) & (cy < P.LABEL_SIZE[1])
              & (cx >= 0) & (cx < P.LABEL_SIZE[2]))
        heat[cz[ok], cy[ok], cx[ok]] = 1
    return heat


def class_presence(truth):
    cls = np.zeros(len(CLASS_OUTPUTS), np.uint8)
    for les in truth.get("lesions", []):
        organ_name = "colorectal" if les["organ"] == "colon" else les["organ"]
        cls[CLASS_OUTPUTS.index((organ_name, les["class"]))] = 1
    return cls


def generate_phantom(entry, elysium, workdir):
    """Run `elysium phantom` for one planned entry in a new folder under workdir, retrying a
    placement failure with another seed (and from the fifth attempt a 20% smaller lesion).
    Returns the entry as generated (seed, lesions, attempts) and the folder."""
    _, rules = load_spec()
    entry = json.loads(json.dumps(entry))
    base_seed = entry["seed"]
    last_err = ""
    for attempt in range(10):
        if attempt:
            entry["seed"] = base_seed + attempt * 10_000_000  # outside every planned seed range
        if attempt >= 4:
            entry["lesions"] = [[o, round(max(rules[o]["diameter_mm"][0], d * 0.8), 1)]
                                for o, d in entry["lesions"]]
        out = tempfile.mkdtemp(dir=workdir)
        r = subprocess.run([elysium, *generator_args(entry, out)], capture_output=True, text=True)
        if r.returncode == 0:
            break
        last_err = r.stderr[-500:]
        shutil.rmtree(out, ignore_errors=True)
    else:
        raise RuntimeError(f"phantom generation failed for {entry}: {last_err}")
    entry["attempts"] = attempt + 1
    return entry, out


def case_meta(entry, truth, vol):
    """What the evaluation needs of a generated phantom: its plan entry, identifiers, the
    lesions' ground truth and the volume's geometry (to map grid voxels to patient mm)."""
    lesions = []
    for les in truth["lesions"]:
        lesions.append({"organ": "colorectal" if les["organ"] == "colon" else les["organ"],
                        "class": les["class"], "diameter_mm": les["diameter_mm"],
                        "centre_mm": les["centre_mm"], "shape": les["shape"],
                        "centre_index": [float(v) for v in vol.mm_to_index(les["centre_mm"])]})
    return dict(entry, patient_id=truth["patient_id"], series_uid=truth["series_uid"],
                patient_sex=truth["patient_sex"], shape=list(vol.shape),
                spacing=[float(s) for s in vol.spacing], lesions_truth=lesions,
                geometry={"origin": vol.origin.tolist(), "row_cos": vol.row_cos.tolist(),
                          "col_cos": vol.col_cos.tolist(), "normal": vol.normal.tolist(),
                          "spacing": [float(s) for s in vol.spacing]})


def make_case(job):
    """Generate one phantom (retrying placement failures), read and preprocess it."""
    entry, elysium, workdir, keep_dir = job
    entry, out = generate_phantom(entry, elysium, workdir)
    series = [os.path.join(root) for root, _, files in os.walk(out) if "truth.json" in files][0]
    vol = P.read_series(series)
    truth, labels = P.read_truth(series, vol)
    x = P.preprocess(vol)[0, 0]
    organ, heat, cls = targets(vol, truth, labels)
    lz, ly, lx = P.label_grid_coords(vol)
    meta = case_meta(entry, truth, vol)
    meta["geometry"]["label_grid_index"] = [lz.tolist(), ly.tolist(), lx.tolist()]
    if keep_dir:
        dest = os.path.join(keep_dir, f"{entry['split']}-{entry['index']:04d}")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(out, dest)
    else:
        shutil.rmtree(out, ignore_errors=True)
    return x, organ, heat, cls, meta


def build_split(plan, elysium, cache_dir, workers):
    key = hashlib.sha256(json.dumps(plan, sort_keys=True).encode() + spec_sha256().encode()
                         + P.__doc__.encode() + b"v3").hexdigest()[:16]
    path = os.path.join(cache_dir, f"{plan[0]['split']}-{len(plan)}-{key}.npz")
    if os.path.exists(path):
        d = np.load(path, allow_pickle=False)
        meta = json.loads(str(d["meta"]))
        print(f"[data] {plan[0]['split']}: {len(plan)} phantoms from cache {path}", flush=True)
        return d["x"], d["organ"], d["heat"], d["cls"], meta
    os.makedirs(cache_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="elysium-phantoms-")
    t0 = time.time()
    xs, organs, heats, clss, metas = [], [], [], [], []
    with Pool(workers) as pool:
        for i, (x, o, h, c, m) in enumerate(pool.imap(make_case, [(e, elysium, workdir, None) for e in plan])):
            xs.append(x.astype(np.float32)); organs.append(o); heats.append(h); clss.append(c); metas.append(m)
            if (i + 1) % 50 == 0:
                print(f"[data] {plan[0]['split']}: {i + 1}/{len(plan)} ({time.time() - t0:.0f} s)", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    x, organ, heat, cls = np.stack(xs), np.stack(organs), np.stack(heats), np.stack(clss)
    np.savez(path, x=x, organ=organ, heat=heat, cls=cls, meta=json.dumps(metas))
    print(f"[data] {plan[0]['split']}: {len(plan)} phantoms in {time.time() - t0:.0f} s -> {path}", flush=True)
    return x, organ, heat, cls, metas


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

    class ScreeningNet(nn.Module):
        """A small 3D U-Net: 64^3 input (first conv at stride 2), 32^3 organ/lesion maps,
        nearest-neighbour upsampling with concatenated skips (added at 32^3), BatchNorm + ReLU,
        a lesion branch of its own at 32^3 (decoder output + first skip), and an organ-pooled
        class head.

        Input channels made inside the graph from `ct` in [0, 1] (HU = 2000 ct - 1000): the
        full window (HU / 500) and a soft-tissue window clip((HU - 40) / 50, -3, 3), so that
        the tens-of-HU lesions are visible at the first layer. Coordinates (z, y, x in [-1, 1])
        join at the 16^3 level. Class logit c = softplus(a_c) * (m_o - log 0.5) + b_c, where
        m_o is the max over voxels of log P(lesion) + log P(organ o) (o = the class's organ).
        """

        def __init__(self, w=(16, 24, 40, 48)):
            super().__init__()
            self.d1 = nn.Sequential(cbr(2, w[0], 2), cbr(w[0], w[0]))          # 32^3
            self.d2 = nn.Sequential(cbr(w[0], w[1], 2), cbr(w[1], w[1]))       # 16^3
            self.d3 = nn.Sequential(cbr(w[1] + 3, w[2], 2), cbr(w[2], w[2]))   # 8^3
            self.d4 = nn.Sequential(cbr(w[2], w[3], 2), cbr(w[3], w[3]))       # 4^3
            self.u3 = cbr(w[3] + w[2], w[2])                                   # 8^3
            self.u2 = cbr(w[2] + w[1], w[0])                                   # 16^3
            self.u1 = nn.Sequential(cbr(w[0], w[0]), cbr(w[0], w[0]))          # 32^3 (after + skip)
            self.organ = nn.Conv3d(w[0], len(ORGAN_LABELS), 1)
            # The lesion map has features of its own on the decoder output and the first skip:
            # shared with the 13-class organ map alone, the few lesion voxels were outvoted.
            self.lesion_features = cbr(2 * w[0], w[0])
            self.lesion = nn.Conv3d(w[0], 1, 1)
            n = len(CLASS_OUTPUTS)
            self.cls_a = nn.Parameter(torch.full((n,), math.log(math.e ** 2 - 1)))  # softplus = 2
            self.cls_b = nn.Parameter(torch.zeros(n))
            g = torch.linspace(-1.0, 1.0, 16)
            zz, yy, xx = torch.meshgrid(g, g, g, indexing="ij")
            self.register_buffer("coords", torch.stack([zz, yy, xx])[None].contiguous())
            self.register_buffer("screen_index", torch.tensor([ORGAN_LABELS.index(SCREEN_TO_PHANTOM[o])
                                                               for o in SCREEN_ORGANS]))
            self.register_buffer("class_organ", torch.tensor(CLASS_ORGAN))
            with torch.no_grad():
                self.lesion.bias.fill_(-4.0)
                self.cls_b.fill_(-2.0)

        def features(self, ct):
            hu = ct * 2000.0 - 1000.0
            x = torch.cat([hu / 500.0, torch.clamp((hu - 40.0) / 50.0, -3.0, 3.0)], 1)
            f1 = self.d1(x)
            f2 = self.d2(f1)
            f3 = self.d3(torch.cat([f2, self.coords.expand(ct.shape[0], -1, -1, -1, -1)], 1))
            f4 = self.d4(f3)
            up = lambda t: F.interpolate(t, scale_factor=2.0, mode="nearest")
            u3 = self.u3(torch.cat([up(f4), f3], 1))
            u2 = self.u2(torch.cat([up(u3), f2], 1))
            u1 = self.u1(up(u2) + f1)
            return self.organ(u1), self.lesion(self.lesion_features(torch.cat([u1, f1], 1)))

        def heads(self, organ_logits, lesion_logit):
            joint = F.logsigmoid(lesion_logit) + torch.index_select(
                F.log_softmax(organ_logits, 1), 1, self.screen_index)
            m = torch.amax(joint.flatten(2), 2)                  # [N, 8]
            mc = torch.index_select(m, 1, self.class_organ)       # [N, 13]
            return F.softplus(self.cls_a) * (mc - math.log(0.5)) + self.cls_b

        def forward(self, ct):  # the exported graph
            organ_logits, lesion_logit = self.features(ct)
            class_logits = self.heads(organ_logits, lesion_logit)
            return (torch.sigmoid(class_logits), torch.argmax(organ_logits, 1),
                    torch.sigmoid(lesion_logit))

    return ScreeningNet()


def train(model, data, args, log):
    import torch
    import torch.nn.functional as F

    x, organ, heat, cls = data
    n = len(x)
    freq = np.bincount(organ.reshape(-1), minlength=len(ORGAN_LABELS)).astype(np.float64)
    w_organ = (freq.sum() / np.maximum(freq, 1)) ** 0.5
    w_organ = torch.tensor(w_organ / w_organ.mean(), dtype=torch.float32)
    log(f"[train] {n} phantoms, organ voxel fractions "
        + ", ".join(f"{ORGAN_LABELS[i]} {freq[i] / freq.sum():.4f}" for i in range(len(ORGAN_LABELS))))
    X = torch.from_numpy(x)
    O = torch.from_numpy(organ.astype(np.int64))
    H = torch.from_numpy(heat.astype(np.float32))
    C = torch.from_numpy(cls.astype(np.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(n / args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine down to 2%
        opt, lambda s: (s + 1) / warm if s < warm
        else 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        sums = np.zeros(4)
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb, ob, hb, cb = X[idx], O[idx], H[idx][:, None], C[idx]
            if args.shift:
                # In-plane translation by whole label cells (2 input voxels each), air fill.
                dy, dx = (int(v) for v in torch.randint(-args.shift, args.shift + 1, (2,), generator=gen))
                xb, ob, hb = shift(xb, dy, dx, 0.0), shift(ob[:, None], dy, dx, 0)[:, 0], shift(hb, dy, dx, 0.0)
            organ_logits, lesion_logit = model.features(xb[:, None])
            # The class head learns only its 2 scalars per class: its gradient, concentrated on one
            # voxel per organ, would otherwise teach the heatmap a positional prior.
            class_logits = model.heads(organ_logits.detach(), lesion_logit.detach())
            l_organ = F.cross_entropy(organ_logits, ob, weight=w_organ)
            l_bce = F.binary_cross_entropy_with_logits(lesion_logit, hb, pos_weight=torch.tensor(args.pos_weight))
            p = torch.sigmoid(lesion_logit)
            l_dice = 1 - (2 * (p * hb).sum() + 1) / (p.sum() + hb.sum() + 1)
            l_cls = F.binary_cross_entropy_with_logits(class_logits, cb)
            loss = l_organ + l_bce + l_dice + args.cls_weight * l_cls
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            sums += [l_organ.item(), l_bce.item(), l_dice.item(), l_cls.item()]
        sums /= steps_per_epoch
        log(f"[train] epoch {epoch + 1}/{args.epochs}: organ CE {sums[0]:.4f}, lesion BCE {sums[1]:.4f}, "
            f"dice {sums[2]:.4f}, class BCE {sums[3]:.4f} ({time.time() - t0:.0f} s)")
    return time.time() - t0


def shift(t, dy, dx, fill):
    """Translate [N, C, Z, Y, X] by (2*dy, 2*dx) voxels if Z is 64, (dy, dx) if 32; fill the rest."""
    k = 2 if t.shape[-1] == P.SIZE[2] else 1
    dy, dx = dy * k, dx * k
    out = t.new_full(t.shape, fill)
    Y, X = t.shape[-2:]
    ys, yd = (slice(0, Y - dy), slice(dy, Y)) if dy >= 0 else (slice(-dy, Y), slice(0, Y + dy))
    xs, xd = (slice(0, X - dx), slice(dx, X)) if dx >= 0 else (slice(-dx, X), slice(0, X + dx))
    out[..., yd, xd] = t[..., ys, xs]
    return out


# ---------------------------------------------------------------------------------------------
# Export and verification
# ---------------------------------------------------------------------------------------------

def export_onnx(model, path):
    import torch
    model.eval()
    dummy = torch.zeros(1, 1, *P.SIZE)
    torch.onnx.export(model, (dummy,), path, input_names=["ct"],
                      output_names=["class_probabilities", "organ_labels", "lesion_heatmap"],
                      opset_version=17, dynamo=False, do_constant_folding=True, external_data=False)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [17]


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run_ort(sess, x):
    outs = {"class_probabilities": [], "organ_labels": [], "lesion_heatmap": []}
    for i in range(len(x)):
        r = sess.run(None, {"ct": x[i][None, None]})
        for k, v in zip(outs, r):
            outs[k].append(v[0])
    return {k: np.stack(v) for k, v in outs.items()}


def verify_against_torch(model, sess, x, log):
    import torch
    model.eval()
    worst = [0.0, 0.0, 0.0]
    with torch.no_grad():
        for i in range(len(x)):
            tp, tl, th = model(torch.from_numpy(x[i][None, None]))
            op, ol, oh = sess.run(None, {"ct": x[i][None, None]})
            worst[0] = max(worst[0], float(np.abs(tp.numpy() - op).max()))
            worst[1] = max(worst[1], float((tl.numpy() != ol).mean()))
            worst[2] = max(worst[2], float(np.abs(th.numpy() - oh).max()))
    log(f"[export] onnxruntime vs PyTorch on {len(x)} held-out inputs: max |dp| {worst[0]:.2e}, "
        f"organ label disagreement {worst[1]:.2e} (fraction), max |dheat| {worst[2]:.2e}")
    assert worst[0] < 1e-4 and worst[2] < 1e-4 and worst[1] < 1e-3, worst
    return worst


# ---------------------------------------------------------------------------------------------
# Calibration and metrics
# ---------------------------------------------------------------------------------------------

def roc_auc(pos, neg):
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return None
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):  # average ranks over ties
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[:len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_at_specificity(pos, neg, target=0.99):
    """Smallest threshold t (positive iff p >= t) with at most floor((1-target)*n_neg) negatives
    at or above it; t is the midpoint between the highest negative that must be excluded and the
    next higher distinct score of the set (or 1 if none)."""
    neg = np.sort(np.asarray(neg, np.float64))[::-1]
    allowed = int(math.floor((1 - target) * len(neg) + 1e-9))
    excl = neg[allowed]  # the highest negative that must fall below t
    higher = np.concatenate([np.asarray(pos, np.float64), neg])
    higher = higher[higher > excl]
    t = (excl + higher.min()) / 2 if len(higher) else (excl + 1.0) / 2
    t = float(np.float32(t))
    if t <= excl:  # float32 rounding: stay strictly above the excluded negative
        t = float(np.nextafter(np.float32(excl), np.float32(2)))
    spec = float((neg < t).mean())
    sens = float((np.asarray(pos) >= t).mean()) if len(pos) else None
    return t, spec, sens


def heat_peak_mm(heat, organ_map, organ_value, geometry):
    """The Rust runtime's lesion location: the heatmap's peak among the voxels labelled
    organ_value (all voxels if none), refined to the heat-weighted centre of its 3x3x3
    neighbourhood, mapped to patient mm."""
    h = heat.reshape(P.LABEL_SIZE)
    mask = organ_map.reshape(P.LABEL_SIZE) == organ_value
    hv = np.where(mask, h, -np.inf) if mask.any() else h
    k, j, i = np.unravel_index(int(np.argmax(hv)), P.LABEL_SIZE)
    sl = tuple(slice(max(c - 1, 0), min(c + 2, n)) for c, n in zip((k, j, i), P.LABEL_SIZE))
    w = np.maximum(h[sl], 0).astype(np.float64)
    grids = np.meshgrid(*[np.arange(s.start, s.stop) for s in sl], indexing="ij")
    c = [float((w * g).sum() / w.sum()) if w.sum() > 0 else float(v) for g, v in zip(grids, (k, j, i))]
    # label cell c -> 64-grid index 2c + 0.5 -> input index -> mm
    sz, sy, sx = geometry["spacing"]
    idx = []
    shape = geometry["shape"]
    for a in range(3):
        s = geometry["spacing"][a]
        idx.append((shape[a] - 1) / 2.0 + (2 * c[a] + 0.5 - (P.SIZE[a] - 1) / 2.0) * (P.TARGET_SPACING_MM[a] / s))
    o = np.asarray(geometry["origin"])
    mm = (o + idx[2] * sx * np.asarray(geometry["row_cos"]) + idx[1] * sy * np.asarray(geometry["col_cos"])
          + idx[0] * sz * np.asarray(geometry["normal"]))
    return mm, float(h[k, j, i])


def evaluate(outs, cls, metas, target_spec=0.99):
    probs = outs["class_probabilities"]
    per_class, per_organ = [], []
    for ci, (organ, klass) in enumerate(CLASS_OUTPUTS):
        organ_pos = np.array([any(l["organ"] == organ for l in m["lesions_truth"]) for m in metas])
        pos = probs[cls[:, ci] == 1, ci]
        neg = probs[~organ_pos, ci]  # negatives: no lesion in that organ
        t, spec, sens = threshold_at_specificity(pos, neg, target_spec)
        per_class.append({"organ": organ, "class": klass, "threshold": t, "specificity": target_spec,
                          "measured_specificity": spec, "sensitivity": sens if len(pos) else None,
                          "auc": roc_auc(pos, neg), "n_pos": int(len(pos)), "n_neg": int(len(neg))})
    for oi, organ in enumerate(SCREEN_ORGANS):
        cols = [ci for ci, (o, _) in enumerate(CLASS_OUTPUTS) if o == organ]
        p = probs[:, cols].max(1)
        organ_pos = np.array([any(l["organ"] == organ for l in m["lesions_truth"]) for m in metas])
        t, spec, sens = threshold_at_specificity(p[organ_pos], p[~organ_pos], target_spec)
        # sensitivity by diameter
        diam = []
        for m, pp in zip(metas, p):
            for l in m["lesions_truth"]:
                if l["organ"] == organ:
                    diam.append((l["diameter_mm"], pp >= t))
        per_organ.append({"organ": organ, "auc": roc_auc(p[organ_pos], p[~organ_pos]), "threshold": t,
                          "measured_specificity": spec, "sensitivity": sens,
                          "n_pos": int(organ_pos.sum()), "n_neg": int((~organ_pos).sum()),
                          "detected_by_diameter": diam})
    # Localisation for true positives (organ level).
    loc = []
    for oi, organ in enumerate(SCREEN_ORGANS):
        t = per_organ[oi]["threshold"]
        cols = [ci for ci, (o, _) in enumerate(CLASS_OUTPUTS) if o == organ]
        value = ORGAN_LABELS.index(SCREEN_TO_PHANTOM[organ])
        for n, m in enumerate(metas):
            les = [l for l in m["lesions_truth"] if l["organ"] == organ]
            if not les or probs[n, cols].max() < t:
                continue
            geom = dict(m["geometry"], shape=m["shape"])
            mm, peak = heat_peak_mm(outs["lesion_heatmap"][n], outs["organ_labels"][n], value, geom)
            for l in les:
                d = float(np.linalg.norm(mm - np.asarray(l["centre_mm"])))
                loc.append({"organ": organ, "diameter_mm": l["diameter_mm"], "error_mm": d,
                            "peak": peak, "case": m["patient_id"]})
    return per_class, per_organ, loc


def size_bins(per_organ):
    bins = [(0, 10), (10, 20), (20, 30), (30, 1000)]
    rows = []
    for lo, hi in bins:
        hits = [(d, ok) for o in per_organ for d, ok in o["detected_by_diameter"] if lo <= d < hi]
        rows.append((lo, hi, len(hits), sum(ok for _, ok in hits)))
    return rows


# ---------------------------------------------------------------------------------------------
# Outputs: manifest, parity fixtures, model card
# ---------------------------------------------------------------------------------------------

def fmt(v):
    return repr(float(v))


# Series shorter than this along the body are skipped (the phantoms are 400 mm long).
MIN_SCAN_LENGTH_MM = 300.0


def write_manifest(path, sha, per_class, description):
    L = []
    L.append('name = "reference-screening"')
    L.append('version = "0.1.0"')
    L.append('task = "screening"')
    L.append('onnx = "model.onnx"')
    L.append(f'sha256 = "{sha}"')
    L.append("opset = 17")
    L.append("clinical_use = false")
    L.append(f"description = {json.dumps(description)}")
    L.append("")
    L.append("[input]")
    L.append('name = "ct"')
    L.append("shape = [1, 1, 64, 64, 64]   # N, C, Z, Y, X")
    L.append("")
    L.append("[preprocessing]")
    L.append(f"target_spacing_mm = [{', '.join(fmt(v) for v in P.TARGET_SPACING_MM)}]   # z, y, x")
    L.append(f"size = [{', '.join(str(v) for v in P.SIZE)}]                   # z, y, x")
    L.append('orientation = "volume"                # slices ascending along the normal (caudal first), rows, columns')
    L.append('interpolation = "trilinear"')
    L.append(f"hu_clip = [{fmt(P.HU_CLIP[0])}, {fmt(P.HU_CLIP[1])}]")
    L.append(f"fill_hu = {fmt(P.FILL_HU)}")
    L.append('normalisation = "clip_minmax"          # (hu - lo) / (hi - lo)')
    L.append("")
    L.append("[requirements]")
    L.append("# Trained on whole chest-abdomen-pelvis phantoms (400 mm): shorter scans are outside its domain.")
    L.append(f"min_scan_length_mm = {fmt(MIN_SCAN_LENGTH_MM)}")
    L.append("")
    L.append("[[outputs]]")
    L.append('name = "class_probabilities"')
    L.append('kind = "class_probabilities"')
    L.append(f"shape = [1, {len(CLASS_OUTPUTS)}]")
    L.append("labels = [" + ", ".join(json.dumps(f"{o}/{c}") for o, c in CLASS_OUTPUTS) + "]")
    L.append("")
    L.append("[[outputs]]")
    L.append('name = "organ_labels"')
    L.append('kind = "organ_label_map"')
    L.append("shape = [1, 32, 32, 32]")
    L.append("stride = 2")
    L.append("labels = [" + ", ".join(json.dumps(n) for n in ORGAN_LABELS) + "]")
    L.append("")
    L.append("[[outputs]]")
    L.append('name = "lesion_heatmap"')
    L.append('kind = "lesion_heatmap"')
    L.append("shape = [1, 1, 32, 32, 32]")
    L.append("stride = 2")
    for r in per_class:
        L.append("")
        L.append("[[thresholds]]")
        L.append(f'organ = "{r["organ"]}"')
        L.append(f'class = "{r["class"]}"')
        L.append(f"threshold = {fmt(r['threshold'])}")
        L.append(f"specificity = {fmt(r['specificity'])}")
        L.append(f"measured_specificity = {fmt(r['measured_specificity'])}")
        if r["n_pos"]:
            L.append(f"sensitivity = {fmt(r['sensitivity'])}")
            L.append(f"auc = {fmt(r['auc'])}")
        else:
            L.append("# no phantom ever has this class: no positives, so no sensitivity or AUC")
        L.append(f"# held-out positives {r['n_pos']}, negatives {r['n_neg']}")
    open(path, "w").write("\n".join(L) + "\n")
    tomllib.load(open(path, "rb"))  # must parse


def rle(a):
    a = np.asarray(a).reshape(-1)
    change = np.flatnonzero(np.diff(a)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(a)]])
    return [[int(a[s]), int(e - s)] for s, e in zip(starts, ends)]


def scipy_case_tensor(entry, elysium):
    """Regenerates a phantom with `elysium phantom` and resamples it with scipy (the reference
    the Rust preprocessing is tested against)."""
    import check_preprocess
    out = tempfile.mkdtemp(prefix="elysium-parity-")
    try:
        subprocess.run([elysium, *generator_args(entry, out)], check=True, capture_output=True)
        series = [root for root, _, files in os.walk(out) if "truth.json" in files][0]
        return check_preprocess.scipy_tensor(P.read_series(series))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def write_parity(out_dir, x, outs, metas, per_organ, elysium, sess, log):
    pdir = os.path.join(out_dir, "parity")
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    thr = {o["organ"]: o["threshold"] for o in per_organ}
    probs = outs["class_probabilities"]

    def organ_p(n, organ):
        return max(probs[n, ci] for ci, (o, _) in enumerate(CLASS_OUTPUTS) if o == organ)

    pos_case = neg_case = None
    for n, m in enumerate(metas):
        if pos_case is None and len(m["lesions_truth"]) == 1 and m["lesions_truth"][0]["organ"] == "liver" \
                and organ_p(n, "liver") >= thr["liver"] and m["lesions_truth"][0]["diameter_mm"] >= 20 \
                and all(organ_p(n, o) < thr[o] for o in SCREEN_ORGANS if o != "liver"):
            pos_case = n
        if neg_case is None and not m["lesions_truth"] and all(organ_p(n, o) < thr[o] for o in SCREEN_ORGANS):
            neg_case = n
    if pos_case is None:  # fallback (small development runs): the most confident single-lesion case
        single = [n for n, m in enumerate(metas) if len(m["lesions_truth"]) == 1]
        pos_case = max(single, key=lambda n: organ_p(n, metas[n]["lesions_truth"][0]["organ"]))
    if neg_case is None:
        neg_case = next(n for n, m in enumerate(metas) if not m["lesions_truth"])
    cases = []
    for name, n in (("lesion", pos_case), ("no-lesion", neg_case)):
        m = metas[n]
        # The fixture input is scipy's resampling of the regenerated series, and the expected
        # outputs are onnxruntime's on exactly that tensor.
        xi = scipy_case_tensor(m, elysium)
        numpy_vs_scipy = float(np.abs(xi - x[n]).max())
        assert numpy_vs_scipy <= 1e-5, f"regenerated {name} phantom differs from the cached one: {numpy_vs_scipy}"
        o = run_ort(sess, xi[None])
        o = {k: v[0] for k, v in o.items()}
        xi.astype("<f4").tofile(os.path.join(pdir, f"{name}.ct.f32"))
        o["lesion_heatmap"].astype("<f4").reshape(-1).tofile(os.path.join(pdir, f"{name}.lesion_heatmap.f32"))
        res = {"case": name,
               "class_probabilities": [float(v) for v in o["class_probabilities"]],
               "organ_labels_rle": rle(o["organ_labels"]),
               "lesion_heatmap_file": f"{name}.lesion_heatmap.f32",
               "lesion_heatmap_max": float(o["lesion_heatmap"].max()),
               "lesion_heatmap_argmax_flat": int(np.argmax(o["lesion_heatmap"]))}
        json.dump(res, open(os.path.join(pdir, f"{name}.outputs.json"), "w"), indent=1)
        probs_n = o["class_probabilities"]
        positives = [f"{org}/{c}" for ci, (org, c) in enumerate(CLASS_OUTPUTS)
                     if probs_n[ci] >= per_class_thresholds[ci]]
        cases.append({
            "case": name,
            "generator": {"command": "elysium phantom", "patients": 1, "seed": m["seed"],
                          "rows": m["rows"], "slices": m["slices"], "contrast": m["contrast"],
                          "transfer_syntax": "explicit",
                          "lesions": [f"{o}:{d:g}" for o, d in m["lesions"]],
                          "argv": ["phantom", "--out", "<DIR>"] + generator_args(m, "<DIR>")[3:]},
            "expected": {"patient_id": m["patient_id"], "series_uid": m["series_uid"],
                         "volume_shape_zyx": m["shape"], "spacing_zyx_mm": m["spacing"],
                         "lesions": m["lesions_truth"], "positives_at_manifest_thresholds": positives},
            "files": {"ct": f"{name}.ct.f32", "outputs": f"{name}.outputs.json",
                      "lesion_heatmap": f"{name}.lesion_heatmap.f32"},
            "ct_sha256": hashlib.sha256(xi.astype("<f4").tobytes()).hexdigest(),
            "numpy_vs_scipy_max_abs": numpy_vs_scipy,
        })
    doc = {
        "about": ("Parity fixtures for the Rust runtime. Regenerate each case's DICOM series with "
                  "`elysium phantom` and the arguments below (same spec.toml, spec sha256 below), read "
                  "and preprocess it per manifest.toml, and compare with <case>.ct.f32 (raw little-endian "
                  "float32, C order, shape [1, 1, 64, 64, 64]: scipy.ndimage.map_coordinates, order 1, "
                  "of the regenerated series, clipped and normalised); then run model.onnx on it and compare "
                  "with <case>.outputs.json (organ_labels as run-length pairs [value, count] over the flat "
                  "C-order [1, 32, 32, 32] array) and <case>.lesion_heatmap.f32 (raw little-endian "
                  "float32, [1, 1, 32, 32, 32]), onnxruntime's outputs on that tensor. scipy computed the "
                  "tensor in float64 before the final float32 cast; an f32 implementation should agree "
                  "to ~1e-6 (absolute, [0, 1] units)."),
        "spec_sha256": spec_sha256(),
        "generated_with": os.path.basename(elysium),
        "tolerance": {"ct_abs": 1e-5, "class_probabilities_abs": 1e-4, "lesion_heatmap_abs": 1e-4,
                      "organ_labels_mismatch_fraction": 0.001},
        "cases": cases,
    }
    json.dump(doc, open(os.path.join(pdir, "cases.json"), "w"), indent=1)
    log(f"[parity] cases: {[(c['case'], c['generator']['seed'], c['generator']['lesions']) for c in cases]}")
    return doc


per_class_thresholds = []  # filled by main() before write_parity


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elysium", default="/tmp/elysium-phantom", help="the elysium binary (copy it first)")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--cache", default="/root/.cache/elysium/reference-screening-data")
    ap.add_argument("--train-count", type=int, default=1200)
    ap.add_argument("--train-seed", type=int, default=100_000)
    ap.add_argument("--heldout-count", type=int, default=300)
    ap.add_argument("--heldout-seed", type=int, default=900_000)
    ap.add_argument("--robust-count", type=int, default=24, help="extra held-out phantoms at 512 rows (0: none)")
    ap.add_argument("--robust-seed", type=int, default=950_000)
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--pos-weight", type=float, default=20.0)
    ap.add_argument("--cls-weight", type=float, default=1.0)
    ap.add_argument("--shift", type=int, default=1, help="max in-plane shift augmentation, label cells")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-card", action="store_true", help="skip MODEL_CARD.md (development runs)")
    ap.add_argument("--data-only", action="store_true", help="generate and cache the phantom sets, then stop")
    args = ap.parse_args()

    import torch
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    # Seeded, fixed thread count; torch.use_deterministic_algorithms is left off (6x slower on CPU).
    os.makedirs(args.out, exist_ok=True)
    log_lines = []

    def log(s):
        print(s, flush=True)
        log_lines.append(s)

    t_all = time.time()
    train_plan = plan_split("train", args.train_count, args.train_seed, args.rows, args.seed + 1)
    held_plan = plan_split("heldout", args.heldout_count, args.heldout_seed, args.rows, args.seed + 2)
    assert not ({e["seed"] for e in train_plan} & {e["seed"] for e in held_plan})
    t0 = time.time()
    tr = build_split(train_plan, args.elysium, args.cache, args.workers)
    ho = build_split(held_plan, args.elysium, args.cache, args.workers)
    rb = None
    if args.robust_count:
        rb_plan = plan_split("robust512", args.robust_count, args.robust_seed, 512, args.seed + 3)
        rb = build_split(rb_plan, args.elysium, args.cache, args.workers)
    data_time = time.time() - t0
    log(f"[data] ready in {data_time:.0f} s")
    if args.data_only:
        return

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"[model] {n_params} parameters")
    train_time = train(model, tr[:4], args, log)
    model.eval()

    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path)
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    size = os.path.getsize(onnx_path)
    log(f"[export] {onnx_path}: {size} bytes, sha256 {sha}")
    sess = ort_session(onnx_path)
    parity_worst = verify_against_torch(model, sess, ho[0][:16], log)

    t0 = time.time()
    outs = run_ort(sess, ho[0])
    log(f"[eval] onnxruntime on {len(ho[0])} held-out phantoms: {time.time() - t0:.1f} s")
    per_class, per_organ, loc = evaluate(outs, ho[3], ho[4])
    per_class_thresholds[:] = [r["threshold"] for r in per_class]
    # organ-label agreement on held-out (voxel accuracy and per-organ Dice)
    pred, true = outs["organ_labels"], ho[1]
    dice = {}
    for v, name in enumerate(ORGAN_LABELS):
        a, b = pred == v, true == v
        dice[name] = float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
    for r in per_organ:
        log(f"[eval] {r['organ']:<11} AUC {r['auc']:.3f}  t {r['threshold']:.4g}  spec "
            f"{r['measured_specificity']:.3f}  sens {r['sensitivity']:.3f}  (+{r['n_pos']}/-{r['n_neg']})")
    errs = np.array([l["error_mm"] for l in loc])
    if len(errs):
        log(f"[eval] localisation over {len(errs)} detected lesions: median {np.median(errs):.1f} mm, "
            f"mean {errs.mean():.1f}, p90 {np.percentile(errs, 90):.1f}, max {errs.max():.1f}")
    log("[eval] organ Dice " + ", ".join(f"{k} {v:.3f}" for k, v in dice.items()))

    robust = None
    if rb is not None:
        routs = run_ort(sess, rb[0])
        rprobs = routs["class_probabilities"]
        thr_o = {o["organ"]: o["threshold"] for o in per_organ}
        tp = fn = fp = tn = 0
        for n, m in enumerate(rb[4]):
            for organ in SCREEN_ORGANS:
                p = max(rprobs[n, ci] for ci, (o, _) in enumerate(CLASS_OUTPUTS) if o == organ)
                is_pos = any(l["organ"] == organ for l in m["lesions_truth"])
                hit = p >= thr_o[organ]
                tp += is_pos and hit; fn += is_pos and not hit; fp += (not is_pos) and hit; tn += (not is_pos) and not hit
        rdice = {}
        for v, name in enumerate(ORGAN_LABELS):
            a, b = routs["organ_labels"] == v, rb[1] == v
            rdice[name] = float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
        robust = {"n": len(rb[0]), "tp": tp, "fn": fn, "fp": fp, "tn": tn, "dice": rdice}
        log(f"[eval] 512-row robustness set ({len(rb[0])} phantoms, held-out thresholds): organ-level "
            f"TP {tp} FN {fn} FP {fp} TN {tn}")

    write_manifest(os.path.join(args.out, "manifest.toml"), sha, per_class,
                   "Reference screening model trained only on Elysium's synthetic CT phantoms "
                   "(non-contrast, models/phantom/spec.toml): 13 organ/class lesion-presence "
                   "probabilities, a coarse organ label map and a lesion heatmap. A pipeline reference, "
                   "not a medical device: NOT FOR CLINICAL USE.")
    parity = write_parity(args.out, ho[0], outs, ho[4], per_organ, args.elysium, sess, log)
    metrics = {"spec_sha256": spec_sha256(), "n_params": n_params, "onnx_bytes": size, "onnx_sha256": sha, "train_seconds": train_time,
               "data_seconds": data_time, "total_seconds": time.time() - t_all, "args": vars(args),
               "torch": torch.__version__, "python": platform.python_version(),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
               "ort_vs_torch_worst": parity_worst, "per_class": per_class,
               "per_organ": [{k: v for k, v in r.items() if k != "detected_by_diameter"} for r in per_organ],
               "sensitivity_by_diameter": size_bins(per_organ), "localisation": loc, "organ_dice": dice,
               "robust512": robust,
               "train_counts": split_counts(tr[4]), "heldout_counts": split_counts(ho[4]),
               "train_seeds": [e["seed"] for e in tr[4]], "heldout_seeds": [e["seed"] for e in ho[4]],
               "log": log_lines}
    json.dump(metrics, open(os.path.join(args.out, "metrics.json"), "w"), indent=1, default=to_json)
    json.dump({"train": [slim(m) for m in tr[4]], "heldout": [slim(m) for m in ho[4]],
               "robust512": [slim(m) for m in rb[4]] if rb else []},
              open(os.path.join(args.out, "phantoms.json"), "w"))
    if not args.no_card:
        import model_card
        model_card.write(os.path.join(args.out, "MODEL_CARD.md"), metrics, sys.argv)
    log(f"[done] total {time.time() - t_all:.0f} s")


def to_json(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def slim(m):
    return {"seed": m["seed"], "rows": m["rows"], "slices": m["slices"], "lesions": m["lesions"],
            "patient_id": m["patient_id"], "sex": m["patient_sex"], "attempts": m["attempts"]}


def split_counts(metas):
    c = {"phantoms": len(metas), "lesion_free": sum(not m["lesions_truth"] for m in metas),
         "two_lesions": sum(len(m["lesions_truth"]) == 2 for m in metas),
         "female": sum(m["patient_sex"] == "F" for m in metas)}
    for organ in SCREEN_ORGANS:
        c[organ] = sum(any(l["organ"] == organ for l in m["lesions_truth"]) for m in metas)
    return c


if __name__ == "__main__":
    main()
