"""The RSNA 2024 layout end to end: a small synthetic cohort written here as the competition publishes its data
(train_images/<study_id>/<series_id>/<instance>.dcm without series descriptions in the headers, the descriptions
file, train.csv and train_label_coordinates.csv) is read as studies, extracted with the coordinates checked
against the disc planes, trained on with the RSNA labels and evaluated with the RSNA score."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from typer.testing import CliRunner

from grading.cli import app as grading_app
from imaging.cli import app as imaging_app
from imaging.errors import ImagingError
from imaging.io import discover_studies, read_study
from imaging.synth import SynthConfig, synth_cohort

SMALL_IMAGES = dict(sag_size=128, sag_pixel=2.4, ax_size=96, ax_pixel=1.6)
SMALL_VOLUMES = Path(__file__).parent / "small_volumes.json"
RSNA_LEVELS = {"L1-L2": "l1_l2", "L2-L3": "l2_l3", "L3-L4": "l3_l4", "L4-L5": "l4_l5", "L5-S1": "l5_s1"}
SEVERITY = {0: "Normal/Mild", 1: "Normal/Mild", 2: "Moderate", 3: "Severe"}  # report grade -> RSNA class
COORD_CONDITIONS = {"scs": ("Spinal Canal Stenosis", "t2"), "rfs": ("Right Neural Foraminal Narrowing", "t1"),
                    "lfs": ("Left Neural Foraminal Narrowing", "t1"), "rss": ("Right Subarticular Stenosis", "ax"),
                    "lss": ("Left Subarticular Stenosis", "ax")}


def _copy_series(files: list[Path], folder: Path, study_id: str, series_id: str, *, echo: float | None = None,
                 number: int | None = None) -> list[pydicom.Dataset]:
    """Write a series as the competition does: <instance>.dcm, study and series UIDs = the RSNA ids, no
    SeriesDescription; returns the headers written."""
    folder.mkdir(parents=True)
    out = []
    for f in files:
        ds = pydicom.dcmread(f)
        del ds.SeriesDescription
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_id, series_id
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{series_id}.{ds.InstanceNumber}"
        if echo is not None:
            ds.EchoTime = echo
        if number is not None:
            ds.SeriesNumber = number
        ds.save_as(folder / f"{ds.InstanceNumber}.dcm", enforce_file_format=True)
        out.append(ds)
    return out


def _pixel(headers: list[pydicom.Dataset], point: np.ndarray) -> tuple[int, float, float]:
    """(instance number, x, y) of the patient point on the nearest slice of a series."""
    best = None
    for ds in headers:
        ipp = np.array(ds.ImagePositionPatient, float)
        iop = np.array(ds.ImageOrientationPatient, float)
        d = point - ipp
        off = abs(d @ np.cross(iop[:3], iop[3:]))
        if best is None or off < best[0]:
            best = (off, int(ds.InstanceNumber), d @ iop[:3] / float(ds.PixelSpacing[1]),
                    d @ iop[3:] / float(ds.PixelSpacing[0]))
    return best[1:]


def write_rsna_layout(cohort: Path, root: Path) -> dict[str, dict]:
    """The synthetic cohort in the RSNA layout under ``root``; returns per RSNA study id its synthetic id, series
    ids and truth."""
    rng = np.random.default_rng(7)
    studies, descriptions, labels, coords = {}, [], [], []
    for i, folder in enumerate(sorted((cohort / "dicom").iterdir())):
        sid = str(1000100 + 7919 * i)
        series = {"t1": str(2000 + 10 * i), "t2": str(3000 + 10 * i), "ax": str(4000 + 10 * i)}
        base = root / "train_images" / sid
        sag_files = sorted((folder / "SAG_T2").glob("*.dcm"))
        headers = {
            # a T1 copy listed first, with a long echo time: a guess from the headers would take it for the T2
            "t1": _copy_series(sag_files, base / series["t1"], sid, series["t1"], echo=100.0, number=0),
            "t2": _copy_series(sag_files, base / series["t2"], sid, series["t2"]),
            "ax": _copy_series(sorted((folder / "AX_T2").glob("*.dcm")), base / series["ax"], sid, series["ax"])}
        descriptions += [(sid, series["t1"], "Sagittal T1"), (sid, series["t2"], "Sagittal T2/STIR"),
                         (sid, series["ax"], "Axial T2")]
        truth = json.loads((cohort / "truth" / f"{folder.name}.json").read_text())
        row = {"study_id": sid}
        for level, token in RSNA_LEVELS.items():
            grades = truth["grades"][level]
            for task, condition in (("scs", "spinal_canal_stenosis"), ("rfs", "right_neural_foraminal_narrowing"),
                                    ("lfs", "left_neural_foraminal_narrowing")):
                row[f"{condition}_{token}"] = "" if grades[task] is None else SEVERITY[grades[task]]
            for side in ("left", "right"):
                row[f"{side}_subarticular_stenosis_{token}"] = ["Normal/Mild", "Moderate", "Severe"][rng.integers(3)]
            point = np.array(truth["discs"][level]["canal_centre"], float)
            for task, (condition, which) in COORD_CONDITIONS.items():
                instance, x, y = _pixel(headers[which], point)
                coords.append((sid, series[which], instance, condition, level.replace("-", "/"), x, y))
        labels.append(row)
        studies[sid] = {"synth_id": folder.name, "series": series, "truth": truth}
    pd.DataFrame(descriptions, columns=["study_id", "series_id", "series_description"]).to_csv(
        root / "train_series_descriptions.csv", index=False)
    pd.DataFrame(labels).to_csv(root / "train.csv", index=False)
    pd.DataFrame(coords, columns=["study_id", "series_id", "instance_number", "condition", "level", "x", "y"]).to_csv(
        root / "train_label_coordinates.csv", index=False)
    return studies


@pytest.fixture(scope="module")
def rsna(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rsna")
    synth_cohort(tmp / "cohort", SynthConfig(n=4, seed=11, grades="uniform", **SMALL_IMAGES))
    studies = write_rsna_layout(tmp / "cohort", tmp / "download")
    vertebrae = tmp / "vertebrae"  # the true bodies, named by RSNA study id (no segmentation network needed)
    vertebrae.mkdir()
    for sid, st in studies.items():
        shutil.copy(tmp / "cohort" / "truth" / f"{st['synth_id']}.json", vertebrae / f"{sid}.json")
    return tmp, studies


def test_rsna_folder_is_read_as_studies_with_series_from_the_descriptions(rsna) -> None:
    tmp, studies = rsna
    for given in (tmp / "download", tmp / "download" / "train_images"):
        found = discover_studies([given])
        assert sorted(st.study_id for st in found.studies) == sorted(studies)
    source = next(st for st in found.studies if st.study_id == sorted(studies)[0])
    alone = discover_studies([tmp / "download" / "train_images" / source.study_id]).studies  # one study folder
    assert [(st.study_id, st.descriptions) for st in alone] == [(source.study_id, source.descriptions)]
    series = studies[source.study_id]["series"]
    assert source.descriptions == {series["t1"]: "Sagittal T1", series["t2"]: "Sagittal T2/STIR",
                                   series["ax"]: "Axial T2"}
    assert len(source.landmarks) == 5 * 5
    study = read_study(source)
    roles = {s.uid: s.role for s in study.series}
    assert roles == {series["t1"]: "", series["t2"]: "sagittal_t2", series["ax"]: "axial_t2"}
    assert len(study.axial_stacks) == 6  # one stack per disc
    # the same files without the descriptions file: the headers alone pick the T1 copy (why the file decides)
    plain = tmp / "plain"
    if not plain.exists():
        shutil.copytree(tmp / "download" / "train_images" / source.study_id, plain / source.study_id)
    guessed = read_study(discover_studies([plain]).studies[0])
    assert next(s.uid for s in guessed.series if s.role == "sagittal_t2") == series["t1"]


@pytest.fixture(scope="module")
def extracted(rsna):
    """``imaging extract`` on the download folder, as a user runs it (small volumes, the true bodies)."""
    tmp, _ = rsna
    res = CliRunner().invoke(imaging_app, ["extract", str(tmp / "download"), "-o", str(tmp / "volumes"),
                                           "--vertebrae", str(tmp / "vertebrae"), "--config", str(SMALL_VOLUMES)])
    assert res.exit_code == 0, res.output
    assert "reference marks (RSNA coordinates): 20 levels" in res.output and "0 nearer another" in res.output
    return tmp / "volumes"


def test_extract_runs_unchanged_and_checks_the_rsna_coordinates(rsna, extracted) -> None:
    tmp, studies = rsna
    manifest = pd.read_csv(tmp / "volumes" / "manifest.csv", dtype={"study_id": str})
    assert sorted(manifest["study_id"].unique()) == sorted(studies)
    assert (manifest["status"] == "ok").all()
    graded = manifest[manifest["level"] != "T12-L1"]
    assert (graded["reference_points"] == 5).all() and (graded["reference_level"] == graded["level"]).all()
    assert graded["reference_offset_mm"].abs().max() < 3.0  # the marks lie in the disc planes found
    assert manifest.loc[manifest["level"] == "T12-L1", "reference_points"].isna().all()
    assert "reference point(s)" in (tmp / "volumes" / "index.html").read_text()


@pytest.mark.slow  # about 70 s on the shared 2-core CPU (one epoch of the tiny model, evaluate): the full tier
def test_train_evaluate_predict_on_rsna_labels_with_the_rsna_score(rsna, extracted) -> None:
    tmp, studies = rsna
    runner = CliRunner()
    res = runner.invoke(grading_app, ["train", "-o", str(tmp / "run"), "--manifest", str(extracted),
                                      "--levels", str(tmp / "download" / "train.csv"), "--label-scheme", "rsna",
                                      "--subarticular", "--model", "tiny", "--epochs", "1", "--batch-size", "4",
                                      "--workers", "0", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    preds = pd.read_csv(tmp / "run" / "predictions_test.csv")
    assert list(preds.columns[-3:]) == ["p0", "p1", "p2"] and set(preds["task"]) == {"scs", "rfs", "lfs", "rss", "lss"}
    res = runner.invoke(grading_app, ["evaluate", str(tmp / "run"), "-o", str(tmp / "results"), "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp / "results" / "results.json").read_text())
    score = results["rsna"]["runs"]["run"]
    assert score["complete"] and 0 < score["score"] < 20
    assert set(results["table1"]) >= {"spinal_canal", "foraminal", "subarticular"}
    assert "RSNA 2024 score" in (tmp / "results" / "results.md").read_text()
    res = runner.invoke(grading_app, ["predict", str(tmp / "download"), "--model",
                                      str(tmp / "run" / "checkpoint_best.pt"), "--vertebrae", str(tmp / "vertebrae"),
                                      "-o", str(tmp / "pred" / "grades.csv")])
    assert res.exit_code == 0, res.output
    grades = pd.read_csv(tmp / "pred" / "grades.csv", dtype={"report_id": str})
    assert {"rss", "lss", "scs_p2", "lss_p2"} <= set(grades.columns) and "scs_p3" not in grades.columns
    assert set(grades["report_id"]) == set(studies) and grades["scs"].dropna().isin([0, 1, 2]).all()


def test_unusable_rsna_tables_are_coded_errors(tmp_path: Path) -> None:
    root = tmp_path / "download"
    (root / "train_images" / "11").mkdir(parents=True)
    (root / "train_series_descriptions.csv").write_text("study_id,series_id,description\n11,22,Axial T2\n")
    with pytest.raises(ImagingError) as err:
        discover_studies([root])
    assert err.value.code == "I042" and "series_description" in str(err.value)
    (root / "train_series_descriptions.csv").write_text("study_id,series_id,series_description\n11,22,Axial T2\n")
    (root / "train_label_coordinates.csv").write_text(
        "study_id,series_id,instance_number,condition,level,x,y\n11,22,3,Facet Joint Effusion,L4/L5,10,12\n")
    with pytest.raises(ImagingError) as err:
        discover_studies([root])
    assert err.value.code == "I042" and "Facet Joint Effusion" in str(err.value)
