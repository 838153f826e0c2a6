"""Segmentation checkpoints: the network a :class:`SegConfig` describes, saved and loaded with its settings; an
ensemble of such networks (:func:`save_ensemble`) loads as one model that averages their probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from spinecore.checks import CheckpointError, read_checkpoint
from spinecore.io import atomic_path

from ..errors import Errors
from ..unet import UNet
from .config import SegConfig, SegmentationError

#: 1: one network (``"model"``); 2: an ensemble (``"members"``), written by :func:`save_ensemble`. A single network
#: is still written as format 1, so earlier versions keep reading it.
CHECKPOINT_FORMAT = 2
#: The settings that make a network: weights load into another network only where these agree (``--init``).
NETWORK_SETTINGS = ("input_size", "features", "depth", "with_s1")
#: What every member of an ensemble shares: the network, and how it is applied and read (the training settings,
#: augmentation and learning rate among them, may differ).
ENSEMBLE_SHARED = NETWORK_SETTINGS + ("threshold", "infer_scales", "infer_neighbours", "infer_mm",
                                      "infer_tissue_range", "min_area_fraction")
#: The shipped vertebra model: an ensemble of two ``imaging train-seg --preset default`` networks trained on the
#: vertebrae-mri volumes (README, model card).
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "vertebrae-default.pt"


def model_or_default(path: Path | None) -> Path:
    """``path``, or the shipped :data:`DEFAULT_MODEL` when ``path`` is None (S012 if it is missing)."""
    if path is not None:
        return Path(path)
    if not DEFAULT_MODEL.is_file():
        raise SegmentationError(Errors.S012.format(path=DEFAULT_MODEL))
    return DEFAULT_MODEL


def settings_differ(cfg: SegConfig, other: SegConfig, keys: Sequence[str], other_name: str) -> list[str]:
    """The ``keys`` on which ``cfg`` and ``other`` disagree, each as ``"name value (other_name: other value)"``."""
    return [f"{k} {getattr(cfg, k)!r} ({other_name}: {getattr(other, k)!r})" for k in keys
            if getattr(cfg, k) != getattr(other, k)]


def build_model(cfg: SegConfig) -> UNet:
    return UNet(in_channels=1, out_channels=len(cfg.channels), features=cfg.features, depth=cfg.depth)


class Ensemble(torch.nn.Module):
    """Networks applied as one: the mean of their probabilities, ``(B, 1, H, W) -> (B, C, H, W)``.

    Averaging independently trained networks (nnU-Net ensembles its folds the same way) smooths out what one
    training run got wrong by chance: a body one member misses or outlines badly, the other usually does not.
    """

    def __init__(self, members: Sequence[torch.nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = torch.nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.members[0](x)
        for member in self.members[1:]:
            out = out + member(x)
        return out / len(self.members)


def save_checkpoint(path: Path, model: torch.nn.Module, cfg: SegConfig, optimizer: torch.optim.Optimizer | None,
                    epoch: int, best_metric: float) -> None:
    """A full checkpoint: config, model and optimizer state, epoch, best validation metric (atomic write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, "kind": "imaging.segment", "config": cfg.to_dict(),
                    "model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
                    "epoch": epoch, "best_metric": best_metric}, tmp)


def save_ensemble(path: Path, sources: Sequence[Path]) -> "Checkpoint":
    """Write the checkpoints ``sources`` (two or more, written by :func:`save_checkpoint`) as one ensemble
    checkpoint at ``path`` (atomic); returns it loaded.

    The members must share the :data:`ENSEMBLE_SHARED` settings (S015 names the first that differs); the ensemble
    is applied with them and keeps every member's own settings and weights. An ensemble is not a member: its
    members are listed from their own files (S015).
    """
    if len(sources) < 2:
        raise SegmentationError(Errors.S015.format(path=", ".join(map(str, sources)) or "-",
                                                   problem=f"{len(sources)} checkpoint(s) given, at least 2 needed"))
    members = [load_checkpoint(Path(src)) for src in sources]
    for src, ck in zip(sources, members):
        if ck.members:
            raise SegmentationError(Errors.S015.format(path=src, problem=f"it is itself an ensemble of "
                                                       f"{len(ck.members)}; list its members' files instead"))
        differ = settings_differ(ck.config, members[0].config, ENSEMBLE_SHARED, f"in '{sources[0]}'")
        if differ:
            raise SegmentationError(Errors.S015.format(path=src, problem="its " + "; ".join(differ)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, "kind": "imaging.segment", "config": members[0].config.to_dict(),
                    "members": [{"config": ck.config.to_dict(), "model": ck.model.state_dict(), "epoch": ck.epoch,
                                 "best_metric": ck.best_metric, "source": Path(src).name}
                                for src, ck in zip(sources, members)]}, tmp)
    return load_checkpoint(path)


@dataclass
class Checkpoint:
    config: SegConfig
    model: UNet | Ensemble
    optimizer_state: dict | None
    epoch: int
    best_metric: float
    #: an ensemble's members, each with its own settings and weights (empty for one network)
    members: list["Checkpoint"] = field(default_factory=list)


def load_checkpoint(path: Path | None) -> Checkpoint:
    """Rebuild the model (eval mode) from a checkpoint written by :func:`save_checkpoint` or :func:`save_ensemble`
    (None: the shipped default model). An ensemble loads as an :class:`Ensemble` with the members' shared settings
    as its ``config``, and its ``members`` (epoch and metric: those of the first member, which set ``config``).

    Checkpoints of earlier versions load: settings they lack take their defaults, settings a later version
    retired are dropped (:attr:`SegConfig.retired`). A setting this version does not know, or a newer checkpoint
    format, is an error (S003) that says so: the checkpoint was written by a newer version.
    """
    path = model_or_default(path)
    try:
        ck = read_checkpoint(path, "imaging.segment")
        if int(ck.get("format", 1)) > CHECKPOINT_FORMAT:
            raise CheckpointError(f"its format {ck['format']} is newer than this version's ({CHECKPOINT_FORMAT}); "
                                  "update the toolkit")
        if "members" in ck:
            members = [_network(m) for m in ck["members"]]
            ensemble = Ensemble([m.model for m in members]).eval()
            return Checkpoint(SegConfig.from_dict(ck["config"]), ensemble, None, members[0].epoch,
                              members[0].best_metric, members)
        return _network(ck)
    except (CheckpointError, RuntimeError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise SegmentationError(Errors.S003.format(path=path, error=err)) from None


def _network(state: dict) -> Checkpoint:
    """One network's checkpoint (eval mode) from its saved ``state`` (a file's, or an ensemble member's)."""
    cfg = SegConfig.from_dict(state["config"])
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    model.eval()
    return Checkpoint(cfg, model, state.get("optimizer"), int(state["epoch"]), float(state["best_metric"]))
