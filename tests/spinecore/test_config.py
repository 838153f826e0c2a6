"""spinecore.config.Config: the settings base of every package (typed, validated, unknown keys rejected)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Optional

import pytest

from grading.config import TrainConfig
from grading.model import ModelConfig
from imaging.extract import ExtractConfig
from imaging.segment import SegConfig
from spinecore.config import Config
from spinecore.errors import CoreError


@dataclass
class Window(Config):
    size: tuple[int, int] = (8, 8)
    mode: str = "mean"

    def validate(self) -> None:
        if self.mode not in ("mean", "max"):
            raise ValueError(f"mode {self.mode!r}")


@dataclass
class Pipeline(Config):
    name: str = "p"
    window: Window = field(default_factory=Window)
    offsets: Optional[tuple[int, ...]] = None
    rate: float | None = None
    retired = ("legacy_rate",)


def test_round_trip_turns_json_lists_back_into_tuples_and_nested_settings():
    cfg = Pipeline(name="q", window=Window((4, 2), "max"), offsets=(-1, 0, 1), rate=0.5)
    doc = json.loads(json.dumps(cfg.to_dict()))
    assert doc == {"name": "q", "window": {"size": [4, 2], "mode": "max"}, "offsets": [-1, 0, 1], "rate": 0.5}
    assert Pipeline.from_dict(doc) == cfg
    assert Pipeline.from_dict({}) == Pipeline()  # settings an older file lacks take their defaults


def test_unknown_keys_are_rejected_at_every_depth_and_named():
    with pytest.raises(CoreError) as err:
        Pipeline.from_dict({"name": "q", "nmae": "r"})
    assert err.value.code == "C010" and "Pipeline" in str(err.value) and "'nmae'" in str(err.value)
    assert "'offsets'" in str(err.value)  # the allowed keys
    with pytest.raises(CoreError, match=r"C010.*Window.*'colour'"):
        Pipeline.from_dict({"window": {"size": [1, 1], "colour": "red"}})


def test_retired_keys_are_dropped_with_a_log_line_and_values_validated(caplog):
    with caplog.at_level(logging.INFO, logger="spinecore.config"):
        assert Pipeline.from_dict({"legacy_rate": 3, "rate": 1.0}).rate == 1.0
    assert "legacy_rate" in caplog.text
    with pytest.raises(ValueError, match="'median'"):
        Pipeline.from_dict({"window": {"mode": "median"}})


def test_from_file_applies_overrides_and_names_an_unreadable_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"name": "file", "rate": 2.0}))
    assert Pipeline.from_file(path, rate=None, name="cli") == Pipeline(name="cli", rate=2.0)
    path.write_text("[1, 2]")
    with pytest.raises(CoreError, match=r"C011.*p\.json.*list"):
        Pipeline.from_file(path)


@pytest.mark.parametrize("cls", [SegConfig, ExtractConfig, ModelConfig])
def test_every_package_config_round_trips_and_rejects_unknown_keys(cls):
    cfg = cls()
    assert cls.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(CoreError, match="C010"):
        cls.from_dict({**cfg.to_dict(), "not_a_setting": 1})


def test_train_config_keeps_its_model_presets():
    cfg = TrainConfig.from_dict({"manifest": "m", "levels": "l", "model": {"preset": "tiny", "dropout": 0.3}})
    assert cfg.model.layers == (1, 1, 1, 1) and cfg.model.dropout == 0.3
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
