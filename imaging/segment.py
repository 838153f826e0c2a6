"""Vertebral-body segmentation and level labelling on the mid-sagittal slice (Deep Spine, sections 3.1, 4.1).

Two detectors, as in the paper, are the two output channels of one U-Net: channel 0 segments the lumbar bodies
(T12-L5, rectangles in the paper's ground truth) and channel 1 the sacral S1 segment (trapezoids). The Dice loss is
computed per channel and averaged, so the channels do not compete (a sigmoid per channel, not a softmax); with
``with_s1=False`` the network has the lumbar channel only (for data without S1 semantics).

Library entry points (the CLI in :mod:`imaging.cli` is a thin wrapper around each):

- :func:`train` (``imaging train-seg``): train on a folder of ``NAME_image.nii.gz`` + ``NAME_vertebrae.nii.gz``
  (positional label masks) or ``NAME_image.nii.gz`` + ``NAME_corners.json`` (four (row, col) corners per vertebra
  on the mid-sagittal slice), or on a cohort written by ``imaging synth`` (DICOM studies + truth corners in mm).
- :func:`segment_study` (``imaging segment``): segmentation.nii.gz, vertebrae.json and qc.png for one study.
- :func:`evaluate_folder` (``imaging eval-seg``): the paper's three success criteria, per-vertebra Dice and
  centroid distance against ground-truth masks.

Slices are 2-D arrays ``(SI, AP)`` taken as ``volume[:, :, k]`` of a numpy array in SimpleITK order
``(SI, AP, LR)``: row 0 is the most superior (cranial) row. NIfTI/MetaImage files are taken in that order as
stored (the convention of the vertebrae-mri development set); DICOM studies are read with
:func:`imaging.io.read_study` and their sagittal T2 ``array[k, row, col]`` is turned to ``(row, col, k)``.

Level names: bodies are named upward from the S1 detection (L5, L4, ... L1, T12, then T11...). Without an S1
detection the bodies stay unnamed (``name: null``) and a warning says so; a lumbar count other than 6 warns too.
Checkpoints hold the :class:`SegConfig`, model and optimizer state, epoch and best validation Dice.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from reportparse.io import atomic_path
from spinecore.checks import CheckpointError, read_checkpoint

from .errors import ErrorsWithCodes, ImagingError
from .io import check_output
from .unet import UNet

logger = logging.getLogger(__name__)

LUMBAR_NAMES = ("T12", "L1", "L2", "L3", "L4", "L5")  # cranial -> caudal
THORACIC_ABOVE = ("T11", "T10", "T9", "T8", "T7", "T6")  # names continued above T12 (count warnings apply)
CHECKPOINT_FORMAT = 1


class SegErrors(metaclass=ErrorsWithCodes):
    S001 = ("Training folder '{path}' holds no training pairs. Expected files named NAME_image.nii.gz (or .nii, .mha) "
            "with NAME_vertebrae.nii.gz (label mask, 1..N cranial to caudal) or NAME_corners.json beside them.")
    S002 = "Training folder '{path}' does not exist or is not a folder (current folder: {cwd})."
    S003 = ("Model file '{path}' is not an imaging segmentation checkpoint: {error}. Pass a file written by "
            "'imaging train-seg' (a grading checkpoint of 'grading train' goes to 'grading predict --model').")
    S004 = ("Corners file '{path}' is malformed: {problem}. Expected {{\"slice\": K (optional), \"vertebrae\": "
            "[{{\"name\": \"L1\", \"corners\": [[row, col], [row, col], [row, col], [row, col]]}}, ...]}}.")
    S005 = ("Label mask '{mask}' has shape {mask_shape} but image '{image}' has shape {image_shape}. The mask must be "
            "drawn on the image's voxel grid.")
    S006 = "--preset {value!r} is unknown. Use one of {presets}."
    S007 = ("SegConfig.{name} = {value!r} is invalid: {expected}.")
    S008 = ("Need at least 2 training pairs to hold out a validation split, got {n} in '{path}'. Add pairs or pass "
            "--val-fraction 0 (then the last epoch is kept).")
    S009 = "Study '{path}' could not be read: {error}."
    S010 = ("Training data '{path}' is SPIDER, whose masks hold no sacrum: the S1 detector channel cannot be learnt "
            "from it. Train with --no-s1 (the lumbar channel only).")


class SegmentationError(ImagingError):
    """A user-facing error from segmentation; the message carries its catalogue code (``S0xx``)."""


# --------------------------------------------------------------------------------------------------- configuration
@dataclass
class SegConfig:
    """Everything needed to rebuild, train and apply a segmentation model; stored in every checkpoint."""

    input_size: int = 512          # square network input/output (paper: 512)
    features: int = 32             # first-module features (paper: 32)
    depth: int = 5                 # down/up modules (paper: 5)
    with_s1: bool = True           # second output channel: sacral S1 detector
    epochs: int = 100
    batch_size: int = 4
    lr: float = 0.01               # paper: SGD, 0.01
    optimizer: str = "sgd"         # "sgd" (paper, momentum below) or "adam"
    momentum: float = 0.9
    schedule: str = "constant"     # "constant" (paper) or "cosine" (decays to 0 over epochs or time_limit_s)
    dice_eps: float = 1.0          # epsilon of eq. 1
    val_fraction: float = 0.2
    slice_offsets: tuple[int, ...] = (0,)  # training slices relative to mid-sagittal (augmentation)
    augment: bool = True
    rotate_deg: float = 8.0
    scale: float = 0.1
    shift: float = 0.06
    threshold: float = 0.5
    min_area_fraction: float = 0.25  # components under this fraction of the median body area are dropped
    seed: int = 0
    time_limit_s: float | None = None  # stop training after this wall time (best checkpoint kept)

    @property
    def channels(self) -> tuple[str, ...]:
        return ("lumbar", "s1") if self.with_s1 else ("lumbar",)

    def validate(self) -> None:
        checks = [
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("features", self.features >= 1, "an integer >= 1"),
            ("input_size", self.input_size >= 2 ** self.depth and self.input_size % 2 ** self.depth == 0,
             f"a multiple of 2**depth = {2 ** self.depth}"),
            ("epochs", self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("optimizer", self.optimizer in ("sgd", "adam"), "'sgd' or 'adam'"),
            ("schedule", self.schedule in ("constant", "cosine"), "'constant' or 'cosine'"),
            ("val_fraction", 0.0 <= self.val_fraction < 1.0, "a fraction in [0, 1)"),
            ("threshold", 0.0 < self.threshold < 1.0, "a probability in (0, 1)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SegmentationError(SegErrors.S007.format(name=name, value=getattr(self, name), expected=expected))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["slice_offsets"] = list(self.slice_offsets)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SegConfig":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "slice_offsets" in kw:
            kw["slice_offsets"] = tuple(kw["slice_offsets"])
        return cls(**kw)


PRESETS: dict[str, dict[str, Any]] = {
    # the paper's network and optimiser
    "paper": dict(input_size=512, features=32, depth=5, optimizer="sgd", lr=0.01, batch_size=4, epochs=100),
    # fits ~15 minutes of a 2-core CPU on a dozen volumes; Adam converges in far fewer steps than plain SGD
    "cpu": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, batch_size=4, epochs=300,
                schedule="cosine", slice_offsets=(-2, 0, 2), time_limit_s=14 * 60.0),
}


def preset_config(name: str, **overrides: Any) -> SegConfig:
    """A :class:`SegConfig` from a named preset (``paper`` or ``cpu``) with ``overrides`` (``None`` ignored)."""
    if name not in PRESETS:
        raise SegmentationError(SegErrors.S006.format(value=name, presets=sorted(PRESETS)))
    cfg = SegConfig(**PRESETS[name])
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, tuple(v) if k == "slice_offsets" else v)
    cfg.validate()
    return cfg


# ------------------------------------------------------------------------------------------------------------ loss
def dice_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Negative Dice coefficient of eq. 1, summed over the batch and pixels, averaged over channels.

    ``-(2 sum_i p_i g_i + eps) / (sum_i p_i + sum_i g_i + eps)`` per channel, for ``pred`` and ``target`` of shape
    ``(B, C, H, W)`` with probabilities in [0, 1]. Equals MONAI ``DiceLoss(smooth_nr=eps, smooth_dr=eps,
    batch=True)`` minus 1. Range [-1, 0); -1 is a perfect match.
    """
    dims = (0, 2, 3)
    inter = (pred * target).sum(dims)
    denom = pred.sum(dims) + target.sum(dims)
    return -((2.0 * inter + eps) / (denom + eps)).mean()


