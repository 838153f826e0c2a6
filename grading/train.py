"""Training and testing the grading network (DeepSPINE 3.2): ``train_one_epoch``, ``evaluate``, ``train``.

``train(cfg, out_dir)`` joins the disc manifest of ``imaging extract`` with the levels table of ``reportparse
extract``, splits by patient (saved once, reused), trains with the class-weighted cross entropy of eq. 2 and
Adadelta (lr 1.0, rho 0.95), keeps the checkpoint with the lowest validation loss and writes its predictions on
the test split. A run folder holds::

    config.json            the TrainConfig (also inside every checkpoint)
    splits.csv             patient -> train/val/test (unless cfg.splits names another file)
    checkpoint_last.pt     model, optimizer, scaler, epoch, best loss, RNG states: resume point
    checkpoint_best.pt     the lowest validation loss so far
    log.csv                one row per epoch: losses, per-task class-average accuracy, seconds
    predictions_test.csv   the best checkpoint on the test split (input of ``grading evaluate``)
    predictions_val.csv

The paper's second model (``swap_val_test``: validation and test exchanged) shares the patient splits of the
first but trains from ``seed + swap_seed_offset`` (weights, shuffling, flips), so the two are different models.

A rerun of the same command in the same folder continues from ``checkpoint_last.pt`` (the epoch that was
interrupted is redone). Several GPUs: start the same command with ``torchrun --nproc_per_node N``; the ranks
share the work through a ``DistributedSampler`` and DistributedDataParallel, rank 0 writes the files.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from spinecore.io import write_text_atomic

from .checkpoint import load_checkpoint, pick_device, save_checkpoint
from .config import TrainConfig
from .data import (DiscDataset, join_labels, labels_array, load_or_make_splits, read_levels, read_manifest,
                   read_mapping, select_split, swap_val_test)
from .errors import Errors, GradingError, check_writable
from .loss import class_weights, weighted_cross_entropy
from .metrics import class_average_accuracy
from .model import GradingNet

logger = logging.getLogger(__name__)

#: The key columns of the predictions tables; one probability column ``p0..`` per class follows.
PREDICTION_KEYS = ("study_id", "patient_id", "level", "task", "label", "pred")


# ------------------------------------------------------------------------------------------------------- devices
@dataclass
class Runtime:
    """Where the run executes: device, mixed precision, and the distributed rank (world size 1 without torchrun)."""

    device: torch.device
    amp_dtype: torch.dtype | None
    rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Pick the device (CUDA when present and asked for) and join the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = pick_device(cfg.device).type == "cuda"
    rank = 0
    if world > 1:
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        rank = dist.get_rank()
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
        amp = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cfg.amp else None
    else:
        device, amp = torch.device("cpu"), None
    return Runtime(device, amp, rank, world)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------------------- data
@dataclass
class Splits:
    """The labelled discs of each split."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def load_data(cfg: TrainConfig, run_dir: Path) -> Splits:
    """Join the manifest and the levels table, and split by patient (saved once, reused by later runs)."""
    manifest = read_manifest(cfg.manifest)
    mapping = read_mapping(cfg.mapping) if cfg.mapping else None
    discs, summary = join_labels(manifest, read_levels(cfg.levels), mapping, tasks=cfg.model.tasks,
                                 label_scheme=cfg.label_scheme)
    logger.info("%d labelled discs (%d failed, %d without a report, %d without a label)", summary.kept,
                summary.failed, summary.no_report, summary.no_label)
    splits = load_or_make_splits(Path(cfg.splits) if cfg.splits else run_dir / "splits.csv", discs, cfg.fractions,
                                 cfg.seed)
    if cfg.swap_val_test:
        splits = swap_val_test(splits)
    parts = Splits(*(select_split(discs, splits, name) for name in ("train", "val", "test")))
    for name in ("train", "val"):
        if getattr(parts, name).empty:
            raise GradingError(Errors.G005.format(split=name, n=discs["patient_id"].nunique()))
    return parts


