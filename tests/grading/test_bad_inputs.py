"""Every grading command checks its inputs and outputs before work: one coded line, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from grading.cli import app
from grading.model import GradingNet
from grading.checkpoint import save_checkpoint
from grading.config import TrainConfig


@pytest.fixture(scope="module")
def grading_ckpt(tmp_path_factory) -> Path:
    cfg = TrainConfig.from_dict({"manifest": "m.parquet", "levels": "l.csv", "model": "tiny"})
    path = tmp_path_factory.mktemp("ck") / "checkpoint_best.pt"
    save_checkpoint(path, GradingNet(cfg.model), cfg, optimizer=None, scaler=None, epoch=1, best_loss=1.0,
                    weights=torch.ones(3, 4), extract_config=None)
    return path


@pytest.fixture
def junk(tmp_path) -> Path:
    path = tmp_path / "notes.pt"
    path.write_bytes(bytes(range(256)) * 8)  # torch.load fails on it with an IndexError
    return path


def test_predict_wrong_output_suffix_fails_before_extraction(coded_failure, grading_ckpt, tmp_path):
    out = tmp_path / "out" / "grades.txt"
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "studies"), "--model", str(grading_ckpt),
                                   "--vertebrae", str(tmp_path), "-o", str(out)])
    coded_failure(res, "G010", "grades.txt", ".csv")
    assert not (tmp_path / "out").exists()  # no volumes/ was started


def test_predict_model_that_is_no_checkpoint(coded_failure, junk, tmp_path):
    res = CliRunner().invoke(app, ["predict", str(tmp_path), "--model", str(junk), "--vertebrae", str(tmp_path),
                                   "-o", str(tmp_path / "grades.csv")])
    coded_failure(res, "G006", str(junk), "not a torch checkpoint", "grading train")


def test_predict_model_of_the_wrong_kind_and_seg_model_of_the_wrong_kind(coded_failure, grading_ckpt, tmp_path):
    seg = tmp_path / "seg.pt"
    torch.save({"kind": "imaging.segment", "config": {}, "model": {}}, seg)
    res = CliRunner().invoke(app, ["predict", str(tmp_path), "--model", str(seg), "--seg-model", str(seg),
                                   "-o", str(tmp_path / "grades.csv")])
    coded_failure(res, "G006", "seg.pt", "'imaging.segment'", "--seg-model")
    res = CliRunner().invoke(app, ["predict", str(tmp_path), "--model", str(grading_ckpt), "--seg-model",
                                   str(grading_ckpt), "-o", str(tmp_path / "out" / "grades.csv")])
    coded_failure(res, "S003", "checkpoint_best.pt", "'grading'", "imaging train-seg")
    assert not (tmp_path / "out").exists()


def test_predict_missing_studies_path(coded_failure, grading_ckpt, tmp_path):
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "typo"), "--model", str(grading_ckpt), "--vertebrae",
                                   str(tmp_path), "-o", str(tmp_path / "out" / "grades.csv")])
    coded_failure(res, "I001", "typo")


def test_train_and_evaluate_outputs_that_cannot_be_folders(coded_failure, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the run folder should go")
    res = CliRunner().invoke(app, ["train", "-o", str(blocker), "--manifest", str(tmp_path / "m.parquet"),
                                   "--levels", str(tmp_path / "l.csv"), "--preset", "tiny"])
    coded_failure(res, "G009", "taken", "not a folder")
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path), "-o", str(blocker)])
    coded_failure(res, "G009", "taken")
