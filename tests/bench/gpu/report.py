"""The GPU section for tests/bench/RESULTS.md from what tests/bench/gpu/run.sh left in a folder:
per-stage medians of the CUDA runs after the first (which pays for CUDA's start), and the CPU
runs on the same host for comparison.

    python3 tests/bench/gpu/report.py RESULTS_FOLDER
"""
import json
import statistics
import sys
from pathlib import Path

STAGES = ["decode", "volume", "resample", "inference", "postprocess", "total"]


def runs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def main(folder: Path) -> None:
    cuda, cpu = runs(folder / "cuda.jsonl"), runs(folder / "cpu.jsonl")
    smi = (folder / "nvidia-smi.txt").read_text().splitlines() if (folder / "nvidia-smi.txt").exists() else []
    # The device row (`|   0  NVIDIA H200   On |`), not the `NVIDIA-SMI ... Driver Version` banner.
    row = next((l for l in smi if "NVIDIA" in l and "NVIDIA-SMI" not in l), "")
    gpu = " ".join(w for w in row.split("|")[1].split()[1:] if w not in ("On", "Off")) if "|" in row else "?"
    driver = " ".join(next((l for l in smi if "Driver Version" in l), "").strip("| ").split())
    print("## Screening on a GPU (512 x 512 x 300 phantom, `elysium screen`)\n")
    print(f"GPU host: {gpu} ({driver})\n")
    if not cuda:
        print("No CUDA run completed: see cuda.log in the results folder.")
        return
    providers = {(r["execution_provider"], r["device"]) for r in cuda}
    if any(r["execution_provider"] != "CUDAExecutionProvider" for r in cuda):
        print(f"The CUDA runs did not run on CUDA ({providers}): no GPU figure.")
        return
    warm = cuda[1:] or cuda
    print(f"CUDA: {len(cuda)} runs ({', '.join(f'{p} on {d}' for p, d in sorted(providers))}); medians of runs 2 to {len(cuda)}; "
          f"the first run took {cuda[0]['timings_ms']['total']:.0f} ms.\n")
    print("| Stage | CUDA, median ms | CPU on the same host, median ms |\n|---|---|---|")
    for stage in STAGES:
        on_cpu = f"{statistics.median(r['timings_ms'][stage] for r in cpu):.0f}" if cpu else "–"
        print(f"| {stage} | {statistics.median(r['timings_ms'][stage] for r in warm):.0f} | {on_cpu} |")
    total = statistics.median(r["timings_ms"]["total"] for r in warm) / 1000
    if cpu:
        # The same case on the same host's CPU: the GPU must give the same answer.
        def probabilities(r: dict) -> dict:
            return {f"{o}/{c}": p for o, cs in r["tumor_probabilities"].items() for c, p in cs.items()}
        a, b = probabilities(cuda[-1]), probabilities(cpu[-1])
        same_biomarkers = cuda[-1]["biomarkers"] == cpu[-1]["biomarkers"]
        print(f"\nCUDA against CPU on the same case: largest class-probability difference "
              f"{max(abs(a[k] - b[k]) for k in a):.1e}; positives {'identical' if cuda[-1]['positives'] == cpu[-1]['positives'] else 'DIFFERENT'}; "
              f"biomarkers {'identical' if same_biomarkers else 'DIFFERENT'}.")
    print(f"\nWhole case with the CUDA provider: **{total:.2f} s** (target ≤ 2 s: {'met' if total <= 2 else 'not met'}). "
          "`elysium screen` has no database, so the storage stage (about 1 ms in the CPU benchmark) is not in it.")
    realistic_size(folder)


def realistic_size(folder: Path) -> None:
    """The realistic-size network (tests/bench/nnunet.sh's) on CUDA, when the kit carried it."""
    runs_ = runs(folder / "nnunet-cuda.jsonl")
    if not (folder / "nnunet-cuda.log").exists():
        return
    print("\n### The realistic-size network on the GPU (nnU-Net default 3D full resolution, random weights)\n")
    if not runs_ or any(r["execution_provider"] != "CUDAExecutionProvider" for r in runs_):
        print("No CUDA run of it completed: see nnunet-cuda.log in the results folder.")
        return
    warm = runs_[1:] or runs_
    memory = [int(v) for v in (folder / "nnunet-gpu-memory.txt").read_text().split() if v.isdigit()] \
        if (folder / "nnunet-gpu-memory.txt").exists() else []
    total = statistics.median(r["timings_ms"]["total"] for r in warm) / 1000
    network = statistics.median(r["timings_ms"]["network"] for r in warm) / 1000
    print(f"{len(runs_)} runs; medians of runs 2 to {len(runs_)}; the first took {runs_[0]['timings_ms']['total'] / 1000:.1f} s.\n")
    print("| Stage | CUDA, median ms |\n|---|---|")
    for stage in ["decode", "volume", "resample", "inference", "network", "postprocess", "total"]:
        print(f"| {stage} | {statistics.median(r['timings_ms'][stage] for r in warm):.0f} |")
    peak = f"{max(memory) / 1024:.1f} GiB" if memory else "not sampled"
    print(f"\nWhole case: **{total:.2f} s** (target ≤ 2 s: {'met' if total <= 2 else 'not met'}; the talk's figure: 120 s), "
          f"of which {network:.2f} s inside ONNX Runtime; {3600 / total:.0f} cases an hour on one GPU; "
          f"peak GPU memory in use {peak}.")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