def _loader(ds: DiscDataset, cfg: TrainConfig, rt: Runtime, shuffle: bool, seed: int) -> DataLoader:
    sampler = DistributedSampler(ds, rt.world_size, rt.rank, shuffle=shuffle, seed=seed) if rt.world_size > 1 else None
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=cfg.workers, generator=gen, pin_memory=rt.device.type == "cuda",
                      persistent_workers=False)


def _inputs(batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    return tuple(batch[k].to(device, non_blocking=True) if k in batch else None  # type: ignore[return-value]
                 for k in ("axial", "sagittal"))


# ------------------------------------------------------------------------------------------------ epochs and tests
@dataclass
class EpochResult:
    loss: float
    probs: np.ndarray | None = None   # (N, T, C) softmax, in dataset order (evaluate only)
    labels: np.ndarray | None = None  # (N, T)


def train_one_epoch(model: torch.nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    weights: torch.Tensor, tasks: Sequence[str], rt: Runtime,
                    scaler: torch.amp.GradScaler | None = None,
                    on_step: Callable[[int, int], None] | None = None, reduction: str = "task_mean") -> float:
    """One pass over ``loader``; returns the mean training loss (eq. 2, ``reduction`` as in
    :func:`grading.loss.weighted_cross_entropy`) over its batches."""
    model.train()
    total, batches = 0.0, 0
    weights = weights.to(rt.device)
    for step, batch in enumerate(loader, 1):
        axial, sagittal = _inputs(batch, rt.device)
        targets = batch["labels"].to(rt.device)
        with torch.autocast(rt.device.type, dtype=rt.amp_dtype, enabled=rt.amp_dtype is not None):
            logits = model(axial, sagittal)
        loss = weighted_cross_entropy({k: v.float() for k, v in logits.items()}, targets, weights, tasks, reduction)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        total += float(loss.detach())
        batches += 1
        if on_step:
            on_step(step, len(loader))
    return _mean_across_ranks(total, batches, rt)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, weights: torch.Tensor, tasks: Sequence[str],
             rt: Runtime, reduction: str = "task_mean") -> EpochResult:
    """Loss (eq. 2 with ``reduction``, mean over batches) and the softmax probabilities of every disc of ``loader``."""
    model.eval()
    total, batches, probs, labels = 0.0, 0, [], []
    weights = weights.to(rt.device)
    for batch in loader:
        axial, sagittal = _inputs(batch, rt.device)
        targets = batch["labels"].to(rt.device)
        with torch.autocast(rt.device.type, dtype=rt.amp_dtype, enabled=rt.amp_dtype is not None):
            logits = model(axial, sagittal)
        logits = {k: v.float() for k, v in logits.items()}
        total += float(weighted_cross_entropy(logits, targets, weights, tasks, reduction))
        batches += 1
        probs.append(torch.stack([logits[t].softmax(-1) for t in tasks], dim=1).cpu())
        labels.append(batch["labels"])
    return EpochResult(_mean_across_ranks(total, batches, rt), torch.cat(probs).numpy() if probs else None,
                       torch.cat(labels).numpy() if labels else None)


def _mean_across_ranks(total: float, count: int, rt: Runtime) -> float:
    if rt.world_size > 1:
        t = torch.tensor([total, float(count)], device=rt.device)
        dist.all_reduce(t)
        total, count = float(t[0]), int(t[1])
    return total / max(count, 1)


def predictions_table(discs: pd.DataFrame, probs: np.ndarray, tasks: Sequence[str]) -> pd.DataFrame:
    """One row per disc and task: :data:`PREDICTION_KEYS` and one probability ``p0..`` per class (label empty where
    unknown)."""
    rows = []
    for i, d in enumerate(discs.itertuples(index=False)):
        for t, task in enumerate(tasks):
            p = probs[i, t].astype(float)
            label = int(getattr(d, task))
            rows.append({"study_id": d.study_id, "patient_id": d.patient_id, "level": d.level, "task": task,
                         "label": "" if label < 0 else label, "pred": int(p.argmax()),
                         **{f"p{c}": round(float(p[c]), 6) for c in range(len(p))}})
    return pd.DataFrame(rows, columns=[*PREDICTION_KEYS, *(f"p{c}" for c in range(probs.shape[-1]))])


