"""Segmentation settings: the coded errors of segmentation (``S0xx``), :class:`SegConfig` and the named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import ErrorsWithCodes, ImagingError
from .augment import AugmentConfig


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
    S010 = ("Level annotation file '{path}' is unusable: {problem}. Expected a JSON object {{\"cases\": {{NAME: "
            "{{\"s1_label\": LABEL or null, \"s1_in_view\": true or false}}}}}} (LABEL: the positional mask label of "
            "S1, 1..N cranial to caudal).")
    S011 = ("--exclude names {names} match no training pair in '{path}' (pairs: {pairs}). Pass names of "
            "NAME_image files in that folder.")
    S012 = ("The default segmentation model '{path}' is missing from this installation. Reinstall the package, or "
            "pass --seg-model with a checkpoint written by 'imaging train-seg'.")


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
    loss: str = "dice"             # "dice" (eq. 1, the paper) or "dice+bce" (plus pixel-wise cross entropy)
    val_fraction: float = 0.2
    augment: bool = True
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    repeats: int = 1               # random draws (slice, crop, warp) of every real case per epoch
    synthetic: int = 0             # synthetic slices (imaging.synth.training_slice) added to the training set
    threshold: float = 0.5
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
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SegmentationError(SegErrors.S007.format(name=name, value=getattr(self, name), expected=expected))
        for name, value, expected in self.augmentation.problems():
            raise SegmentationError(SegErrors.S007.format(name=f"augmentation.{name}", value=value, expected=expected))

    @property
    def train_augmentation(self) -> AugmentConfig:
        """The augmentation training applies: :attr:`augmentation`, or none when ``augment`` is off."""
        return self.augmentation if self.augment else AugmentConfig.none()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SegConfig":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "augmentation" in kw:
            kw["augmentation"] = AugmentConfig.from_dict(kw["augmentation"])
        return cls(**kw)


PRESETS: dict[str, dict[str, Any]] = {
    # the paper's network and optimiser
    "paper": dict(input_size=512, features=32, depth=5, optimizer="sgd", lr=0.01, batch_size=4, epochs=100),
    # a small network for a 2-core CPU; Adam converges in far fewer steps than plain SGD
    "cpu": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, batch_size=4, epochs=60,
                schedule="cosine", repeats=2),
    # the shipped model (imaging/models/vertebrae-default.pt): the cpu network on every real case (no validation
    # split: the last epoch is kept) plus synthetic T1/T2 slices, strong augmentation, a fixed number of epochs
    "default": dict(input_size=192, features=8, depth=4, optimizer="adam", lr=3e-3, batch_size=4, epochs=80,
                    schedule="cosine", repeats=2, synthetic=24, val_fraction=0.0),
}


def preset_config(name: str, **overrides: Any) -> SegConfig:
    """A :class:`SegConfig` from a named preset (``paper``, ``cpu`` or ``default``) with ``overrides`` (``None``
    ignored)."""
    if name not in PRESETS:
        raise SegmentationError(SegErrors.S006.format(value=name, presets=sorted(PRESETS)))
    cfg = SegConfig(**PRESETS[name])
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, v)
    cfg.validate()
    return cfg
