"""Training a segmentation network (``imaging train-seg``): epochs, validation Dice, best and last checkpoints."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from spinecore.io import write_text_atomic

from ..io import check_output
from .augment import AugmentConfig, augment_batch
from .checkpoint import NETWORK_SETTINGS, build_model, load_checkpoint, save_checkpoint, settings_differ
from ..errors import Errors
from .config import SegConfig, SegmentationError
from .data import (LEVELS_FILE, Pair, SliceSample, TrainCase, annotate_pairs, case_from_pair, case_from_synthetic,
                   draw_sample, find_pairs, read_levels)
from .evaluation import bodies_found
from .losses import bce_loss, dice_loss, dice_score

logger = logging.getLogger(__name__)


def build_optimizer(model: torch.nn.Module, cfg: SegConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)


@dataclass
class TrainSummary:
    pairs: int = 0
    train_slices: int = 0          # slices drawn per epoch (real cases x repeats + synthetic)
    synthetic: int = 0
    excluded: list[str] = field(default_factory=list)
    val_pairs: list[str] = field(default_factory=list)
    monitor: str = "validation"    # what the Dice is measured on: "validation" volumes or "training" mid-slices
    epochs_run: int = 0
    best_epoch: int = 0
    best_metric: float = 0.0
    first_metric: float | None = None
    low_dice: bool = False         # the Dice never reached cfg.min_dice: the run failed
    identification: float = 0.0    # labelled bodies the kept model finds alone on the monitored volumes
    merged: bool = False           # identification under cfg.min_identification: bodies merged or missed, failed
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    model_path: str = ""
    init: str = ""                 # the checkpoint whose weights training started from (fine-tuning), or ""


def train_one_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, samples: Sequence[SliceSample],
                    cfg: SegConfig, gen: torch.Generator, rng: random.Random) -> float:
    """One pass over ``samples`` in random batches (batch-stage augmentation when ``cfg.augment``); the mean
    loss."""
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
        w = torch.stack([samples[j].weight for j in idx])
        if cfg.augment:  # the unknown-target masks move with the targets; pixels warped in from outside are empty
            x, yu = augment_batch(x, torch.cat([y, 1.0 - w], 1), cfg.augmentation, gen)
            y, w = yu[:, :y.shape[1]], 1.0 - yu[:, y.shape[1]:]
        pred = model(x)
        loss = dice_loss(pred, y, cfg.dice_eps, w)
        if cfg.loss == "dice+bce":
            loss = loss + bce_loss(pred, y, w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses)) if losses else 0.0


@torch.no_grad()
def evaluate(model: torch.nn.Module, samples: Sequence[SliceSample], cfg: SegConfig) -> float:
    """Mean foreground Dice (thresholded, network grid) over ``samples``, per sample and channel whose target is
    known everywhere and present (the lumbar channel always)."""
    model.eval()
    scores = []
    for s in samples:
        p = model(s.image[None])[0] > cfg.threshold
        for c in range(p.shape[0]):
            if bool(s.weight[c].all()) and (s.target[c].any() or c == 0):
                scores.append(dice_score(p[c].numpy(), s.target[c].numpy()))
    return float(np.mean(scores)) if scores else 0.0


def learning_rate(cfg: SegConfig, epoch: int, elapsed_s: float = 0.0) -> float:
    """The learning rate of ``epoch`` (1-based): ``cfg.lr``, decayed to 0 over the run by the cosine schedule
    (over ``cfg.epochs``, or ``cfg.time_limit_s`` when that comes sooner, ``elapsed_s`` seconds in), and raised
    linearly over the first ``cfg.lr_warmup_epochs`` epochs (``lr / N``, ``2 lr / N``, ... ``lr``)."""
    rate = cfg.lr
    if cfg.schedule == "cosine":
        frac = (epoch - 1) / cfg.epochs
        if cfg.time_limit_s:
            frac = max(frac, elapsed_s / cfg.time_limit_s)
        rate *= 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0)))
    if epoch <= cfg.lr_warmup_epochs:
        rate *= epoch / cfg.lr_warmup_epochs
    return rate


def training_cases(data_dir: Path, cfg: SegConfig, *, pairs: Sequence[Pair] | None = None,
                   levels: Path | None = LEVELS_FILE, exclude: Sequence[str] = ()
                   ) -> tuple[list[TrainCase], list[TrainCase], list[TrainCase], list[str]]:
    """``(real training cases, synthetic training cases, validation cases, excluded names)``: the pairs of
    ``data_dir`` annotated with ``levels`` less ``exclude``, split by ``cfg.val_fraction`` (whole volumes), and
    ``cfg.synthetic`` synthetic slices."""
    from ..synth import training_slice

    pairs = list(pairs) if pairs is not None else find_pairs(Path(data_dir))
    if not pairs:
        raise SegmentationError(Errors.S001.format(path=data_dir))
    unknown = sorted(set(exclude) - {p.name for p in pairs})
    if unknown:
        raise SegmentationError(Errors.S011.format(names=unknown, path=data_dir,
                                                      pairs=", ".join(p.name for p in pairs)))
    pairs = [p for p in pairs if p.name not in set(exclude)]
    if levels is not None:
        pairs = annotate_pairs(pairs, read_levels(levels))
    if cfg.val_fraction > 0 and len(pairs) < 2:
        raise SegmentationError(Errors.S008.format(n=len(pairs), path=data_dir))
    n_val = min(max(int(round(len(pairs) * cfg.val_fraction)), 1), len(pairs) - 1) if cfg.val_fraction > 0 else 0
    shuffled = pairs[:]
    random.Random(cfg.seed).shuffle(shuffled)
    aug = cfg.train_augmentation
    train_cases = [case_from_pair(p, aug) for p in shuffled[n_val:]]
    val_cases = [case_from_pair(p, AugmentConfig.none()) for p in shuffled[:n_val]]
    synthetic = [case_from_synthetic(training_slice(cfg.seed, i), f"synthetic-{i}") for i in range(cfg.synthetic)]
    return train_cases, synthetic, val_cases, sorted(exclude)


def initial_weights(model: torch.nn.Module, cfg: SegConfig, init: Path) -> None:
    """Load the weights of checkpoint ``init`` into ``model`` (fine-tuning); its network must be the one ``cfg``
    describes (S013 names the settings that differ)."""
    ck = load_checkpoint(init)
    differ = settings_differ(ck.config, cfg, NETWORK_SETTINGS, "training")
    if ck.members:
        differ.append(f"it is an ensemble of {len(ck.members)} networks, not one: start from one member's checkpoint")
    if differ:
        raise SegmentationError(Errors.S013.format(path=init, differ="; ".join(differ)))
    model.load_state_dict(ck.model.state_dict())


def train(data_dir: Path, model_path: Path, cfg: SegConfig, *, pairs: Sequence[Pair] | None = None,
          levels: Path | None = LEVELS_FILE, exclude: Sequence[str] = (), init: Path | None = None,
          progress: Callable[[int, int, dict[str, float]], None] | None = None) -> TrainSummary:
    """Train a segmentation model on the pairs in ``data_dir`` and write it to ``model_path``.

    Every epoch draws each real case ``cfg.repeats`` times and each synthetic slice once through the augmentation
    (:mod:`.augment`). ``levels`` says which mask label is S1 per case (:func:`.data.read_levels`; cases it does
    not list have an unknown S1, left out of the S1 loss); ``exclude`` names cases kept out (a held-out test set).
    With a validation split (``cfg.val_fraction``, whole volumes scored on the mid-sagittal slice) the best epoch
    is kept; without one the model is the last epoch and the Dice is that of the training mid-slices. The last
    epoch with its optimizer state is also written beside it (``*.last.pt``), and the training record (settings,
    Dice per epoch, time, the ``init`` checkpoint) as ``*.json``. ``init`` starts from that checkpoint's weights
    (fine-tuning; a fresh optimizer and schedule). A run whose Dice never reaches
    ``cfg.min_dice`` is marked ``low_dice``; otherwise the kept model is run on the monitored volumes as ``imaging
    segment`` runs it (:func:`bodies_found`), and one that finds fewer than ``cfg.min_identification`` of their
    labelled bodies alone is marked ``merged``. Both are logged as a warning. ``progress(epoch, epochs, metrics)`` is
    called after each epoch.
    """
    cfg.validate()
    check_output(model_path, folder=False, suffixes=(".pt",))
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    np_rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    real, synthetic, val_cases, excluded = training_cases(data_dir, cfg, pairs=pairs, levels=levels, exclude=exclude)
    none = AugmentConfig.none()
    monitor = [draw_sample(c, cfg, none, np_rng) for c in (val_cases or real)]
    logger.info("training on %d real cases and %d synthetic slices, validating on %d", len(real), len(synthetic),
                len(val_cases))
    model = build_model(cfg)
    if init is not None:
        initial_weights(model, cfg, Path(init))
    optimizer = build_optimizer(model, cfg)
    summary = TrainSummary(pairs=len(real) + len(val_cases), train_slices=len(real) * cfg.repeats + cfg.synthetic,
                           synthetic=cfg.synthetic, excluded=excluded, val_pairs=[c.name for c in val_cases],
                           monitor="validation" if val_cases else "training", model_path=str(model_path),
                           init=str(init) if init is not None else "")
    summary.first_metric = evaluate(model, monitor, cfg)
    best = -1.0
    last_path = Path(model_path).with_name(Path(model_path).stem + ".last.pt")
    aug = cfg.train_augmentation
    for epoch in range(1, cfg.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, epoch, time.time() - t0)
        samples = [draw_sample(c, cfg, aug, np_rng) for c in real for _ in range(cfg.repeats)]
        samples += [draw_sample(c, cfg, aug, np_rng) for c in synthetic]
        loss = train_one_epoch(model, optimizer, samples, cfg, gen, rng)
        metric = evaluate(model, monitor, cfg)
        summary.history.append({"epoch": epoch, "loss": loss, "val_dice": metric, "seconds": time.time() - t0})
        summary.epochs_run = epoch
        if metric > best:
            best = metric
            summary.best_epoch, summary.best_metric = epoch, metric
        if metric >= best or not val_cases:  # the best validation epoch, or the latest without validation
            save_checkpoint(model_path, model, cfg, None, epoch, metric)
        if progress:
            progress(epoch, cfg.epochs, {"loss": loss, "val_dice": metric, "best": best})
        if cfg.time_limit_s is not None and time.time() - t0 > cfg.time_limit_s:
            logger.info("time limit of %.0f s reached after epoch %d", cfg.time_limit_s, epoch)
            break
    save_checkpoint(last_path, model, cfg, optimizer, summary.epochs_run, best)
    if not val_cases:
        summary.best_epoch, summary.best_metric = summary.epochs_run, summary.history[-1]["val_dice"]
    summary.low_dice = best < cfg.min_dice
    if summary.low_dice:
        logger.warning("the %s Dice never reached %.2f (best %.3f after %d epochs): the model did not learn; check "
                       "the labels and the data, or train longer", summary.monitor, cfg.min_dice, best,
                       summary.epochs_run)
    else:
        summary.identification = bodies_found(load_checkpoint(model_path).model, val_cases or real, cfg)
        summary.merged = summary.identification < cfg.min_identification
        if summary.merged:
            logger.warning("the model finds only %.0f%% of the labelled bodies of the %s volumes alone (Dice %.3f): "
                           "it merges neighbouring bodies or misses them; train again with a warm-up "
                           "(lr_warmup_epochs) or a lower lr",
                           100 * summary.identification, summary.monitor, summary.best_metric)
    summary.seconds = time.time() - t0
    record = {"config": cfg.to_dict(), **{k: v for k, v in asdict(summary).items() if k != "model_path"}}
    write_text_atomic(Path(model_path).with_suffix(".json"), json.dumps(record, indent=1))
    return summary