# ---------------------------------------------------------------------------------------------------------- resume
def _restore_rng(rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    np.random.set_state(("MT19937", np.array(rng["numpy"], dtype=np.uint32), 624, 0, 0.0))
    random.setstate((3, tuple(rng["python"]), None))


def _extract_config_of(manifest: str) -> dict[str, Any] | None:
    """The ``imaging extract`` settings recorded next to the manifest (first study.json), for ``grading predict``."""
    folder = Path(manifest)
    folder = folder if folder.is_dir() else folder.parent
    for study_json in sorted(folder.glob("*/study.json")):
        try:
            return json.loads(study_json.read_text())["config"]
        except (OSError, ValueError, KeyError):
            continue
    return None


# ------------------------------------------------------------------------------------------------------------ main
@dataclass
class EpochLog:
    epoch: int
    train_loss: float
    val_loss: float
    val_class_average: dict[str, float | None]
    seconds: float
    best: bool


@dataclass
class TrainSummary:
    run_dir: Path
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    test_class_average: dict[str, float | None]
    sizes: dict[str, int]
    resumed_from: int = 0
    log: list[EpochLog] = field(default_factory=list)


def _append_log(path: Path, row: EpochLog) -> None:
    """One row of ``log.csv``: epoch, losses, one ``val_acc_<task>`` per task of the run, seconds, best."""
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["epoch", "train_loss", "val_loss", *(f"val_acc_{t}" for t in row.val_class_average),
                        "seconds", "best"])
        acc = list(row.val_class_average.values())
        w.writerow([row.epoch, f"{row.train_loss:.6f}", f"{row.val_loss:.6f}",
                    *("" if a is None else f"{a:.4f}" for a in acc), f"{row.seconds:.2f}", int(row.best)])


