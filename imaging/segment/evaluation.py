"""Scoring a segmentation network against ground truth (``imaging eval-seg``): the paper's three criteria."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import load_checkpoint
from .config import SegErrors, SegmentationError
from .data import find_pairs, read_pair
from .inference import predict_slice
from .losses import dice_score
from .postprocess import Component, components_from_labels, detect


@dataclass
class CaseEval:
    name: str
    gt: int
    detected: int
    identified: int
    solitary: bool     # criterion 1: every detection contains exactly one GT centroid
    count_ok: bool     # criterion 2
    s1_ok: bool        # criterion 3: S1 detection does not overlap lumbar detections
    dice: list[float]
    centroid_mm: list[float]

    @property
    def success(self) -> bool:
        return self.solitary and self.count_ok and self.s1_ok


def evaluate_case(name: str, pred: Sequence[Component], gt: Sequence[Component],
                  spacing: Sequence[float] = (1.0, 1.0)) -> CaseEval:
    """Match detections to GT bodies by centroid containment and score one slice.

    A GT body is identified when exactly one detection contains its centroid and that detection contains no
    other GT centroid. Dice and centroid distance (mm, ``spacing`` = (row, col) mm) are per GT body; an
    unidentified body scores Dice 0 and no distance.
    """
    gt_cent = [tuple(int(round(x)) for x in g.centroid) for g in gt]
    contains = np.array([[bool(p.mask[r, c]) for (r, c) in gt_cent] for p in pred], bool).reshape(len(pred), len(gt))
    solitary = bool(len(pred) > 0 and (contains.sum(1) == 1).all())
    s1 = [p for p in pred if p.channel == "s1"]
    s1_ok = not any((s.mask & p.mask).any() for s in s1 for p in pred if p.channel == "lumbar")
    dice, dist, identified = [], [], 0
    for j, g in enumerate(gt):
        hits = np.nonzero(contains[:, j])[0]
        if len(hits) == 1 and contains[hits[0]].sum() == 1:
            p = pred[hits[0]]
            identified += 1
            dice.append(dice_score(p.mask, g.mask))
            (pr, pc), (gr, gc) = p.centroid, g.centroid
            dist.append(float(math.hypot((pr - gr) * spacing[0], (pc - gc) * spacing[1])))
        else:
            dice.append(0.0)
    return CaseEval(name, len(gt), len(pred), identified, solitary, len(pred) == len(gt), s1_ok, dice, dist)


@dataclass
class EvalSummary:
    cases: list[CaseEval] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success_rate(self) -> float:
        return float(np.mean([c.success for c in self.cases])) if self.cases else 0.0

    @property
    def identification(self) -> float:
        gt = sum(c.gt for c in self.cases)
        return sum(c.identified for c in self.cases) / gt if gt else 0.0

    @property
    def mean_dice(self) -> float:
        d = [x for c in self.cases for x in c.dice]
        return float(np.mean(d)) if d else 0.0

    @property
    def mean_dice_identified(self) -> float:
        d = [x for c in self.cases for x in c.dice if x > 0]
        return float(np.mean(d)) if d else 0.0

    @property
    def mean_centroid_mm(self) -> float:
        d = [x for c in self.cases for x in c.centroid_mm]
        return float(np.mean(d)) if d else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"cases": [asdict(c) | {"success": c.success} for c in self.cases],
                "success_rate": self.success_rate, "identification": self.identification,
                "mean_dice": self.mean_dice, "mean_dice_identified": self.mean_dice_identified,
                "mean_centroid_mm": self.mean_centroid_mm, "seconds": self.seconds}


def evaluate_folder(model_path: Path, data_dir: Path, *, names: Sequence[str] | None = None,
                    progress: Callable[[int], None] | None = None) -> EvalSummary:
    """Score a model on the mid-sagittal slice of every pair in ``data_dir`` (or only ``names``).

    Ground-truth masks are positional; GT bodies are the lumbar channel unless a corners file names S1.
    """
    t0 = time.time()
    ck = load_checkpoint(model_path)
    pairs = find_pairs(Path(data_dir))
    if names is not None:
        pairs = [p for p in pairs if p.name in set(names)]
    if not pairs:
        raise SegmentationError(SegErrors.S001.format(path=data_dir))
    summary = EvalSummary()
    for pair in pairs:
        data = read_pair(pair)
        gt = components_from_labels(data.labels(data.k_mid), data.names)
        pred = detect(predict_slice(ck.model, data.vol[:, :, data.k_mid], ck.config), ck.config)
        summary.cases.append(evaluate_case(pair.name, pred, gt, data.spacing))
        if progress:
            progress(1)
    summary.seconds = time.time() - t0
    return summary
