"""RSNA 2024 Lumbar Spine Degenerative Classification: its labels as a levels table, and its score.

:func:`read_train_csv` turns the competition's ``train.csv`` (``study_id`` and 25 columns ``<condition>_<level>``
valued ``Normal/Mild``, ``Moderate``, ``Severe`` or empty) into a levels table in the ``rsna`` label scheme
(:mod:`grading.labels`): one row per study and level T12-L1 .. L5-S1 (T12-L1 is never graded there), the tasks
``scs``, ``rfs``, ``lfs``, ``rss``, ``lss`` holding the class index 0 (Normal/Mild), 1 (Moderate), 2 (Severe) or
empty. ``grading train --levels train.csv`` reads it directly.

:func:`rsna_score` is the competition's metric (its evaluation page and metric notebook):

* every labelled row (study, condition, level) weighs 1 (Normal/Mild), 2 (Moderate) or 4 (Severe), by its true
  class;
* per condition (``spinal`` = scs; ``foraminal`` = rfs and lfs; ``subarticular`` = rss and lss) the sample-weighted
  log loss ``sum_i w_i * -log p_i[y_i] / sum_i w_i``, with scikit-learn's ``log_loss`` handling of the
  probabilities: each row clipped to [eps, 1 - eps] (eps = 1e-15) and divided by its sum;
* ``any_severe_spinal``: per study, the label is whether any of its spinal canal levels is Severe, the weight the
  largest weight of those levels (4 with a severe level, else 2 with a moderate one, else 1), the prediction the
  largest predicted probability of Severe over its spinal canal levels; the same weighted log loss on the binary
  label (probabilities clipped);
* the score is the mean of the four terms (the competition's ``any_severe_scalar`` is 1.0).

Rows whose label is unknown are not scored (the competition leaves out levels not visible in the imagery). When a
condition has no labelled row (a model without subarticular heads) its term is None and the score is the mean of
the terms present, marked incomplete (``complete`` False): it is not comparable with the leaderboard.
Predictions of the 4-grade ``deepspine`` scheme are scored by summing normal and mild into Normal/Mild.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from imaging.datasets.rsna import CONDITIONS, LEVEL_TOKENS
from spinecore.schema import LEVELS

from .errors import Errors, GradingError
from .labels import ALL_TASKS, LabelScheme

__all__ = ["CLASS_NAMES", "SAMPLE_WEIGHTS", "SCORE_CONDITIONS", "EPS", "read_train_csv", "is_train_csv",
           "rsna_score", "summarize_scores", "weighted_log_loss"]

#: train.csv values -> RSNA class index.
CLASS_NAMES: dict[str, int] = {"normal/mild": 0, "moderate": 1, "severe": 2}
SAMPLE_WEIGHTS: tuple[float, float, float] = (1.0, 2.0, 4.0)
#: The metric's conditions and the tasks they pool.
SCORE_CONDITIONS: dict[str, tuple[str, ...]] = {"spinal": ("scs",), "foraminal": ("rfs", "lfs"),
                                                "subarticular": ("rss", "lss")}
EPS = 1e-15
LEVEL_COLUMNS = ("report_id", "level", *ALL_TASKS)


def is_train_csv(df: pd.DataFrame) -> bool:
    """Whether a table has the layout of the competition's train.csv (``study_id`` and condition_level columns)."""
    return "study_id" in df.columns and f"spinal_canal_stenosis_{next(iter(LEVEL_TOKENS))}" in df.columns


