"""Segmentation checkpoints: the network a :class:`SegConfig` describes, saved and loaded with its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from reportparse.io import atomic_path
from spinecore.checks import CheckpointError, read_checkpoint

from ..unet import UNet
from .config import SegConfig, SegErrors, SegmentationError

CHECKPOINT_FORMAT = 1
#: The shipped vertebra model (``imaging train-seg --preset default`` on the vertebrae-mri volumes, see README).
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "vertebrae-default.pt"


def model_or_default(path: Path | None) -> Path:
    """``path``, or the shipped :data:`DEFAULT_MODEL` when ``path`` is None (S012 if it is missing)."""
    if path is not None:
        return Path(path)
    if not DEFAULT_MODEL.is_file():
        raise SegmentationError(SegErrors.S012.format(path=DEFAULT_MODEL))
    return DEFAULT_MODEL


def build_model(cfg: SegConfig) -> UNet:
    return UNet(in_channels=1, out_channels=len(cfg.channels), features=cfg.features, depth=cfg.depth)


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


def load_checkpoint(path: Path | None) -> Checkpoint:
    """Rebuild the model (eval mode) from a checkpoint written by :func:`save_checkpoint` (None: the shipped
    default model)."""
    path = model_or_default(path)
    try:
        ck = read_checkpoint(path, "imaging.segment")
        cfg = SegConfig.from_dict(ck["config"])
        model = build_model(cfg)
        model.load_state_dict(ck["model"])
    except (CheckpointError, RuntimeError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise SegmentationError(SegErrors.S003.format(path=path, error=err)) from None
    model.eval()
    return Checkpoint(cfg, model, ck.get("optimizer"), int(ck["epoch"]), float(ck["best_metric"]))
