"""The weighted categorical cross entropy of DeepSPINE (eq. 2 of the paper) and its class weights.

Eq. 2 as printed is a plain sum over the N discs, the T tasks and the C grades:
``L = - sum_n sum_t sum_j alpha_{j,t} * y_{j,t}(x_n) * log P_{j,t}(x_n)``, with ``P = softmax(logits)`` per task
and class weights ``alpha`` inversely proportional to the grade frequency of each task in the training set.
:func:`weighted_cross_entropy` computes it (``reduction="sum"``) or, by default, the same sum with each task's
term divided by the number of discs labelled for that task in the batch (``reduction="task_mean"``): labels may
be missing (``-1``) for some tasks of some discs, and the mean keeps every task's share of the loss, and the loss
scale, independent of how many of its labels a batch happens to hold and of the batch size. Without missing
labels the two differ by the constant factor N (the batch size), which Adadelta's step largely ignores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from grading.errors import Errors, GradingError

logger = logging.getLogger(__name__)

MISSING = -1  # label of a disc without a grade for a task
REDUCTIONS = ("task_mean", "sum")


def _check_labels(labels: Tensor, n_classes: int) -> None:
    """Raise G110/G111 unless ``labels`` is an integer (N, T) tensor of -1 or 0..n_classes-1."""
    if labels.ndim != 2 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise GradingError(Errors.G110.format(shape=f"{tuple(labels.shape)} ({labels.dtype})"))
    bad = labels[(labels < MISSING) | (labels >= n_classes)]
    if bad.numel():
        raise GradingError(Errors.G111.format(value=int(bad[0]), last=n_classes - 1))


def class_weights(labels: np.ndarray | Tensor, n_classes: int = 4) -> Tensor:
    """Per-task class weights ``(T, C)`` inversely proportional to the class frequency in ``labels``.

    ``labels`` is ``(N, T)`` integers, ``-1`` for a missing label. For task ``t`` with ``N_t`` labelled discs of
    which ``n_{t,c}`` have grade ``c``: ``w_{t,c} = N_t / (C * n_{t,c})``, so a balanced training set gives 1 for
    every class and the label-weighted mean of the weights is 1 for every task.

    A grade absent from the training set for a task gets the largest weight of the grades present (the rarest
    present grade), with a warning: such a grade still counts if it shows up later, and no weight is ``inf`` or
    ``NaN``. A task without any label gets weight 1 for every grade, also with a warning.
    """
    lab = torch.as_tensor(np.asarray(labels) if not isinstance(labels, Tensor) else labels)
    _check_labels(lab, n_classes)
    lab = lab.long()
    weights = torch.ones(lab.shape[1], n_classes)
    for t in range(lab.shape[1]):
        column = lab[:, t]
        counts = torch.bincount(column[column != MISSING], minlength=n_classes).double()
        total = counts.sum()
        if total == 0:
            logger.warning("task %d has no labels; all its class weights are 1", t)
            continue
        w = torch.where(counts > 0, total / (n_classes * counts.clamp(min=1)), torch.zeros_like(counts))
        absent = counts == 0
        if absent.any():
            logger.warning("task %d: classes %s are absent from the labels; they get the largest present weight "
                           "%.3g", t, absent.nonzero().flatten().tolist(), float(w.max()))
            w[absent] = w.max()
        weights[t] = w.float()
    return weights


def weighted_cross_entropy(logits: Mapping[str, Tensor], targets: Tensor, weights: Tensor,
                           tasks: Sequence[str], reduction: str = "task_mean") -> Tensor:
    """Eq. 2: class-weighted cross entropy summed over tasks; per task averaged over its labelled discs
    (``reduction="task_mean"``) or summed as printed in the paper (``reduction="sum"``).

    ``L = sum_t (1 / N_t) * sum_{n: y_{n,t} != -1} -w_{t, y_{n,t}} * log softmax(logits[t])_{n, y_{n,t}}``
    (``task_mean``; ``sum`` leaves out the ``1 / N_t``)

    Args:
        logits: ``{task: (B, C) logits}`` as returned by :class:`grading.model.GradingNet`.
        targets: ``(B, T)`` class indices in the order of ``tasks``; ``-1`` marks a missing label (masked out).
        weights: ``(T, C)`` class weights, e.g. from :func:`class_weights`.
        tasks: the task names, in the column order of ``targets`` and ``weights``.
        reduction: ``"task_mean"`` or ``"sum"`` (see the module docstring).

    Returns:
        A scalar tensor. ``N_t`` is the number of discs labelled for task ``t`` in the batch; a task with no label
        in the batch contributes 0 (a batch without any label gives a zero that still supports ``backward()``).
        With ``sum`` this is exactly eq. 2; with ``task_mean`` and no missing label, eq. 2 divided by the batch size.

    Unlike ``torch.nn.functional.cross_entropy(weight=w, ignore_index=-1)``, whose mean divides by the *sum of
    the weights* of the labelled targets, this divides by their *number*: per task it equals
    ``cross_entropy(..., weight=w, ignore_index=-1, reduction="sum") / N_t``; both agree when the weights are 1.
    """
    if reduction not in REDUCTIONS:
        raise GradingError(Errors.G001.format(name="loss_reduction", value=reduction, expected=f"one of {REDUCTIONS}"))
    missing = [t for t in tasks if t not in logits]
    if missing:
        raise GradingError(Errors.G112.format(got=sorted(logits), missing=missing))
    n_classes = logits[tasks[0]].shape[-1]
    if targets.ndim != 2 or targets.shape[1] != len(tasks):
        raise GradingError(Errors.G113.format(name="targets", shape=tuple(targets.shape),
                                              expected=f"(B, {len(tasks)}): one column per task"))
    if tuple(weights.shape) != (len(tasks), n_classes):
        raise GradingError(Errors.G113.format(name="weights", shape=tuple(weights.shape),
                                              expected=f"({len(tasks)}, {n_classes}): (tasks, classes)"))
    for task in tasks:
        if logits[task].shape != (targets.shape[0], n_classes):
            raise GradingError(Errors.G113.format(name=f"logits[{task!r}]", shape=tuple(logits[task].shape),
                                                  expected=f"({targets.shape[0]}, {n_classes}): (batch, classes)"))
    _check_labels(targets, n_classes)
    targets = targets.long()
    # zero, but attached to the graph so that backward() works on a batch without any label
    total = sum(logits[task].float().sum() for task in tasks) * 0.0
    for t, task in enumerate(tasks):
        y = targets[:, t]
        n_labelled = int((y != MISSING).sum())
        if n_labelled == 0:
            continue
        summed = F.cross_entropy(logits[task].float(), y, weight=weights[t].to(logits[task].device, torch.float32),
                                 ignore_index=MISSING, reduction="sum")
        total = total + (summed / n_labelled if reduction == "task_mean" else summed)
    return total
