"""grading.train: config, class-weighted training with Adadelta, best checkpoint, resume, seeds, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from grading.checkpoint import load_checkpoint
from grading.cli import app
from grading.config import TrainConfig
from grading.errors import GradingError
from grading.metrics import class_average_accuracy
from grading.train import train
from spinecore.errors import CoreError

LEVELS = ["T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
AX, SAG = (8, 16, 16), (5, 8, 12)


def write_cohort(folder: Path, n_studies: int = 24, seed: int = 0) -> tuple[Path, Path]:
    """Disc arrays whose grades show as the brightness of a central blob (scs), and of the left / right halves
    (lfs / rfs), a manifest as 'imaging extract' writes it and a levels table as 'reportparse extract' writes it."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    man, lev = [], []
    for s in range(n_studies):
        sid = f"S{s:03d}"
        (folder / sid).mkdir(exist_ok=True)
        for lv in LEVELS:
            g = rng.integers(0, 4, 3)  # scs, rfs, lfs
            ax = rng.normal(0, 0.3, AX).astype(np.float32)
            ax[:, 5:11, 5:11] += g[0]
            ax[:, :, :3] += 0.7 * g[1]   # columns run patient right -> left: right side first
            ax[:, :, -3:] += 0.7 * g[2]
            sag = rng.normal(0, 0.3, SAG).astype(np.float32)
            sag[2, 3:5, 4:8] += g[0]
            np.save(folder / sid / f"{lv}_axial.npy", ax.astype(np.float16))
            np.save(folder / sid / f"{lv}_sagittal.npy", sag.astype(np.float16))
            man.append({"study_id": sid, "patient_id": f"P{s // 2:03d}", "level": lv, "status": "ok", "reason": "",
                        "axial_path": f"{sid}/{lv}_axial.npy", "sagittal_path": f"{sid}/{lv}_sagittal.npy"})
            lev.append({"report_id": sid, "level": lv, "scs": int(g[0]), "rfs": int(g[1]),
                        "lfs": "" if lv == "T12-L1" else int(g[2]), "status": "ok", "reason": "", "flags": "",
                        "row": s + 1})
    pd.DataFrame(man).to_parquet(folder / "manifest.parquet", index=False)
    pd.DataFrame(lev).to_csv(folder / "levels.csv", index=False)
    return folder / "manifest.parquet", folder / "levels.csv"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, Path]:
    return write_cohort(tmp_path_factory.mktemp("discs"))


def config(cohort, **kw) -> TrainConfig:
    base = dict(manifest=str(cohort[0]), levels=str(cohort[1]), model="tiny", epochs=6, batch_size=8, workers=0)
    base.update(kw)
    return TrainConfig.from_dict(base)


def test_config_round_trip_presets_and_coded_errors(cohort):
    cfg = config(cohort, variant="axial")
    assert cfg.model.use_axial and not cfg.model.use_sagittal and cfg.model.cardinality == 4
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.to_dict() == cfg.to_dict()
    assert TrainConfig.from_dict({**cfg.to_dict(), "model": {"preset": "paper", "dropout": 0.3}}).model.layers == (3, 4, 6, 3)
    with pytest.raises(CoreError, match=r"C010.*'learning_rate'"):
        TrainConfig.from_dict({"manifest": "m", "levels": "l", "learning_rate": 1.0})
    with pytest.raises(GradingError, match="G001") as err:
        config(cohort, variant="coronal")
    assert "coronal" in str(err.value)
    assert TrainConfig().lr == 1.0 and TrainConfig().rho == 0.95 and TrainConfig().model.dropout == 0.2


