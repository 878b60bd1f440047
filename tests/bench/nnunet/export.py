"""A network of the size hospitals deploy, for the realistic-size screening benchmark.

nnU-Net's default 3D full-resolution U-Net for CT (`PlainConvUNet` of PyPI
`dynamic-network-architectures`, the class nnU-Net v2 builds): six stages of 32, 64, 128, 256,
320 and 320 features, two 3x3x3 convolutions per stage in the encoder and the decoder,
instance normalisation, leaky ReLU, strided-convolution down-sampling, transposed-convolution
up-sampling, the patch 128^3 at 1.5 mm. Random weights (seeded): the benchmark measures time
and memory, not findings.

The network is wrapped to the screening contract of a sliding-window model in Elysium (as the
reference model 0.2.0 is): 14 logits per voxel (13 organ labels and one lesion logit) become
26 probabilities, the organ softmax and P(lesion) x P(organ) for each of the 13 class outputs.
Writes `model.onnx` and `manifest.toml` (with its sha256) into OUT; nothing is committed.

    python export.py OUT [--patch 128] [--spacing 1.5] [--max-size 320 320 320] [--fp16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

ORGANS = ["background", "lung", "breast", "esophagus", "stomach", "colon", "liver", "pancreas",
          "kidney", "spleen", "vertebra", "aorta", "heart"]
CLASSES = ["lung/Cancer", "breast/BC", "esophagus/EC", "esophagus/nonEC", "stomach/GC", "colorectal/CRC",
           "liver/HCC", "liver/other_malignant", "liver/other_benign", "liver/cyst", "pancreas/PDAC",
           "pancreas/nonPDAC", "kidney/RCC"]
CLASS_ORGAN = {"lung": "lung", "breast": "breast", "esophagus": "esophagus", "stomach": "stomach",
               "colorectal": "colon", "liver": "liver", "pancreas": "pancreas", "kidney": "kidney"}


def build(patch):
    import torch
    import torch.nn as nn
    from dynamic_network_architectures.architectures.unet import PlainConvUNet

    # nnU-Net v2's defaults for a 3d_fullres plan with an isotropic 128^3 patch: features double
    # from 32 up to a cap of 320, one down-sampling per stage until the bottleneck is 4^3.
    stages = 6
    unet = PlainConvUNet(
        input_channels=1, n_stages=stages, features_per_stage=[min(32 * 2 ** i, 320) for i in range(stages)],
        conv_op=nn.Conv3d, kernel_sizes=[[3, 3, 3]] * stages, strides=[[1, 1, 1]] + [[2, 2, 2]] * (stages - 1),
        n_conv_per_stage=[2] * stages, num_classes=len(ORGANS) + 1, n_conv_per_stage_decoder=[2] * (stages - 1),
        conv_bias=True, norm_op=nn.InstanceNorm3d, norm_op_kwargs={"eps": 1e-5, "affine": True},
        nonlin=nn.LeakyReLU, nonlin_kwargs={"inplace": True}, deep_supervision=False)

    class Screening(nn.Module):
        def __init__(self):
            super().__init__()
            self.unet = unet
            self.register_buffer("class_organ", torch.tensor(
                [ORGANS.index(CLASS_ORGAN[c.split("/")[0]]) for c in CLASSES]))

        def forward(self, patch):
            logits = self.unet(patch * 2.0 - 1.0)
            p_organ = torch.softmax(logits[:, :len(ORGANS)], 1)
            lesion = torch.sigmoid(logits[:, len(ORGANS):])
            return torch.cat([p_organ, lesion * torch.index_select(p_organ, 1, self.class_organ)], 1)

    return Screening().eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--spacing", type=float, default=1.5)
    ap.add_argument("--max-size", type=int, nargs=3, default=[320, 320, 320])
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--fp16", action="store_true", help="convert the weights and activations to float16")
    args = ap.parse_args()

    import torch
    torch.manual_seed(0)
    model = build(args.patch)
    params = sum(p.numel() for p in model.parameters())
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(model, (torch.zeros(1, 1, args.patch, args.patch, args.patch),), onnx_path,
                      input_names=["patch"], output_names=["probabilities"], opset_version=17, dynamo=False,
                      dynamic_axes={"patch": {0: "n"}, "probabilities": {0: "n"}})
    if args.fp16:
        import onnx
        from onnxconverter_common import float16
        m = float16.convert_float_to_float16(onnx.load(onnx_path), keep_io_types=True)
        onnx.save(m, onnx_path)
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    p = args.patch
    manifest = f'''# Benchmark network (tests/bench/nnunet/export.py): random weights, NOT a screening model.
name = "nnunet-size-benchmark"
version = "0.0.1"
task = "screening"
onnx = "model.onnx"
sha256 = "{sha}"
opset = 17
clinical_use = false
description = "nnU-Net default 3D full-resolution U-Net ({params:,} parameters, random weights) for timing the pipeline. Its outputs mean nothing."

[input]
name = "patch"
shape = [1, 1, {p}, {p}, {p}]

[preprocessing]
target_spacing_mm = [{args.spacing}, {args.spacing}, {args.spacing}]
max_size = [{", ".join(map(str, args.max_size))}]
orientation = "volume"
interpolation = "trilinear"
hu_clip = [-1000.0, 1000.0]
fill_hu = -1000.0
normalisation = "clip_minmax"

[sliding_window]
patch = [{p}, {p}, {p}]
overlap = {args.overlap}
blend = "gaussian"
batch = {args.batch}
output = "probabilities"
crop_to_body_hu = -500.0

[[outputs]]
name = "class_probabilities"
kind = "class_probabilities"
shape = [1, {len(CLASSES)}]
labels = [{", ".join(json.dumps(c) for c in CLASSES)}]

[[outputs]]
name = "organ_labels"
kind = "organ_label_map"
shape = [1, {", ".join(map(str, args.max_size))}]
labels = [{", ".join(json.dumps(o) for o in ORGANS)}]

[[outputs]]
name = "lesion_heatmap"
kind = "lesion_heatmap"
shape = [1, 1, {", ".join(map(str, args.max_size))}]
'''
    for c in CLASSES:
        organ, klass = c.split("/")
        manifest += f'''
[[thresholds]]
organ = "{organ}"
class = "{klass}"
threshold = 0.99
specificity = 0.99
'''
    open(os.path.join(args.out, "manifest.toml"), "w").write(manifest)
    print(json.dumps({"parameters": params, "onnx_bytes": os.path.getsize(onnx_path), "sha256": sha,
                      "patch": p, "spacing_mm": args.spacing, "fp16": args.fp16}))


if __name__ == "__main__":
    main()
