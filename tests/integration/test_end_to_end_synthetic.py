"""The whole product on a synthetic cohort: reportparse extract -> imaging extract -> grading train -> grading
evaluate, then grading predict on new studies. Tiny model, small volumes, CPU (``make e2e-full`` runs the same
at the paper's sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grading.evaluate import evaluate_runs
from grading.predict import PREDICT_COLUMNS, dominance_flags, predict, read_predictions
from grading.config import TrainConfig
from grading.train import train
from imaging.extract import ExtractConfig, extract
from imaging.synth import SynthConfig, synth_cohort
from reportparse.extract import extract as extract_reports

pytestmark = pytest.mark.slow  # about 10 minutes on a 2-core CPU: the full tier

SMALL_IMAGES = dict(sag_size=128, sag_pixel=2.4, ax_size=96, ax_pixel=1.6)
SMALL_VOLUMES = ExtractConfig.from_dict(json.loads((Path(__file__).parent / "small_volumes.json").read_text()))  # as make e2e-small


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    synth_cohort(root / "cohort", SynthConfig(n=36, seed=42, grades="uniform", **SMALL_IMAGES))
    levels = root / "levels.csv"
    extract_reports(root / "cohort" / "reports.csv", levels)
    ext = extract([root / "cohort" / "dicom"], root / "volumes", SMALL_VOLUMES,
                  vertebrae_dir=root / "cohort" / "truth")
    cfg = TrainConfig.from_dict(dict(manifest=str(ext.manifest), levels=str(levels), model="tiny", epochs=14,
                                     batch_size=8, workers=0, seed=1))
    summary = train(cfg, root / "run")
    return root, ext, summary


def test_reports_give_the_labels_and_every_disc_is_extracted(product):
    root, ext, _ = product
    assert ext.counts == {"ok": 36 * 6, "flagged": 0, "failed": 0}
    levels = pd.read_csv(root / "levels.csv", dtype=str, keep_default_na=False)
    truth = {p.stem: json.loads(p.read_text())["grades"] for p in (root / "cohort" / "truth").glob("*.json")}
    agree = [int(r[loc]) == truth[r["report_id"]][r["level"]][loc]
             for _, r in levels.iterrows() for loc in ("scs", "rfs", "lfs") if r[loc] != ""]
    assert len(agree) > 0.9 * 36 * 6 * 3 and np.mean(agree) > 0.9  # the parser's labels are the training labels


def test_tiny_model_grades_held_out_discs_well_above_chance(product):
    root, _, summary = product
    report = evaluate_runs([root / "run"], root / "results", n_boot=200)
    for location in ("spinal_canal", "foraminal"):
        avg = report.table1[location]["four_class"]["class_average"]["mean"]
        assert avg >= 0.6, (location, avg)  # chance is 0.25
    assert (root / "results" / "results.md").read_text().count("|") > 50


def test_predict_grades_new_studies_in_the_levels_schema(product, tmp_path):
    root, _, _ = product
    synth_cohort(tmp_path / "new", SynthConfig(n=2, seed=77, grades="uniform", **SMALL_IMAGES))
    out = tmp_path / "pred" / "grades.csv"
    summary = predict(root / "run" / "checkpoint_best.pt", [tmp_path / "new" / "dicom"], out,
                      vertebrae_dir=tmp_path / "new" / "truth")
    df = read_predictions(out)
    assert list(df.columns) == list(PREDICT_COLUMNS) and len(df) == 12
    assert set(df["status"]) <= {"ok", "flagged"} and summary.counts["failed"] == 0
    probs = df[[f"scs_p{c}" for c in range(4)]].astype(float).to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    assert (df["scs"].astype(int).to_numpy() == probs.argmax(axis=1)).all()
    for _, r in df.iterrows():
        p = np.array([[float(r[f"{loc}_p{c}"]) for c in range(4)] for loc in ("scs", "rfs", "lfs")])
        assert r["flags"] == ";".join(dominance_flags(p, ["scs", "rfs", "lfs"]))
        assert (r["status"] == "flagged") == bool(r["flags"])
    # the volumes were cut with the settings the model was trained on (stored in its checkpoint)
    manifest = pd.read_parquet(tmp_path / "pred" / "volumes" / "manifest.parquet")
    assert np.load(tmp_path / "pred" / "volumes" / manifest.axial_path[0]).shape == (8, 64, 64)


def test_dominance_rule():
    p = np.array([[0.9, 0.05, 0.03, 0.02], [0.45, 0.4, 0.1, 0.05], [0.55, 0.4, 0.05, 0.0]])
    assert dominance_flags(p, ["scs", "rfs", "lfs"]) == ["uncertain:rfs", "uncertain:lfs"]
    assert dominance_flags(p, ["scs", "rfs", "lfs"], min_probability=0.4, min_margin=0.1) == ["uncertain:rfs"]


def test_cli_predict_with_a_segmentation_network_that_finds_nothing_keeps_every_level(product, tmp_path):
    """Bad input never loses data: every level is in the table, failed, with the reason and no grade."""
    from typer.testing import CliRunner

    from grading.cli import app
    from imaging.segment import SegConfig, build_model, save_checkpoint

    root, _, _ = product
    seg_cfg = SegConfig(input_size=32, features=2, depth=2)
    save_checkpoint(tmp_path / "seg.pt", build_model(seg_cfg), seg_cfg, None, epoch=0, best_metric=0.0)
    study = sorted((root / "cohort" / "dicom").iterdir())[0]
    out = tmp_path / "grades.parquet"
    res = CliRunner().invoke(app, ["predict", "--model", str(root / "run" / "checkpoint_best.pt"), "--seg-model",
                                   str(tmp_path / "seg.pt"), str(study), "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(out)
    assert len(df) == 6 and set(df["status"]) == {"failed"} and df["scs"].isna().all()
    assert df["reason"].str.len().gt(0).all() and (df["report_id"] == study.name).all()
    out2 = tmp_path / "deid" / "grades.parquet"
    res = CliRunner().invoke(app, ["predict", "--model", str(root / "run" / "checkpoint_best.pt"), "--seg-model",
                                   str(tmp_path / "seg.pt"), str(study), "-o", str(out2), "--deidentify"],
                             env={"DEEPSPINE_DEIDENTIFY_KEY": "a-secret-of-some-length"})
    assert res.exit_code == 0, res.output
    ids = set(pd.read_parquet(out2)["report_id"])
    assert len(ids) == 1 and study.name not in ids and len(ids.pop()) == 16  # the keyed hash of imaging extract
    manifest = pd.read_parquet(tmp_path / "deid" / "volumes" / "manifest.parquet")
    assert not manifest.astype(str).apply(lambda col: col.str.contains(study.name)).any().any()


def test_model_versus_report_review_corrects_a_wrong_report_label(product, tmp_path):
    """grading predict -> review push --predictions -> a reviewer's answer -> review pull --levels -> the labels
    grading train joins: a report that states a wrong grade where the network is sure (and right) is sent to
    review with both grades shown, and the reviewer's correction reaches the training labels."""
    from grading.data import join_labels, read_levels, read_manifest
    from reportparse.gold import CHOICE_NAMES, choices_result
    from reportparse.review import build_tasks, pull_levels

    root, _, _ = product
    synth_cohort(tmp_path / "new", SynthConfig(n=3, seed=91, grades="uniform", **SMALL_IMAGES))
    grades = tmp_path / "pred" / "grades.csv"
    predict(root / "run" / "checkpoint_best.pt", [tmp_path / "new" / "dicom"], grades,
            vertebrae_dir=tmp_path / "new" / "truth")
    df = read_predictions(grades)
    truth = {p.stem: json.loads(p.read_text())["grades"] for p in (tmp_path / "new" / "truth").glob("*.json")}
    # the slot the network is surest of, among those it grades right
    right = [(float(r[f"{loc}_p{r[loc]}"]), r["report_id"], r["level"], loc, int(r[loc])) for _, r in df.iterrows()
             for loc in ("scs", "rfs", "lfs") if r["status"] != "failed" and int(r[loc]) == truth[r["report_id"]][
                 r["level"]][loc]]
    p, study, level, loc, grade = max(right)
    assert p > 0.5
    wrong = (grade + 2) % 4  # the report's (wrong) grade
    where = {"scs": "spinal canal stenosis", "rfs": "right neural foraminal stenosis",
             "lfs": "left neural foraminal stenosis"}[loc]
    text = f"FINDINGS:\n{level}: " + (f"No {where}." if wrong == 0 else f"{CHOICE_NAMES[wrong].capitalize()} {where}.")
    reports = tmp_path / "reports.csv"
    pd.DataFrame({"report_id": [study], "text": [text]}).to_csv(reports, index=False)
    levels = tmp_path / "levels.csv"
    extract_reports(reports, levels)
    assert read_levels(levels).set_index("level").loc[level, loc] == str(wrong)

    (task,) = build_tasks(reports=reports, predictions=grades, min_probability=p - 0.01)
    assert task["data"]["review_reason"].endswith(
        f"{level} {loc}: report {CHOICE_NAMES[wrong]}, network {CHOICE_NAMES[grade]} (p {p:.2f})")
    marks = task["data"]["review_marks"]
    assert marks[f"{level.replace('-', '_')}_{loc}"] == f"network {CHOICE_NAMES[grade]} {p:.2f}"
    # the radiologist looks at the images and sets the grade the network gave (the truth)
    answer = {lvl: {other: None for other in ("scs", "rfs", "lfs")} for lvl in truth[study]}
    answer[level][loc] = grade
    task.update(id=1, annotations=[{"id": 1, "completed_by": {"email": "rad@example.org"}, "was_cancelled": False,
                                    "created_at": "2026-11-29T10:00:00Z", "updated_at": "2026-11-29T10:00:00Z",
                                    "result": choices_result(answer)}])
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    summary = pull_levels(levels, export=export, out=tmp_path / "levels.reviewed.csv")
    assert summary.changed == [study]
    discs, _ = join_labels(read_manifest(tmp_path / "pred" / "volumes"), read_levels(tmp_path / "levels.reviewed.csv"))
    (row,) = discs[(discs["study_id"] == study) & (discs["level"] == level)].to_dict("records")
    assert row[loc] == grade == truth[study][level][loc]
