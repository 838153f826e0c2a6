"""imaging.synth: deterministic synthetic studies whose stenosis grades are visible, and the ``imaging synth`` CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from imaging.cli import app
from imaging.io import read_study
from imaging.synth import VERTEBRAE, SynthConfig, _Anatomy, make_study, synth_cohort, write_study
from spinecore.schema import LEVELS, LOCATIONS

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synth_cohort(out, SynthConfig(n=4, seed=3))
    return out


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(folder).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed(tmp_path, cohort):
    first, second = make_study(3, 1), make_study(3, 1)
    write_study(first, tmp_path / "a")
    write_study(second, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a" / "dicom" / "synth-3-0001") == digest(cohort / "dicom" / "synth-3-0001")
    assert digest(cohort / "dicom" / "synth-3-0000") != digest(cohort / "dicom" / "synth-3-0001")


def test_truth_schema(cohort):
    files = sorted((cohort / "truth").glob("*.json"))
    assert len(files) == 4
    for f in files:
        t = json.loads(f.read_text())
        assert t["schema_version"] == 1 and t["study_id"] == f.stem
        assert (cohort / "dicom" / t["study_id"] / "SAG_T2").is_dir()
        assert list(t["vertebrae"]) == list(VERTEBRAE)
        for v in t["vertebrae"].values():
            assert np.array(v["corners"]).shape == (4, 3) and np.array(v["centroid"]).shape == (3,)
        assert list(t["discs"]) == list(LEVELS)
        for i, (lv, d) in enumerate(t["discs"].items()):
            n = np.array(d["normal"])
            assert n.shape == (3,) and np.linalg.norm(n) == pytest.approx(1, abs=1e-4)
            up = np.array(t["vertebrae"][VERTEBRAE[i]]["centroid"]) - np.array(t["vertebrae"][VERTEBRAE[i + 1]]["centroid"])
            assert n @ up / np.linalg.norm(up) > 0.9  # the normal runs along the spine, superior
            c = np.array(d["centre"])  # between the two bodies
            assert np.linalg.norm(c - np.array(t["vertebrae"][VERTEBRAE[i]]["centroid"])) < np.linalg.norm(up)
        assert list(t["foramina"]) == list(LEVELS)
        for lv, fo in t["foramina"].items():
            assert fo["left"]["centre"][0] > fo["right"]["centre"][0]  # LPS: patient left is +x
            assert fo["left"]["area_mm2"] > 0 and fo["right"]["area_mm2"] > 0
        assert set(t["grades"]) == set(LEVELS)
        for g in t["grades"].values():
            assert set(g) == set(LOCATIONS) and all(x is None or x in (0, 1, 2, 3) for x in g.values())
    rows = list(csv.DictReader((cohort / "reports.csv").open(encoding="utf-8")))
    assert [r["report_id"] for r in rows] == [f.stem for f in files] and all(r["text"] for r in rows)


def canal_area(vol, centre, normal) -> float:
    """CSF area (mm^2) of the canal component around ``centre`` on the two slices nearest the disc plane."""
    areas = []
    k0 = vol.patient_to_index(centre)[2]
    for k in (int(np.floor(k0)), int(np.ceil(k0))):
        img = ndimage.gaussian_filter(vol.array[k], 0.7)
        i, j, _ = np.rint(vol.patient_to_index(centre)).astype(int)
        roi = img[j - 10:j + 11, i - 10:i + 11]
        csf = np.percentile(img[max(0, j - 40):j + 40, max(0, i - 40):i + 40], 99.5)
        lab, _ = ndimage.label(img > 0.8 * csf)
        # the component under the canal centre, else the brightest near it (a severe stenosis is a small target)
        centre_lab = lab[j, i] or lab[j - 10:j + 11, i - 10:i + 11].ravel()[np.argmax(roi)]
        areas.append((lab == centre_lab).sum() * vol.spacing[0] * vol.spacing[1] if centre_lab else 0.0)
    return float(np.mean(areas))


def test_canal_narrowing_visible(cohort):
    by_grade: dict[int, list[float]] = {}
    for f in sorted((cohort / "truth").glob("*.json")):
        t = json.loads(f.read_text())
        study = read_study(cohort / "dicom" / t["study_id"])
        for lv, d in t["discs"].items():
            vol = study.axial_near(d["centre"])
            area = canal_area(vol, np.array(d["canal_centre"]), d["normal"])
            assert area == pytest.approx(d["canal_area_mm2"], rel=0.35, abs=15), (t["study_id"], lv)
            by_grade.setdefault(t["grades"][lv]["scs"] or 0, []).append(area)
    grades = sorted(by_grade)
    assert len(grades) >= 3, by_grade
    means = [np.mean(by_grade[g]) for g in grades]
    assert all(a > b for a, b in zip(means, means[1:])), dict(zip(grades, means))


def test_foramen_visible_on_parasagittal(cohort):
    """The bright foraminal fat on the para-sagittal slice through each foramen follows the truth's area."""
    by_grade: dict[int, list[float]] = {}
    for f in sorted((cohort / "truth").glob("*.json")):
        t = json.loads(f.read_text())
        sag = read_study(cohort / "dicom" / t["study_id"]).sagittal_t2
        csf = np.percentile(sag.array, 99.9)
        for lv, sides in t["foramina"].items():
            for side, fo in sides.items():
                i, j, k = np.rint(sag.patient_to_index(fo["centre"])).astype(int)
                img = ndimage.gaussian_filter(sag.array[k], 0.6)
                lab, _ = ndimage.label(img[j - 14:j + 15, i - 14:i + 15] > 0.62 * csf)
                centre = lab[14, 14]
                area = (lab == centre).sum() * sag.spacing[0] * sag.spacing[1] if centre else 0.0
                grade = t["grades"][lv]["lfs" if side == "left" else "rfs"] or 0
                by_grade.setdefault(grade, []).append(area)
    grades = sorted(by_grade)
    means = [np.mean(by_grade[g]) for g in grades]
    assert len(grades) >= 3 and all(a > b for a, b in zip(means, means[1:])), dict(zip(grades, means))