def train(cfg: TrainConfig, run_dir: str | Path, *, on_epoch: Callable[[EpochLog], None] | None = None,
          on_step: Callable[[int, int], None] | None = None) -> TrainSummary:
    """Train (or resume) a run in ``run_dir``, then test its best checkpoint. See the module docstring."""
    cfg.validate()
    run_dir = Path(run_dir)
    check_writable(run_dir, folder=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg.name = cfg.name or run_dir.name
    rt = setup_runtime(cfg)
    seed_everything(cfg.run_seed + rt.rank)
    data = load_data(cfg, run_dir)
    tasks = list(cfg.model.tasks)
    weights = class_weights(labels_array(data.train, tasks), cfg.model.n_classes)
    logger.info("splits: %d train, %d val, %d test discs; class weights %s", len(data.train), len(data.val),
                len(data.test), weights.tolist())
    datasets = {name: DiscDataset(getattr(data, name), cfg.model.use_axial, cfg.model.use_sagittal,
                                  augment=cfg.augment and name == "train", seed=cfg.run_seed, tasks=tasks)
                for name in ("train", "val", "test")}
    model: torch.nn.Module = GradingNet(cfg.model).to(rt.device)
    if rt.world_size > 1:
        if rt.device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rt.device.index]
                                                          if rt.device.type == "cuda" else None)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps)
    scaler = torch.amp.GradScaler("cuda") if rt.amp_dtype == torch.float16 else None
    extract_config = _extract_config_of(cfg.manifest)
    last, best_path = run_dir / "checkpoint_last.pt", run_dir / "checkpoint_best.pt"
    start, best_loss, best_epoch = 0, float("inf"), 0
    if last.exists():
        state = torch.load(last, map_location=rt.device, weights_only=False)
        if state.get("config") != cfg.to_dict():
            raise GradingError(Errors.G007.format(path=last))
        (model.module if hasattr(model, "module") else model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start, best_loss = int(state["epoch"]), float(state["best_loss"])
        best_epoch = int(torch.load(best_path, map_location="cpu", weights_only=False)["epoch"]) \
            if best_path.exists() else 0
        _restore_rng(state["rng"])
        if rt.main and (run_dir / "log.csv").exists():  # a row of the interrupted epoch is redone, not repeated
            log = pd.read_csv(run_dir / "log.csv", dtype=str, keep_default_na=False)
            write_text_atomic(run_dir / "log.csv", log[log["epoch"].astype(int) <= start].to_csv(index=False))
        logger.info("resuming %s after epoch %d (best validation loss %.4f)", run_dir, start, best_loss)
    elif rt.main:
        write_text_atomic(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2))
        (run_dir / "log.csv").unlink(missing_ok=True)
    summary = TrainSummary(run_dir, 0, best_epoch, best_loss, {}, {k: len(v) for k, v in datasets.items()},
                           resumed_from=start)
    loaders = {"train": _loader(datasets["train"], cfg, rt, True, cfg.run_seed),
               "val": _loader(datasets["val"], cfg, rt, False, cfg.run_seed)}
    for epoch in range(start + 1, cfg.epochs + 1):
        t0 = time.perf_counter()
        datasets["train"].set_epoch(epoch)
        if isinstance(loaders["train"].sampler, DistributedSampler):
            loaders["train"].sampler.set_epoch(epoch)
        loaders["train"].generator.manual_seed(cfg.run_seed * 1000 + epoch)
        train_loss = train_one_epoch(model, loaders["train"], optimizer, weights, tasks, rt, scaler, on_step,
                                     cfg.loss_reduction)
        val = evaluate(model, loaders["val"], weights, tasks, rt, cfg.loss_reduction)
        best = val.loss < best_loss
        acc = class_average_accuracy(val.probs, val.labels) if val.probs is not None else [None] * len(tasks)
        row = EpochLog(epoch, train_loss, val.loss, dict(zip(tasks, acc)), time.perf_counter() - t0, best)
        if best:
            best_loss, best_epoch = val.loss, epoch
        if rt.main:
            kw = dict(optimizer=optimizer, scaler=scaler, epoch=epoch, best_loss=best_loss, weights=weights,
                      extract_config=extract_config)
            _append_log(run_dir / "log.csv", row)  # before the resume point, so a kill in between loses no row
            if best:
                save_checkpoint(best_path, model, cfg, **kw)
            save_checkpoint(last, model, cfg, **kw)
        summary.log.append(row)
        summary.epochs_run += 1
        logger.info("epoch %d: train loss %.4f, val loss %.4f%s", epoch, train_loss, val.loss, " (best)" if best else "")
        if on_epoch:
            on_epoch(row)
    summary.best_epoch, summary.best_val_loss = best_epoch, best_loss
    if rt.world_size > 1:
        dist.barrier()
    if rt.main:
        summary.test_class_average = predict_splits(run_dir, data, cfg, rt)
    if rt.world_size > 1:
        dist.barrier()
    return summary


def predict_splits(run_dir: Path, data: Splits, cfg: TrainConfig, rt: Runtime) -> dict[str, float | None]:
    """Predict the validation and test splits with the best checkpoint; write ``predictions_{val,test}.csv``."""
    ck = load_checkpoint(run_dir / "checkpoint_best.pt", rt.device)
    weights = ck.state["class_weights"]
    single = Runtime(rt.device, rt.amp_dtype)
    tasks = list(cfg.model.tasks)
    out: dict[str, float | None] = {}
    for name in ("val", "test"):
        discs = getattr(data, name)
        if discs.empty:
            columns = [*PREDICTION_KEYS, *(f"p{c}" for c in range(cfg.model.n_classes))]
            write_text_atomic(run_dir / f"predictions_{name}.csv", pd.DataFrame(columns=columns).to_csv(index=False))
            continue
        ds = DiscDataset(discs, cfg.model.use_axial, cfg.model.use_sagittal, tasks=tasks)
        res = evaluate(ck.model, DataLoader(ds, batch_size=cfg.batch_size, num_workers=cfg.workers), weights,
                       tasks, single, cfg.loss_reduction)
        write_text_atomic(run_dir / f"predictions_{name}.csv",
                          predictions_table(discs, res.probs, tasks).to_csv(index=False))
        if name == "test":
            out = dict(zip(tasks, class_average_accuracy(res.probs, res.labels)))
    return out
