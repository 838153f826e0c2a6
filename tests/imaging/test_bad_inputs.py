"""Every imaging command checks its inputs and outputs before work: one coded line, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from imaging.cli import app


@pytest.fixture
def junk(tmp_path) -> Path:
    path = tmp_path / "segmentation.pt"
    path.write_bytes(bytes(range(256)) * 8)  # torch.load: IndexError (the 105-line traceback)
    return path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_extract_model_that_is_no_checkpoint(coded_failure, junk, tmp_path):
    (tmp_path / "studies").mkdir()
    res = run("extract", str(tmp_path / "studies"), "-o", str(tmp_path / "out"), "--seg-model", str(junk))
    coded_failure(res, "S003", str(junk), "not a torch checkpoint", "imaging train-seg")
    assert not (tmp_path / "out").exists()


def test_extract_grading_checkpoint_as_model(coded_failure, tmp_path):
    ck = tmp_path / "checkpoint_best.pt"
    torch.save({"kind": "grading", "config": {}}, ck)
    res = run("extract", str(tmp_path), "-o", str(tmp_path / "out"), "--seg-model", str(ck))
    coded_failure(res, "S003", "'grading'", "grading predict --model")


def test_extract_bad_vertebrae_config_and_output(coded_failure, tmp_path):
    studies = tmp_path / "studies"
    studies.mkdir()
    coded_failure(run("extract", str(studies), "-o", str(tmp_path / "out"), "--vertebrae", str(tmp_path / "nope")),
                   "I040", "nope")
    bad = tmp_path / "cfg.json"
    bad.write_text("{axial_size: [64, 64, 8]}")
    coded_failure(run("extract", str(studies), "-o", str(tmp_path / "out"), "--vertebrae", str(studies),
                       "--config", str(bad)), "C011", "cfg.json")
    taken = tmp_path / "taken"
    taken.write_text("x")
    coded_failure(run("extract", str(studies), "-o", str(taken), "--vertebrae", str(studies)), "I038", "taken")


def test_segment_train_seg_and_eval_seg_check_their_paths(coded_failure, junk, tmp_path):
    ck = tmp_path / "grading.pt"
    torch.save({"kind": "grading"}, ck)
    coded_failure(run("segment", str(tmp_path), "--seg-model", str(ck), "-o", str(tmp_path / "seg")), "S003",
                   "grading.pt")
    coded_failure(run("train-seg", "--data", str(tmp_path), "-o", str(tmp_path / "model.txt")), "I039",
                   "model.txt", ".pt")
    coded_failure(run("eval-seg", "--seg-model", str(junk), "--data", str(tmp_path), "-o", str(tmp_path / "r.csv")),
                   "I039", "r.csv", ".json")
    coded_failure(run("eval-seg", "--seg-model", str(junk), "--data", str(tmp_path)), "S003", str(junk))
