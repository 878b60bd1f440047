"""MODEL_CARD.md of reference-screening 0.2.0, written from metrics.json (train.py calls it;
`python card.py` rewrites the card from the metrics.json beside it)."""

from __future__ import annotations

import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BINS = [(0, 10), (10, 15), (15, 20), (20, 30), (30, 1000)]


def wilson(k, n, z=1.96):
    """95% Wilson score interval of k successes in n (None when n is 0)."""
    if n == 0:
        return None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [max(0.0, c - h), min(1.0, c + h)]


def num(v, digits=3):
    return "—" if v is None else f"{v:.{digits}f}"


def ci(v):
    return "—" if not v else f"{v[0]:.2f}–{v[1]:.2f}"


def write(path, m, command):
    per_organ, per_class = m["per_organ"], m["per_class"]
    loc = m["localisation"]
    errs = np.array([l["error_mm"] for l in loc]) if loc else np.array([])
    tr, ho = m["train_counts"], m["heldout_counts"]
    organs = [r["organ"] for r in per_organ]
    a = m["args"]
    met = [r for r in per_organ if (r["auc_15"] or 0) >= 0.95 and (r["sensitivity_15"] or 0) >= 0.80]
    L = []
    w = L.append
    w(f"# Reference screening model (`reference-screening` {m['version']})")
    w("")
    w("> **NOT FOR CLINICAL USE.** Trained and evaluated only on Elysium's synthetic CT phantoms")
    w("> (`elysium phantom`, `models/phantom/spec.toml`): geometric organs of constant mean with")
    w("> white noise and spherical or lobulated lesions. Its figures describe those phantoms and")
    w("> nothing else. The manifest says `clinical_use = false`.")
    w("")
    w("## What it is")
    w("")
    w("The second version of the pipeline's reference model, and the first that runs as the")
    w("models hospitals deploy do: patch by patch at 3 mm, by sliding window. 0.1.0")
    w("(`../reference-screening/`) sees the whole body on one 64^3 grid at 6 mm, where a 15 mm")
    w("lesion is two voxels; it stays in the registry so that versions can be compared.")
    w("")
    w("## Interface (`manifest.toml`)")
    w("")
    w("* Grid: the series (slices ascending along the normal) resampled trilinearly to 136 x 128 x")
    w("  128 voxels at 3 mm (z, y, x; 408 x 384 x 384 mm, centred on the volume, -1000 HU outside")
    w("  it), HU clipped to [-1000, 1000] and scaled to [0, 1].")
    w("* `[sliding_window]`: the box of grid voxels above -500 HU (the body) is tiled by 64^3")
    w("  patches overlapping by half; each patch's output is weighted by a Gaussian (sigma 1/8 of")
    w("  the patch) and blended (MONAI's `sliding_window_inference`, which Elysium's runtime")
    w("  reproduces to 1e-4). Outside the box every voxel is background with no lesion.")
    w("* Network input `patch`: float32 `[N, 1, 64, 64, 64]`; output `probabilities`: float32")
    w("  `[N, 26, 64, 64, 64]`, per voxel the 13 organ-label probabilities (softmax; `background,")
    w("  lung, breast, esophagus, stomach, colon, liver, pancreas, kidney, spleen, vertebra, aorta,")
    w("  heart`) and for each of the 13 class outputs P(lesion) x P(the class's organ).")
    w("* The runtime makes the manifest's outputs from the blended maps: each class probability is")
    w("  the maximum of its map (the lesion evidence), the organ label map is the most probable")
    w("  label per voxel and the heatmap the maximum over the class maps, both at 3 mm.")
    w("* `esophagus/nonEC`, `liver/other_malignant`, `liver/other_benign`, `liver/cyst` and")
    w("  `pancreas/nonPDAC`: no phantom has them, and their maps are zero by construction (the")
    w("  model does not claim them, unlike 0.1.0, whose untrained heads gave small noise).")
    w("")
    w("## Architecture")
    w("")
    w(f"A 3D U-Net, **{m['n_params']:,} parameters**, ONNX opset 17, batch dimension free,")
    w(f"**{m['onnx_bytes']:,} bytes** (`model.onnx`, sha256 `{m['onnx_sha256']}`).")
    w("")
    w("* In the graph, from `patch` (HU = 2000 x - 1000): HU / 500 and a soft-tissue window")
    w("  clip((HU - 40) / 50, -3, 3).")
    w("* Encoder: 3x3x3 conv + BatchNorm + ReLU pairs at 64^3 (8 channels, filtering only), 32^3")
    w("  (24), 16^3 (40), 8^3 (64), 4^3 (80), stride-2 down-sampling.")
    w("* Decoder: nearest-neighbour up-sampling with concatenated skips back to 32^3 (6 mm); a 1x1")
    w("  head gives 13 organ logits, and a lesion branch (one block on the decoder output and the")
    w("  32^3 skip, then 1x1) one lesion logit; both are up-sampled trilinearly to the patch.")
    w("")
    w("## Data")
    w("")
    w(f"All synthetic: `elysium phantom --patients 1 --seed S --rows {a['rows']} [--lesion ORGAN:D ...]`,")
    w("non-contrast, 160 slices of 2.5 mm, 2.97 mm pixels, planned as for 0.1.0 (40% lesion-free,")
    w("the rest one lesion, 15% of those two in different organs, organs balanced in blocks of")
    w("eight, diameters uniform in the spec's range: lung 4-40, breast 5-30, esophagus 8-35,")
    w("stomach and colorectal 8-50, liver 5-60, pancreas 5-35, kidney 5-50 mm). Seeds of the two")
    w("sets are disjoint, and disjoint from 0.1.0's.")
    w("")
    w("| set | seeds | phantoms | lesion-free | two lesions | " + " | ".join(organs) + " |")
    w("|---|---|---|---|---|" + "---|" * len(organs))
    for name, c, seed in (("training", tr, a["train_seed"]), ("held-out", ho, a["heldout_seed"])):
        w(f"| {name} | {seed}.. | {c['phantoms']} | {c['lesion_free']} | {c['two_lesions']} | "
          + " | ".join(str(c[o]) for o in organs) + " |")
    w("")
    w("Targets on the 3 mm grid: the organ label of each voxel (nearest neighbour of the phantom's")
    w("label map; lesion voxels count as their host organ) and a lesion mask (lesion voxels, and")
    w("the voxel of each lesion's centre).")
    w("")
    w("## Training")
    w("")
    w("Exact command (from `models/reference-screening-0.2.0/`, the phantom generator copied to")
    w("`/tmp/elysium-phantom` first; the venv of `requirements.txt`):")
    w("")
    w("```sh")
    w("python3 -m venv /root/.cache/elysium/train-venv")
    w("/root/.cache/elysium/train-venv/bin/pip install -r requirements.txt")
    w("cp /root/.cache/elysium/target/debug/elysium /tmp/elysium-phantom")
    w(f"/root/.cache/elysium/train-venv/bin/python {command}")
    w("```")
    w("")
    w("The run is resumable: phantoms are cached one file each, and the network is checkpointed")
    w(f"every {a['ckpt_every']} steps under `--work`; the same command continues where it stopped (the")
    w("batch of a step depends only on the seed and the step).")
    w("")
    w(f"* Machine: {m['machine']}, no GPU; PyTorch {m['torch']} (run on the CPU), Python {m['python']},")
    w(f"  {a['threads']} threads.")
    w(f"* **Training time: {m['train_seconds'] / 60:.0f} min** ({a['steps']:,} steps of {a['batch']} patches);")
    w(f"  phantoms {m['data_seconds'] / 60:.1f} min (cached between runs); held-out evaluation")
    if m["total_seconds"] < m["train_seconds"]:  # the command resumed a finished training
        w(f"  {m['eval_seconds'] / 60:.1f} min; the last run of the command resumed the finished training")
        w(f"  from its checkpoint and took {m['total_seconds'] / 60:.0f} min (export, evaluation, this card).")
    else:
        w(f"  {m['eval_seconds'] / 60:.1f} min; whole run {m['total_seconds'] / 60:.0f} min.")
    w(f"* AdamW (lr {a['lr']:g}, weight decay 1e-4), linear warm-up over 2% of the steps then cosine")
    w(f"  decay to 2%; loss = organ cross-entropy (class weights ~ frequency^-1/2) + lesion BCE")
    w(f"  (pos_weight {a['pos_weight']:g}) + soft Dice of the lesion map. Patches: random in the body box,")
    w(f"  or, with probability {a['lesion_bias']:g} when the phantom has a lesion, around one (centre within")
    w("  24 voxels). No flips: anatomy is lateralised (liver right, spleen left).")
    w(f"* Export: `torch.onnx.export` (TorchScript exporter, opset 17). onnxruntime vs PyTorch on four")
    w(f"  held-out patches: max |dp| {m['ort_vs_torch_worst']:.1e}.")
    w("")
    w("## Held-out metrics")
    w("")
    w(f"{ho['phantoms']} held-out phantoms, never trained on, each run through the manifest's window")
    w("(MONAI's `sliding_window_inference` with onnxruntime as the predictor). Per organ the")
    w("probability is the maximum over that organ's classes; negatives are the phantoms without a")
    w("lesion in that organ. The threshold gives 99% specificity on those negatives (at most")
    w("floor(1% x negatives) at or above it, midway to the next score). AUC (15 mm+) compares the")
    w("phantoms with a lesion of 15 mm or more in the organ with all negatives (95% bootstrap")
    w("interval, 1,000 resamples); sensitivities have 95% Wilson intervals.")
    w("")
    w("| organ | AUC (all) | AUC 15 mm+ (95% CI) | threshold | specificity (95% CI) | sensitivity, all (95% CI) | sensitivity 15 mm+ (95% CI) | positives (15 mm+) | negatives | target met |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in per_organ:
        ok = r in met
        w(f"| {r['organ']} | {num(r['auc'])} | {num(r['auc_15'])} ({ci(r['auc_15_ci'])}) | {r['threshold']:.4g} | "
          f"{num(r['measured_specificity'])} ({ci(r['specificity_ci'])}) | {num(r['sensitivity'])} ({ci(r['sensitivity_ci'])}) | "
          f"{num(r['sensitivity_15'])} ({ci(r['sensitivity_15_ci'])}) | {r['n_pos']} ({r['n_pos_15']}) | {r['n_neg']} | "
          f"{'yes' if ok else '**no**'} |")
    w("")
    w(f"Target (AUC >= 0.95 and sensitivity >= 0.80 at 99% specificity for lesions of 15 mm or more):")
    w(f"met in **{len(met)} of {len(per_organ)}** organs"
      + ("." if len(met) == len(per_organ) else f"; not met: {', '.join(r['organ'] for r in per_organ if r not in met)}."))
    w("")
    w("Per class (the manifest's `[[thresholds]]`; the five classes no phantom has are zero maps):")
    w("")
    w("| output | AUC | threshold | measured specificity | sensitivity | positives | negatives |")
    w("|---|---|---|---|---|---|---|")
    for r in per_class:
        w(f"| {r['organ']}/{r['class']} | {num(r['auc'])} | {r['threshold']:.4g} | {num(r['measured_specificity'])} | "
          f"{num(r['sensitivity'])} | {r['n_pos']} | {r['n_neg']} |")
    w("")
    w("Sensitivity at the per-organ thresholds by lesion diameter (all organs together):")
    w("")
    w("| diameter | lesions | detected | sensitivity (95% CI) |")
    w("|---|---|---|---|")
    for lo, hi in BINS:
        hits = [d["detected"] for d in m["by_diameter"] if lo <= d["diameter_mm"] < hi]
        k = sum(hits)
        label = f">= {lo} mm" if hi >= 1000 else f"{lo}-{hi} mm"
        w(f"| {label} | {len(hits)} | {k} | {num(k / len(hits) if hits else None, 2)} ({ci(wilson(k, len(hits)))}) |")
    w("")
    w("And per organ, lesions of 15 mm or more against smaller ones:")
    w("")
    w("| organ | < 15 mm: detected / lesions | >= 15 mm: detected / lesions |")
    w("|---|---|---|")
    for o in organs:
        small = [d["detected"] for d in m["by_diameter"] if d["organ"] == o and d["diameter_mm"] < 15]
        big = [d["detected"] for d in m["by_diameter"] if d["organ"] == o and d["diameter_mm"] >= 15]
        w(f"| {o} | {sum(small)} / {len(small)} | {sum(big)} / {len(big)} |")
    w("")
    w("### Localisation")
    w("")
    if len(errs):
        w(f"For the {len(errs)} lesions of true-positive organs, the runtime's location (the manifest's")
        w("`locate` rule: the heat-weighted centre of the region connected to the heatmap's peak among")
        w("the voxels labelled with that organ, at half the peak's heat or more, mapped to patient")
        w("millimetres) against `truth.json`'s centre:")
        w(f"median **{np.median(errs):.1f} mm**, 90th percentile {np.percentile(errs, 90):.1f} mm, max {errs.max():.1f} mm"
          f" (target: median <= 5 mm, {'met' if np.median(errs) <= 5 else '**not met**'}).")
        w("")
        w("| organ | lesions | median error (mm) | max error (mm) |")
        w("|---|---|---|---|")
        for o in organs:
            e = [l["error_mm"] for l in loc if l["organ"] == o]
            if e:
                w(f"| {o} | {len(e)} | {np.median(e):.1f} | {max(e):.1f} |")
    else:
        w("No true positives: no localisation to report.")
    w("")
    w("### Organ label map (held-out, 3 mm grid, inside the body box)")
    w("")
    w("Dice against the nearest-neighbour phantom labels: "
      + ", ".join(f"{k} {v:.2f}" for k, v in m["organ_dice"].items()) + ".")
    w("")
    w("## Limitations")
    w("")
    w("* Synthetic only: idealised geometry, white noise, no partial-volume blur in the generator,")
    w("  no vessels, no bowel gas, no artefacts, non-contrast only, one scanner geometry (380 mm")
    w("  field of view, 2.5 mm slices). Real CT breaks every one of these.")
    w("* Each patch sees 192 mm of the body without knowing where it lies: organs of equal")
    w("  attenuation (pancreas, aorta, heart, esophagus, spleen are 40-45 HU) are told apart by shape")
    w("  and neighbours only.")
    w("* Lesions under 10 mm are 3 voxels or fewer across at 3 mm, with contrasts of 8-30 HU")
    w("  against noise of about 12 HU per voxel in liver, pancreas and kidney: see the table by")
    w("  diameter.")
    w("* Thresholds come from one held-out set; with about 40-60 positives per organ the")
    w("  sensitivities are uncertain by about +/- 10 points (the intervals above).")
    w("* The grid is 408 x 384 x 384 mm centred on the volume: anatomy outside it is not seen.")
    w("  Scans shorter than 300 mm along the body are skipped (`min_scan_length_mm`).")
    w("")
    w("## Files")
    w("")
    w("* `train.py`: the whole pipeline (phantoms, grid, training, export, evaluation, manifest,")
    w("  parity fixtures, this card via `card.py`); it imports 0.1.0's phantom planning, series")
    w("  reader and metrics (`../reference-screening/train.py`, `preprocess.py`).")
    w("* `model.onnx`, `manifest.toml`, `metrics.json` (every number here and each held-out")
    w("  phantom's probabilities), `phantoms.json` (every phantom: seed, rows, lesions),")
    w("  `requirements.txt` (pinned).")
    w("* `parity/cases.json`: two held-out phantoms (one lesion found, one lesion-free) with the")
    w("  generator's arguments and the Python pipeline's outputs on the full grid, for the Rust")
    w("  runtime's end-to-end test (`server/inference/tests/reference_model_sliding.rs`).")
    open(path, "w").write("\n".join(L) + "\n")


if __name__ == "__main__":
    metrics = json.load(open(os.path.join(HERE, "metrics.json")))
    write(os.path.join(HERE, "MODEL_CARD.md"), metrics, metrics.get("command", "train.py"))
