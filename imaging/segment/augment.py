"""Training augmentation for the vertebra segmentation network: what makes it hold on other scanners.

Two stages, both driven by one seeded :class:`AugmentConfig`:

- **slice stage** (numpy, one case at a time, before the slice is normalised and letterboxed to the network grid):
  :func:`choose_slice` picks a sagittal slice a few millimetres left or right of the mid-line and may average
  adjacent slices (a thick slice); :func:`random_crop` cuts a random window out of the slice, so that bodies are
  cut at the image edges and the field of view runs from thoracolumbar to lumbosacral.
- **batch stage** (torch, on network-grid tensors): :func:`augment_batch` applies one random affine transform
  (scale 0.7-1.4, rotation, shear, shift) composed with a smooth elastic warp to image and targets alike, then
  intensity changes to the image only: a multiplicative bias field, gamma, contrast, a random monotone or
  inverting intensity curve (other contrasts), Gaussian blur (thick slices, low resolution) and noise.

Shapes: images are ``(B, 1, S, S)`` and targets ``(B, C, S, S)`` in {0, 1}; slices are ``(rows SI, cols AP)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spinecore.config import Config


@dataclass
class AugmentConfig(Config):
    """Ranges of every augmentation; probabilities are per sample. ``AugmentConfig.none()`` switches all off.
    :class:`~imaging.segment.config.SegConfig` validates it (:meth:`problems`) as its ``augmentation`` field."""

    scale: tuple[float, float] = (0.7, 1.4)  # zoom factor range (log-uniform)
    rotate_deg: float = 12.0                  # in-plane rotation, +-degrees
    shear: float = 0.08                       # +- shear factor
    shift: float = 0.08                       # +- fraction of the image side
    elastic: float = 0.02                     # elastic displacement, fraction of the image side (0: off)
    elastic_grid: int = 5                     # control points per side of the elastic field
    bias: float = 0.35                        # bias field amplitude (multiplicative, smooth)
    gamma: float = 0.4                        # log-gamma range: gamma in exp(+-gamma)
    contrast: float = 0.3                     # +- contrast change around the mean
    curve_p: float = 0.12                     # probability of a random intensity curve (other contrasts)
    invert_p: float = 0.05                    # probability that curve inverts the intensities (T1 <-> T2 like)
    blur_p: float = 0.2                       # probability of a Gaussian blur
    blur_sigma: float = 1.5                   # largest blur sigma, network pixels
    noise: float = 0.06                       # largest Gaussian noise standard deviation
    crop_p: float = 0.35                      # probability of a random crop of the slice
    crop_min: float = 0.5                     # smallest crop side, fraction of the slice side
    slice_mm: float = 5.0                     # slice chosen up to this far left or right of the mid-line
    thick_p: float = 0.25                     # probability of averaging adjacent slices (a thick slice)
    thick_mm: float = 5.0                     # thickest averaged slab, mm

    @classmethod
    def none(cls) -> "AugmentConfig":
        return cls(scale=(1.0, 1.0), rotate_deg=0.0, shear=0.0, shift=0.0, elastic=0.0, bias=0.0, gamma=0.0,
                   contrast=0.0, curve_p=0.0, invert_p=0.0, blur_p=0.0, noise=0.0, crop_p=0.0, slice_mm=0.0,
                   thick_p=0.0)

    def problems(self) -> list[tuple[str, Any, str]]:
        """Invalid settings as ``(name, value, expected)``; empty when the config is valid."""
        checks = [(name, 0.0 <= getattr(self, name) <= 1.0, "a probability in [0, 1]")
                  for name in ("curve_p", "invert_p", "blur_p", "crop_p", "thick_p")]
        checks += [(name, getattr(self, name) >= 0, "a number >= 0")
                   for name in ("rotate_deg", "shear", "shift", "elastic", "bias", "gamma", "contrast", "blur_sigma",
                                "noise", "slice_mm", "thick_mm")]
        checks += [("scale", len(self.scale) == 2 and 0.0 < self.scale[0] <= self.scale[1],
                    "(low, high) with 0 < low <= high, e.g. (0.7, 1.4)"),
                   ("crop_min", 0.0 < self.crop_min <= 1.0, "a fraction in (0, 1]"),
                   ("elastic_grid", self.elastic_grid >= 2, "an integer >= 2")]
        return [(name, getattr(self, name), expected) for name, ok, expected in checks if not ok]



# ------------------------------------------------------------------------------------------------------ slice stage
def choose_slice(vol: np.ndarray, lab3: np.ndarray, k_mid: int, slice_mm: float, rng: np.random.Generator,
                 cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """A sagittal slice ``(SI, AP)`` of ``vol (SI, AP, LR)`` and its labels, up to ``cfg.slice_mm`` off ``k_mid``.

    With probability ``cfg.thick_p`` adjacent slices up to ``cfg.thick_mm`` thick are averaged (the labels are
    those of the centre slice). ``slice_mm`` is the slice spacing in mm.
    """
    n = vol.shape[2]
    reach = int(cfg.slice_mm / max(slice_mm, 1e-6))
    k = int(np.clip(k_mid + rng.integers(-reach, reach + 1), 0, n - 1))
    half = 0
    if rng.random() < cfg.thick_p:
        half = int(rng.integers(0, int(cfg.thick_mm / max(slice_mm, 1e-6) / 2) + 1))
    lo, hi = max(k - half, 0), min(k + half + 1, n)
    return vol[:, :, lo:hi].astype(np.float32).mean(axis=2), lab3[:, :, k]


def random_crop(image: np.ndarray, labels: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
                ) -> tuple[np.ndarray, np.ndarray]:
    """With probability ``cfg.crop_p`` a random window of ``image`` and ``labels`` (each side ``crop_min``-1 of
    the slice's): a narrower field of view that may cut bodies at its edges."""
    if rng.random() >= cfg.crop_p:
        return image, labels
    h, w = image.shape
    ch, cw = (int(round(s * rng.uniform(cfg.crop_min, 1.0))) for s in (h, w))
    r0, c0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return image[r0:r0 + ch, c0:c0 + cw], labels[r0:r0 + ch, c0:c0 + cw]


# ------------------------------------------------------------------------------------------------------ batch stage
def _uniform(b: int, gen: torch.Generator, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(b, generator=gen)


def spatial_grid(b: int, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """A sampling grid ``(B, size, size, 2)``: a random affine map (zoom, rotation, shear, shift) composed with a
    smooth elastic displacement (cubic upsampling of a coarse random field)."""
    lo, hi = (math.log(s) for s in cfg.scale)
    zoom = torch.exp(_uniform(b, gen, lo, hi))
    ang = _uniform(b, gen) * math.radians(cfg.rotate_deg)
    sh = _uniform(b, gen) * cfg.shear
    tx, ty = _uniform(b, gen) * cfg.shift * 2, _uniform(b, gen) * cfg.shift * 2
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    theta = torch.stack([torch.stack([cos, -sin + sh / zoom, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [b, 1, size, size], align_corners=False)
    if cfg.elastic > 0:
        coarse = torch.randn((b, 2, cfg.elastic_grid, cfg.elastic_grid), generator=gen) * cfg.elastic * 2
        field = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)
        grid = grid + field.permute(0, 2, 3, 1)
    return grid


def bias_field(b: int, size: int, amplitude: float, gen: torch.Generator) -> torch.Tensor:
    """A smooth multiplicative field ``(B, 1, size, size)`` around 1 (a random quadratic in x and y)."""
    coef = _uniform(b * 5, gen).view(b, 5, 1, 1) * amplitude
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    f = coef[:, 0] * x + coef[:, 1] * y + coef[:, 2] * x * x + coef[:, 3] * y * y + coef[:, 4] * x * y
    return torch.exp(f).unsqueeze(1)


def intensity_curve(x: torch.Tensor, invert: bool, gen: torch.Generator) -> torch.Tensor:
    """A random smooth monotone curve through (0, 0) and (1, 1) (reversed when ``invert``) applied to ``x`` in
    [0, 1]: other tissue contrasts with the same anatomy."""
    knots = torch.sort(torch.rand(6, generator=gen))[0]
    ys = torch.cat([torch.zeros(1), knots, torch.ones(1)])
    if invert:
        ys = 1.0 - ys
    pos = x.clamp(0, 1) * (len(ys) - 1)
    i0 = pos.floor().long().clamp(max=len(ys) - 2)
    t = pos - i0
    return ys[i0] * (1 - t) + ys[i0 + 1] * t


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(1, 1, H, W)`` with ``sigma`` pixels."""
    radius = max(int(math.ceil(2.5 * sigma)), 1)
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1))


def augment_batch(x: torch.Tensor, y: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random spatial warp of image and targets alike, then intensity changes of the image.

    ``x: (B, 1, S, S)`` normalised to about [0, 1], ``y: (B, C, S, S)`` in {0, 1} -> the same shapes.
    """
    b, size = x.shape[0], x.shape[-1]
    grid = spatial_grid(b, size, cfg, gen)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    y = (F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5).float()
    if cfg.bias > 0:
        x = x * bias_field(b, size, cfg.bias, gen)
    x = x.clamp(0, 1.5) / 1.5
    out = []
    for i in range(b):
        xi = x[i:i + 1]
        if torch.rand(1, generator=gen).item() < cfg.curve_p:
            xi = intensity_curve(xi, torch.rand(1, generator=gen).item() < cfg.invert_p / max(cfg.curve_p, 1e-9),
                                 gen)
        if cfg.gamma > 0:
            xi = xi.clamp(min=0) ** math.exp(_uniform(1, gen).item() * cfg.gamma)
        if cfg.contrast > 0:
            m = xi.mean()
            xi = (xi - m) * (1.0 + _uniform(1, gen).item() * cfg.contrast) + m
        if torch.rand(1, generator=gen).item() < cfg.blur_p and cfg.blur_sigma > 0:
            xi = gaussian_blur(xi, 0.4 + torch.rand(1, generator=gen).item() * cfg.blur_sigma)
        if cfg.noise > 0:
            xi = xi + torch.randn(xi.shape, generator=gen) * torch.rand(1, generator=gen).item() * cfg.noise
        out.append(xi)
    return torch.cat(out) * 1.5, y