def dice_score(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice of two binary masks; 1.0 when both are empty."""
    p, g = pred.astype(bool), target.astype(bool)
    s = p.sum() + g.sum()
    return 1.0 if s == 0 else float(2.0 * (p & g).sum() / s)


# ----------------------------------------------------------------------------------------------- slices and masks
@dataclass
class Letterbox:
    """How a slice ``(h, w)`` was zero-padded to a square and resized to ``size``; inverts predictions."""

    h: int
    w: int
    size: int

    @property
    def side(self) -> int:
        return max(self.h, self.w)

    @property
    def pad(self) -> tuple[int, int]:
        return (self.side - self.h) // 2, (self.side - self.w) // 2

    def forward(self, arr: np.ndarray, mode: str = "bilinear") -> torch.Tensor:
        """``(C, h, w)`` array -> ``(C, size, size)`` tensor."""
        t = torch.as_tensor(np.ascontiguousarray(arr), dtype=torch.float32)
        pr, pc = self.pad
        sq = torch.zeros((t.shape[0], self.side, self.side), dtype=torch.float32)
        sq[:, pr:pr + self.h, pc:pc + self.w] = t
        if mode == "bilinear":
            out = F.interpolate(sq[None], size=(self.size, self.size), mode="bilinear", align_corners=False,
                                antialias=True)
        else:
            out = F.interpolate(sq[None], size=(self.size, self.size), mode=mode)
        return out[0]

    def inverse(self, t: torch.Tensor) -> np.ndarray:
        """``(C, size, size)`` probabilities -> ``(C, h, w)`` array on the slice grid (bilinear)."""
        sq = F.interpolate(t[None].float(), size=(self.side, self.side), mode="bilinear", align_corners=False)[0]
        pr, pc = self.pad
        return sq[:, pr:pr + self.h, pc:pc + self.w].numpy()


def normalise(img: np.ndarray) -> np.ndarray:
    """Robust intensity scaling to about [0, 1] (1st-99.5th percentile)."""
    img = img.astype(np.float32)
    lo, hi = np.percentile(img, [1.0, 99.5])
    return np.clip((img - lo) / max(hi - lo, 1e-6), 0.0, 1.5)


def polygon_mask(shape: tuple[int, int], corners: Sequence[Sequence[float]]) -> np.ndarray:
    """Boolean ``shape`` mask of the polygon with (row, col) ``corners`` (4 corners: a rectangle or trapezoid)."""
    from matplotlib.path import Path as MplPath

    rr, cc = np.mgrid[:shape[0], :shape[1]]
    pts = np.stack([cc.ravel() + 0.5, rr.ravel() + 0.5], axis=1) - 0.5
    poly = MplPath([(c, r) for r, c in corners])
    return poly.contains_points(pts, radius=0.5).reshape(shape)


def read_corners(path: Path, shape: tuple[int, int]) -> tuple[int | None, np.ndarray, list[str]]:
    """Rasterise a corners JSON file: ``(slice or None, positional label map (h, w), names cranial->caudal)``."""
    try:
        data = json.loads(Path(path).read_text())
        verts = data["vertebrae"]
        items = []
        for v in verts:
            corners = v["corners"]
            if len(corners) != 4 or any(len(c) != 2 for c in corners):
                raise ValueError(f"vertebra {v.get('name')!r} needs 4 [row, col] corners")
            items.append((str(v.get("name", "")), corners))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SegmentationError(SegErrors.S004.format(path=path, problem=err)) from None
    lab, names = rasterise(items, shape)
    k = data.get("slice")
    return (int(k) if k is not None else None), lab, names


def rasterise(items: Sequence[tuple[str, Sequence[Sequence[float]]]], shape: tuple[int, int]
              ) -> tuple[np.ndarray, list[str]]:
    """Positional label map (1..N cranial -> caudal by mean corner row) of named (row, col) corner polygons."""
    items = sorted(items, key=lambda it: np.mean([c[0] for c in it[1]]))
    lab = np.zeros(shape, np.int32)
    for i, (_, corners) in enumerate(items, 1):
        lab[polygon_mask(shape, corners) & (lab == 0)] = i
    return lab, [n for n, _ in items]


def targets_from_labels(lab: np.ndarray, names: Sequence[str] | None, with_s1: bool) -> np.ndarray:
    """Detector targets ``(C, h, w)`` from a positional label slice: lumbar = every body not named S1."""
    s1 = np.zeros(lab.shape, bool)
    if names:
        for i, n in enumerate(names, 1):
            if n.upper() == "S1":
                s1 |= lab == i
    lumbar = (lab > 0) & ~s1
    return np.stack([lumbar, s1] if with_s1 else [lumbar]).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- data reading
#: The layout every NIfTI / MetaImage volume is brought to: index axes toward patient left, posterior and
#: inferior, i.e. numpy order ``(SI, AP, LR)`` with sagittal slices ``[:, :, k]`` (the vertebrae data set's own).
CANONICAL = "LPI"


def read_array(path: Path) -> tuple[np.ndarray, Any]:
    """A 3-D volume ``(SI, AP, LR)`` as numpy and its SimpleITK image in that layout. NIfTI / MetaImage files
    in any orientation are permuted and flipped (no resampling) to :data:`CANONICAL` by their direction cosines."""
    import SimpleITK as sitk

    try:
        img = sitk.DICOMOrient(sitk.ReadImage(str(path)), CANONICAL)
    except RuntimeError as err:
        raise SegmentationError(SegErrors.S009.format(path=path, error=str(err).strip().splitlines()[-1])) from None
    return sitk.GetArrayFromImage(img), img


@dataclass
class Pair:
    """A training/evaluation case: an image (file, or DICOM study folder) and its ground truth."""

    name: str
    image: Path
    vertebrae: Path | None = None  # positional label mask on the image grid
    corners: Path | None = None    # corners JSON: voxel (row, col), or a synthetic truth file (patient mm)
    convention: str = ""           # "" positional mask; "spider": SPIDER's label values (imaging.datasets.spider)


IMAGE_SUFFIXES = ("_image.nii.gz", "_image.nii", "_image.mha", "_image.mhd")


def find_pairs(folder: Path) -> list[Pair]:
    """Training pairs in ``folder``: each ``NAME_image.*`` with ``NAME_vertebrae.*`` or ``NAME_corners.json``, the
    studies of an ``imaging synth`` cohort, or the T2 series of a SPIDER download folder with their masks."""
    from .datasets import spider

    folder = Path(folder)
    if not folder.is_dir():
        raise SegmentationError(SegErrors.S002.format(path=folder, cwd=os.getcwd()))
    spider_pairs = spider.find_pairs(folder)
    if spider_pairs is not None:
        return spider_pairs
    pairs = []
    if (folder / "truth").is_dir() and (folder / "dicom").is_dir():  # a cohort written by 'imaging synth'
        for t in sorted((folder / "truth").glob("*.json")):
            if (folder / "dicom" / t.stem).is_dir():
                pairs.append(Pair(t.stem, folder / "dicom" / t.stem, corners=t))
        return pairs
    for p in sorted(folder.iterdir()):
        suffix = next((s for s in IMAGE_SUFFIXES if p.name.endswith(s)), None)
        if suffix is None:
            continue
        name = p.name[: -len(suffix)]
        ext = suffix[len("_image"):]
        mask = folder / f"{name}_vertebrae{ext}"
        corners = folder / f"{name}_corners.json"
        if mask.exists():
            pairs.append(Pair(name, p, vertebrae=mask))
        elif corners.exists():
            pairs.append(Pair(name, p, corners=corners))
    return pairs


@dataclass
class SliceSample:
    """One training/validation slice: image ``(1, S, S)``, targets ``(C, S, S)`` and the GT label slice."""

    name: str
    offset: int
    image: torch.Tensor
    target: torch.Tensor
    labels: np.ndarray
    spacing: tuple[float, float]


@dataclass
class PairData:
    """A case read into memory: ``vol (SI, AP, LR)``, in-plane spacing (row, col) mm and the ground truth."""

    vol: np.ndarray
    spacing: tuple[float, float]
    k_mid: int
    lab3: np.ndarray | None = None
    lab2: np.ndarray | None = None
    names: list[str] | None = None

    def labels(self, k: int) -> np.ndarray:
        return self.lab3[:, :, k].astype(np.int32) if self.lab3 is not None else self.lab2


def read_pair(pair: Pair) -> PairData:
    """Read a pair: NIfTI/MetaImage image with a label mask or corners JSON, or a synthetic DICOM study with its
    truth file (corners in patient mm, projected onto the mid-sagittal slice)."""
    if pair.image.is_dir():
        from .io import read_study

        sag = read_study(pair.image).sagittal_t2
        vol = np.transpose(sag.array, (1, 2, 0))
        k_mid = vol.shape[2] // 2
        try:
            truth = json.loads(pair.corners.read_text())["vertebrae"]
            items = []
            for name, v in truth.items():
                ijk = sag.patient_to_index(np.asarray(v["corners"], float))
                items.append((name, [(float(j), float(i)) for i, j, _ in ijk]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise SegmentationError(SegErrors.S004.format(path=pair.corners, problem=err)) from None
        lab2, names = rasterise(items, vol.shape[:2])
        return PairData(vol, (float(sag.spacing[1]), float(sag.spacing[0])), k_mid, lab2=lab2, names=names)
    vol, img = read_array(pair.image)
    sp = img.GetSpacing()  # (LR, AP, SI) in ITK order
    data = PairData(vol, (float(sp[2]), float(sp[1])), vol.shape[2] // 2)
    if pair.vertebrae is not None:
        data.lab3, _ = read_array(pair.vertebrae)
        if data.lab3.shape != vol.shape:
            raise SegmentationError(SegErrors.S005.format(mask=pair.vertebrae, mask_shape=data.lab3.shape,
                                                          image=pair.image, image_shape=vol.shape))
        if pair.convention == "spider":
            from .datasets import spider

            data.lab3, data.names = spider.body_labels(data.lab3)
    else:
        k, data.lab2, data.names = read_corners(pair.corners, vol.shape[:2])
        data.k_mid = k if k is not None else data.k_mid
    return data


def load_pair(pair: Pair, cfg: SegConfig, offsets: Sequence[int]) -> list[SliceSample]:
    """The slices ``mid + offset`` of one pair, letterboxed to ``cfg.input_size``."""
    data = read_pair(pair)
    out = []
    for off in offsets:
        k = int(np.clip(data.k_mid + off, 0, data.vol.shape[2] - 1))
        lab = data.labels(k)
        box = Letterbox(lab.shape[0], lab.shape[1], cfg.input_size)
        image = box.forward(normalise(data.vol[:, :, k])[None])
        target = (box.forward(targets_from_labels(lab, data.names, cfg.with_s1)) > 0.5).float()
        out.append(SliceSample(pair.name, off, image, target, lab, data.spacing))
    return out


# ---------------------------------------------------------------------------------------------------- augmentation
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


# ------------------------------------------------------------------------------------------------------ checkpoint
def build_model(cfg: SegConfig) -> UNet:
    return UNet(in_channels=1, out_channels=len(cfg.channels), features=cfg.features, depth=cfg.depth)


def build_optimizer(model: torch.nn.Module, cfg: SegConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)


def save_checkpoint(path: Path, model: torch.nn.Module, cfg: SegConfig, optimizer: torch.optim.Optimizer | None,
                    epoch: int, best_metric: float) -> None:
    """A full checkpoint: config, model and optimizer state, epoch, best validation metric (atomic write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, "kind": "imaging.segment", "config": cfg.to_dict(),
                    "model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
                    "epoch": epoch, "best_metric": best_metric}, tmp)


