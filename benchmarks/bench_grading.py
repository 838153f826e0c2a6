"""Training-step throughput of the grading network at the paper's input sizes (not a test).

Builds :class:`grading.model.GradingNet` (``--preset paper``: two ResNeXt-50 32x4d branches) and times
``--steps`` Adadelta steps (lr 1.0, rho 0.95, as in the paper) with the weighted cross entropy of eq. 2 on random
volumes of the paper's sizes: axial ``(B, 8, 360, 360)`` and sagittal ``(B, 1, 25, 160, 320)``, after one warm-up
step. On CUDA the forward pass runs under ``torch.autocast`` (bf16 where supported, else fp16 with a GradScaler)
unless ``--no-amp``.

    .venv/bin/python benchmarks/bench_grading.py [--preset paper] [--steps 3] [--batch-size 2]
        [--device cpu|cuda] [--amp/--no-amp] [--variant both|axial|sagittal] [--json PATH]
        [--cpu-kernels product|default|avx2|no-mkldnn]

``--cpu-kernels`` picks the CPU convolution kernels (see ``spinecore.cpu``): ``product`` the toolkit's choice
(oneDNN capped at AVX2 on CPUs with AVX-512, else oneDNN's own), ``default`` oneDNN's own choice
(``ONEDNN_MAX_CPU_ISA=DEFAULT``: the state before the fix, which crashes on AVX-512 CPUs), ``avx2`` the cap
forced (``ONEDNN_MAX_CPU_ISA=AVX2``), ``no-mkldnn`` oneDNN switched off (``torch.backends.mkldnn.enabled =
False``).

Peak memory is the peak resident set size of the process on CPU, ``torch.cuda.max_memory_allocated`` on CUDA.

Result on 2026-11-27 (2-core CPU, torch 2.13 CPU, ``nice``, defaults: paper preset, both branches, batch 2, 3
steps): 48,866,508 parameters, warm-up 22.5 s, 6.24 s per step, 0.32 disc volumes per second, peak RSS 3.1 GiB.
An earlier run while the machine was shared with other jobs (load 4-6) took 131.5 s per step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from grading.loss import weighted_cross_entropy
from grading.model import PRESETS, GradingNet, count_parameters, preset
from spinecore.cpu import configure_cpu_kernels

CPU_KERNELS = {"product": None, "default": "DEFAULT", "avx2": "AVX2", "no-mkldnn": None}

AXIAL_SIZE = (8, 360, 360)
SAGITTAL_SIZE = (1, 25, 160, 320)


def run(preset_name: str, variant: str, batch_size: int, steps: int, device: str, amp: bool) -> dict[str, Any]:
    """Time ``steps`` training steps after one warm-up; return the figures of the table."""
    cfg = preset(preset_name, use_axial=variant != "sagittal", use_sagittal=variant != "axial")
    dev = torch.device(device)
    model = GradingNet(cfg).to(dev).train()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95)
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if amp else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    g = torch.Generator(device="cpu").manual_seed(0)
    axial = torch.randn(batch_size, *AXIAL_SIZE, generator=g).to(dev) if cfg.use_axial else None
    sagittal = torch.randn(batch_size, *SAGITTAL_SIZE, generator=g).to(dev) if cfg.use_sagittal else None
    targets = torch.randint(0, cfg.n_classes, (batch_size, len(cfg.tasks)), generator=g).to(dev)
    weights = torch.ones(len(cfg.tasks), cfg.n_classes, device=dev)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=amp_dtype) if amp_dtype else nullcontext():
            logits = model(axial, sagittal)
        loss = weighted_cross_entropy(logits, targets, weights, cfg.tasks)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return float(loss.detach())

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    step()
    sync()
    warmup = time.perf_counter() - t0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    losses = [step() for _ in range(steps)]
    sync()
    per_step = (time.perf_counter() - t0) / steps
    if dev.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:  # ru_maxrss is in KiB on Linux
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    return {"device": name, "cpu_kernels": configure_cpu_kernels().describe(),
            "mkldnn": torch.backends.mkldnn.enabled, "preset": preset_name, "variant": variant, "batch_size": batch_size,
            "amp": str(amp_dtype).removeprefix("torch.") if amp_dtype else "off",
            "params": count_parameters(model), "warmup_s": round(warmup, 3), "s_per_step": round(per_step, 3),
            "volumes_per_s": round(batch_size / per_step, 3), "peak_mem_mib": round(peak_mib, 1),
            "losses": [round(x, 4) for x in losses]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    ap.add_argument("--steps", type=int, default=3, help="timed steps, after one warm-up step")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                    help="mixed precision on CUDA (ignored on CPU)")
    ap.add_argument("--variant", choices=("both", "axial", "sagittal"), default="both")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--cpu-kernels", choices=sorted(CPU_KERNELS), default="product",
                    help="CPU convolution kernels (module docstring)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1:
        ap.error("--steps and --batch-size must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: this torch build sees no CUDA device; use --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    if CPU_KERNELS[args.cpu_kernels]:  # before the first convolution, as oneDNN reads it then
        os.environ["ONEDNN_MAX_CPU_ISA"] = CPU_KERNELS[args.cpu_kernels]
    torch.backends.mkldnn.enabled = args.cpu_kernels != "no-mkldnn"
    result = run(args.preset, args.variant, args.batch_size, args.steps, args.device,
                 args.amp and args.device == "cuda")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
