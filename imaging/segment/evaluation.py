"""Scoring a segmentation network against ground truth (``imaging eval-seg``): the paper's three criteria."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import load_checkpoint
from ..errors import Errors
from .config import SegConfig, SegmentationError
from .data import LEVELS_FILE, TrainCase, annotate_pairs, find_pairs, read_levels, read_pair
from .inference import named_bodies
from .losses import dice_score
from .postprocess import LUMBAR_NAMES, THORACIC_ABOVE, Component, components_from_labels


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
    gt_named: int = 0      # GT bodies whose true name is known (counted upward from a labelled S1)
    named_true: int = 0    # ... whose matched detection carries that name
    named_wrong: int = 0   # ... whose matched detection carries another name (a wrong level name)
    warnings: list[str] = field(default_factory=list)

    false_detections: int = 0  # detections that contain no GT centroid

    @property
    def success(self) -> bool:
        return self.solitary and self.count_ok and self.s1_ok


def true_names(names: Sequence[str] | None, n: int) -> list[str | None]:
    """The anatomical names of positional labels 1..n counted upward from the lowest one named (S1, or the lowest
    labelled body of a level annotation: ``lowest_labelled``); None without a name."""
    upward = ("S1",) + tuple(reversed(LUMBAR_NAMES)) + THORACIC_ABOVE
    named = [(j, x.upper()) for j, x in enumerate(names or []) if x.upper() in upward]
    if not named:
        return [None] * n
    j0, anchor = named[-1]
    k0 = upward.index(anchor)
    return [upward[k0 + j0 - j] if 0 <= k0 + j0 - j < len(upward) else None for j in range(n)]


def evaluate_case(name: str, pred: Sequence[Component], gt: Sequence[Component],
                  spacing: Sequence[float] = (1.0, 1.0), pred_names: Sequence[str | None] | None = None,
                  gt_names: Sequence[str | None] | None = None) -> CaseEval:
    """Match detections to GT bodies by centroid containment and score one slice.

    A GT body is identified when exactly one detection contains its centroid and that detection contains no
    other GT centroid. Dice and centroid distance (mm, ``spacing`` = (row, col) mm) are per GT body; an
    unidentified body scores Dice 0 and no distance. With ``pred_names`` (per detection) and ``gt_names`` (per GT
    body, None where unknown) the level names of the identified bodies are checked too.
    """
    gt_cent = [tuple(int(round(x)) for x in g.centroid) for g in gt]
    contains = np.array([[bool(p.mask[r, c]) for (r, c) in gt_cent] for p in pred], bool).reshape(len(pred), len(gt))
    solitary = bool(len(pred) > 0 and (contains.sum(1) == 1).all())
    s1 = [p for p in pred if p.channel == "s1"]
    s1_ok = not any((s.mask & p.mask).any() for s in s1 for p in pred if p.channel == "lumbar")
    dice, dist, identified = [], [], 0
    gt_names = list(gt_names) if gt_names is not None else [None] * len(gt)
    gt_named = sum(n is not None for n in gt_names)
    named_true = named_wrong = 0
    for j, g in enumerate(gt):
        hits = np.nonzero(contains[:, j])[0]
        if len(hits) == 1 and contains[hits[0]].sum() == 1:
            p = pred[hits[0]]
            identified += 1
            given = pred_names[hits[0]] if pred_names is not None else None
            if gt_names[j] is not None and given is not None:
                named_true += given == gt_names[j]
                named_wrong += given != gt_names[j]
            dice.append(dice_score(p.mask, g.mask))
            (pr, pc), (gr, gc) = p.centroid, g.centroid
            dist.append(float(math.hypot((pr - gr) * spacing[0], (pc - gc) * spacing[1])))
        else:
            dice.append(0.0)
    return CaseEval(name, len(gt), len(pred), identified, solitary, len(pred) == len(gt), s1_ok, dice, dist,
                    gt_named, named_true, named_wrong, false_detections=int((contains.sum(1) == 0).sum()))


def bodies_found(model: torch.nn.Module, cases: Sequence[TrainCase], cfg: SegConfig) -> float:
    """The fraction of the labelled bodies on the mid-sagittal slices of ``cases`` that ``model`` finds alone (the
    paper's identification, :func:`evaluate_case`), run as ``imaging segment`` runs it
    (:func:`.inference.named_bodies`: the inference scales and neighbours of ``cfg``, the post-processing).

    A network that bridges the discs between neighbouring bodies can score a good Dice and still find almost no
    body: the Dice alone does not tell that such a run failed.
    """
    found = total = 0
    for case in cases:
        ordered, _ = named_bodies(model, case.vol, case.k_mid, cfg, case.spacing)
        lab = case.lab[:, :, case.k_mid]
        result = evaluate_case(case.name, [c for c, _ in ordered], components_from_labels(lab), case.spacing)
        found, total = found + result.identified, total + result.gt
    return found / total if total else 1.0


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
    def naming(self) -> float:
        """Fraction of the GT bodies of known name that carry their true name."""
        n = sum(c.gt_named for c in self.cases)
        return sum(c.named_true for c in self.cases) / n if n else float("nan")

    @property
    def wrong_names(self) -> int:
        return sum(c.named_wrong for c in self.cases)

    @property
    def false_detections(self) -> int:
        """Detections that contain no GT centroid."""
        return sum(c.false_detections for c in self.cases)

    @property
    def mean_centroid_mm(self) -> float:
        d = [x for c in self.cases for x in c.centroid_mm]
        return float(np.mean(d)) if d else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"cases": [asdict(c) | {"success": c.success} for c in self.cases],
                "success_rate": self.success_rate, "identification": self.identification,
                "mean_dice": self.mean_dice, "mean_dice_identified": self.mean_dice_identified,
                "mean_centroid_mm": self.mean_centroid_mm, "naming": self.naming, "wrong_names": self.wrong_names,
                "false_detections": self.false_detections, "seconds": self.seconds}


def evaluate_folder(model_path: Path, data_dir: Path, *, names: Sequence[str] | None = None,
                    levels: Path | None = LEVELS_FILE, progress: Callable[[int], None] | None = None) -> EvalSummary:
    """Score a model on the mid-sagittal slice of every pair in ``data_dir`` (or only ``names``), through the
    same post-processing and level naming as ``imaging segment``.

    Ground-truth masks are positional; a GT body is S1 when a corners file or the level annotation ``levels``
    (:func:`.data.read_levels`) says so, and the bodies above it have known names (counted upward).
    """
    t0 = time.time()
    ck = load_checkpoint(model_path)
    pairs = find_pairs(Path(data_dir))
    if names is not None:
        pairs = [p for p in pairs if p.name in set(names)]
    if not pairs:
        raise SegmentationError(Errors.S001.format(path=data_dir))
    if levels is not None:
        pairs = annotate_pairs(pairs, read_levels(levels))
    summary = EvalSummary()
    for pair in pairs:
        data = read_pair(pair)
        lab = data.labels(data.k_mid)
        gt = components_from_labels(lab, data.names)
        gt_names = true_names(data.names, int(lab.max()))
        gt_names = [gt_names[v - 1] for v in np.unique(lab) if v > 0]
        ordered, warnings = named_bodies(ck.model, data.vol, data.k_mid, ck.config, data.spacing)
        case = evaluate_case(pair.name, [c for c, _ in ordered], gt, data.spacing, [n for _, n in ordered], gt_names)
        case.warnings = warnings
        summary.cases.append(case)
        if progress:
            progress(1)
    summary.seconds = time.time() - t0
    return summary
