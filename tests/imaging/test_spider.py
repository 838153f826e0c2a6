"""SPIDER in its published layout, written here: .mha images and masks with SPIDER's label values (vertebrae
numbered from the bottom, 100 + k partial, 100 canal, 200 + k discs), radiological_gradings.csv; the reader's
label mapping, the vertebral bodies cut from whole vertebrae, the levels table and segmentation training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from imaging.datasets.spider import body_labels, disc_level, levels_table, vertebra_name
from imaging.errors import ImagingError
from imaging.segment import find_pairs, preset_config, read_pair, train

SI, AP, LR = 120, 64, 7
BODY_AP, CANAL_AP, POSTERIOR_AP = (8, 30), (34, 42), (44, 56)  # front to back


def spine_mask(n: int = 4, partial_top: bool = True) -> np.ndarray:
    """(SI, AP, LR) mask, inferior = larger SI index: n vertebrae from the bottom (k = 1 lowest), each a body, a
    pedicle bridge beside the canal and posterior elements behind it; discs 200 + k below vertebra k; the canal;
    the topmost vertebra partial (100 + k) when asked."""
    mask = np.zeros((SI, AP, LR), np.int16)
    mask[4:SI - 4, CANAL_AP[0]:CANAL_AP[1], 2:5] = 100
    height, gap = 16, 5
    for k in range(1, n + 1):
        bottom = SI - 8 - (k - 1) * (height + gap)
        rows = slice(bottom - height, bottom)
        value = 100 + k if (partial_top and k == n) else k
        mask[rows, BODY_AP[0]:BODY_AP[1], :] = value
        mask[rows, BODY_AP[1]:POSTERIOR_AP[1], 0:2] = value  # pedicle bridges lateral to the canal
        mask[rows, BODY_AP[1]:POSTERIOR_AP[1], 5:7] = value
        mask[rows, POSTERIOR_AP[0]:POSTERIOR_AP[1], :] = value
        mask[bottom:bottom + gap, BODY_AP[0]:BODY_AP[1], :] = 200 + k
    return mask


def write_mha(path: Path, array: np.ndarray) -> None:
    """An (SI, AP, LR) array as a MetaImage stored with inverted axes (i right-to-left, j anterior, k superior),
    so that reading must reorient it."""
    img = sitk.GetImageFromArray(array[::-1, ::-1, ::-1].copy())
    img.SetSpacing((1.0, 1.0, 1.0))
    img.SetDirection((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    sitk.WriteImage(img, str(path))


def write_spider(root: Path, patients=(1, 2, 3, 4)) -> Path:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for p in patients:
        mask = spine_mask(4 if p % 2 else 5)
        image = np.where(mask > 200, 500, np.where(mask == 100, 900, np.where(mask > 0, 300, 100))).astype(np.float32)
        image += rng.normal(0, 20, image.shape).astype(np.float32)
        for sequence in ("t1", "t2"):
            write_mha(root / "images" / f"{p}_{sequence}.mha", image)
            write_mha(root / "masks" / f"{p}_{sequence}.mha", mask)
    rows = [{"Patient": p, "IVD label": k, "Modic": k % 4, "UP endplate": k % 2, "LOW endplate": (k + 1) % 2,
             "Spondylolisthesis": int(k == 2), "Disc herniation": int(k == 1), "Disc narrowing": int(k > 3),
             "Disc bulging": int(k in (2, 3)), "Pfirrman grade": 1 + k % 5} for p in patients for k in (0, *range(1, 8))]
    pd.DataFrame(rows).to_csv(root / "radiological_gradings.csv", index=False)
    return root


def test_label_convention_names_every_vertebra_and_disc() -> None:
    assert [vertebra_name(k) for k in range(1, 8)] == ["L5", "L4", "L3", "L2", "L1", "T12", "T11"]
    assert vertebra_name(17) == "T1" and vertebra_name(18) == "" and vertebra_name(0) == ""
    assert [disc_level(k) for k in range(1, 8)] == ["L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2", "T12-L1",
                                                    "T11-T12"]


def test_bodies_are_the_vertebrae_in_front_of_the_canal_numbered_cranial_to_caudal() -> None:
    mask = spine_mask(4)
    lab, names = body_labels(mask)
    assert names == ["L2", "L3", "L4", "L5"]  # 104 (partial L2) on top, 1 (L5) at the bottom
    for i, k in enumerate((104, 3, 2, 1), 1):
        vertebra = mask == k
        body = vertebra & (np.arange(AP)[None, :, None] < CANAL_AP[0])
        assert np.array_equal(lab == i, body), k  # posterior elements and the bridges' back part are cut
    assert not np.isin(lab[mask >= 100], range(1, 5)).any() or (mask[lab > 0] < 200).all()
    assert (lab[(mask == 100) | (mask > 200)] == 0).all()
    # the canal's wall is followed row by row: a canal shifted forward in the upper half cuts the bodies there
    shifted = mask.copy()
    shifted[:SI // 2][shifted[:SI // 2] == 100] = 0
    shifted[4:SI // 2, 24:32, 2:5] = 100
    lab2, _ = body_labels(shifted)
    assert lab2[10:SI // 2, 24:30].max() == 0 and lab2[SI // 2 + 5:, 24:30].max() > 0


def test_spider_folder_gives_t2_pairs_with_bodies(tmp_path: Path) -> None:
    root = write_spider(tmp_path / "spider")
    pairs = find_pairs(root)
    assert [p.name for p in pairs] == ["1_t2", "2_t2", "3_t2", "4_t2"] and {p.convention for p in pairs} == {"spider"}
    data = read_pair(pairs[1])  # patient 2: five vertebrae, the top one partial
    assert data.names == ["L1", "L2", "L3", "L4", "L5"]
    mask = spine_mask(5)
    assert np.array_equal(data.lab3 > 0, np.isin(mask, [1, 2, 3, 4, 105]) & (np.arange(AP)[None, :, None] < CANAL_AP[0]))
    (root / "masks" / "3_t2.mha").unlink()
    with pytest.raises(ImagingError) as err:
        find_pairs(root)
    assert err.value.code == "I043" and "3_t2.mha" in str(err.value)


def test_gradings_become_a_levels_table(tmp_path: Path) -> None:
    table = levels_table(write_spider(tmp_path / "spider", patients=(7,)))
    assert table["level"].tolist() == ["L5-S1", "L4-L5", "L3-L4", "L2-L3", "L1-L2", "T12-L1"]  # 0 and 7 left out
    assert (table["report_id"] == "7").all() and (table[["scs", "rfs", "lfs"]] == "").all().all()
    row = table.set_index("level").loc["L4-L5"]  # IVD label 2
    assert row[["modic", "upper_endplate", "lower_endplate", "spondylolisthesis", "disc_herniation",
                "disc_narrowing", "disc_bulging", "pfirrmann"]].tolist() == ["2", "0", "1", "1", "0", "0", "1", "3"]
    with pytest.raises(ImagingError) as err:
        levels_table(tmp_path)
    assert err.value.code == "I043"


@pytest.mark.slow  # about 70 s of U-Net training on the shared 2-core CPU: the full tier
def test_spider_trains_the_lumbar_channel_with_s1_unknown(tmp_path: Path) -> None:
    root = write_spider(tmp_path / "spider")
    pairs = find_pairs(root)
    assert not any(p.s1_known for p in pairs)  # no sacrum mask: S1 left out of the loss for these cases
    cfg = preset_config("cpu", input_size=64, features=4, depth=2, epochs=12, batch_size=4, val_fraction=0.25,
                        seed=0)
    summary = train(root, tmp_path / "seg.pt", cfg)
    assert summary.pairs == 4 and (tmp_path / "seg.pt").exists()
    assert summary.best_metric > max(0.6, summary.first_metric)  # bodies learnt on the held-out volume