def test_foramen_narrowing_visible():
    """Bright foraminal fat beside the canal shrinks with the foramen grade (in the straightened model)."""
    fat = []
    for g in range(4):
        grades = {lv: {"scs": 0, "rfs": 0, "lfs": g} for lv in LEVELS}
        a = _Anatomy(np.random.default_rng(1), grades)
        sd = a.s_disc[4]
        s, b = np.meshgrid(np.linspace(sd - 20, sd + 20, 81), np.linspace(a.width / 2, a.b_canal + a.r_ap, 41))
        left = a.render(s, b, np.full_like(s, a.r_lat + 5))
        right = a.render(s, b, np.full_like(s, -(a.r_lat + 5)))
        fat.append(((left > 0.6).sum(), (right > 0.6).sum()))
    assert all(x[0] > y[0] for x, y in zip(fat, fat[1:])), fat
    assert len({r for _, r in fat}) == 1  # the right side did not change


def test_cli_synth(tmp_path):
    out = tmp_path / "out"
    result = RUNNER.invoke(app, ["synth", "-o", str(out), "--n", "2", "--seed", "0"])
    assert result.exit_code == 0, result.output
    studies = sorted(p.name for p in (out / "dicom").iterdir())
    assert studies == ["synth-0-0000", "synth-0-0001"]
    assert len(list((out / "truth").glob("*.json"))) == 2
    assert len(list(csv.DictReader((out / "manifest.csv").open(encoding="utf-8")))) == 2
    rows = list(csv.DictReader((out / "reports.csv").open(encoding="utf-8")))
    assert [r["report_id"] for r in rows] == studies
    text = result.output + (result.stderr if hasattr(result, "stderr") and result.stderr_bytes is not None else "")
    assert "wrote 2 studies" in text and "scs" in text
    for sid in studies:
        assert read_study(out / "dicom" / sid).sagittal_t2.shape == (15, 256, 256)


def test_cli_bad_n(tmp_path):
    result = RUNNER.invoke(app, ["synth", "-o", str(tmp_path / "o"), "--n", "0"])
    assert result.exit_code == 2
    text = result.output + (result.stderr if hasattr(result, "stderr") and result.stderr_bytes is not None else "")
    assert "[I020]" in text
