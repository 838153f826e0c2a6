"""``grading.evaluate``: Tables 1-3 of the paper's section 4.2 on small prediction tables worked out by hand, the
mean ± std over runs, the bootstrap AUC, the files written and the coded errors for bad run folders."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from grading.errors import GradingError
from grading.evaluate import COLUMNS, build_report, evaluate_runs, format_stat, load_run
from grading.metrics import (bootstrap_auc, class_average, merge_labels, merged_predictions, per_class_accuracy,
                             rank_auc)
from spinecore.schema import LEVELS

# Run A, spinal canal: 10 discs (label, level, p0-p3); pred is the argmax. Worked out by hand:
#   4 grades: normal 2/3, mild 1/2, moderate 1/2, severe 3/3 -> class average 2/3.
#   merged (argmax of p0, p1+p2, p3): normal 2/3, mild/moderate 4/4, severe 2/3 -> class average 7/9.
#     Disc 4 (truth mild) is right only by summing (0.4 < 0.35 + 0.25); disc 9 (truth severe) is wrong only by
#     summing (0.45 < 0.3 + 0.25). Merging argmax labels instead would give normal 2/3, mild/mod 3/4, severe 3/3.
#   binary (p3 > 0.5): disc 9 (p3 0.45, severe) is the only error -> L3-L4 4/4, L4-L5 4/4, L5-S1 1/2, all 9/10.
#   AUC on p3: every severe disc (0.8, 0.45, 0.6) above every other (<= 0.1) -> 1.0.
SCS_A = [
    (0, "L3-L4", (0.7, 0.1, 0.1, 0.1)),
    (0, "L3-L4", (0.6, 0.2, 0.1, 0.1)),
    (0, "L3-L4", (0.3, 0.4, 0.2, 0.1)),
    (1, "L3-L4", (0.4, 0.35, 0.25, 0.0)),
    (1, "L4-L5", (0.1, 0.6, 0.2, 0.1)),
    (2, "L4-L5", (0.1, 0.2, 0.6, 0.1)),
    (2, "L4-L5", (0.1, 0.5, 0.3, 0.1)),
    (3, "L4-L5", (0.05, 0.05, 0.1, 0.8)),
    (3, "L5-S1", (0.0, 0.3, 0.25, 0.45)),
    (3, "L5-S1", (0.1, 0.1, 0.2, 0.6)),
]
# Foraminal (rfs and lfs pooled): a right normal disc predicted normal, a left severe disc predicted normal ->
# normal 1/1, severe 0/1, mild and moderate absent -> class average 1/2 over the two grades present.
FORAMINAL_A = [("rfs", 0, "L4-L5", (0.7, 0.1, 0.1, 0.1)), ("lfs", 3, "L4-L5", (0.5, 0.1, 0.1, 0.3))]
# An unknown label (left out everywhere) on a wrong-looking row: counting it as any grade would change a figure.
UNKNOWN = ("scs", None, "L1-L2", (0.1, 0.1, 0.1, 0.7))


def rows_of(scs, foraminal=(), unknown=True):
    """Prediction rows: one study per disc so that every (study, level, task) is unique."""
    specs = [("scs", label, level, p) for label, level, p in scs] + list(foraminal) + ([UNKNOWN] if unknown else [])
    rows = []
    for i, (task, label, level, p) in enumerate(specs):
        rows.append({"study_id": f"s{i}", "patient_id": f"p{i}", "level": level, "task": task, "label": label,
                     "pred": int(np.argmax(p)), **{f"p{k}": v for k, v in enumerate(p)}})
    return rows


def perfect(scs):
    """The same discs predicted right with p = 0.85 on the true grade."""
    return [(label, level, tuple(0.85 if k == label else 0.05 for k in range(4))) for label, level, _ in scs]


def write_run(root: Path, folder: str, rows, variant="both", swap=False, **config) -> Path:
    run = root / folder
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"variant": variant, "swap_val_test": swap, **config}))
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(run / "predictions_test.csv", index=False)
    return run


@pytest.fixture
def run_a(tmp_path):
    return write_run(tmp_path, "run_a", rows_of(SCS_A, FORAMINAL_A))


@pytest.fixture
def run_b(tmp_path):
    return write_run(tmp_path, "run_b", rows_of(perfect(SCS_A), unknown=False), swap=True)


def test_metric_functions():
    assert per_class_accuracy([0, 0, 1, 3], [0, 1, 1, 0], 4) == [0.5, 1.0, None, 0.0]
    assert class_average([0.5, 1.0, None, 0.0]) == pytest.approx(0.5)
    assert class_average([None, None]) is None
    assert merge_labels([0, 1, 2, 3]).tolist() == [0, 1, 1, 2]
    assert merged_predictions([[0.4, 0.35, 0.25, 0.0], [0.0, 0.3, 0.25, 0.45]]).tolist() == [1, 1]


def test_one_run_by_hand(run_a):
    report = build_report([load_run(run_a)], n_boot=50)
    run = report.runs[0]
    assert (run["name"], run["variant"], run["rows"], run["unknown_labels"]) == ("run_a", "both", 13, 1)
    scs = run["metrics"]["spinal_canal"]
    assert scs["rows"] == 10
    assert scs["four_class"]["per_class"] == pytest.approx({"normal": 2 / 3, "mild": 0.5, "moderate": 0.5,
                                                            "severe": 1.0})
    assert scs["four_class"]["class_average"] == pytest.approx(2 / 3)
    assert scs["merged"]["per_class"] == pytest.approx({"normal": 2 / 3, "mild/moderate": 1.0, "severe": 2 / 3})
    assert scs["merged"]["class_average"] == pytest.approx(7 / 9)
    expected_binary = {lv: None for lv in LEVELS} | {"L3-L4": 1.0, "L4-L5": 1.0, "L5-S1": 0.5, "all": 0.9}
    assert scs["binary_accuracy"] == pytest.approx(expected_binary)
    assert scs["confusion"] == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 3]]
    foraminal = run["metrics"]["foraminal"]
    assert foraminal["four_class"]["per_class"] == {"normal": 1.0, "mild": None, "moderate": None, "severe": 0.0}
    assert foraminal["four_class"]["class_average"] == pytest.approx(0.5)
    t1 = report.table1["spinal_canal"]["four_class"]["normal"]
    assert t1["mean"] == pytest.approx(2 / 3) and t1["std"] is None and t1["n"] == 1
    auc = report.table3["auc"]
    assert auc["spinal_canal"]["auc"] == 1.0 and auc["foraminal"]["auc"] == 1.0
    assert any("foraminal: no disc with the true grade(s) mild, moderate;" in note for note in report.notes)
    assert any("1 of 13 rows have an unknown label" in note for note in report.notes)


def test_two_runs_mean_and_std(run_a, run_b, tmp_path):
    axial = write_run(tmp_path, "axial", rows_of(perfect(SCS_A), FORAMINAL_A), variant="axial", name="ax 1")
    report = build_report([load_run(p) for p in (run_a, run_b, axial)], n_boot=50)
    normal = report.table1["spinal_canal"]["four_class"]["normal"]  # run A 2/3, run B 1
    assert normal["n"] == 2 and normal["mean"] == pytest.approx(5 / 6)
    assert normal["std"] == pytest.approx(np.std([2 / 3, 1.0], ddof=1)) == pytest.approx(0.2357, abs=1e-4)
    assert format_stat(normal) == "83.3 ± 23.6"
    # Run B has no foraminal rows: its figures are None and left out of the mean.
    assert report.table1["foraminal"]["four_class"]["class_average"] == {"mean": 0.5, "std": None, "n": 1}
    merged_avg = report.table1["spinal_canal"]["merged"]["class_average"]
    assert merged_avg["mean"] == pytest.approx((7 / 9 + 1) / 2)
    t2 = report.table2["spinal_canal"]
    assert t2["both"]["merged"] == merged_avg  # the paper's Table 2 repeats Table 1's merged class averages
    assert t2["axial"]["merged"] == {"mean": 1.0, "std": None, "n": 1}
    assert t2["sagittal"]["merged"] == {"mean": None, "std": None, "n": 0}
    assert report.table2["runs"] == {"axial": ["ax 1"], "sagittal": [], "both": ["run_a", "run_b"]}
    l5 = report.table3["accuracy"]["spinal_canal"]["L5-S1"]
    assert l5["mean"] == pytest.approx(0.75) and l5["std"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    assert report.table3["auc"]["spinal_canal"]["positives"] == 6  # pooled over the two 'both' runs
    assert "Run 'run_b', foraminal: no labelled disc" in "\n".join(report.notes)
    markdown = report.to_markdown()
    assert "| Spinal canal stenosis | 3 (as the paper) | 100.0 ± — | — | 88.9 ± 15.7 |" in markdown


def test_bootstrap_auc_deterministic_and_contains_estimate():
    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.3
    score = 0.3 * y + rng.random(200)
    first = bootstrap_auc(y, score, n_boot=200, seed=7)
    assert first == bootstrap_auc(y, score, n_boot=200, seed=7)
    assert first != bootstrap_auc(y, score, n_boot=200, seed=8)
    assert first["auc"] == pytest.approx(roc_auc_score(y, score))
    assert first["ci_low"] < first["auc"] < first["ci_high"] and first["n_used"] == 200
    assert first["ci_high"] - first["ci_low"] < 0.25
    tied = np.round(score, 1)  # ties count half, as in scikit-learn
    assert rank_auc(y, tied) == pytest.approx(roc_auc_score(y, tied))
    y_small, s_small = np.arange(30) < 3, rng.random(30)  # 3 positives: some resamples hold none
    small = bootstrap_auc(y_small, s_small, n_boot=100, seed=0)
    rng, expected = np.random.default_rng(0), []  # the same resamples scored by scikit-learn
    for _ in range(100):
        idx = rng.integers(0, 30, 30)
        if y_small[idx].any():
            expected.append(roc_auc_score(y_small[idx], s_small[idx]))
    assert 0 < small["n_used"] == len(expected) < 100
    assert [small["ci_low"], small["ci_high"]] == pytest.approx(np.percentile(expected, [2.5, 97.5]))
    assert bootstrap_auc([1, 0, 1, 0, 0, 0], [0.9, 0.1, 0.3, 0.4, 0.2, 0.5], n_boot=1)["auc"] == 0.75  # 6 of 8 pairs
    assert bootstrap_auc([0, 0], [0.1, 0.2])["auc"] is None


def test_evaluate_runs_writes_files(run_a, run_b, tmp_path):
    out = tmp_path / "out" / "tables"
    report = evaluate_runs([run_a, run_b], out, n_boot=100, seed=3)
    data = json.loads((out / "results.json").read_text())
    assert data == json.loads(json.dumps(report.to_dict()))
    assert data["settings"]["n_boot"] == 100 and data["runs"][1]["swap_val_test"] is True
    assert data["runs"][0]["metrics"]["spinal_canal"]["confusion"][3] == [0, 0, 0, 3]
    markdown = (out / "results.md").read_text()
    assert markdown == report.to_markdown()
    for title in ("## Table 1", "## Table 2", "## Table 3", "## Notes"):
        assert title in markdown
    assert "| Spinal canal stenosis | 4 | 83.3 ± 23.6 | 75.0 ± 35.4 | 75.0 ± 35.4 |  | 100.0 ± 0.0 |" in markdown
    assert "| L5-S1 | 75.0 ± 35.4 | — |" in markdown
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [f"confusion_{r}_{loc}.png" for r in ("run_a", "run_b") for loc in ("foraminal", "spinal_canal")]
    assert all((out / name).stat().st_size > 1024 for name in pngs)
    assert sorted(p.name for p in out.iterdir()) == sorted([*pngs, "results.json", "results.md"])  # no temp files


def test_label_written_as_float_is_accepted(tmp_path):
    run = write_run(tmp_path, "r", rows_of(SCS_A))
    csv = run / "predictions_test.csv"
    frame = pd.read_csv(csv)  # the unknown label makes pandas write the labels as 0.0, 1.0, ...
    frame.to_csv(csv, index=False)
    assert "0.0" in csv.read_text()
    assert load_run(run).predictions["label"].tolist()[:3] == [0, 0, 0]


def edit_csv(column, value, row=0):
    def edit(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return edit


@pytest.mark.parametrize("edit, code, words", [
    (edit_csv("level", "L6-S1", 2), "G206", ["column 'level'", "line 4", "'L6-S1'"]),
    (edit_csv("task", "cord"), "G206", ["column 'task'", "'cord'"]),
    (edit_csv("label", "7"), "G206", ["column 'label'", "'7'", "grade 0-3"]),
    (edit_csv("pred", "x"), "G206", ["column 'pred'"]),
    (edit_csv("p3", "1.5"), "G206", ["column 'p3'", "'1.5'"]),
    (edit_csv("study_id", " "), "G206", ["column 'study_id'"]),
    (edit_csv("p0", 0.9), "G207", ["line 2", "sum to"]),
    (edit_csv("pred", 3), "G208", ["pred is 3", "p0"]),
    (edit_csv("study_id", "s1"), "G209", ["line 3", "'s1'"]),
    (lambda f: f.drop(columns=["p2", "task"]), "G205", ["'task'", "'p2'"]),
    (lambda f: f.assign(label=None), "G210", ["11 rows"]),
])
def test_bad_predictions(tmp_path, edit, code, words):
    run = write_run(tmp_path, "r", rows_of(SCS_A))
    csv = run / "predictions_test.csv"
    edit(pd.read_csv(csv, dtype=str, keep_default_na=False)).to_csv(csv, index=False)
    with pytest.raises(GradingError) as err:
        load_run(run)
    assert err.value.code == code and str(csv) in str(err.value)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("config, code, words", [
    ('{"variant": "coronal", "swap_val_test": false}', "G203", ["'variant'", "'coronal'", "'both'"]),
    ('{"variant": "both"}', "G203", ["'swap_val_test'", "missing"]),
    ('{"variant": "both", "swap_val_test": "yes"}', "G203", ["'yes'", "true or false"]),
    ('{"variant": "both", "swap_val_test": true, "name": 3}', "G203", ["'name'"]),
    ('{"variant": ', "G202", ["config.json"]),
    ('["both"]', "G202", ["list"]),
])
def test_bad_config(tmp_path, config, code, words):
    run = write_run(tmp_path, "r", rows_of(SCS_A))
    (run / "config.json").write_text(config)
    with pytest.raises(GradingError) as err:
        load_run(run)
    assert err.value.code == code
    for word in words:
        assert word in str(err.value)


def test_missing_folder_files_and_bad_arguments(tmp_path, run_a):
    with pytest.raises(GradingError, match=r"\[G200\].*nowhere"):
        load_run(tmp_path / "nowhere")
    (run_a / "predictions_test.csv").write_text("")
    with pytest.raises(GradingError, match=r"\[G204\]"):
        load_run(run_a)
    (run_a / "predictions_test.csv").unlink()
    with pytest.raises(GradingError, match=r"\[G201\].*predictions_test.csv"):
        load_run(run_a)
    (run_a / "config.json").unlink()
    with pytest.raises(GradingError, match=r"\[G201\].*config.json"):
        load_run(run_a)
    with pytest.raises(GradingError, match=r"\[G211\]"):
        evaluate_runs([], tmp_path / "out")
    one = write_run(tmp_path, "one", rows_of(SCS_A), name="same")
    two = write_run(tmp_path, "two", rows_of(SCS_A), name="same")
    with pytest.raises(GradingError, match=r"\[G212\].*'same'"):
        build_report([load_run(one), load_run(two)])
    with pytest.raises(GradingError, match=r"\[G213\].*0"):
        build_report([load_run(one)], n_boot=0)
