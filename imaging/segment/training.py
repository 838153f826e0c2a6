"""Training a segmentation network (``imaging train-seg``): epochs, validation Dice, best and last checkpoints."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..io import check_output
from .augment import augment_batch
from .checkpoint import build_model, save_checkpoint
from .config import SegConfig, SegErrors, SegmentationError
from .data import Pair, SliceSample, find_pairs, load_pair
from .losses import dice_loss, dice_score

logger = logging.getLogger(__name__)


def build_optimizer(model: torch.nn.Module, cfg: SegConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)


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
