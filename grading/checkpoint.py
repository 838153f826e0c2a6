"""Grading checkpoints: what a run saves, and the network rebuilt from it on a device.

``grading predict`` needs only this module, :mod:`grading.config` and the model: loading a checkpoint imports
neither the training loop (``torch.distributed``, data loaders) nor the result tables (matplotlib, scikit-learn).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spinecore.checks import CheckpointError, read_checkpoint
from spinecore.io import atomic_path

from .config import TrainConfig
from .errors import Errors, GradingError
from .model import GradingNet

CHECKPOINT_FORMAT = 1


def pick_device(name: str) -> torch.device:
    """The device ``name`` ("auto": CUDA when present, "cpu", "cuda") names; G004 when CUDA is asked for and absent."""
    if name == "cuda" and not torch.cuda.is_available():
        raise GradingError(Errors.G004)
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def save_checkpoint(path: Path, model: torch.nn.Module, cfg: TrainConfig, *, optimizer: torch.optim.Optimizer | None,
                    scaler: torch.amp.GradScaler | None, epoch: int, best_loss: float, weights: torch.Tensor,
                    extract_config: dict[str, Any] | None) -> None:
    """A full checkpoint (atomic): config, model/optimizer/scaler state, epoch, best loss, class weights, the
    extraction settings of the volumes it was trained on, and the RNG states."""
    state = {"format": CHECKPOINT_FORMAT, "kind": "grading", "config": cfg.to_dict(),
             "model": (model.module if hasattr(model, "module") else model).state_dict(),
             "optimizer": optimizer.state_dict() if optimizer else None,
             "scaler": scaler.state_dict() if scaler else None, "epoch": epoch, "best_loss": best_loss,
             "class_weights": weights.cpu(), "extract_config": extract_config,
             "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()[1].tolist(),
                     "python": random.getstate()[1]}}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


@dataclass
class Checkpoint:
    config: TrainConfig
    model: GradingNet
    state: dict[str, Any]

    @property
    def epoch(self) -> int:
        return int(self.state["epoch"])

    @property
    def extract_config(self) -> dict[str, Any] | None:
        return self.state.get("extract_config")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model (eval mode) and its config from a checkpoint of :func:`save_checkpoint`."""
    try:
        state = read_checkpoint(path, "grading", map_location=device)
        cfg = TrainConfig.from_dict(state["config"])
        model = GradingNet(cfg.model)
        model.load_state_dict(state["model"])
    except (CheckpointError, RuntimeError, ValueError, KeyError, TypeError) as err:
        raise GradingError(Errors.G006.format(path=path, error=err)) from None
    return Checkpoint(cfg, model.to(device).eval(), state)
