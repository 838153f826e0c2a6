"""Segmentation settings: :class:`SegConfig`, the named presets, and the error class of segmentation (``S0xx``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from spinecore.config import Config

from ..errors import Errors, ImagingError
from .augment import AugmentConfig


class SegmentationError(ImagingError):
    """A user-facing error from segmentation; the message carries its catalogue code (``S0xx``)."""


# --------------------------------------------------------------------------------------------------- configuration
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
    min_area_fraction: float = 0.25  # components under this fraction of the median body area are dropped
    min_dice: float = 0.2          # a run whose best validation Dice stays below this failed (warning, exit 1)
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
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("optimizer", self.optimizer in ("sgd", "adam"), "'sgd' or 'adam'"),
            ("schedule", self.schedule in ("constant", "cosine"), "'constant' or 'cosine'"),
            ("loss", self.loss in ("dice", "dice+bce"), "'dice' or 'dice+bce'"),
            ("val_fraction", 0.0 <= self.val_fraction < 1.0, "a fraction in [0, 1)"),
            ("threshold", 0.0 < self.threshold < 1.0, "a probability in (0, 1)"),
            ("repeats", self.repeats >= 1, "an integer >= 1"),
            ("synthetic", self.synthetic >= 0, "an integer >= 0"),
            ("min_dice", 0.0 <= self.min_dice < 1.0, "a Dice in [0, 1)"),
            ("infer_scales", len(self.infer_scales) >= 1 and all(0.5 <= x <= 2.0 for x in self.infer_scales),
             "one or more multiples of input_size in [0.5, 2]"),
            ("infer_neighbours", 0 <= self.infer_neighbours <= 3, "an integer in [0, 3]"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SegmentationError(Errors.S007.format(name=name, value=getattr(self, name), expected=expected))
        for name, value, expected in self.augmentation.problems():
            raise SegmentationError(Errors.S007.format(name=f"augmentation.{name}", value=value, expected=expected))

    @property
    def infer_sizes(self) -> tuple[int, ...]:
        """The network input sides of :attr:`infer_scales` (multiples of ``2**depth``)."""
        step = 2 ** self.depth
        return tuple(max(step, int(round(self.input_size * x / step)) * step) for x in self.infer_scales)

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
    # the shipped model (imaging/models/vertebrae-default.pt): the cpu network on every real case (no validation
    # split: the last epoch is kept) plus synthetic T1/T2 slices, strong augmentation, a fixed number of epochs
    "default": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, batch_size=4, epochs=80,
                    schedule="cosine", repeats=2, synthetic=24, val_fraction=0.0,
                    infer_scales=(1.0, 4 / 3, 5 / 3), infer_neighbours=1),
}


def preset_config(name: str, **overrides: Any) -> SegConfig:
    """A :class:`SegConfig` from a named preset (``paper``, ``cpu`` or ``default``) with ``overrides`` (``None``
    ignored)."""
    if name not in PRESETS:
        raise SegmentationError(Errors.S006.format(value=name, presets=sorted(PRESETS)))
    cfg = SegConfig(**PRESETS[name])
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, v)
    cfg.validate()
    return cfg