@dataclass
class Checkpoint:
    config: SegConfig
    model: UNet
    optimizer_state: dict | None
    epoch: int
    best_metric: float


def load_checkpoint(path: Path) -> Checkpoint:
    """Rebuild the model (eval mode) from a checkpoint written by :func:`save_checkpoint`."""
    try:
        ck = read_checkpoint(path, "imaging.segment")
        cfg = SegConfig.from_dict(ck["config"])
        model = build_model(cfg)
        model.load_state_dict(ck["model"])
    except (CheckpointError, RuntimeError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise SegmentationError(SegErrors.S003.format(path=path, error=err)) from None
    model.eval()
    return Checkpoint(cfg, model, ck.get("optimizer"), int(ck["epoch"]), float(ck["best_metric"]))


# -------------------------------------------------------------------------------------------------------- training
@dataclass
class TrainSummary:
    pairs: int = 0
    train_slices: int = 0
    val_pairs: list[str] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int = 0
    best_metric: float = 0.0
    first_metric: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    model_path: str = ""


def train_one_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, samples: Sequence[SliceSample],
                    cfg: SegConfig, gen: torch.Generator, rng: random.Random) -> float:
    """One pass over ``samples`` in random batches; the mean loss."""
    model.train()
    order = list(range(len(samples)))
    rng.shuffle(order)
    losses = []
    for i in range(0, len(order), cfg.batch_size):
        idx = order[i:i + cfg.batch_size]
        if len(idx) < 2 and len(order) >= 2:  # batch norm needs > 1 sample; fold the remainder in
            idx = order[i - 1:i + 1]
        x = torch.stack([samples[j].image for j in idx])
        y = torch.stack([samples[j].target for j in idx])
        if cfg.augment:
            x, y = augment_batch(x, y, cfg, gen)
        loss = dice_loss(model(x), y, cfg.dice_eps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses)) if losses else 0.0