def read_train_csv(df: pd.DataFrame) -> pd.DataFrame:
    """train.csv (read with every cell a string, e.g. by :func:`grading.data.read_table`) as a levels table in
    the ``rsna`` scheme: :data:`LEVEL_COLUMNS`, six rows per study (T12-L1 unlabelled), ``attrs["label_scheme"]``
    set to ``"rsna"``. A condition column absent from the file leaves its task empty.

    Raises:
        GradingError: G316 for a value that is no RSNA severity.
    """
    source = str(df.attrs.get("path", "<train.csv>"))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    studies = df["study_id"].fillna("").astype(str).str.strip()
    for study in studies[studies != ""].drop_duplicates():
        for level in LEVELS:
            rows[(study, level)] = {"report_id": study, "level": level, **{t: "" for t in ALL_TASKS}}
    for condition, task in CONDITIONS.items():
        for token, level in LEVEL_TOKENS.items():
            column = f"{condition}_{token}"
            if column not in df.columns:
                continue
            for study, value in zip(studies, df[column].fillna("").astype(str)):
                text = value.strip()
                if not study or not text:
                    continue
                if text.lower() not in CLASS_NAMES:
                    raise GradingError(Errors.G316.format(path=source, study=study, column=column, value=value))
                rows[(study, level)][task] = str(CLASS_NAMES[text.lower()])
    out = pd.DataFrame(list(rows.values()), columns=list(LEVEL_COLUMNS), dtype=str)
    out.attrs.update(path=source, label_scheme="rsna")
    return out


def weighted_log_loss(labels: np.ndarray, probs: np.ndarray, weights: np.ndarray) -> float:
    """``sum w * -log p[label] / sum w`` with each row of ``probs`` (N, C) clipped to [EPS, 1 - EPS] and divided by
    its sum (scikit-learn's ``log_loss``)."""
    p = np.clip(np.asarray(probs, dtype=float), EPS, 1 - EPS)
    p = p / p.sum(axis=1, keepdims=True)
    w = np.asarray(weights, dtype=float)
    picked = p[np.arange(len(p)), np.asarray(labels, dtype=int)]
    return float(np.sum(w * -np.log(picked)) / np.sum(w))


def _rsna_view(predictions: pd.DataFrame, scheme: LabelScheme) -> tuple[pd.DataFrame, np.ndarray]:
    """The labelled rows with labels as RSNA classes and their probabilities of the three RSNA classes."""
    rows = predictions[predictions["label"].notna()].reset_index(drop=True)
    probs = rows[list(scheme.prob_columns)].to_numpy(float)
    table = np.asarray(scheme.rsna)
    merged = np.zeros((len(rows), 3))
    for c, target in enumerate(table):
        merged[:, target] += probs[:, c]
    return rows.assign(label=table[rows["label"].to_numpy(int)]), merged


def rsna_score(predictions: pd.DataFrame, scheme: LabelScheme) -> dict[str, Any]:
    """The competition's score of one run's predictions (columns ``study_id, level, task, label`` and the scheme's
    ``p0..``; ``label`` NA when unknown). Returns the four terms (None for a condition without labelled rows),
    ``score`` (the mean of the terms present; None without any), ``complete`` (all four present), and the rows
    and studies scored. See the module docstring for the definition."""
    rows, probs = _rsna_view(predictions, scheme)
    labels = rows["label"].to_numpy(int)
    weights = np.asarray(SAMPLE_WEIGHTS)[labels]
    terms: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for condition, tasks in SCORE_CONDITIONS.items():
        mask = rows["task"].isin(tasks).to_numpy()
        counts[condition] = int(mask.sum())
        terms[condition] = weighted_log_loss(labels[mask], probs[mask], weights[mask]) if mask.any() else None
    spinal = rows.assign(severe=labels == 2, weight=weights, p_severe=probs[:, 2])[rows["task"] == "scs"]
    per_study = spinal.groupby("study_id").agg(severe=("severe", "max"), weight=("weight", "max"),
                                               p=("p_severe", "max"))
    counts["any_severe_spinal"] = len(per_study)
    if len(per_study):
        p = per_study["p"].to_numpy(float)
        terms["any_severe_spinal"] = weighted_log_loss(per_study["severe"].to_numpy(int), np.column_stack([1 - p, p]),
                                                       per_study["weight"].to_numpy(float))
    else:
        terms["any_severe_spinal"] = None
    present = [v for v in terms.values() if v is not None]
    return {"terms": terms, "score": float(np.mean(present)) if present else None,
            "complete": len(present) == len(terms), "rows": counts}


def summarize_scores(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean over runs of each term and of the score (None where no run has it)."""
    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None

    keys = list(SCORE_CONDITIONS) + ["any_severe_spinal"]
    return {"terms": {k: mean([s["terms"][k] for s in scores]) for k in keys},
            "score": mean([s["score"] for s in scores]), "complete": all(s["complete"] for s in scores)}

