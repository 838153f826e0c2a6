"""The settings of a grading run (:class:`TrainConfig`): data, splits, model, optimiser, device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spinecore.config import Config

from .errors import Errors, GradingError
from .labels import scheme
from .loss import REDUCTIONS
from .model import ModelConfig, preset

VARIANTS = {"both": (True, True), "axial": (True, False), "sagittal": (False, True)}


@dataclass
class TrainConfig(Config):
    """Everything a training run needs; stored in ``config.json`` and in every checkpoint.

    Paths are as given (relative ones against the working folder). ``variant`` switches a branch off (the
    paper's Table 2): it overrides ``model.use_axial`` / ``model.use_sagittal``. ``label_scheme``
    (:mod:`grading.labels`: ``deepspine`` 4 grades, ``rsna`` 3 classes) and ``subarticular`` (the RSNA scheme's
    extra heads) set ``model.n_classes`` and ``model.tasks``.
    """

    manifest: str = ""                    # manifest.parquet/.csv of 'imaging extract' (or its folder)
    levels: str = ""                      # levels table of 'reportparse extract'
    mapping: str | None = None            # report_id -> study_id (, patient_id) CSV; default: equal ids
    splits: str | None = None             # splits CSV to reuse/create; default: <run>/splits.csv
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    swap_val_test: bool = False           # the paper's second model: validation and test exchanged
    swap_seed_offset: int = 1             # the swap run trains with seed + this (0: as the first run; see run_seed)
    name: str = ""                        # run name in result tables (default: the run folder's name)
    variant: str = "both"                 # "both", "axial" or "sagittal"
    label_scheme: str = "deepspine"       # "deepspine" (4 grades, report labels) or "rsna" (3 classes, grading.labels)
    subarticular: bool = False            # rsna only: also the right/left subarticular heads rss, lss
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1.0                       # Adadelta (the paper: lr 1.0, rho 0.95)
    rho: float = 0.95
    eps: float = 1e-7                     # Keras' Adadelta epsilon
    augment: bool = True                  # left-right flips with rfs/lfs swapped
    loss_reduction: str = "task_mean"     # eq. 2 per task over its labelled discs, or "sum" as printed (grading.loss)
    workers: int = 2                      # DataLoader processes
    seed: int = 0
    device: str = "auto"                  # "auto" (CUDA when present), "cpu", "cuda"
    amp: bool = True                      # mixed precision on CUDA (bf16 when supported, else fp16)

    def validate(self) -> None:
        checks = [
            ("manifest", bool(self.manifest), "the path of the manifest written by 'imaging extract'"),
            ("levels", bool(self.levels), "the path of the levels table written by 'reportparse extract'"),
            ("variant", self.variant in VARIANTS, f"one of {sorted(VARIANTS)}"),
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a number > 0"),
            ("rho", 0 <= self.rho < 1, "a number in [0, 1)"),
            ("workers", isinstance(self.workers, int) and self.workers >= 0, "an integer >= 0"),
            ("device", self.device in ("auto", "cpu", "cuda"), "'auto', 'cpu' or 'cuda'"),
            ("loss_reduction", self.loss_reduction in REDUCTIONS, f"one of {REDUCTIONS}"),
            ("swap_seed_offset", isinstance(self.swap_seed_offset, int), "an integer"),
            ("fractions", len(self.fractions) == 3 and abs(sum(self.fractions) - 1) < 1e-6
             and min(self.fractions) > 0, "three positive fractions summing to 1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise GradingError(Errors.G001.format(name=name, value=getattr(self, name), expected=expected))
        self.model.use_axial, self.model.use_sagittal = VARIANTS[self.variant]
        labels = scheme(self.label_scheme)
        self.model.n_classes, self.model.tasks = labels.n_classes, labels.task_list(self.subarticular)
        self.model.validate()

    @property
    def run_seed(self) -> int:
        """The seed of the weights, the shuffling and the flips: ``seed``, plus ``swap_seed_offset`` in the swap run,
        so that the paper's two models differ in training as well as in their validation data. The patient
        splits always come from ``seed``: both runs share them, with validation and test exchanged."""
        return self.seed + (self.swap_seed_offset if self.swap_val_test else 0)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """:meth:`Config.from_dict`, where ``model`` may also be a preset name (``"paper"``, ``"tiny"``) or
        ``{"preset": name, ...overrides}``."""
        d = dict(d)
        model = d.get("model")
        if isinstance(model, str):
            d["model"] = preset(model)
        elif isinstance(model, dict) and "preset" in model:
            m = dict(model)
            d["model"] = preset(m.pop("preset"), **m)
        return super().from_dict(d)