@torch.no_grad()
def evaluate(model: torch.nn.Module, samples: Sequence[SliceSample], cfg: SegConfig) -> float:
    """Mean foreground Dice (thresholded, network grid, per sample and channel with GT) over ``samples``."""
    model.eval()
    scores = []
    for s in samples:
        p = model(s.image[None])[0] > cfg.threshold
        for c in range(p.shape[0]):
            if s.target[c].any() or c == 0:
                scores.append(dice_score(p[c].numpy(), s.target[c].numpy()))
    return float(np.mean(scores)) if scores else 0.0


def train(data_dir: Path, model_path: Path, cfg: SegConfig, *, pairs: Sequence[Pair] | None = None,
          progress: Callable[[int, int, dict[str, float]], None] | None = None) -> TrainSummary:
    """Train a segmentation model on the pairs in ``data_dir`` and write the best checkpoint to ``model_path``.

    Validation is a held-out fraction of the pairs (whole volumes), scored on the mid-sagittal slice; the epoch
    with the best validation Dice is kept (``model_path``) and the last one beside it (``*.last.pt``).
    ``progress(epoch, epochs, metrics)`` is called after each epoch.
    """
    cfg.validate()
    check_output(model_path, folder=False, suffixes=(".pt",))
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    pairs = list(pairs) if pairs is not None else find_pairs(Path(data_dir))
    if not pairs:
        raise SegmentationError(SegErrors.S001.format(path=data_dir))
    if cfg.with_s1 and any(p.convention == "spider" for p in pairs):
        raise SegmentationError(SegErrors.S010.format(path=data_dir))
    n_val = int(round(len(pairs) * cfg.val_fraction))
    if cfg.val_fraction > 0 and len(pairs) < 2:
        raise SegmentationError(SegErrors.S008.format(n=len(pairs), path=data_dir))
    if cfg.val_fraction > 0:
        n_val = min(max(n_val, 1), len(pairs) - 1)
    shuffled = pairs[:]
    rng.shuffle(shuffled)
    val_pairs, train_pairs = shuffled[:n_val], shuffled[n_val:]
    train_samples = [s for p in train_pairs for s in load_pair(p, cfg, cfg.slice_offsets)]
    val_samples = [s for p in val_pairs for s in load_pair(p, cfg, (0,))]
    logger.info("training on %d slices of %d pairs, validating on %d pairs", len(train_samples), len(train_pairs),
                len(val_pairs))
    model = build_model(cfg)
    optimizer = build_optimizer(model, cfg)
    summary = TrainSummary(pairs=len(pairs), train_slices=len(train_samples), val_pairs=[p.name for p in val_pairs],
                           model_path=str(model_path))
    monitor = val_samples or train_samples
    summary.first_metric = evaluate(model, monitor, cfg)
    best = -1.0
    last_path = Path(model_path).with_name(Path(model_path).stem + ".last.pt")
    for epoch in range(1, cfg.epochs + 1):
        if cfg.schedule == "cosine":
            frac = (epoch - 1) / cfg.epochs
            if cfg.time_limit_s:
                frac = max(frac, (time.time() - t0) / cfg.time_limit_s)
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0)))
        loss = train_one_epoch(model, optimizer, train_samples, cfg, gen, rng)
        metric = evaluate(model, monitor, cfg)
        summary.history.append({"epoch": epoch, "loss": loss, "val_dice": metric})
        summary.epochs_run = epoch
        if metric > best:
            best = metric
            summary.best_epoch, summary.best_metric = epoch, metric
            save_checkpoint(model_path, model, cfg, optimizer, epoch, metric)
        if progress:
            progress(epoch, cfg.epochs, {"loss": loss, "val_dice": metric, "best": best})
        if cfg.time_limit_s is not None and time.time() - t0 > cfg.time_limit_s:
            logger.info("time limit of %.0f s reached after epoch %d", cfg.time_limit_s, epoch)
            break
    save_checkpoint(last_path, model, cfg, optimizer, summary.epochs_run, best)
    summary.seconds = time.time() - t0
    return summary


