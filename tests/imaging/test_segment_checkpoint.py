"""Segmentation checkpoints across versions: older ones load, newer ones and unknown settings are named; ensembles
of trained networks load as one model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from imaging.cli import app
from imaging.segment import (AugmentConfig, Ensemble, SegConfig, SegmentationError, build_model, load_checkpoint,
                             predict_slice, save_checkpoint, save_ensemble, segment_array)


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
    rewrite(path, lambda s: (s["config"].pop("focal_gamma"), s.update(format=3)))
    with pytest.raises(SegmentationError, match=r"\[S003\].*format 3 is newer"):
        load_checkpoint(path)


def test_retired_settings_are_dropped_explicitly(checkpoint, monkeypatch):
    path, cfg = checkpoint
    monkeypatch.setattr(SegConfig, "retired", ("momentum_schedule",))
    rewrite(path, lambda s: s["config"].update(momentum_schedule="linear"))
    assert load_checkpoint(path).config == cfg


# ------------------------------------------------------------------------------------------------------ ensembles
def member(tmp_path, name: str, weights: int, **settings) -> tuple:
    """A small trained-looking checkpoint: random weights drawn with seed ``weights``, batch-norm statistics that differ."""
    cfg = SegConfig(input_size=32, features=4, depth=2, infer_neighbours=1, **settings)
    torch.manual_seed(weights)
    model = build_model(cfg)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
    path = tmp_path / f"{name}.pt"
    save_checkpoint(path, model, cfg, torch.optim.Adam(model.parameters()), epoch=5 + weights, best_metric=0.1 * weights)
    return path, model.eval(), cfg


def test_an_ensemble_applies_the_mean_of_its_members_probabilities_with_their_shared_settings(tmp_path):
    # members may differ in how they were trained (augmentation, learning rate), not in how they are applied
    (pa, ma, ca), (pb, mb, cb) = (member(tmp_path, "a", 1), member(
        tmp_path, "b", 2, lr=0.001, augmentation=AugmentConfig(gamma=0.7)))
    ck = save_ensemble(tmp_path / "ens.pt", [pa, pb])
    assert isinstance(ck.model, Ensemble) and not ck.model.training and ck.optimizer_state is None
    assert [m.config for m in ck.members] == [ca, cb] and [m.epoch for m in ck.members] == [6, 7]
    assert ck.config == ca and load_checkpoint(tmp_path / "ens.pt").config == ca
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        expected = (ma(x) + mb(x)) / 2
        assert torch.allclose(ck.model(x), expected, atol=1e-6)
        assert not torch.allclose(ma(x), mb(x), atol=1e-3)  # the members do differ
    # the inference path (scales, letterbox) runs the ensemble as one network: its output is the members' mean
    image = np.random.default_rng(0).random((40, 28)).astype(np.float32)
    mean = (predict_slice(ma, image, ck.config, (1, 1)) + predict_slice(mb, image, ck.config, (1, 1))) / 2
    assert np.allclose(predict_slice(ck.model, image, ck.config, (1, 1)), mean, atol=1e-5)
    vol = np.random.default_rng(1).random((40, 28, 5)).astype(np.float32)
    assert segment_array(ck.model, ck.config, vol).label_slice.shape == (40, 28)


def test_an_ensemble_refuses_members_applied_differently_one_member_and_nested_ensembles(tmp_path):
    (pa, _, _), (pb, _, _) = member(tmp_path, "a", 1), member(tmp_path, "b", 2, infer_mm=1.9)
    with pytest.raises(SegmentationError, match=r"\[S015\].*b\.pt.*infer_mm 1\.9 \(in '.*a\.pt': None\)"):
        save_ensemble(tmp_path / "ens.pt", [pa, pb])
    with pytest.raises(SegmentationError, match=r"\[S015\].*1 checkpoint\(s\) given, at least 2"):
        save_ensemble(tmp_path / "ens.pt", [pa])
    assert not (tmp_path / "ens.pt").exists()
    pc, _, _ = member(tmp_path, "c", 3)
    save_ensemble(tmp_path / "ens.pt", [pa, pc])
    with pytest.raises(SegmentationError, match=r"\[S015\].*ens\.pt.*itself an ensemble of 2"):
        save_ensemble(tmp_path / "ens2.pt", [tmp_path / "ens.pt", pa])


def test_ensemble_seg_command_writes_an_ensemble_that_fine_tuning_refuses_as_its_start(tmp_path):
    from imaging.segment.training import initial_weights

    (pa, _, ca), (pb, _, _) = member(tmp_path, "a", 1), member(tmp_path, "b", 2, seed=4)
    out = tmp_path / "models" / "ens.pt"
    res = CliRunner().invoke(app, ["ensemble-seg", str(pa), str(pb), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "ensemble of 2" in res.output and "a.pt" in res.output and out.is_file()
    res = CliRunner().invoke(app, ["ensemble-seg", str(pa), str(pb), "-o", str(tmp_path / "ens.txt")])
    assert res.exit_code == 2 and "I039" in res.output and not (tmp_path / "ens.txt").exists()
    with pytest.raises(SegmentationError, match=r"\[S013\].*ensemble of 2 networks.*one member's checkpoint"):
        initial_weights(build_model(ca), ca, out)
    initial_weights(build_model(ca), ca, pa)  # one member is a valid start
