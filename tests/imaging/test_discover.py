"""imaging.io.discover_studies: studies found by their DICOM identity in every folder layout, files that are no
DICOM image ignored and counted, study ids as documented; and 'imaging extract' on such layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from imaging.cli import app
from imaging.errors import ImagingError
from imaging.extract import extract
from spinecore.schema import LEVELS
from imaging.io import discover_studies, read_study, read_study_ids
from imaging.synth import SynthConfig, synth_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_discover")
    synth_cohort(out, SynthConfig(n=2, seed=5))
    return out


@pytest.fixture(scope="module")
def sids(cohort) -> list[str]:
    return sorted(p.name for p in (cohort / "dicom").iterdir())


@pytest.fixture(scope="module")
def uids(cohort, sids) -> dict[str, str]:
    return {sid: json.loads((cohort / "truth" / f"{sid}.json").read_text())["study_instance_uid"] for sid in sids}


def _files(study: Path) -> list[Path]:
    return sorted(p for p in study.rglob("*.dcm"))


def _clutter(folder: Path) -> None:
    """What real exports carry beside the images."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.txt").write_text("exported by the PACS")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "DICOMDIR").write_bytes(b"\x00" * 128 + b"DICM")


def _flat(cohort: Path, sids: list[str], dst: Path) -> Path:
    """Every file of every study in one folder, named as anonymous exports name them."""
    dst.mkdir(parents=True)
    n = 0
    for sid in sids:
        for f in _files(cohort / "dicom" / sid):
            n += 1
            shutil.copy(f, dst / f"IM{n:05d}")
    return dst


def test_flat_export_of_two_studies_splits_by_uid_and_names_them_by_uid(cohort, sids, uids, tmp_path):
    flat = _flat(cohort, sids, tmp_path / "export")
    _clutter(flat)
    found = discover_studies([flat])
    assert sorted(st.study_id for st in found.studies) == sorted(uids.values())
    by_uid = {st.study_uid: st for st in found.studies}
    for sid in sids:
        assert len(by_uid[uids[sid]].files) == len(_files(cohort / "dicom" / sid))
        assert by_uid[uids[sid]].path == flat
    assert found.ignored_counts() == {"not DICOM": 1, "hidden": 1, "DICOMDIR": 1}
    assert "ignored 3 file(s)" in found.describe_ignored() and "README.txt" in found.describe_ignored()
    study = read_study(by_uid[uids[sids[0]]])
    assert study.sagittal_t2.shape == (15, 256, 256) and len(study.axial_stacks) == 6


def test_patient_study_series_tree_named_by_study_folder(cohort, sids, tmp_path):
    root = tmp_path / "pacs"
    for n, sid in enumerate(sids):
        shutil.copytree(cohort / "dicom" / sid, root / f"PAT{n}" / sid)
    _clutter(root / "PAT0")
    found = discover_studies([root])
    assert [(st.study_id, st.path) for st in found.studies] == [(sid, root / f"PAT{n}" / sid)
                                                                for n, sid in enumerate(sids)]
    assert len(found.ignored) == 3


def test_alike_study_folder_names_fall_back_to_the_uid(cohort, sids, uids, tmp_path):
    root = tmp_path / "pacs"
    for n, sid in enumerate(sids):
        shutil.copytree(cohort / "dicom" / sid, root / f"PAT{n}" / "STUDY1")
    assert sorted(st.study_id for st in discover_studies([root]).studies) == sorted(uids.values())


def test_study_folders_nested_deeper_are_separate_studies(cohort, sids, tmp_path):
    """The reported bug: a folder of study folders one level deeper was one merged study."""
    root = tmp_path / "site" / "batch-1"
    for sid in sids:
        shutil.copytree(cohort / "dicom" / sid, root / "scans" / sid)
    found = discover_studies([tmp_path / "site"])
    assert [st.study_id for st in found.studies] == sids


def test_single_study_folder_is_named_after_the_study_not_the_outer_folder(cohort, sids, tmp_path):
    """The reported bug: one study under an outer folder took the outer folder's name."""
    shutil.copytree(cohort / "dicom" / sids[0], tmp_path / "incoming" / sids[0])
    (tmp_path / "incoming" / "README.txt").write_text("one study")
    assert [st.study_id for st in discover_studies([tmp_path / "incoming"]).studies] == [sids[0]]
    assert read_study(tmp_path / "incoming").sagittal_t2.shape == (15, 256, 256)


def test_mixed_cohort_flat_files_beside_study_folders(cohort, sids, uids, tmp_path):
    root = tmp_path / "mixed"
    shutil.copytree(cohort / "dicom" / sids[0], root / sids[0])
    for n, f in enumerate(_files(cohort / "dicom" / sids[1])):
        shutil.copy(f, root / f"loose{n:03d}.dcm")
    found = discover_studies([root])
    # the loose files' folder also holds the other study: they are named by their UID
    assert sorted((st.study_id, st.path) for st in found.studies) == sorted([(sids[0], root / sids[0]),
                                                                             (uids[sids[1]], root)])