# ------------------------------------------------------------------------------------------------- post-processing
@dataclass
class Component:
    """One detected (or ground-truth) body on a slice: its mask and its detector channel."""

    mask: np.ndarray
    channel: str = "lumbar"

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def centroid(self) -> tuple[float, float]:
        r, c = np.nonzero(self.mask)
        return float(r.mean()), float(c.mean())

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(row_min, col_min, row_max, col_max), inclusive."""
        r, c = np.nonzero(self.mask)
        return int(r.min()), int(c.min()), int(r.max()), int(c.max())


def split_touching(mask: np.ndarray, ref_area: float | None, max_iter: int = 12) -> list[np.ndarray]:
    """Split a component made of touching bodies: erode until it falls apart into parts of a plausible size,
    then give every pixel of the component to its nearest part (a watershed on the distance to the seeds)."""
    if ref_area is None or mask.sum() < 1.5 * ref_area:
        return [mask]
    for it in range(1, max_iter + 1):
        er = ndimage.binary_erosion(mask, iterations=it)
        lab, n = ndimage.label(er)
        if n == 0:
            break
        if n >= 2:
            sizes = ndimage.sum(er, lab, range(1, n + 1))
            keep = [i + 1 for i, s in enumerate(sizes) if s >= 0.1 * ref_area * (1 - it / (max_iter + 2))]
            if len(keep) >= 2:
                seeds = np.zeros_like(lab)
                for j, i in enumerate(keep, 1):
                    seeds[lab == i] = j
                _, (ri, ci) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
                owner = seeds[ri, ci]
                return [mask & (owner == j) for j in range(1, len(keep) + 1)]
    return [mask]


def components(binary: np.ndarray, channel: str, min_area_fraction: float = 0.25, split: bool = True
               ) -> list[Component]:
    """Connected components of a binary slice; small ones dropped, touching bodies split."""
    lab, n = ndimage.label(binary)
    masks = [lab == i for i in range(1, n + 1)]
    if not masks:
        return []
    areas = np.array([m.sum() for m in masks], float)
    ref = float(np.median(areas[areas >= 0.5 * areas.max()])) if len(areas) else None
    masks = [m for m, a in zip(masks, areas) if a >= min_area_fraction * ref]
    if split and len(masks) > 0:
        ref_small = float(np.median([m.sum() for m in masks]))
        out = []
        for m in masks:
            out.extend(split_touching(m, ref_small))
        masks = out
    return [Component(m, channel) for m in masks]


def components_from_labels(lab: np.ndarray, names: Sequence[str] | None = None) -> list[Component]:
    """Ground-truth components of a positional label slice (S1 when its name says so)."""
    out = []
    for v in np.unique(lab):
        if v == 0:
            continue
        name = names[v - 1] if names and v - 1 < len(names) else ""
        out.append(Component(lab == v, "s1" if name.upper() == "S1" else "lumbar"))
    return out


@dataclass
class Vertebra:
    """One labelled vertebral body on the slice."""

    label: int                     # value in segmentation.nii.gz (1..N cranial -> caudal)
    name: str | None               # T12..L5 / S1; None when the levels cannot be named (no S1)
    detector: str                  # "lumbar" or "s1"
    centroid_voxel: list[float]    # (SI row, AP column, LR slice) voxel index in the numpy array
    centroid_mm: list[float] | None  # physical point (ITK LPS) of the centroid
    bbox: list[int]                # (row_min, col_min, row_max, col_max) on the slice
    area_px: int
    area_mm2: float
    corners_mm: list[list[float]] | None = None  # anterior-superior, posterior-superior, posterior-inferior,
                                                 # anterior-inferior corners of the body's minimum-area rectangle


def body_corners(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Corners ``(4, 2)`` (row, col voxel units) of the minimum-area rectangle around a body mask on a slice
    ``(SI, AP)``, ordered anterior-superior, posterior-superior, posterior-inferior, anterior-inferior.

    The rectangle is fitted in mm (``spacing`` = row, column mm); its axis nearer the image rows is the body's
    superior-inferior axis (bodies tilt less than 45 degrees from the image axes on a sagittal slice).
    """
    import cv2

    sp = np.asarray(spacing[:2], dtype=np.float32)
    pts = np.argwhere(mask).astype(np.float32) * sp  # (row mm, col mm)
    (cr, cc), (len0, len1), angle = cv2.minAreaRect(np.ascontiguousarray(pts))
    a = np.deg2rad(angle)
    e0, e1 = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])  # the rectangle's (row, col) axes
    if abs(e0[0]) >= abs(e1[0]):
        si, ap, h, w = e0, e1, len0, len1
    else:
        si, ap, h, w = e1, e0, len1, len0
    si, ap = si * np.sign(si[0] or 1.0), ap * np.sign(ap[1] or 1.0)  # toward inferior (rows) and posterior (cols)
    c = np.array([cr, cc])
    corners = [c - h / 2 * si - w / 2 * ap, c - h / 2 * si + w / 2 * ap, c + h / 2 * si + w / 2 * ap,
               c + h / 2 * si - w / 2 * ap]
    return np.stack(corners) / sp


