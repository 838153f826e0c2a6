"""imaging.io: DICOM/NIfTI/MetaImage studies keep their geometry; broken studies give coded errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from imaging.errors import ImagingError
from imaging.io import (Volume, classify_orientation, dominant_plane, read_studies, read_study, read_volume,
                        write_volume)
from imaging.synth import SynthConfig, synth_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_io")
    synth_cohort(out, SynthConfig(n=1, seed=11))
    return out


@pytest.fixture(scope="module")
def study_dir(cohort) -> Path:
    return next((cohort / "dicom").iterdir())


@pytest.fixture(scope="module")
def truth(cohort, study_dir) -> dict:
    return json.loads((cohort / "truth" / f"{study_dir.name}.json").read_text())


@pytest.fixture(scope="module")
def study(study_dir):
    return read_study(study_dir)


def copy_study(src: Path, dst: Path, series=("SAG_T2", "AX_T2")) -> Path:
    for name in series:
        shutil.copytree(src / name, dst / name)
    return dst


def test_series_found_and_classified(study):
    roles = {s.role: s for s in study.series}
    assert roles["sagittal_t2"].description == "SAG T2" and roles["sagittal_t2"].plane == "sagittal"
    assert roles["axial_t2"].description == "AX T2" and roles["axial_t2"].plane == "axial"
    sag = study.sagittal_t2
    assert sag.shape == (15, 256, 256) and sag.array.dtype == np.float32
    np.testing.assert_allclose(sag.spacing, [1.2, 1.2, 4.0], atol=1e-4)
    assert sag.slice_thickness == pytest.approx(3.5)  # 0.5 mm gap between slices
    assert sag.orientation == "sagittal"
    assert len(study.axial_stacks) == 6 and all(v.shape == (4, 192, 192) for v in study.axial_stacks)
    assert study.axial_t2 is not None


def test_dicom_round_trip_keeps_geometry(study, truth):
    sag = study.sagittal_t2
    csf = np.median([sag.sample(np.array(d["canal_centre"])) for d in truth["discs"].values()])
    for name, vert in truth["vertebrae"].items():
        for corner in vert["corners"]:
            ijk = sag.patient_to_index(corner)
            np.testing.assert_allclose(sag.index_to_patient(ijk), corner, atol=1e-6)
            assert abs(ijk[2] - (sag.shape[0] - 1) / 2) < 3  # mid-sagittal corner points
            assert all(0 <= v < n for v, n in zip(ijk, sag.shape[::-1]))
        centroid = np.array(vert["centroid"])
        # marrow (intermediate T2) at the centroid; the cortex at the corner is darker than the marrow inside it
        assert 0.25 * csf < sag.sample(centroid) < 0.75 * csf, name
        inside = [np.array(c) + 0.35 * (centroid - np.array(c)) for c in vert["corners"]]
        assert np.mean([sag.sample(p) for p in inside]) > np.mean([sag.sample(np.array(c)) for c in vert["corners"]])
    for level, disc in truth["discs"].items():
        # bright nucleus at the disc centre, in the sagittal and in the axial stack planned through it
        ax = study.axial_near(disc["centre"])
        k = ax.patient_to_index(disc["centre"])[2]
        assert 1.0 <= k <= 2.0, level
        np.testing.assert_allclose(ax.normal, disc["normal"], atol=1e-4)
        assert ax.sample(np.array(disc["canal_centre"])) > 0.6 * csf or truth["grades"][level]["scs"] == 3


def test_volume_index_patient_inverse():
    rot = np.array([[0.0, 0.2, 0.98], [1.0, 0.0, 0.0], [0.0, 0.98, -0.2]])
    rot[:, 1] /= np.linalg.norm(rot[:, 1])
    rot[:, 2] = np.cross(rot[:, 0], rot[:, 1])
    vol = Volume(np.zeros((5, 6, 7)), [10.0, -20.0, 30.0], [0.7, 0.8, 4.5], rot)
    ijk = np.array([[0, 0, 0], [6, 5, 4], [1.5, 2.25, 3.5]])
    np.testing.assert_allclose(vol.patient_to_index(vol.index_to_patient(ijk)), ijk, atol=1e-9)
    np.testing.assert_allclose(vol.index_to_patient([0, 0, 1]), vol.origin + 4.5 * rot[:, 2])


@pytest.mark.parametrize("iop, expected", [
    ([0, 1, 0, 0, 0, -1], "sagittal"),
    ([1, 0, 0, 0, 1, 0], "axial"),
    ([1, 0, 0, 0, 0, -1], "coronal"),
    ([1, 0, 0, 0, np.cos(np.radians(20)), np.sin(np.radians(20))], "axial"),  # axial tilted 20 deg to a disc
    ([0, np.cos(np.radians(10)), np.sin(np.radians(10)), 0, np.sin(np.radians(10)), -np.cos(np.radians(10))], "sagittal"),
    ([0.7071068, 0, -0.7071068, 0, 1, 0], "oblique"),  # 45 deg between axial and sagittal
])
def test_orientation_from_cosines(iop, expected):
    assert classify_orientation(iop) == expected


def test_bad_cosines_are_coded():
    with pytest.raises(ImagingError) as err:
        dominant_plane([1, 0, 0, 1, 0, 0])
    assert err.value.code == "I013"


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mha"])
def test_nifti_and_metaimage(tmp_path, study, truth, suffix):
    sag = study.sagittal_t2
    path = write_volume(sag, tmp_path / f"sag{suffix}")
    back = read_study(path)
    vol = back.sagittal_t2
    assert read_volume(path).shape == sag.shape
    np.testing.assert_allclose(vol.origin, sag.origin, atol=1e-4)
    np.testing.assert_allclose(vol.spacing, sag.spacing, atol=1e-5)
    np.testing.assert_allclose(vol.direction, sag.direction, atol=1e-5)
    np.testing.assert_array_equal(vol.array, sag.array)
    c = np.array(truth["vertebrae"]["L3"]["centroid"])
    assert vol.sample(c) == pytest.approx(sag.sample(c), rel=1e-5)
    assert back.axial_t2 is None


def test_nifti_axial_only_has_no_sagittal(tmp_path, study):
    path = write_volume(study.axial_stacks[0], tmp_path / "ax.nii.gz")
    with pytest.raises(ImagingError) as err:
        read_study(path)
    assert err.value.code == "I005"


def _break(kind: str, src: Path, dst: Path) -> Path:
    if kind == "notes_only":
        dst.mkdir()
        (dst / "notes.txt").write_text("not an image")
    elif kind == "no_sagittal":
        copy_study(src, dst, series=("AX_T2",))
    elif kind == "mixed_sizes":
        copy_study(src, dst)
        f = dst / "SAG_T2" / "IM0003.dcm"
        ds = pydicom.dcmread(f)
        ds.Rows, ds.Columns = 128, 128
        ds.PixelData = np.zeros((128, 128), np.uint16).tobytes()
        ds.save_as(f)
    elif kind == "one_slice":
        copy_study(src, dst, series=("AX_T2",))
        (dst / "SAG_T2").mkdir()
        shutil.copy(src / "SAG_T2" / "IM0007.dcm", dst / "SAG_T2")
    elif kind == "missing_slice":
        copy_study(src, dst)
        (dst / "SAG_T2" / "IM0008.dcm").unlink()
    elif kind == "empty":
        dst.mkdir()
    return dst


BROKEN = {"notes_only": "I004", "no_sagittal": "I005", "mixed_sizes": "I006", "one_slice": "I007",
          "missing_slice": "I009", "empty": "I004"}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_study_gives_coded_error(tmp_path, study_dir, kind):
    path = _break(kind, study_dir, tmp_path / kind)
    with pytest.raises(ImagingError) as err:
        read_study(path)
    assert err.value.code == BROKEN[kind]
    assert str(err.value).startswith(f"[{BROKEN[kind]}]") and str(path) in str(err.value)


def test_missing_path_and_bad_suffix(tmp_path):
    with pytest.raises(ImagingError) as err:
        read_study(tmp_path / "nope")
    assert err.value.code == "I001"
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(ImagingError) as err:
        read_study(tmp_path / "x.png")
    assert err.value.code == "I002"


def test_batch_goes_on(tmp_path, study_dir):
    bad1 = _break("notes_only", study_dir, tmp_path / "bad1")
    bad2 = _break("one_slice", study_dir, tmp_path / "bad2")
    results = read_studies([bad1, study_dir, bad2, tmp_path / "missing"])
    assert [r.status for r in results] == ["error", "ok", "error", "error"]
    assert [r.code for r in results] == ["I004", None, "I007", "I001"]
    assert results[1].study.sagittal_t2.shape == (15, 256, 256)
    assert all(r.message for r in results if r.status == "error")


def test_geometry_agrees_with_simpleitk(study, study_dir):
    """An independent reader (SimpleITK/GDCM) sees the same sagittal geometry and pixels."""
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(study_dir / "SAG_T2")))
    img = reader.Execute()
    sag = study.sagittal_t2
    np.testing.assert_allclose(img.GetOrigin(), sag.origin, atol=1e-4)
    np.testing.assert_allclose(img.GetSpacing(), sag.spacing, atol=1e-4)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), sag.direction, atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img).astype(np.float32), sag.array)


def test_isotropic_volume_stored_along_another_axis_is_restacked_sagittally(tmp_path):
    """A 3-D acquisition stored SI-first (array (SI, AP, LR)) is read as a sagittal stack, voxels unchanged."""
    import SimpleITK as sitk

    rng = np.random.default_rng(1)
    data = rng.random((20, 16, 12)).astype(np.float32)  # numpy (SI, AP, LR)
    img = sitk.GetImageFromArray(data)
    img.SetDirection((1, 0, 0, 0, 1, 0, 0, 0, -1))  # index axes toward L, P, I
    sitk.WriteImage(img, str(tmp_path / "iso.nii.gz"))
    study = read_study(tmp_path / "iso.nii.gz")
    vol = study.sagittal_t2
    assert study.series[0].plane == "sagittal" and vol.array.shape == (12, 20, 16)  # (LR, SI, AP)
    corner = img.TransformIndexToPhysicalPoint((3, 5, 7))  # (i=LR, j=AP, k=SI)
    ijk = np.round(vol.patient_to_index(corner)).astype(int)
    assert vol.array[ijk[2], ijk[1], ijk[0]] == pytest.approx(data[7, 5, 3])
