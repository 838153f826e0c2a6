"""Training augmentation: geometric and intensity changes of a batch of slices and their targets."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import SegConfig


def augment_batch(x: torch.Tensor, y: torch.Tensor, cfg: SegConfig, gen: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rotation/scale/shift (same for image and target) and intensity gamma/scale/noise.

    ``x: (B, 1, S, S)``, ``y: (B, C, S, S)`` -> same shapes.
    """
    b = x.shape[0]
    u = lambda: torch.rand(b, generator=gen) * 2 - 1  # noqa: E731  uniform [-1, 1)
    ang = u() * math.radians(cfg.rotate_deg)
    sc = 1.0 + u() * cfg.scale
    tx, ty = u() * cfg.shift * 2, u() * cfg.shift * 2
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    y = (F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5).float()
    gamma = torch.exp(u() * 0.3).view(b, 1, 1, 1)
    x = x.clamp(min=0) ** gamma * (1.0 + 0.15 * u()).view(b, 1, 1, 1)
    x = x + 0.03 * torch.randn(x.shape, generator=gen)
    return x, y
