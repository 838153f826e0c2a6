"""Segmentation checkpoints across versions: older ones load, newer ones and unknown settings are named."""

from __future__ import annotations

import pytest
import torch

from imaging.segment import SegConfig, SegmentationError, build_model, load_checkpoint, save_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    cfg = SegConfig(input_size=32, features=4, depth=2, loss="dice+bce")
    path = tmp_path / "m.pt"
    save_checkpoint(path, build_model(cfg), cfg, None, epoch=3, best_metric=0.5)
    return path, cfg


def rewrite(path, change) -> None:
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


def test_a_checkpoint_of_an_older_version_loads_with_the_defaults_of_newer_settings(checkpoint):
    path, cfg = checkpoint
    def as_written_before(state):
        for key in ("schedule", "time_limit_s", "min_area_fraction", "augmentation", "repeats", "synthetic"):
            state["config"].pop(key)
        state["config"]["slice_offsets"] = [-1, 0, 1]  # a setting SegConfig retired

    rewrite(path, as_written_before)
    ck = load_checkpoint(path)
    assert ck.config.schedule == "constant" and ck.config.time_limit_s is None and ck.config.repeats == 1
    assert ck.config.augmentation == SegConfig().augmentation
    assert ck.config.loss == "dice+bce" and ck.config.features == 4 and ck.epoch == 3


def test_unknown_settings_and_newer_formats_are_named_not_dropped(checkpoint):
    path, _ = checkpoint
    rewrite(path, lambda s: s["config"].update(focal_gamma=2.0))
    with pytest.raises(SegmentationError, match=r"\[S003\].*\[C010\].*'focal_gamma'"):
        load_checkpoint(path)
    rewrite(path, lambda s: (s["config"].pop("focal_gamma"), s.update(format=2)))
    with pytest.raises(SegmentationError, match=r"\[S003\].*format 2 is newer"):
        load_checkpoint(path)


def test_retired_settings_are_dropped_explicitly(checkpoint, monkeypatch):
    path, cfg = checkpoint
    monkeypatch.setattr(SegConfig, "retired", ("momentum_schedule",))
    rewrite(path, lambda s: s["config"].update(momentum_schedule="linear"))
    assert load_checkpoint(path).config == cfg
