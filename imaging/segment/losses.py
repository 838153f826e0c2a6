"""The Dice loss of the paper's eq. 1, a pixel-wise cross entropy to add to it, and the Dice score of two masks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _per_pixel(weight: torch.Tensor) -> torch.Tensor:
    """A ``(B, C)`` weight as ``(B, C, 1, 1)``; a ``(B, C, H, W)`` weight as it is."""
    return weight[:, :, None, None] if weight.dim() == 2 else weight


def dice_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1.0, weight: torch.Tensor | None = None
              ) -> torch.Tensor:
    """Negative Dice coefficient of eq. 1, summed over the batch and pixels, averaged over channels.

    ``-(2 sum_i p_i g_i + eps) / (sum_i p_i + sum_i g_i + eps)`` per channel, for ``pred`` and ``target`` of shape
    ``(B, C, H, W)`` with probabilities in [0, 1]. Equals MONAI ``DiceLoss(smooth_nr=eps, smooth_dr=eps,
    batch=True)`` minus 1. Range [-1, 0); -1 is a perfect match. ``weight`` in {0, 1}, ``(B, C)`` per sample and
    channel or ``(B, C, H, W)`` per pixel, leaves out the targets that are unknown (a channel unknown in the whole
    batch adds a constant).
    """
    if weight is not None:
        w = _per_pixel(weight).to(pred.dtype)
        pred, target = pred * w, target * w
    dims = (0, 2, 3)
    inter = (pred * target).sum(dims)
    denom = pred.sum(dims) + target.sum(dims)
    return -((2.0 * inter + eps) / (denom + eps)).mean()


def bce_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Pixel-wise binary cross entropy of probabilities ``pred`` against ``target`` (``(B, C, H, W)``), averaged over
    the pixels whose target is known (``weight`` in {0, 1}, ``(B, C)`` or ``(B, C, H, W)`` as in :func:`dice_loss`)."""
    per = F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    if weight is None:
        return per.mean()
    w = _per_pixel(weight).to(per.dtype).expand_as(per)
    return (per * w).sum() / w.sum().clamp(min=1.0)


def dice_score(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice of two binary masks; 1.0 when both are empty."""
    p, g = pred.astype(bool), target.astype(bool)
    s = p.sum() + g.sum()
    return 1.0 if s == 0 else float(2.0 * (p & g).sum() / s)
