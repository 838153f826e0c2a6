"""grading.data: manifest x labels join, patient splits and the disc dataset, on tiny real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from grading.data import (DiscDataset, join_labels, labels_array, load_or_make_splits, make_splits, read_levels,
                          read_manifest, read_mapping, read_table, select_split, swap_val_test)
from grading.errors import GradingError
from spinecore.errors import CoreError

AXIAL = (8, 16, 16)
SAGITTAL = (5, 8, 12)
LEVEL_HEADER = "report_id,level,scs,rfs,lfs,status,reason,flags,row\n"


def write_manifest(root: Path, rows: list[tuple[str, str, str, str]], suffix: str = ".csv") -> Path:
    """rows: (study_id, patient_id, level, status); writes an asymmetric array pair for each usable row."""
    rng = np.random.default_rng(0)
    records = []
    for study, patient, level, status in rows:
        axial = sagittal = ""
        if status != "failed":
            axial, sagittal = f"arrays/{study}_{level}_ax.npy", f"arrays/{study}_{level}_sag.npy"
            (root / "arrays").mkdir(parents=True, exist_ok=True)
            np.save(root / axial, rng.normal(size=AXIAL).astype(np.float16))
            np.save(root / sagittal, rng.normal(size=SAGITTAL).astype(np.float16))
        records.append({"study_id": study, "patient_id": patient, "level": level, "status": status,
                        "reason": "no disc found" if status == "failed" else "", "axial_path": axial,
                        "sagittal_path": sagittal})
    path = root / f"manifest{suffix}"
    frame = pd.DataFrame(records, dtype=str)
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


@pytest.fixture
def cohort(tmp_path: Path) -> tuple[Path, Path]:
    """Studies 0012 (patient P1, 3 levels: one failed) and 0013 (no patient id, 2 levels), and their labels."""
    manifest = write_manifest(tmp_path / "out", [
        ("0012", "P1", "L3-L4", "ok"), ("0012", "P1", "L4-L5", "flagged"), ("0012", "P1", "L5-S1", "failed"),
        ("0013", "", "L3-L4", "ok"), ("0013", "", "L4-L5", "ok"), ("0099", "P9", "L4-L5", "ok")])
    levels = tmp_path / "levels.csv"
    levels.write_text(LEVEL_HEADER + "0012,L3-L4,1,2,,ok,,,1\n0012,L4-L5,3,0,1,ok,,,1\n0012,L5-S1,2,2,2,ok,,,1\n"
                      "0013,L3-L4,,,,ok,,,2\n0013,L4-L5,0,,3,ok,,,2\n")
    return manifest, levels


def test_join_equal_ids_keeps_leading_zeros_partial_labels_and_counts_drops(cohort) -> None:
    manifest, levels = cohort
    discs, summary = join_labels(read_manifest(manifest.parent), read_levels(levels))
    assert discs[["study_id", "level"]].values.tolist() == [["0012", "L3-L4"], ["0012", "L4-L5"], ["0013", "L4-L5"]]
    assert discs["patient_id"].tolist() == ["P1", "P1", "0013"]  # empty patient id -> study id
    assert labels_array(discs).tolist() == [[1, 2, -1], [3, 0, 1], [0, -1, 3]]
    assert labels_array(discs).dtype == np.int64
    assert Path(discs["axial_path"][0]).is_absolute() and Path(discs["sagittal_path"][0]).is_file()
    assert (summary.manifest_rows, summary.failed, summary.no_report, summary.no_label, summary.kept) == (6, 1, 1, 1, 3)
    assert summary.labels["scs"] == {0: 1, 1: 1, 2: 0, 3: 1} and summary.missing["lfs"] == 1


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_tables_in_other_formats_read_ids_as_text(tmp_path: Path, suffix: str) -> None:
    manifest = write_manifest(tmp_path, [("007", "", "L1-L2", "ok")], suffix=".parquet")
    levels = tmp_path / f"levels{suffix}"
    rows = [{"report_id": "007", "level": "L1-L2", "scs": 2, "rfs": None, "lfs": 1, "status": "ok"}]
    if suffix == ".jsonl":
        levels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pd.DataFrame(rows).astype({"scs": "Int64", "rfs": "Int64", "lfs": "Int64"}).to_parquet(levels)
    discs, _ = join_labels(read_manifest(manifest), read_levels(levels))
    assert discs["study_id"].tolist() == ["007"] and labels_array(discs).tolist() == [[2, -1, 1]]


def test_mapping_renames_reports_and_overrides_patients(cohort, tmp_path: Path) -> None:
    manifest, levels = cohort
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(levels.read_text().replace("0012,", "R12,").replace("0013,", "R13,"))
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("report_id,study_id,patient_id\nR12,0012,\nR13,0013,0042\n")
    discs, summary = join_labels(read_manifest(manifest), read_levels(renamed), read_mapping(mapping))
    assert discs["study_id"].tolist() == ["0012", "0012", "0013"]
    assert discs["patient_id"].tolist() == ["P1", "P1", "0042"]
    assert summary.kept == 3
    with pytest.raises(GradingError) as err:  # without the mapping no report matches a study
        join_labels(read_manifest(manifest), read_levels(renamed))
    assert err.value.code == "G308"


def test_grade_out_of_range_names_file_row_and_value(cohort) -> None:
    manifest, levels = cohort
    levels.write_text(levels.read_text().replace("0013,L4-L5,0,,3", "0013,L4-L5,0,,4"))
    with pytest.raises(GradingError) as err:
        join_labels(read_manifest(manifest), read_levels(levels))
    assert err.value.code == "G304"
    assert str(levels) in str(err.value) and "data row 5" in str(err.value) and "'4'" in str(err.value)


def test_table_errors_are_coded(tmp_path: Path, cohort) -> None:
    _, levels = cohort
    codes = []
    for path, required in [(tmp_path / "x.xlsx", ()), (tmp_path / "absent.csv", ()), (levels, ("patient_id",))]:
        with pytest.raises(CoreError) as err:
            read_table(path, required)
        codes.append(err.value.code)
    assert codes == ["C002", "C001", "C004"]
    assert "patient_id" in str(err.value)


def test_splits_are_patient_disjoint_sized_and_deterministic() -> None:
    discs = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(100) for _ in range(2)]})
    splits = make_splits(discs, seed=3)
    assert splits["patient_id"].is_unique and set(splits["patient_id"]) == set(discs["patient_id"])
    assert splits["split"].value_counts().to_dict() == {"train": 70, "val": 15, "test": 15}
    assert splits.equals(make_splits(discs.sample(frac=1, random_state=1), seed=3))
    assert not splits.equals(make_splits(discs, seed=4))
    tiny = make_splits(pd.DataFrame({"patient_id": ["a", "b", "c"]}))
    assert sorted(tiny["split"]) == ["test", "train", "val"]
    with pytest.raises(GradingError) as err:
        make_splits(discs, fractions=(0.8, 0.3, 0.1))
    assert err.value.code == "G310"


def test_splits_are_saved_reused_and_checked(tmp_path: Path) -> None:
    discs = pd.DataFrame({"patient_id": ["001", "002", "003", "004", "005"]})
    path = tmp_path / "run" / "splits.csv"
    made = load_or_make_splits(path, discs, seed=1)
    assert path.is_file()
    assert load_or_make_splits(path, discs, seed=99).equals(made)  # reused, the seed does not matter
    with pytest.raises(GradingError) as err:
        load_or_make_splits(path, pd.DataFrame({"patient_id": ["001", "006"]}))
    assert err.value.code == "G312" and "006" in str(err.value)


def test_swap_val_test_and_select_split() -> None:
    splits = pd.DataFrame({"patient_id": ["a", "b", "c"], "split": ["train", "val", "test"]})
    assert swap_val_test(splits)["split"].tolist() == ["train", "test", "val"]
    discs = pd.DataFrame({"patient_id": ["a", "b", "b", "c"], "level": ["L1-L2"] * 4})
    assert select_split(discs, splits, "val")["patient_id"].tolist() == ["b", "b"]


def test_dataset_shapes_dtypes_and_default_collate(cohort) -> None:
    manifest, levels = cohort
    discs, _ = join_labels(read_manifest(manifest), read_levels(levels))
    dataset = DiscDataset(discs, expected_axial=(8, None, None), expected_sagittal=SAGITTAL)
    item = dataset[2]
    assert item["axial"].shape == AXIAL and item["axial"].dtype == torch.float32
    assert item["sagittal"].shape == (1, *SAGITTAL) and item["sagittal"].dtype == torch.float32
    assert item["labels"].tolist() == [0, -1, 3] and item["labels"].dtype == torch.long and item["index"] == 2
    np.testing.assert_allclose(item["axial"].numpy(), np.load(discs["axial_path"][2]).astype(np.float32))
    batch = next(iter(DataLoader(dataset, batch_size=3)))
    assert batch["sagittal"].shape == (3, 1, *SAGITTAL) and batch["labels"].shape == (3, 3)


def test_switched_off_branch_is_not_read(cohort) -> None:
    manifest, levels = cohort
    discs, _ = join_labels(read_manifest(manifest), read_levels(levels))
    for path in discs["sagittal_path"]:
        Path(path).unlink()
    item = DiscDataset(discs, use_sagittal=False)[0]
    assert "sagittal" not in item and item["axial"].shape == AXIAL
    with pytest.raises(GradingError) as err:
        DiscDataset(discs)[0]
    assert err.value.code == "G313" and discs["sagittal_path"][0] in str(err.value)


def test_wrong_shape_names_file_and_shapes(cohort) -> None:
    manifest, levels = cohort
    discs, _ = join_labels(read_manifest(manifest), read_levels(levels))
    with pytest.raises(GradingError) as err:
        DiscDataset(discs, expected_axial=(8, 360, 360))[0]
    assert err.value.code == "G314"
    assert discs["axial_path"][0] in str(err.value) and "(8, 16, 16)" in str(err.value) and "360" in str(err.value)


def test_flip_mirrors_left_right_and_swaps_foramina(cohort) -> None:
    manifest, levels = cohort
    discs, _ = join_labels(read_manifest(manifest), read_levels(levels))
    plain = DiscDataset(discs)
    augmented = DiscDataset(discs, augment=True, seed=5)
    decisions = []
    for epoch in range(8):
        augmented.set_epoch(epoch)
        decisions += [(epoch, i, augmented.flipped(i)) for i in range(len(discs))]
    assert {flip for _, _, flip in decisions} == {True, False}
    epoch, index, _ = next(d for d in decisions if d[2])
    augmented.set_epoch(epoch)
    original, flipped = plain[index], augmented[index]
    axial = np.load(discs["axial_path"][index]).astype(np.float32)
    sagittal = np.load(discs["sagittal_path"][index]).astype(np.float32)
    assert not np.array_equal(axial, axial[:, :, ::-1])  # the arrays are asymmetric
    np.testing.assert_array_equal(flipped["axial"].numpy(), axial[:, :, ::-1])  # columns: patient right -> left
    np.testing.assert_array_equal(flipped["sagittal"][0].numpy(), sagittal[::-1])  # slices: right -> left
    scs, rfs, lfs = original["labels"].tolist()
    assert flipped["labels"].tolist() == [scs, lfs, rfs]
    assert torch.equal(augmented[index]["axial"], flipped["axial"])  # same epoch -> same flip
    assert not DiscDataset(discs).flipped(index)  # no augmentation by default
