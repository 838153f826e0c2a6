"""RSNA 2024 labels in grading: train.csv as a levels table (every column and level), the label schemes, the join
with a manifest, the competition's score against values worked out by hand, and the RSNA tables of evaluate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from grading.data import join_labels, read_levels, read_manifest, read_table
from grading.errors import GradingError
from grading.evaluate import build_report, evaluate_runs, load_run
from grading.labels import SCHEMES, mirror_order, scheme
from grading.rsna import rsna_score, weighted_log_loss
from grading.train import TrainConfig

CONDITIONS = {  # train.csv prefix -> task, written out here independently of the reader's table
    "spinal_canal_stenosis": "scs", "right_neural_foraminal_narrowing": "rfs",
    "left_neural_foraminal_narrowing": "lfs", "right_subarticular_stenosis": "rss",
    "left_subarticular_stenosis": "lss"}
LEVELS = {"l1_l2": "L1-L2", "l2_l3": "L2-L3", "l3_l4": "L3-L4", "l4_l5": "L4-L5", "l5_s1": "L5-S1"}
VALUES = ["Normal/Mild", "Moderate", "Severe"]


def value_of(study: int, c: int, lv: int) -> str:
    """A different severity pattern per study, condition and level; one empty cell per study."""
    if (c, lv) == (study % 5, (study + 2) % 5):
        return ""
    return VALUES[(study + 2 * c + lv) % 3]


def write_train_csv(path: Path, studies=(4003253, 4646740, 7143189)) -> Path:
    header = ["study_id"] + [f"{cond}_{tok}" for cond in CONDITIONS for tok in LEVELS]
    rows = [[str(s)] + [value_of(i, c, lv) for c in range(5) for lv in range(5)] for i, s in enumerate(studies)]
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def test_train_csv_maps_every_condition_and_level(tmp_path: Path) -> None:
    levels = read_levels(write_train_csv(tmp_path / "train.csv"))
    assert levels.attrs["label_scheme"] == "rsna"
    assert list(levels.columns) == ["report_id", "level", "scs", "rfs", "lfs", "rss", "lss"]
    assert len(levels) == 3 * 6  # T12-L1 to L5-S1 for each study
    by_key = levels.set_index(["report_id", "level"])
    for i, study in enumerate(("4003253", "4646740", "7143189")):
        assert (by_key.loc[(study, "T12-L1")] == "").all()  # RSNA grades no T12-L1
        for c, (cond, task) in enumerate(CONDITIONS.items()):
            for lv, level in enumerate(LEVELS.values()):
                expected = value_of(i, c, lv)
                got = by_key.loc[(study, level), task]
                assert got == ("" if not expected else str(VALUES.index(expected))), (study, cond, level)


def test_train_csv_bad_severity_is_a_coded_error(tmp_path: Path) -> None:
    path = write_train_csv(tmp_path / "train.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[1, "left_neural_foraminal_narrowing_l4_l5"] = "Mild"
    df.to_csv(path, index=False)
    with pytest.raises(GradingError) as err:
        read_levels(path)
    assert err.value.code == "G316" and "'Mild'" in str(err.value) and "4646740" in str(err.value)


def test_label_schemes_convert_and_refuse() -> None:
    rsna, deep = SCHEMES["rsna"], SCHEMES["deepspine"]
    assert rsna.convert(np.array([0, 1, 2, 3, -1]), deep).tolist() == [0, 0, 1, 2, -1]
    with pytest.raises(GradingError) as err:
        deep.convert(np.array([0, 1]), rsna)
    assert err.value.code == "G012"
    with pytest.raises(GradingError) as err:
        deep.task_list(subarticular=True)
    assert err.value.code == "G011"
    assert rsna.task_list(True) == ("scs", "rfs", "lfs", "rss", "lss")
    assert mirror_order(("scs", "rfs", "lfs", "rss", "lss")) == [0, 2, 1, 4, 3]
    with pytest.raises(GradingError):
        scheme("kaggle")


def test_train_config_takes_heads_from_the_scheme() -> None:
    cfg = TrainConfig.from_dict({"manifest": "m.csv", "levels": "train.csv", "label_scheme": "rsna",
                                 "subarticular": True, "model": "tiny"})
    assert cfg.model.n_classes == 3 and cfg.model.tasks == ("scs", "rfs", "lfs", "rss", "lss")
    assert TrainConfig.from_dict({"manifest": "m", "levels": "l", "model": "tiny"}).model.n_classes == 4


def write_manifest(root: Path, studies: list[str]) -> Path:
    rows = []
    for study in studies:
        for level in ("L3-L4", "L4-L5"):
            rows.append({"study_id": study, "patient_id": f"P{study}", "level": level, "status": "ok",
                         "axial_path": f"{study}/{level}_axial.npy", "sagittal_path": f"{study}/{level}_sagittal.npy"})
    path = root / "manifest.csv"
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_join_rsna_labels_with_a_manifest(tmp_path: Path) -> None:
    levels = read_levels(write_train_csv(tmp_path / "train.csv"))
    manifest = read_manifest(write_manifest(tmp_path / "vol", ["4003253", "7143189"]))
    discs, summary = join_labels(manifest, levels, tasks=("scs", "rfs", "lfs", "rss", "lss"), label_scheme="rsna")
    row = discs.set_index(["study_id", "level"]).loc[("7143189", "L4-L5")]
    # study index 2, level index 3: value (2 + 2c + 3) % 3 per condition c
    assert [int(row[t]) for t in ("scs", "rfs", "lfs", "rss", "lss")] == [(5 + 2 * c) % 3 for c in range(5)]
    assert summary.kept == 4 and set(summary.labels["scs"]) == {0, 1, 2}
    with pytest.raises(GradingError) as err:  # RSNA classes cannot train the 4-grade model
        join_labels(manifest, levels)
    assert err.value.code == "G012"


def prediction_rows(specs, n_classes=3):
    """specs: (study, level, task, label or None, probabilities)."""
    return pd.DataFrame([{"study_id": s, "patient_id": s, "level": lv, "task": t,
                          "label": pd.NA if y is None else y, "pred": int(np.argmax(p)),
                          **{f"p{c}": p[c] for c in range(n_classes)}} for s, lv, t, y, p in specs]
                        ).astype({"label": "Int64"})


# Worked out by hand (weights 1 Normal/Mild, 2 Moderate, 4 Severe):
#   spinal: A L1-L2 y0 p0.7 (w1), A L2-L3 y2 p0.5 (w4), B L1-L2 y1 p0.6 (w2)
#           -> (-ln 0.7 + 4 * -ln 0.5 + 2 * -ln 0.6) / 7 = (0.356675 + 2.772589 + 1.021651) / 7 = 0.592988
#   foraminal: A rfs y0 p0.8 (w1), B lfs y2 p0.8 (w4) -> -ln 0.8 = 0.223144
#   subarticular: A rss y1 p0.5 (w2) -> -ln 0.5 = 0.693147
#   any_severe_spinal: A severe (w4), max p(severe) 0.5 -> 4 * -ln 0.5; B not severe, worst moderate (w2),
#           max p(severe) 0.1 -> 2 * -ln 0.9; (2.772589 + 0.210721) / 6 = 0.497218
#   score: (0.592988 + 0.223144 + 0.693147 + 0.497218) / 4 = 0.501624
HAND = {"spinal": 0.592988, "foraminal": 0.223144, "subarticular": 0.693147, "any_severe_spinal": 0.497218}
SPECS = [("A", "L1-L2", "scs", 0, (0.7, 0.2, 0.1)), ("A", "L2-L3", "scs", 2, (0.2, 0.3, 0.5)),
         ("B", "L1-L2", "scs", 1, (0.3, 0.6, 0.1)), ("A", "L1-L2", "rfs", 0, (0.8, 0.1, 0.1)),
         ("B", "L1-L2", "lfs", 2, (0.1, 0.1, 0.8)), ("A", "L1-L2", "rss", 1, (0.2, 0.5, 0.3)),
         ("B", "L5-S1", "scs", None, (0.0, 0.0, 1.0))]  # unknown label: not scored (it would change any_severe)


def test_rsna_score_against_a_hand_computed_value() -> None:
    got = rsna_score(prediction_rows(SPECS), SCHEMES["rsna"])
    for key, value in HAND.items():
        assert got["terms"][key] == pytest.approx(value, abs=1e-6), key
    assert got["score"] == pytest.approx(0.501624, abs=1e-6) and got["complete"]
    assert got["rows"] == {"spinal": 3, "foraminal": 2, "subarticular": 1, "any_severe_spinal": 2}


def test_rsna_score_agrees_with_scikit_learn_log_loss_and_clips() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet((1, 1, 1), size=40)
    labels = rng.integers(0, 3, size=40)
    weights = np.array([1.0, 2.0, 4.0])[labels]
    expected = log_loss(np.eye(3)[labels], probs, sample_weight=weights)
    assert weighted_log_loss(labels, probs, weights) == pytest.approx(expected, rel=1e-9)
    # a zero probability for the true class is clipped at 1e-15, not infinite
    assert weighted_log_loss([0], [[0.0, 0.5, 0.5]], [1.0]) == pytest.approx(-math.log(1e-15), rel=1e-6)


def test_rsna_score_of_four_grade_predictions_sums_normal_and_mild() -> None:
    four = [(s, lv, t, {0: 0, 1: 2, 2: 3}[y] if y is not None else None, (p[0] / 2, p[0] / 2, p[1], p[2]))
            for s, lv, t, y, p in SPECS if t != "rss"]
    got = rsna_score(prediction_rows(four, 4), SCHEMES["deepspine"])
    assert got["terms"]["spinal"] == pytest.approx(HAND["spinal"], abs=1e-6)
    assert got["terms"]["subarticular"] is None and not got["complete"]  # no subarticular predictions
    assert got["score"] == pytest.approx(np.mean([HAND["spinal"], HAND["foraminal"], HAND["any_severe_spinal"]]),
                                         abs=1e-6)


def write_run(root: Path, name: str, specs, label_scheme: str = "rsna", n_classes: int = 3) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"variant": "both", "swap_val_test": False,
                                                 "label_scheme": label_scheme}))
    prediction_rows(specs, n_classes).to_csv(run / "predictions_test.csv", index=False)
    return run


def test_evaluate_rsna_runs_tables_and_score(tmp_path: Path) -> None:
    report = evaluate_runs([write_run(tmp_path, "r1", SPECS)], tmp_path / "results", n_boot=50)
    assert report.settings["label_scheme"] == "rsna"
    assert report.settings["locations"] == ["spinal_canal", "foraminal", "subarticular"]
    spinal = report.table1["spinal_canal"]["rsna_classes"]
    # spinal canal: normal/mild 1/1 right, moderate 1/1 right, severe 1/1 (p 0.5 argmax) -> class average 1
    assert spinal["class_average"]["mean"] == pytest.approx(1.0) and "merged" not in report.table1["spinal_canal"]
    assert report.rsna["runs"]["r1"]["score"] == pytest.approx(0.501624, abs=1e-6)
    text = (tmp_path / "results" / "results.md").read_text()
    assert "RSNA 2024 score" in text and "0.5016" in text and "Normal/mild" in text and "Subarticular" in text
    assert (tmp_path / "results" / "confusion_r1_subarticular.png").exists()
    saved = json.loads((tmp_path / "results" / "results.json").read_text())
    assert saved["rsna"]["both"]["terms"]["foraminal"] == pytest.approx(HAND["foraminal"], abs=1e-6)


def test_evaluate_refuses_mixed_schemes(tmp_path: Path) -> None:
    four = [(s, lv, t, y, (0.4, 0.3, 0.2, 0.1)) for s, lv, t, y, _ in SPECS if t != "rss" and (y or 0) < 3]
    runs = [load_run(write_run(tmp_path, "r1", SPECS)), load_run(write_run(tmp_path, "r2", four, "deepspine", 4))]
    with pytest.raises(GradingError) as err:
        build_report(runs, n_boot=10)
    assert err.value.code == "G214" and "r1: rsna" in str(err.value)


def test_report_labels_train_an_rsna_model(tmp_path: Path) -> None:
    levels = tmp_path / "levels.csv"
    levels.write_text("report_id,level,scs,rfs,lfs,status,reason,flags,row\n"
                      "4003253,L3-L4,1,3,,ok,,,1\n4003253,L4-L5,2,0,1,ok,,,1\n")
    manifest = read_manifest(write_manifest(tmp_path / "vol", ["4003253"]))
    discs, _ = join_labels(manifest, read_levels(levels), tasks=("scs", "rfs", "lfs", "rss", "lss"),
                           label_scheme="rsna")
    # mild -> Normal/Mild, severe -> Severe, moderate -> Moderate, normal -> Normal/Mild; reports grade no subarticular
    assert discs[["scs", "rfs", "lfs", "rss", "lss"]].to_numpy().tolist() == [[0, 2, -1, -1, -1], [1, 0, 0, -1, -1]]
    levels.write_text("report_id,level,scs,lfs\n4003253,L3-L4,1,\n")
    with pytest.raises(GradingError) as err:  # a base task missing is still an error
        join_labels(manifest, read_table(levels), tasks=("scs", "rfs", "lfs"), label_scheme="rsna")
    assert err.value.code == "G303" and "rfs" in str(err.value)
