"""The Dice loss of the paper's eq. 1 and the Dice score of two masks."""

from __future__ import annotations

import numpy as np
import torch


def dice_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1.0, weight: torch.Tensor | None = None
              ) -> torch.Tensor:
    """Negative Dice coefficient of eq. 1, summed over the batch and pixels, averaged over channels.

    ``-(2 sum_i p_i g_i + eps) / (sum_i p_i + sum_i g_i + eps)`` per channel, for ``pred`` and ``target`` of shape
    ``(B, C, H, W)`` with probabilities in [0, 1]. Equals MONAI ``DiceLoss(smooth_nr=eps, smooth_dr=eps,
    batch=True)`` minus 1. Range [-1, 0); -1 is a perfect match. ``weight (B, C)`` in {0, 1} leaves out the
    samples whose target of a channel is unknown (a channel unknown in the whole batch adds a constant).
    """
    if weight is not None:
        w = weight[:, :, None, None].to(pred.dtype)
        pred, target = pred * w, target * w
    dims = (0, 2, 3)
    inter = (pred * target).sum(dims)
    denom = pred.sum(dims) + target.sum(dims)
    return -((2.0 * inter + eps) / (denom + eps)).mean()


def dice_score(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice of two binary masks; 1.0 when both are empty."""
    p, g = pred.astype(bool), target.astype(bool)
    s = p.sum() + g.sum()
    return 1.0 if s == 0 else float(2.0 * (p & g).sum() / s)
