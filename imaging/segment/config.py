"""Segmentation settings: :class:`SegConfig`, the named presets, and the error class of segmentation (``S0xx``)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from spinecore.config import Config

from ..errors import Errors, ImagingError
from .augment import AugmentConfig


class SegmentationError(ImagingError):
    """A user-facing error from segmentation; the message carries its catalogue code (``S0xx``)."""


# --------------------------------------------------------------------------------------------------- configuration
#: Largest network input side at inference (a whole-spine field of view at the finest scale).
MAX_INFER_SIDE = 1024


@dataclass
class SegConfig(Config):
    """Everything needed to rebuild, train and apply a segmentation model; stored in every checkpoint."""

    #: earlier versions' fixed training slices, replaced by the random slice choice of :attr:`augmentation`
    retired: ClassVar[tuple[str, ...]] = ("slice_offsets",)

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
    lr_warmup_epochs: int = 0      # the learning rate rises linearly to lr over these first epochs (0: off)
    dice_eps: float = 1.0          # epsilon of eq. 1
    loss: str = "dice"             # "dice" (eq. 1, the paper) or "dice+bce" (plus pixel-wise cross entropy)
    val_fraction: float = 0.2
    augment: bool = True
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    repeats: int = 1               # random draws (slice, crop, warp) of every real case per epoch
    synthetic: int = 0             # synthetic slices (imaging.synth.training_slice) added to the training set
    threshold: float = 0.5
    # inference only: the probabilities averaged over the network run at these multiples of input_size (each side
    # rounded to a multiple of 2**depth) and over this many sagittal slices on each side of the segmented one
    infer_scales: tuple[float, ...] = (1.0,)
    infer_neighbours: int = 0
    # inference only: the pixel size (mm) of the network input at scale 1.0. The slice is then resized by its size
    # in millimetres, so a body is drawn as large as in training whatever the field of view (a whole-spine scan
    # is not squeezed into input_size pixels); None: every slice is resized to input_size pixels (earlier models)
    infer_mm: float | None = None
    # inference only: the range of the median tissue intensity in training (after the percentile scaling); a slice
    # whose median lies outside it is brought to its nearer end by a power of the intensities
    # (data.standardise_tissue), so a much darker or brighter sequence or scanner looks as in training; None: the
    # percentile scaling only
    infer_tissue_range: tuple[float, float] | None = None
    min_area_fraction: float = 0.25  # components under this fraction of the median body area are dropped
    min_dice: float = 0.2          # a run whose best validation Dice stays below this failed (warning, exit 1)
    min_identification: float = 0.5  # a run whose kept model finds fewer labelled bodies alone failed (merged)
    seed: int = 0
    time_limit_s: float | None = None  # optional wall-time cap (off by default: results must not depend on load)

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
            ("lr_warmup_epochs", 0 <= self.lr_warmup_epochs < self.epochs, "an integer in [0, epochs)"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("optimizer", self.optimizer in ("sgd", "adam"), "'sgd' or 'adam'"),
            ("schedule", self.schedule in ("constant", "cosine"), "'constant' or 'cosine'"),
            ("loss", self.loss in ("dice", "dice+bce"), "'dice' or 'dice+bce'"),
            ("val_fraction", 0.0 <= self.val_fraction < 1.0, "a fraction in [0, 1)"),
            ("threshold", 0.0 < self.threshold < 1.0, "a probability in (0, 1)"),
            ("repeats", self.repeats >= 1, "an integer >= 1"),
            ("synthetic", self.synthetic >= 0, "an integer >= 0"),
            ("min_dice", 0.0 <= self.min_dice < 1.0, "a Dice in [0, 1)"),
            ("min_identification", 0.0 <= self.min_identification <= 1.0, "a fraction in [0, 1]"),
            ("infer_scales", len(self.infer_scales) >= 1 and all(0.5 <= x <= 2.0 for x in self.infer_scales),
             "one or more multiples of input_size in [0.5, 2]"),
            ("infer_neighbours", 0 <= self.infer_neighbours <= 3, "an integer in [0, 3]"),
            ("infer_mm", self.infer_mm is None or 0.2 <= self.infer_mm <= 10.0, "None or a pixel size in [0.2, 10] mm"),
            ("infer_tissue_range", self.infer_tissue_range is None or (
                len(self.infer_tissue_range) == 2 and 0.02 <= self.infer_tissue_range[0] <= self.infer_tissue_range[1]
                <= 0.9), "None or [low, high] intensities with 0.02 <= low <= high <= 0.9"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SegmentationError(Errors.S007.format(name=name, value=getattr(self, name), expected=expected))
        for name, value, expected in self.augmentation.problems():
            raise SegmentationError(Errors.S007.format(name=f"augmentation.{name}", value=value, expected=expected))

    @property
    def infer_sizes(self) -> tuple[int, ...]:
        """The network input sides of :attr:`infer_scales` (multiples of ``2**depth``)."""
        return self.infer_sides(self.input_size)

    def infer_sides(self, side: float) -> tuple[int, ...]:
        """The network input sides of :attr:`infer_scales` for a slice whose longer side is ``side`` network pixels
        at scale 1.0 (multiples of ``2**depth``, at most :data:`MAX_INFER_SIDE`)."""
        step = 2 ** self.depth
        return tuple(min(MAX_INFER_SIDE, max(step, int(round(side * x / step)) * step)) for x in self.infer_scales)

    def slice_sides(self, shape: tuple[int, int], spacing: tuple[float, float]) -> tuple[int, ...]:
        """The network input sides for a slice of ``shape`` (rows, columns) pixels of ``spacing`` (row, column)
        mm: from its size in millimetres with :attr:`infer_mm`, else :attr:`infer_sizes`."""
        if self.infer_mm is None:
            return self.infer_sizes
        side_mm = max(shape[0] * float(spacing[0]), shape[1] * float(spacing[1]))
        return self.infer_sides(side_mm / self.infer_mm)

    @property
    def train_augmentation(self) -> AugmentConfig:
        """The augmentation training applies: :attr:`augmentation`, or none when ``augment`` is off."""
        return self.augmentation if self.augment else AugmentConfig.none()


PRESETS: dict[str, dict[str, Any]] = {
    # the paper's network and optimiser
    "paper": dict(input_size=512, features=32, depth=5, optimizer="sgd", lr=0.01, batch_size=4, epochs=100),
    # a small network for a 2-core CPU; Adam converges in far fewer steps than plain SGD
    "cpu": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, batch_size=4, epochs=60,
                schedule="cosine", repeats=2),
    # each network of the shipped model (imaging/models/vertebrae-default.pt, an ensemble of two: the other one
    # narrows gamma to 0.4, `make seg-model`): the cpu network on every real case (no validation split: the last
    # epoch is kept) plus synthetic T1/T2 slices, strong augmentation with gamma over 0.5-2 (far
    # darker or brighter sequences), a fixed number of epochs; the warm-up keeps such a run from bridging the discs
    # between neighbouring bodies (README model card: 4 of 4 splits converged with it, 3 of 4 without)
    "default": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, lr_warmup_epochs=10,
                    batch_size=4, epochs=80, schedule="cosine", repeats=2, synthetic=24, val_fraction=0.0,
                    augmentation=AugmentConfig(gamma=0.7),
                    infer_scales=(1.0, 4 / 3, 5 / 3), infer_neighbours=1, infer_mm=1.9,
                    infer_tissue_range=(0.106, 0.286)),
}


def augmentation_with(aug: AugmentConfig, items: Sequence[str]) -> AugmentConfig:
    """A copy of ``aug`` with ``NAME=VALUE`` settings applied (``train-seg --augment``; VALUE is JSON, e.g.
    ``gamma=0.7``, ``scale=[0.7, 1.4]``). A malformed item raises S014, an unknown name C010; the values are checked
    by :meth:`AugmentConfig.problems` when the :class:`SegConfig` holding them is validated."""
    settings = aug.to_dict()
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(item)
            settings[name.strip()] = json.loads(value)
        except ValueError:
            raise SegmentationError(Errors.S014.format(
                value=item, allowed=[f.name for f in dataclasses.fields(aug)])) from None
    return AugmentConfig.from_dict(settings)


def preset_config(name: str, augment: Sequence[str] = (), **overrides: Any) -> SegConfig:
    """A :class:`SegConfig` from a named preset (``paper``, ``cpu`` or ``default``) with ``overrides`` (``None``
    ignored) and the ``NAME=VALUE`` augmentation settings ``augment`` (:func:`augmentation_with`)."""
    if name not in PRESETS:
        raise SegmentationError(Errors.S006.format(value=name, presets=sorted(PRESETS)))
    cfg = SegConfig(**copy.deepcopy(PRESETS[name]))  # a preset's nested settings are not shared between configs
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, v)
    if augment:
        cfg.augmentation = augmentation_with(cfg.augmentation, augment)
    cfg.validate()
    return cfg