def assign_levels(comps: Sequence[Component], expected_lumbar: int = 6) -> tuple[list[tuple[Component, str | None]],
                                                                                  list[str]]:
    """Name bodies upward from S1: the S1 detection, then L5, L4, ... L1, T12 (and T11... above, with a warning).

    Returns the components ordered cranial -> caudal with their names and the warnings. Without an S1 detection
    the lumbar bodies are not named (``None``): counting from the caudal-most body would be a guess.
    """
    warnings: list[str] = []
    s1s = [c for c in comps if c.channel == "s1"]
    lumbar = sorted((c for c in comps if c.channel == "lumbar"), key=lambda c: c.centroid[0])
    s1 = None
    if len(s1s) > 1:
        s1s.sort(key=lambda c: -c.area)
        warnings.append(f"{len(s1s)} S1 detections; kept the largest, ignored {len(s1s) - 1}")
    if s1s:
        s1 = s1s[0]
        overlap = [c for c in lumbar if (c.mask & s1.mask).any()]
        if overlap:
            warnings.append(f"the S1 detection overlaps {len(overlap)} lumbar detection(s) (success criterion 3 "
                            "fails); the overlapping lumbar detection(s) were dropped")
            lumbar = [c for c in lumbar if not (c.mask & s1.mask).any()]
        below = [c for c in lumbar if c.centroid[0] > s1.centroid[0]]
        if below:
            warnings.append(f"{len(below)} lumbar detection(s) lie below S1; they were dropped")
            lumbar = [c for c in lumbar if c.centroid[0] <= s1.centroid[0]]
    names: list[str | None]
    if s1 is None:
        warnings.append("S1 not detected: the lumbar levels are left unnamed (counting from the lowest body "
                        f"would be a guess); {len(lumbar)} lumbar bodies found")
        names = [None] * len(lumbar)
    else:
        upward = list(reversed(LUMBAR_NAMES)) + list(THORACIC_ABOVE)
        names = [upward[i] if i < len(upward) else None for i in range(len(lumbar))][::-1]
    if len(lumbar) != expected_lumbar:
        warnings.append(f"found {len(lumbar)} lumbar bodies, expected {expected_lumbar} (T12-L5); "
                        + ("field of view may miss T12 or a body was not detected" if len(lumbar) < expected_lumbar
                           else "extra bodies above T12 or a body was split (check qc.png)"))
    ordered: list[tuple[Component, str | None]] = list(zip(lumbar, names))
    if s1 is not None:
        ordered.append((s1, "S1"))
    return ordered, warnings


