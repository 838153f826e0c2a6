"""Robustness of vertebral-body segmentation to other scanners and fields of view, on held-out real scans.

Real scans from other sites differ from the training scans in field of view, pixel size, slice thickness, noise,
coil shading and contrast. This benchmark takes real scans a model never saw (the 17 volumes of
``../shared/data/vertebrae-mri``, see ``bench_segmentation.py``) and changes each in one such way at a time, then
scores the model on the mid-sagittal slice exactly as ``imaging eval-seg`` does (same post-processing and level
naming). Each change is deterministic (fixed seed), so two models can be compared on the same inputs:

* ``as scanned``: no change;
* ``thoracolumbar view`` / ``lumbosacral view``: only the upper / lower 55% of the rows (S1 out of view / the
  bodies above L1 cut off);
* ``wide view``: the field of view doubled in both directions with dark, noisy background (bodies half as large in
  the network input, as in a whole-spine scan);
* ``2 mm pixels``: the slice averaged down 2 x 2 (a coarse in-plane matrix);
* ``5 mm slice``: five neighbouring sagittal slices averaged (a thick slice);
* ``noise``: Rician noise of 8% of the 99th intensity percentile;
* ``coil shading``: intensities multiplied by a ramp from 0.4 (head end) to 1.6 (feet end);
* ``gamma 0.5`` / ``gamma 2`` / ``S-curve``: monotone intensity changes (other sequence weighting, other
  windowing: a power of the intensities, a logistic curve centred on the 70th percentile).

A labelled body counts as in view when at least 90% of its mid-sagittal area is left; bodies cut by the new
border are neither required nor counted as false detections. Reported per change: bodies in view found
(identification, as the paper defines it), false detections (detections holding no labelled body's centroid and
not lying on a cut body: they include real but unlabelled bodies, such as the VB2 scans' S1 and the bodies above
the labelled ones, and in the wide view a body cut by the scan's own edge, which no longer touches the image's),
mean Dice and centroid error over the bodies found, and level names (true, wrong, and how many scans were left
unnamed, with the reason in ``--verbose``).

Run, with a model and the scans it never saw (repeat ``--group``):

    .venv/bin/python benchmarks/bench_seg_robustness.py --group l4o.pt:VB1_10,VB1_11,VB1_12,VB1_17 \\
        --group l3v.pt:VB2_02,VB2_05,VB2_07 [--data DIR] [--json OUT.json] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from imaging.segment.checkpoint import load_checkpoint
from imaging.segment.config import SegConfig
from imaging.segment.data import LEVELS_FILE, PairData, annotate_pairs, find_pairs, read_levels, read_pair
from imaging.segment.evaluation import evaluate_case, true_names
from imaging.segment.inference import named_bodies
from imaging.segment.postprocess import Component

#: fraction of a labelled body's area that must stay in view for it to count
IN_VIEW = 0.9
Shift = Callable[[np.ndarray, np.ndarray, tuple[float, float], np.random.Generator],
                 tuple[np.ndarray, np.ndarray, tuple[float, float]]]


def _rows(lo: float, hi: float) -> Shift:
    def crop(vol, lab, sp, rng):
        a, b = int(lo * vol.shape[0]), int(hi * vol.shape[0])
        return vol[a:b], lab[a:b], sp
    return crop


def _wide(vol, lab, sp, rng):
    h, w, d = vol.shape
    ph, pw = h // 2, w // 2
    level = np.percentile(vol, 5)
    big = np.abs(rng.normal(level, 0.03 * np.percentile(vol, 99), (h + 2 * ph, w + 2 * pw, d))).astype(np.float32)
    big[ph:ph + h, pw:pw + w] = vol
    out = np.zeros((h + 2 * ph, w + 2 * pw, d), lab.dtype)
    out[ph:ph + h, pw:pw + w] = lab
    return big, out, sp


def _coarse(vol, lab, sp, rng):
    h, w = (vol.shape[0] // 2) * 2, (vol.shape[1] // 2) * 2
    v = vol[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))
    return v, lab[:h:2, :w:2], (sp[0] * 2, sp[1] * 2)


def _thick(vol, lab, sp, rng):
    return ndimage.uniform_filter1d(vol.astype(np.float32), 5, axis=2, mode="nearest"), lab, sp


def _noise(vol, lab, sp, rng):
    s = 0.08 * np.percentile(vol, 99)
    v = vol.astype(np.float32)
    return np.hypot(v + rng.normal(0, s, v.shape), rng.normal(0, s, v.shape)), lab, sp


def _shading(vol, lab, sp, rng):
    ramp = np.linspace(0.4, 1.6, vol.shape[0], dtype=np.float32)[:, None, None]
    return vol.astype(np.float32) * ramp, lab, sp


def _gamma(g: float) -> Shift:
    def change(vol, lab, sp, rng):
        v = vol.astype(np.float32)
        top = np.percentile(v, 99.5)
        return top * np.clip(v / top, 0, None) ** g, lab, sp
    return change


def _s_curve(vol, lab, sp, rng):
    v = vol.astype(np.float32)
    mid, top = np.percentile(v, 70), np.percentile(v, 99.5)
    return top / (1 + np.exp(-6 * (v - mid) / top)), lab, sp


SHIFTS: dict[str, Shift] = {
    "as scanned": lambda vol, lab, sp, rng: (vol, lab, sp),
    "thoracolumbar view": _rows(0.0, 0.55),
    "lumbosacral view": _rows(0.45, 1.0),
    "wide view": _wide,
    "2 mm pixels": _coarse,
    "5 mm slice": _thick,
    "noise": _noise,
    "coil shading": _shading,
    "gamma 0.5": _gamma(0.5),
    "gamma 2": _gamma(2.0),
    "S-curve": _s_curve,
}


@dataclass
class Tally:
    in_view: int = 0
    found: int = 0
    false: int = 0
    dice: list[float] = field(default_factory=list)
    dist: list[float] = field(default_factory=list)
    named_true: int = 0
    named_wrong: int = 0
    unnamed_scans: int = 0
    scans: int = 0

    def row(self) -> str:
        d = f"{np.mean(self.dice):.3f}" if self.dice else "-"
        c = f"{np.mean(self.dist):.2f}" if self.dist else "-"
        return (f"{self.found}/{self.in_view} ({self.found / max(self.in_view, 1):.0%}) | {self.false} | {d} | {c} | "
                f"{self.named_true} true, {self.named_wrong} wrong | {self.unnamed_scans} of {self.scans}")


def score(model: torch.nn.Module, cfg: SegConfig, data: PairData, shift: Shift, seed: int, tally: Tally,
          verbose: bool, label: str) -> None:
    """Apply ``shift`` to one case and add its scores to ``tally``."""
    lab3 = data.lab3
    full = lab3[:, :, data.k_mid]
    areas = {int(v): int((full == v).sum()) for v in np.unique(full) if v > 0}
    names = true_names(data.names, int(lab3.max()))
    vol, lab, sp = shift(data.vol, lab3, data.spacing, np.random.default_rng(seed))
    sl = lab[:, :, data.k_mid].astype(np.int32)
    scale = (sp[0] * sp[1]) / (data.spacing[0] * data.spacing[1])
    kept = [v for v in np.unique(sl) if v > 0 and (sl == v).sum() * scale >= IN_VIEW * areas[int(v)]]
    cut = [v for v in np.unique(sl) if v > 0 and v not in kept]
    gt = [Component(sl == v) for v in kept]
    ordered, warnings = named_bodies(model, vol, data.k_mid, cfg, sp)
    preds = [c for c, _ in ordered]
    case = evaluate_case(label, preds, gt, sp, [n for _, n in ordered], [names[v - 1] for v in kept])
    on_cut = sum(1 for p in preds if any((p.mask & (sl == v)).sum() > 0.5 * p.area for v in cut))
    tally.scans += 1
    tally.in_view += case.gt
    tally.found += case.identified
    tally.false += max(case.false_detections - on_cut, 0)
    tally.dice += [d for d in case.dice if d > 0]
    tally.dist += case.centroid_mm
    tally.named_true += case.named_true
    tally.named_wrong += case.named_wrong
    unnamed = all(n is None for _, n in ordered)
    tally.unnamed_scans += unnamed
    if verbose:
        why = [w for w in warnings if "unnamed" in w][:1]
        print(f"    {label}: {case.identified}/{case.gt} found, {case.false_detections} unmatched "
              f"({on_cut} on cut bodies), names {case.named_true} true {case.named_wrong} wrong"
              + (f"; unnamed: {why[0]}" if unnamed and why else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", action="append", required=True, metavar="MODEL:CASE,CASE",
                    help="a checkpoint and the scans it never saw (repeat)")
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/vertebrae-mri"))
    ap.add_argument("--shift", action="append", choices=sorted(SHIFTS), help="only these changes (repeat)")
    ap.add_argument("--infer-mm", type=float, help="override the checkpoints' SegConfig.infer_mm (0: off), to "
                    "compare the inference settings on one model")
    ap.add_argument("--infer-tissue-range", type=float, nargs=2, metavar=("LOW", "HIGH"), help="override the "
                    "checkpoints' SegConfig.infer_tissue_range (0 0: off)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(args.threads)
    levels = read_levels(LEVELS_FILE)
    pairs = {p.name: p for p in annotate_pairs(find_pairs(args.data), levels)}
    groups = []
    for g in args.group:
        model_path, cases = g.rsplit(":", 1)
        ck = load_checkpoint(Path(model_path))
        if args.infer_mm is not None:
            ck.config.infer_mm = args.infer_mm or None
        if args.infer_tissue_range is not None:
            ck.config.infer_tissue_range = tuple(args.infer_tissue_range) if any(args.infer_tissue_range) else None
        groups.append((ck, [read_pair(pairs[c]) for c in cases.split(",")], cases.split(",")))
    tallies = {}
    print("| change | bodies in view found | false detections | mean Dice | centroid error (mm) | level names | "
          "scans left unnamed |\n|---|---|---|---|---|---|---|")
    for s, (name, shift) in enumerate(SHIFTS.items()):
        if args.shift and name not in args.shift:
            continue
        tally = tallies[name] = Tally()
        for ck, datas, cases in groups:
            for i, (data, case) in enumerate(zip(datas, cases)):
                with torch.no_grad():
                    score(ck.model, ck.config, data, shift, 1000 * s + i, tally, args.verbose, case)
        print(f"| {name} | {tally.row()} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({k: vars(t) for k, t in tallies.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