@pytest.mark.slow  # several training runs: minutes on a shared 2-core CPU
def test_training_learns_keeps_the_best_checkpoint_and_writes_predictions(cohort, tmp_path):
    summary = train(config(cohort, epochs=8), tmp_path / "run")
    run = tmp_path / "run"
    log = pd.read_csv(run / "log.csv")
    assert list(log["epoch"]) == list(range(1, 9))
    assert log["val_loss"].min() < log["val_loss"].iloc[0]
    best = load_checkpoint(run / "checkpoint_best.pt")
    assert best.epoch == summary.best_epoch == int(log.loc[log["val_loss"].idxmin(), "epoch"])
    assert best.config.to_dict() == json.loads((run / "config.json").read_text())
    assert best.state["class_weights"].shape == (3, 4)
    pred = pd.read_csv(run / "predictions_test.csv", keep_default_na=False)
    assert set(pred["task"]) == {"scs", "rfs", "lfs"} and len(pred) == 3 * summary.sizes["test"]
    assert np.allclose(pred[["p0", "p1", "p2", "p3"]].sum(axis=1), 1.0, atol=1e-4)
    assert (pred.loc[(pred["task"] == "lfs") & (pred["level"] == "T12-L1"), "label"] == "").all()  # unknown kept
    assert summary.test_class_average["scs"] > 0.6  # the central blob's brightness is the grade
    splits = pd.read_csv(run / "splits.csv")
    assert splits.groupby("patient_id")["split"].nunique().max() == 1


@pytest.mark.slow  # several training runs: minutes on a shared 2-core CPU
def test_same_seed_same_losses_and_swap_exchanges_val_and_test(cohort, tmp_path):
    a = train(config(cohort, epochs=2), tmp_path / "a")
    b = train(config(cohort, epochs=2, splits=str(tmp_path / "a" / "splits.csv")), tmp_path / "b")
    assert [r.train_loss for r in a.log] == pytest.approx([r.train_loss for r in b.log], rel=1e-5)
    c = train(config(cohort, epochs=1, swap_val_test=True, splits=str(tmp_path / "a" / "splits.csv")), tmp_path / "c")
    assert (c.sizes["val"], c.sizes["test"]) == (a.sizes["test"], a.sizes["val"])
    test_a = set(pd.read_csv(tmp_path / "a" / "predictions_test.csv")["study_id"])
    val_c = set(pd.read_csv(tmp_path / "c" / "predictions_val.csv")["study_id"])
    assert test_a == val_c


def test_swap_run_trains_from_another_seed_on_the_same_splits(cohort, tmp_path):
    """The paper's two models: the swap run's training split is the first run's, so with the same seed it would
    repeat the first run's training exactly; by default it seeds differently (swap_seed_offset 1)."""
    a = train(config(cohort, epochs=1), tmp_path / "a")
    splits = str(tmp_path / "a" / "splits.csv")
    twin = train(config(cohort, epochs=1, swap_val_test=True, splits=splits), tmp_path / "twin")
    same = train(config(cohort, epochs=1, swap_val_test=True, splits=splits, swap_seed_offset=0), tmp_path / "same")
    assert twin.sizes["train"] == a.sizes["train"] == same.sizes["train"]
    assert same.log[0].train_loss == pytest.approx(a.log[0].train_loss, rel=1e-5)
    assert twin.log[0].train_loss != pytest.approx(a.log[0].train_loss, rel=1e-3)
    wa = load_checkpoint(tmp_path / "a" / "checkpoint_last.pt").model.state_dict()
    wt = load_checkpoint(tmp_path / "twin" / "checkpoint_last.pt").model.state_dict()
    assert any(not torch.equal(wa[k], wt[k]) for k in wa if wa[k].is_floating_point())
    assert config(cohort, swap_val_test=True, seed=7).run_seed == 8 and config(cohort, seed=7).run_seed == 7


def test_loss_reduction_sum_trains_on_eq2_as_printed(cohort, tmp_path):
    mean = train(config(cohort, epochs=1), tmp_path / "mean")
    summed = train(config(cohort, epochs=1, loss_reduction="sum"), tmp_path / "sum")
    # the same data order and initial weights: a batch's sum is about batch_size (8) x its per-task mean
    assert 4.0 < summed.log[0].train_loss / mean.log[0].train_loss < 8.5
    assert json.loads((tmp_path / "sum" / "config.json").read_text())["loss_reduction"] == "sum"
    with pytest.raises(GradingError, match="G001"):
        config(cohort, loss_reduction="mean")