# ----------------------------------------------------------------------------------------------------- inference
@torch.no_grad()
def predict_slice(model: torch.nn.Module, image: np.ndarray, cfg: SegConfig) -> np.ndarray:
    """Probabilities ``(C, h, w)`` on the slice grid for a raw slice ``(h, w)``."""
    box = Letterbox(image.shape[0], image.shape[1], cfg.input_size)
    x = box.forward(normalise(image)[None])[None]
    model.eval()
    return box.inverse(model(x)[0])


def detect(probs: np.ndarray, cfg: SegConfig) -> list[Component]:
    """Components of every detector channel of ``probs (C, h, w)``."""
    out = []
    for c, ch in enumerate(cfg.channels):
        binary = probs[c] > cfg.threshold
        if ch == "s1":
            out.extend(components(binary, "s1", cfg.min_area_fraction, split=False))
        else:
            out.extend(components(binary, "lumbar", cfg.min_area_fraction))
    return out


@dataclass
class SegmentResult:
    slice_index: int
    vertebrae: list[Vertebra]
    warnings: list[str]
    label_slice: np.ndarray


def _read_study(path: Path) -> tuple[np.ndarray, Callable[[Sequence[float]], list[float]], tuple, Callable]:
    """``(array (SI, AP, LR), voxel->mm, spacing (SI, AP, LR), seg array -> sitk image)`` of a study.

    A DICOM folder gives its sagittal T2 volume (:func:`imaging.io.read_study`), a NIfTI / MetaImage file its
    volume; either is permuted and flipped (no resampling) to :data:`CANONICAL` by its direction cosines, and
    the segmentation goes back to the input's own grid.
    """
    import SimpleITK as sitk

    path = Path(path)
    if not path.exists():
        raise SegmentationError(SegErrors.S009.format(path=path, error="no such file or folder"))
    if path.is_dir():
        from .io import read_study  # DICOM series selection and geometry (imaging.io)

        src = read_study(path).sagittal_t2.to_sitk()
    else:
        try:
            src = sitk.ReadImage(str(path))
        except RuntimeError as err:
            raise SegmentationError(SegErrors.S009.format(path=path, error=str(err).strip().splitlines()[-1])) \
                from None
    img = sitk.DICOMOrient(src, CANONICAL)
    stored = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(src.GetDirection())

    def to_image(seg: np.ndarray) -> Any:
        out = sitk.GetImageFromArray(seg)
        out.CopyInformation(img)
        return sitk.DICOMOrient(out, stored)  # back to the input's own grid

    return sitk.GetArrayFromImage(img), _sitk_mm(img), tuple(img.GetSpacing()[::-1]), to_image


