"""The figures of grading, as plain functions of labels and probabilities (no files, no network).

Per-class accuracy is the recall of a true class and the class average the mean over the classes present (the
paper's section 4.2); merged grades sum the probabilities of mild and moderate; the binary figures are severe
against the rest; the AUC carries a percentile bootstrap confidence interval. :mod:`grading.evaluate` builds the
paper's tables from them and :mod:`grading.train` reports the class averages of each epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from spinecore.schema import GRADE_NAMES

_MERGE = np.array([0, 1, 1, 2])  # grade 0-3 -> merged grade 0-2


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[float | None]:
    """The recall of each true class ``0..n_classes-1``; None for a class absent from ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return [float(np.mean(y_pred[y_true == c] == c)) if np.any(y_true == c) else None for c in range(n_classes)]


def class_average(accuracies: Sequence[float | None]) -> float | None:
    """The mean of the per-class accuracies of the classes present (not None); None when none is."""
    present = [a for a in accuracies if a is not None]
    return float(np.mean(present)) if present else None


def merge_labels(labels: np.ndarray) -> np.ndarray:
    """Grades 0-3 -> merged grades 0 (normal), 1 (mild/moderate), 2 (severe)."""
    return _MERGE[np.asarray(labels, dtype=int)]


def merged_predictions(probs: np.ndarray) -> np.ndarray:
    """The merged grade 0-2 of each row of p0-p3: the argmax of ``(p0, p1 + p2, p3)``."""
    probs = np.asarray(probs, dtype=float)
    return np.argmax(np.column_stack([probs[:, 0], probs[:, 1] + probs[:, 2], probs[:, 3]]), axis=1)


def severe_predictions(probs: np.ndarray, severe: int = 3) -> np.ndarray:
    """Binary severe-vs-rest predictions: ``p[severe] > 0.5``, i.e. P_pos = p3 above P_neg = p0 + p1 + p2 (4 grades;
    ``severe`` 2 for the RSNA classes)."""
    return np.asarray(probs, dtype=float)[:, severe] > 0.5


def rank_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank sum (ties at half), equal to ``roc_auc_score`` and several times faster.

    ``y_true`` is boolean and holds both classes.
    """
    ranks = rankdata(score)
    positives = int(np.sum(y_true))
    negatives = len(y_true) - positives
    return float((ranks[y_true].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def bootstrap_auc(y_true: np.ndarray, score: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """ROC AUC of ``score`` for the binary ``y_true`` with a percentile bootstrap 95% confidence interval.

    The AUC is ``roc_auc_score``; the bootstrap resamples the rows with replacement ``n_boot`` times
    (``numpy.random.default_rng(seed)``), skips the resamples holding one class only and scores the others with
    :func:`rank_auc` (the same figure, faster). Returns ``auc``, ``ci_low``, ``ci_high`` (None when the rows hold one
    class only), ``n_boot``, ``n_used`` (resamples kept), ``positives`` and ``negatives``.
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(score, dtype=float)
    result: dict[str, Any] = {"auc": None, "ci_low": None, "ci_high": None, "n_boot": n_boot, "n_used": 0,
                              "positives": int(y.sum()), "negatives": int((~y).sum())}
    if y.all() or not y.any():
        return result
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].any() and not y[idx].all():
            aucs.append(rank_auc(y[idx], s[idx]))
    result.update(auc=float(roc_auc_score(y, s)), n_used=len(aucs))
    if aucs:
        low, high = np.percentile(aucs, [2.5, 97.5])
        result.update(ci_low=float(low), ci_high=float(high))
    return result


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = len(GRADE_NAMES)) -> np.ndarray:
    """The confusion matrix of classes 0..n_classes-1 (the 4 grades by default): counts, rows truth, columns
    prediction (zeros without rows)."""
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return counts


def class_average_accuracy(probs: np.ndarray, labels: np.ndarray) -> list[float | None]:
    """Per task of ``probs (N, T, C)`` and ``labels (N, T)`` (-1 missing): the class-average accuracy of
    :mod:`grading.evaluate` (the mean over the grades present of their recall)."""
    return [class_average(per_class_accuracy(labels[:, t], probs[:, t].argmax(-1), probs.shape[-1]))
            for t in range(labels.shape[1])]