@pytest.mark.slow
def test_resume_after_a_kill_mid_epoch_continues(cohort, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(manifest=str(cohort[0]), levels=str(cohort[1]), model="tiny", epochs=12,
                                   batch_size=2, workers=0)))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "grading", "train", "--config", str(cfg), "-o", str(run)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    err_log = tmp_path / "train.stderr"

    def epochs_logged() -> int:
        log = run / "log.csv"
        return max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0

    with open(err_log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        deadline = time.monotonic() + 240
        while epochs_logged() < 2:
            if proc.poll() is not None:
                pytest.fail(f"'grading train' ended with {proc.returncode} before its second epoch; stderr:\n"
                            f"{err_log.read_text(errors='replace')[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"'grading train' logged {epochs_logged()} epoch(s) in 240 s; stderr:\n"
                            f"{err_log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.2)
        time.sleep(0.3)  # now inside a later epoch
    finally:
        proc.kill()
        proc.wait()
    done = len(pd.read_csv(run / "log.csv"))
    assert 2 <= done < 12
    resume_point = torch.load(run / "checkpoint_last.pt", weights_only=False)["epoch"]
    assert resume_point in (done, done - 1)  # done - 1: killed between an epoch's log row and its checkpoint
    with open(run / "log.csv", "a") as fh:  # as if killed after logging an epoch, before its checkpoint
        fh.write(f"{done + 1},9.9,9.9,,,,1.0,0\n")
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "epochs": done + 2}))
    with pytest.raises(GradingError, match="G007"):  # another config: refuses to mix runs
        train(TrainConfig.from_file(cfg), run)
    summary = train(TrainConfig.from_file(cfg, epochs=12), run)
    assert summary.resumed_from == resume_point and summary.epochs_run == 12 - resume_point
    assert list(pd.read_csv(run / "log.csv")["epoch"]) == list(range(1, 13))


def test_class_average_accuracy_ignores_missing_labels():
    probs = np.zeros((4, 1, 4))
    probs[[0, 1, 2, 3], 0, [0, 0, 3, 1]] = 1
    labels = np.array([[0], [1], [3], [-1]])
    assert class_average_accuracy(probs, labels) == [pytest.approx((1 + 0 + 1) / 3)]


@pytest.mark.slow  # several training runs: minutes on a shared 2-core CPU
def test_cli_train_and_evaluate_two_runs(cohort, tmp_path):
    runner = CliRunner()
    common = ["--manifest", str(cohort[0]), "--levels", str(cohort[1]), "--preset", "tiny", "--epochs", "2",
              "--workers", "0"]
    res = runner.invoke(app, ["train", "-o", str(tmp_path / "m1"), *common])
    assert res.exit_code == 0, res.output
    assert "test class-average accuracy scs" in res.output
    res = runner.invoke(app, ["train", "-o", str(tmp_path / "m2"), "--swap-val-test", "--splits",
                              str(tmp_path / "m1" / "splits.csv"), *common])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path / "m1"), str(tmp_path / "m2"), "-o", str(tmp_path / "ev"),
                              "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert results["table1"]["spinal_canal"]["four_class"]["class_average"]["n"] == 2
    bad = runner.invoke(app, ["train", "-o", str(tmp_path / "m3"), "--manifest", str(cohort[0])])
    assert bad.exit_code == 2 and "G001" in bad.output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_torchrun_two_processes_same_command(cohort, tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(manifest=str(cohort[0]), levels=str(cohort[1]), model="tiny", epochs=2,
                                   batch_size=4, workers=0)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "grading", "train", "--config",
                          str(cfg), "-o", str(tmp_path / "ddp")], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert len(pd.read_csv(tmp_path / "ddp" / "log.csv")) == 2
    assert load_checkpoint(tmp_path / "ddp" / "checkpoint_best.pt").epoch >= 1
    assert (tmp_path / "ddp" / "predictions_test.csv").exists()