def _sitk_mm(img: Any) -> Callable[[Sequence[float]], list[float]]:
    def to_mm(v: Sequence[float]) -> list[float]:
        return [round(float(x), 2) for x in img.TransformContinuousIndexToPhysicalPoint(
            (float(v[2]), float(v[1]), float(v[0])))]
    return to_mm


def segment_array(model: torch.nn.Module, cfg: SegConfig, vol: np.ndarray, spacing: Sequence[float] = (1, 1, 1),
                  to_mm: Callable[[Sequence[float]], list[float]] | None = None, slice_index: int | None = None
                  ) -> SegmentResult:
    """Segment and label the mid-sagittal slice (or ``slice_index``) of ``vol (SI, AP, LR)``."""
    k = vol.shape[2] // 2 if slice_index is None else slice_index
    probs = predict_slice(model, vol[:, :, k], cfg)
    comps = detect(probs, cfg)
    ordered, warnings = assign_levels(comps)
    lab = np.zeros(vol.shape[:2], np.uint8)
    verts = []
    px_mm2 = float(spacing[0]) * float(spacing[1])
    for i, (c, name) in enumerate(ordered, 1):
        lab[c.mask & (lab == 0)] = i
        r, col = c.centroid
        vox = [round(r, 2), round(col, 2), float(k)]
        corners = body_corners(c.mask, spacing) if to_mm else None
        verts.append(Vertebra(label=i, name=name, detector=c.channel, centroid_voxel=vox,
                              centroid_mm=to_mm(vox) if to_mm else None, bbox=list(c.bbox), area_px=c.area,
                              area_mm2=round(c.area * px_mm2, 1),
                              corners_mm=None if corners is None else [to_mm([r_, c_, k]) for r_, c_ in corners]))
    return SegmentResult(k, verts, warnings, lab)


def segment_image(model: torch.nn.Module, cfg: SegConfig, img: Any) -> SegmentResult:
    """Segment a SimpleITK image already in the :data:`CANONICAL` layout (``sitk.DICOMOrient(image, CANONICAL)``);
    centroids and corners come out in its patient mm."""
    import SimpleITK as sitk

    return segment_array(model, cfg, sitk.GetArrayFromImage(img), img.GetSpacing()[::-1], _sitk_mm(img))


def save_qc(path: Path, image: np.ndarray, probs_label: np.ndarray, verts: Sequence[Vertebra], title: str) -> None:
    """qc.png: the slice, the segmentation overlay, and the level names at the centroids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.5))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("image")
    axes[1].imshow(probs_label, cmap="nipy_spectral", interpolation="nearest", vmin=0,
                   vmax=max(int(probs_label.max()), 1))
    axes[1].set_title("segmentation")
    axes[2].imshow(image, cmap="gray")
    axes[2].imshow(np.ma.masked_equal(probs_label, 0), cmap="autumn", alpha=0.4, interpolation="nearest")
    for v in verts:
        axes[2].text(v.centroid_voxel[1], v.centroid_voxel[0], v.name or f"#{v.label}", color="cyan", fontsize=8,
                     ha="center", va="center")
    axes[2].set_title("labels")
    for a in axes:
        a.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def segment_study(model_path: Path, study: Path, out_dir: Path) -> SegmentResult:
    """Write ``segmentation.nii.gz`` (label map on the slice used, input geometry), ``vertebrae.json`` and
    ``qc.png`` to ``out_dir`` for one study."""
    import SimpleITK as sitk

    ck = load_checkpoint(model_path)
    check_output(out_dir, folder=True)
    vol, to_mm, spacing, to_image = _read_study(Path(study))
    res = segment_array(ck.model, ck.config, vol, spacing, to_mm)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seg = np.zeros(vol.shape, np.uint8)
    seg[:, :, res.slice_index] = res.label_slice
    sitk.WriteImage(to_image(seg), str(out_dir / "segmentation.nii.gz"))
    doc = {"study": str(study), "model": str(model_path), "slice_index": res.slice_index,
           "slice_axis": "array[:, :, k] (SI, AP, LR numpy order)", "vertebrae": [asdict(v) for v in res.vertebrae],
           "warnings": res.warnings}
    (out_dir / "vertebrae.json").write_text(json.dumps(doc, indent=2))
    save_qc(out_dir / "qc.png", vol[:, :, res.slice_index], res.label_slice, res.vertebrae, Path(study).name)
    for w in res.warnings:
        logger.warning("%s: %s", study, w)
    return res


# ------------------------------------------------------------------------------------------------------ evaluation
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