def test_one_study_split_over_two_inputs_is_one_study_and_copies_count_once(cohort, sids, tmp_path):
    study = cohort / "dicom" / sids[0]
    copy = shutil.copytree(study, tmp_path / "copy" / sids[0])
    found = discover_studies([study / "SAG_T2", study / "AX_T2", copy])
    assert [st.study_id for st in found.studies] == [sids[0]]
    assert len(found.studies[0].files) == len(_files(study))
    assert found.ignored_counts() == {"duplicate SOPInstanceUID": len(_files(study))}


def test_headers_read_by_a_process_pool_find_what_one_process_finds(cohort, sids, tmp_path):
    """``imaging extract -j N`` reads the headers of the discovery in its worker pool: the same studies, files,
    ignored files (clutter, second copies) and empty inputs, in the same order."""
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    root = _flat(cohort, sids, tmp_path / "flat")
    _clutter(root)
    (tmp_path / "empty").mkdir()
    copy = shutil.copytree(cohort / "dicom" / sids[0], tmp_path / "copy" / sids[0])
    paths = [root, copy, tmp_path / "empty"]
    one = discover_studies(paths)
    with ProcessPoolExecutor(2) as pool:
        pooled = discover_studies(paths, probe_map=partial(pool.map, chunksize=7))
    assert [(st.study_id, st.path, st.files) for st in pooled.studies] == \
        [(st.study_id, st.path, st.files) for st in one.studies]
    assert pooled.ignored == one.ignored and pooled.empty == one.empty == [tmp_path / "empty"]
    assert one.ignored_counts()["duplicate SOPInstanceUID"] == len(_files(copy))


def test_mapping_file_names_studies(cohort, sids, uids, tmp_path):
    mapping = tmp_path / "ids.csv"
    mapping.write_text("study_instance_uid,study_id\n" + "".join(f"{uids[s]},case-{s}\n" for s in sids))
    found = discover_studies([_flat(cohort, sids, tmp_path / "flat")], read_study_ids(mapping))
    assert sorted(st.study_id for st in found.studies) == [f"case-{s}" for s in sids]
    bad = tmp_path / "bad.csv"
    bad.write_text("uid,name\n1.2.3,x\n")
    with pytest.raises(ImagingError, match=r"^\[I036\].*bad.csv.*study_instance_uid"):
        read_study_ids(bad)
    bad.write_text("study_instance_uid,study_id\n1.2.3,../up\n")
    with pytest.raises(ImagingError, match=r"^\[I036\].*line 2"):
        read_study_ids(bad)


def test_missing_path_and_folder_without_images(tmp_path, cohort, sids):
    with pytest.raises(ImagingError, match=r"^\[I001\].*nowhere"):
        discover_studies([tmp_path / "nowhere"])
    _clutter(tmp_path / "docs")
    with pytest.raises(ImagingError, match=r"^\[I004\].*docs.*ignored 3 file"):
        read_study(tmp_path / "docs")
    found = discover_studies([cohort / "dicom" / sids[0], tmp_path / "docs"])
    assert [st.study_id for st in found.studies] == [sids[0]] and found.empty == [tmp_path / "docs"]
    with pytest.raises(ImagingError, match=r"^\[I035\].*2 studies"):
        read_study(cohort / "dicom")


def test_extract_flat_export_with_clutter_and_a_mapping(cohort, sids, uids, tmp_path):
    """End to end through the command line: a flat export with a README, ids from a mapping file."""
    flat = _flat(cohort, sids, tmp_path / "export")
    _clutter(flat)
    mapping = tmp_path / "ids.csv"
    mapping.write_text("study_instance_uid,study_id\n" + "".join(f"{uids[s]},{s}\n" for s in sids))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"axial_size": [32, 32, 4], "sagittal_size": [16, 32, 5]}))
    res = CliRunner().invoke(app, ["extract", str(flat), "-o", str(tmp_path / "out"), "--vertebrae",
                                   str(cohort / "truth"), "--config", str(cfg), "--study-ids", str(mapping)])
    assert res.exit_code == 0, res.output
    assert f"{2 * len(LEVELS)} ok, 0 flagged, 0 failed" in res.output
    assert "ignored 3 file(s)" in res.output
    df = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert sorted(df.study_id.unique()) == sids


def test_extract_missing_studies_path_is_a_coded_error_exit_2(cohort, tmp_path):
    res = CliRunner().invoke(app, ["extract", str(tmp_path / "typo"), "-o", str(tmp_path / "out"), "--vertebrae",
                                   str(cohort / "truth")])
    assert res.exit_code == 2 and "[I001]" in res.output and "typo" in res.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(ImagingError, match="I034"):
        extract([tmp_path], tmp_path / "out2", vertebrae_dir=cohort / "truth")
