"""imaging.extract: spine curve, disc planes and per-disc volumes on synthetic studies with known anatomy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from typer.testing import CliRunner

from imaging.cli import app
from imaging.errors import ImagingError
from imaging.extract import (LEVELS, MANIFEST_COLUMNS, Body, ExtractConfig, bodies_from_truth, disc_planes, extract,
                             fit_curve)
from imaging.io import discover_studies
from imaging.synth import SynthConfig, synth_cohort

N_STUDIES = 3


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_extract")
    synth_cohort(out, SynthConfig(n=N_STUDIES, seed=21))
    return out


@pytest.fixture(scope="module")
def truths(cohort) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((cohort / "truth").glob("*.json"))}


@pytest.fixture(scope="module")
def extracted(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("extracted")
    return extract([cohort / "dicom"], out, vertebrae_dir=cohort / "truth")


def angle_deg(a, b) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


# -------------------------------------------------------------------------------------------------------- geometry
def test_disc_centres_and_normals_match_the_phantom(truths):
    cfg = ExtractConfig()
    for sid, truth in truths.items():
        planes, curve, failed = disc_planes(bodies_from_truth(truth), cfg)
        assert not failed and [p.level for p in planes] == list(LEVELS)
        for p in planes:
            disc = truth["discs"][p.level]
            assert np.linalg.norm(p.centre - disc["centre"]) < 1.5, (sid, p.level)
            assert angle_deg(p.normal, disc["normal"]) < 5.0, (sid, p.level)
            assert p.method == "endplates"
            # a right-handed frame: columns left, rows posterior, slices superior
            d = p.axial_direction()
            assert np.allclose(d.T @ d, np.eye(3), atol=1e-9) and np.linalg.det(d) == pytest.approx(1.0)
            assert p.lr[0] > 0.9 and p.ap[1] > 0.5 and p.normal[2] > 0.5


def test_paper_method_uses_centroid_midpoints_and_curve_tangent(truths):
    truth = next(iter(truths.values()))
    bodies = bodies_from_truth(truth)
    planes, curve, _ = disc_planes(bodies, ExtractConfig(disc_method="paper"))
    by_name = {b.name: b for b in bodies}
    for p in planes:
        upper, lower = p.level.split("-")
        assert np.allclose(p.centre, (by_name[upper].centroid + by_name[lower].centroid) / 2)
        assert p.method == "paper"
        t = curve.project(p.centre)
        assert abs(np.dot(p.normal, curve.tangent(t))) > np.cos(np.radians(1.0))
    # the paper's midpoint is off where S1 is much larger than L5 (the reason for the endplates default)
    l5s1 = next(p for p in planes if p.level == "L5-S1")
    assert np.linalg.norm(l5s1.centre - truth["discs"]["L5-S1"]["centre"]) > 1.5


def test_curve_fit_recovers_a_polynomial_and_lowers_the_degree_for_few_points():
    t = np.linspace(0, 150, 7)
    pts = np.stack([0.001 * t ** 2, 5 + 0.2 * t, -t + 1e-5 * t ** 3], axis=1)
    curve = fit_curve(pts, degree=3)  # chord length is not t, so the fit is close, not exact
    assert np.abs(curve.point(curve.t_knots) - pts).max() < 0.5
    line = fit_curve(np.outer(np.arange(5.0), [0.0, 0.6, -0.8]), degree=3)
    assert np.allclose(line.point(line.t_knots), np.outer(np.arange(5.0), [0.0, 0.6, -0.8]), atol=1e-6)
    assert curve.tangent(75.0)[2] > 0.9  # superior = against the cranial -> caudal run
    assert fit_curve(pts[:2], degree=3).coefficients.shape == (3, 2)


def test_missing_body_fails_only_its_two_levels(truths):
    truth = next(iter(truths.values()))
    bodies = [b for b in bodies_from_truth(truth) if b.name != "L3"]
    planes, _, failed = disc_planes(bodies, ExtractConfig())
    assert set(failed) == {"L2-L3", "L3-L4"} and "L3" in failed["L2-L3"]
    assert [p.level for p in planes] == ["T12-L1", "L1-L2", "L4-L5", "L5-S1"]


def test_bodies_without_corners_fall_back_to_the_paper_method(truths):
    truth = next(iter(truths.values()))
    bodies = [Body(b.name, b.centroid) for b in bodies_from_truth(truth)]
    planes, _, _ = disc_planes(bodies, ExtractConfig())
    assert {p.method for p in planes} == {"paper"}


def test_config_rejects_bad_values_and_unknown_keys():
    with pytest.raises(ImagingError) as err:
        ExtractConfig(disc_method="spline").validate()
    assert err.value.code == "I030" and "spline" in str(err.value)
    with pytest.raises(ImagingError, match="I030"):
        ExtractConfig.from_dict({"axial_size": [8, 8, 2], "colour": "red"})
    cfg = ExtractConfig.from_dict(ExtractConfig(curve_degree=2).to_dict())
    assert cfg.curve_degree == 2 and cfg.axial_size == (360, 360, 8)


# ---------------------------------------------------------------------------------------------------------- volumes
def test_volumes_have_the_papers_shapes_and_the_manifest_every_level(extracted, truths):
    df = pd.read_parquet(extracted.manifest)
    assert list(df.columns) == list(MANIFEST_COLUMNS)
    assert len(df) == N_STUDIES * len(LEVELS) and set(df["status"]) == {"ok"}
    assert pd.read_csv(extracted.manifest.with_suffix(".csv")).shape == df.shape
    for row in df.itertuples():
        ax = np.load(extracted.out_dir / row.axial_path)
        sag = np.load(extracted.out_dir / row.sagittal_path)
        assert ax.shape == (8, 360, 360) and sag.shape == (25, 160, 320)
        assert ax.dtype == np.float16 and abs(float(ax.astype(np.float32).mean())) < 1e-2 * row.axial_mean
        assert row.axial_source == "axial_t2" and row.axial_coverage >= 0.7 and row.sagittal_coverage == 1.0
        truth = truths[row.study_id]["discs"][row.level]
        assert np.linalg.norm(np.array([row.centre_x, row.centre_y, row.centre_z]) - truth["centre"]) < 1.5
        assert row.patient_id == row.study_id  # the synthetic studies' PatientID


def test_axial_central_slice_shows_the_disc(extracted):
    """The phantom's disc nucleus (T2 0.82) is far brighter than the endplate cortex and marrow (0.12, 0.5)
    5 mm above and below it: slices 3-4 of 8 (1 mm either side of the plane) must be the brightest at the centre."""
    df = pd.read_parquet(extracted.manifest)
    c = slice(170, 190)  # the central 5 x 5 mm
    for row in df.itertuples():
        ax = np.load(extracted.out_dir / row.axial_path).astype(np.float32) + row.axial_mean
        centre = ax[3:5, c, c].mean()
        off_plane = max(ax[1, c, c].mean(), ax[6, c, c].mean())  # 5 mm inferior and superior
        assert centre > 1.4 * off_plane, (row.study_id, row.level, centre, off_plane)
        sag = np.load(extracted.out_dir / row.sagittal_path).astype(np.float32)
        assert sag[12, 75:85, 140:180].mean() > sag[12, 20:30, 140:180].mean()  # disc brighter than the body


def test_qc_pictures_and_html_index(extracted):
    index = (extracted.out_dir / "index.html").read_text()
    for rec in extracted.records:
        qc = extracted.out_dir / rec.study_id / "qc.png"
        assert qc.stat().st_size > 20_000
        assert f"src='{rec.study_id}/qc.png'" in index
    assert index.count("<section") == N_STUDIES


def test_resume_skips_finished_studies_and_redoes_incomplete_ones(cohort, extracted):
    again = extract([cohort / "dicom"], extracted.out_dir, vertebrae_dir=cohort / "truth")
    assert again.skipped == N_STUDIES
    first = again.records[0]
    (extracted.out_dir / first.rows[2]["axial_path"]).unlink()
    third = extract([cohort / "dicom"], extracted.out_dir, vertebrae_dir=cohort / "truth")
    assert third.skipped == N_STUDIES - 1 and not third.records[0].skipped
    assert (extracted.out_dir / first.rows[2]["axial_path"]).exists()


def test_bad_studies_are_recorded_and_the_batch_goes_on(cohort, tmp_path):
    studies = tmp_path / "studies"
    sids = sorted(p.name for p in (cohort / "dicom").iterdir())
    good = shutil.copytree(cohort / "dicom" / sids[0], studies / sids[0])
    no_axial = shutil.copytree(cohort / "dicom" / sids[1] / "SAG_T2", studies / sids[1] / "SAG_T2")
    broken = studies / "broken"
    broken.mkdir()
    (broken / "notes.txt").write_text("not a DICOM file")
    verts = tmp_path / "verts"
    verts.mkdir()
    shutil.copy(cohort / "truth" / f"{sids[0]}.json", verts)
    doc = json.loads((cohort / "truth" / f"{sids[1]}.json").read_text())
    del doc["vertebrae"]["L3"]
    (verts / f"{sids[1]}.json").write_text(json.dumps(doc))
    summary = extract([good, no_axial.parent, broken], tmp_path / "out", ExtractConfig(nifti=True),
                      vertebrae_dir=verts)
    df = pd.read_parquet(summary.manifest)
    assert len(df) == 2 * len(LEVELS) and summary.found.empty == [broken]  # no image there: noted, not a study
    assert summary.found.ignored_counts() == {"not DICOM": 1}
    by = {(r.study_id, r.level): r for r in df.itertuples()}
    assert all(by[(sids[0], lv)].status == "ok" for lv in LEVELS)
    assert by[(sids[1], "L2-L3")].status == "failed" and "L3" in by[(sids[1], "L2-L3")].reason
    flagged = by[(sids[1], "L4-L5")]
    assert flagged.status == "flagged" and flagged.axial_source == "sagittal_t2" and "no axial" in flagged.reason
    assert np.load(summary.out_dir / flagged.axial_path).shape == (8, 360, 360)
    # the NIfTI export keeps the oblique geometry: its centre voxel lies on the disc centre
    img = sitk.ReadImage(str(summary.out_dir / sids[0] / "L4-L5_axial.nii.gz"))
    assert img.GetSize() == (360, 360, 8) and img.GetSpacing() == pytest.approx((0.25, 0.25, 2.0))
    centre = img.TransformContinuousIndexToPhysicalPoint((179.5, 179.5, 3.5))
    row = by[(sids[0], "L4-L5")]
    assert np.allclose(centre, (row.centre_x, row.centre_y, row.centre_z), atol=1e-3)


def test_a_cohort_folder_is_split_into_its_studies_and_a_study_folder_is_one(cohort):
    sids = sorted(p.name for p in (cohort / "dicom").iterdir())
    found = discover_studies([cohort / "dicom"])
    assert [(st.study_id, st.path) for st in found.studies] == [(s, cohort / "dicom" / s) for s in sids]
    assert [st.study_id for st in discover_studies([cohort / "dicom" / sids[0]]).studies] == [sids[0]]


def test_duplicate_study_ids_and_missing_source_are_coded_errors(cohort, truths, tmp_path):
    sid = sorted(truths)[0]
    same = {t["study_instance_uid"]: "one-id" for t in truths.values()}
    with pytest.raises(ImagingError, match="I031"):
        extract([cohort / "dicom"], tmp_path / "out", vertebrae_dir=cohort / "truth", study_ids=same)
    with pytest.raises(ImagingError, match="I033"):
        extract([cohort / "dicom" / sid], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_extract_small_volumes(cohort, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"axial_size": [64, 64, 8], "sagittal_size": [32, 64, 9]}))
    res = CliRunner().invoke(app, ["extract", str(cohort / "dicom"), "-o", str(tmp_path / "out"), "--vertebrae",
                                   str(cohort / "truth"), "--config", str(cfg), "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert f"{N_STUDIES * len(LEVELS)} ok, 0 flagged, 0 failed" in res.output
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert np.load(tmp_path / "out" / df.axial_path[0]).shape == (8, 64, 64)
    assert np.load(tmp_path / "out" / df.sagittal_path[0]).shape == (9, 32, 64)
    bad = CliRunner().invoke(app, ["extract", str(cohort / "dicom"), "-o", str(tmp_path / "o2")])
    assert bad.exit_code == 2 and "I033" in bad.output
