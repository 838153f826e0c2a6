"""From studies to per-level grades: segmentation, disc extraction and the grading network in one call.

``predict(model, studies, out)`` runs ``imaging extract`` with the settings the grading model was trained on
(stored in its checkpoint) into ``out/volumes/``, grades every usable disc and writes a levels table in the
schema of ``reportparse extract`` (``report_id`` = study id, ``level``, ``scs``, ``rfs``, ``lfs``, ``status``,
``reason``, ``flags``, ``row``) plus the four probabilities of every location (``scs_p0`` .. ``lfs_p3``: normal,
mild, moderate, severe). A model of the ``rsna`` label scheme writes its classes instead (0 Normal/Mild,
1 Moderate, 2 Severe; ``_p0`` .. ``_p2``) and, with subarticular heads, ``rss`` / ``lss`` too.

Where no grade dominates, the location is flagged ``uncertain:<location>`` (the seed's section 5: such discs are
where radiologists would disagree, so they are the ones to review). A grade dominates when its probability is at
least ``min_probability`` (0.5) *and* exceeds the runner-up by at least ``min_margin`` (0.2). Flags do not change
the grade; a level with a flag, or whose extraction was flagged, has status ``flagged``; a level that could not
be extracted has status ``failed``, empty grades and the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from spinecore.io import TABLE_FORMATS, TableWriter
from spinecore.schema import DISC_STATUSES, GRADE_NAMES, LOCATIONS, STATUS_FAILED, STATUS_FLAGGED

from .checkpoint import load_checkpoint, pick_device
from .data import load_array, read_table
from .errors import Errors, GradingError, check_writable

logger = logging.getLogger(__name__)

GRADES = len(GRADE_NAMES)


def prob_columns(tasks: Sequence[str], n_classes: int) -> tuple[str, ...]:
    """``<task>_p<class>`` for every task and class."""
    return tuple(f"{task}_p{c}" for task in tasks for c in range(n_classes))


def predict_columns(tasks: Sequence[str], n_classes: int) -> tuple[str, ...]:
    """The columns of :func:`predict`'s table for a model with these heads."""
    return ("report_id", "level", *tasks, "status", "reason", "flags", "row", *prob_columns(tasks, n_classes))


PROB_COLUMNS = prob_columns(LOCATIONS, GRADES)  # a 'deepspine' model's
PREDICT_COLUMNS = predict_columns(LOCATIONS, GRADES)


@dataclass
class PredictSummary:
    output: Path
    rows: list[dict[str, Any]]
    volumes: Path

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(DISC_STATUSES, 0)
        for r in self.rows:
            out[r["status"]] += 1
        return out


def dominance_flags(probs: np.ndarray, tasks: Sequence[str], min_probability: float = 0.5,
                    min_margin: float = 0.2) -> list[str]:
    """``uncertain:<task>`` for every task of ``probs (T, C)`` whose top grade does not dominate (module docs)."""
    flags = []
    for t, task in enumerate(tasks):
        top2 = np.sort(probs[t])[::-1][:2]
        if top2[0] < min_probability or top2[0] - top2[1] < min_margin:
            flags.append(f"uncertain:{task}")
    return flags


@torch.no_grad()
def grade_discs(model: torch.nn.Module, axial: list[np.ndarray | None], sagittal: list[np.ndarray | None],
                tasks: Sequence[str], batch_size: int = 8) -> np.ndarray:
    """Softmax probabilities ``(N, T, C)`` of discs given as axial ``(8, H, W)`` / sagittal ``(D, H, W)`` arrays
    (None for a switched-off branch)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(axial), batch_size):
        ax = axial[i:i + batch_size]
        sg = sagittal[i:i + batch_size]
        a = torch.from_numpy(np.stack(ax)).to(device) if ax[0] is not None else None
        s = torch.from_numpy(np.stack(sg)[:, None]).to(device) if sg[0] is not None else None
        logits = model(a, s)
        out.append(torch.stack([logits[t].float().softmax(-1) for t in tasks], dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(tasks), GRADES), np.float32)


def predict(model_path: str | Path, studies: Sequence[Path], output: str | Path, *,
            seg_model: Path | None = None, vertebrae_dir: Path | None = None, workers: int = 1,
            min_probability: float = 0.5, min_margin: float = 0.2, device: str = "auto",
            study_ids: dict[str, str] | None = None, progress: Callable[[Any], None] | None = None,
            deidentify_key: str | bytes | None = None) -> PredictSummary:
    """Grade every disc level of ``studies``; write the levels table ``output`` (.csv, .jsonl or .parquet) and the
    disc volumes, QC pictures and manifest under ``<output folder>/volumes/``. The output, the checkpoints and the
    study paths are checked before any work (G010, G009, G006, then imaging's checks). Without ``seg_model`` and
    ``vertebrae_dir`` the shipped segmentation model finds the bodies. With ``deidentify_key`` the studies are
    named by keyed hashes as in ``imaging extract --deidentify`` (the table's report_id is that pseudonym).
    ``device``: where the grading network runs ("auto": CUDA when present)."""
    from imaging.extract import ExtractConfig, extract

    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise GradingError(Errors.G010.format(path=output, suffix=suffix, formats=", ".join(TABLE_FORMATS)))
    check_writable(output, folder=False)
    ck = load_checkpoint(model_path, pick_device(device))
    cfg = ck.config
    ecfg = ExtractConfig.from_dict(ck.extract_config) if ck.extract_config else ExtractConfig()
    volumes = output.parent / "volumes"
    ext = extract(studies, volumes, ecfg, model_path=seg_model, vertebrae_dir=vertebrae_dir, workers=workers,
                  study_ids=study_ids, progress=progress, deidentify_key=deidentify_key)
    tasks = list(cfg.model.tasks)
    rows, usable = [], []
    for n, rec in enumerate(ext.records, 1):
        for r in rec.rows:
            row = {"report_id": rec.study_id, "level": r["level"], "status": r["status"], "reason": r["reason"],
                   "flags": "", "row": n}
            rows.append(row)
            if r["status"] != STATUS_FAILED:
                usable.append((row, r))
    ax = [load_array(str(volumes / r["axial_path"]), "axial") if cfg.model.use_axial else None for _, r in usable]
    sg = [load_array(str(volumes / r["sagittal_path"]), "sagittal") if cfg.model.use_sagittal else None
          for _, r in usable]
    probs = grade_discs(ck.model, ax, sg, tasks)
    for (row, _), p in zip(usable, probs):
        for t, task in enumerate(tasks):
            row[task] = int(p[t].argmax())
            row.update({f"{task}_p{c}": round(float(p[t, c]), 4) for c in range(p.shape[-1])})
        flags = dominance_flags(p, tasks, min_probability, min_margin)
        row["flags"] = ";".join(flags)
        if flags:
            row["status"] = STATUS_FLAGGED
    output.parent.mkdir(parents=True, exist_ok=True)
    with TableWriter(output, predict_columns(tasks, cfg.model.n_classes), int_columns=(*tasks, "row"),
                     float_columns=prob_columns(tasks, cfg.model.n_classes)) as w:
        w.write(rows)
    logger.info("graded %d of %d disc levels of %d studies -> %s", len(usable), len(rows), len(ext.records), output)
    return PredictSummary(output, rows, volumes)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A table written by :func:`predict` (any of its formats) as a DataFrame."""
    return read_table(path, PREDICT_COLUMNS, role="Predictions", producer="grading predict")
