"""The SPIDER lumbar spine segmentation data set (van der Graaf et al., 2024) in its published layout.

A download folder holds::

    images/<patient>_<sequence>.mha     sagittal MRI, sequence t1, t2 or t2_SPACE
    masks/<patient>_<sequence>.mha      the reference segmentation of that image
    overview.csv                        per series: training / validation subset, scanner settings
    radiological_gradings.csv           per disc: Patient, IVD label, Modic, UP endplate, LOW endplate,
                                        Spondylolisthesis, Disc herniation, Disc narrowing, Disc bulging,
                                        Pfirrman grade

Mask values, as the data set's documentation (spider.grand-challenge.org, data page and baseline algorithm card)
defines them, made explicit here (:data:`CANAL`, :func:`vertebra_name`, :func:`disc_level`):

* 0 background;
* 1-25 vertebrae numbered from the bottom: 1 is the lowest lumbar vertebra (L5 in a spine of five lumbar
  vertebrae), 2 the one above it (L4), ...; 101-125 the same vertebrae when they lie only partly in the field of
  view (label 100 + k);
* 100 the spinal canal;
* 201-225 intervertebral discs numbered from the bottom, each named by the vertebra above it: 201 is L5-S1, 202
  L4-L5, ... 206 T12-L1; ``IVD label`` N of the gradings file is mask value 200 + N;
* the sacrum is not segmented.

The masks hold whole vertebrae (body and posterior elements); the segmentation network of ``imaging train-seg``
learns vertebral bodies. :func:`body_labels` keeps of each vertebra the part in front of the spinal canal's
anterior wall, row by row along the spine, and returns a positional label map (1..N cranial to caudal) with the
bodies' names. Without a sacrum mask SPIDER's S1 is unknown: its cases train the lumbar channel and are left
out of the S1 channel's loss (``Pair.s1_known`` False), which learns S1 from cases that show it (the default
preset's synthetic slices). Transitional anatomy (a sixth lumbar or a sacralised fifth
vertebra) is numbered by the data set from the lowest segmented vertebra all the same; the names given here
assume five lumbar vertebrae.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import Errors, ImagingError

__all__ = ["CANAL", "SEQUENCES", "GRADING_COLUMNS", "is_layout", "series", "vertebra_name", "disc_level",
           "body_labels", "levels_table"]

logger = logging.getLogger(__name__)

CANAL = 100
PARTIAL_OFFSET = 100  # 101-125: vertebra k only partly in the field of view
DISC_OFFSET = 200     # 201-225: the disc below vertebra k
MAX_STRUCTURES = 25
#: The T2-weighted sequences the segmentation network is trained on (the T1 series are left out).
SEQUENCES = ("t2", "t2_SPACE")
_NAMES = ("L5", "L4", "L3", "L2", "L1", *(f"T{n}" for n in range(12, 0, -1)))
#: radiological_gradings.csv column -> levels-table column.
GRADING_COLUMNS = {"Modic": "modic", "UP endplate": "upper_endplate", "LOW endplate": "lower_endplate",
                   "Spondylolisthesis": "spondylolisthesis", "Disc herniation": "disc_herniation",
                   "Disc narrowing": "disc_narrowing", "Disc bulging": "disc_bulging",
                   "Pfirrman grade": "pfirrmann"}


def vertebra_name(k: int) -> str:
    """The name of SPIDER vertebra ``k`` (1 = L5, 2 = L4, ... 6 = T12, ... 17 = T1), "" beyond."""
    return _NAMES[k - 1] if 1 <= k <= len(_NAMES) else ""


def disc_level(k: int) -> str:
    """The level of SPIDER disc ``200 + k`` (or ``IVD label`` k): the vertebra above it and the one below
    (1 -> L5-S1, 2 -> L4-L5, ... 6 -> T12-L1), "" where unnamed."""
    upper, lower = vertebra_name(k), ("S1" if k == 1 else vertebra_name(k - 1))
    return f"{upper}-{lower}" if upper and lower else ""


def is_layout(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a SPIDER download folder (``images/`` and ``masks/`` holding ``.mha`` files)."""
    folder = Path(folder)
    return (folder / "images").is_dir() and (folder / "masks").is_dir() and any((folder / "masks").glob("*.mha"))


def series(folder: str | os.PathLike, sequences: tuple[str, ...] = SEQUENCES) -> list[tuple[str, Path, Path]]:
    """``(name, image, mask)`` of every series of ``sequences`` with both files, sorted by patient.

    Raises:
        ImagingError: I043 when an image of those sequences has no mask.
    """
    folder = Path(folder)
    out = []
    for image in sorted((folder / "images").glob("*.mha")):
        patient, _, sequence = image.stem.partition("_")
        if sequence not in sequences:
            continue
        mask = folder / "masks" / image.name
        if not mask.is_file():
            raise ImagingError(Errors.I043.format(path=folder, problem=f"image {image.name} has no masks/{image.name}"))
        out.append((image.stem, image, mask))
    return sorted(out, key=lambda it: (int(it[0].split("_")[0]) if it[0].split("_")[0].isdigit() else 1 << 30, it[0]))


def body_labels(mask: np.ndarray, ap_axis: int = 1, si_axis: int = 0) -> tuple[np.ndarray, list[str]]:
    """Vertebral bodies of a SPIDER mask as a positional label map (1..N cranial to caudal, 0 elsewhere) and their
    names (:func:`vertebra_name`), in that order.

    ``mask`` is 3-D with the anterior-posterior index axis ``ap_axis`` growing toward posterior and the
    superior-inferior axis ``si_axis`` (the ``imaging.segment`` layout ``(SI, AP, LR)`` by default). A body is the
    part of a vertebra (labels k and 100 + k) in front of the canal: in each row along ``si_axis``, the voxels
    anterior to the canal's most anterior voxel of that row; rows without canal take the nearest row's border. A
    mask without any canal keeps whole vertebrae (logged).
    """
    mask = np.asarray(mask)
    ap = np.moveaxis(np.indices(mask.shape, sparse=True)[ap_axis], si_axis, 0)
    vol = np.moveaxis(mask, si_axis, 0)
    canal = vol == CANAL
    rows = np.flatnonzero(canal.any(axis=tuple(range(1, vol.ndim))))
    if rows.size:
        front = np.array([np.broadcast_to(ap, vol.shape)[r][canal[r]].min() for r in rows], float)
        border = np.interp(np.arange(vol.shape[0]), rows, front)  # nearest rows' border beyond the canal's ends
        anterior = np.broadcast_to(ap, vol.shape) < border.reshape((-1,) + (1,) * (vol.ndim - 1))
    else:
        logger.warning("SPIDER mask without a spinal canal (label %d): whole vertebrae are used as bodies", CANAL)
        anterior = np.ones(vol.shape, bool)
    k = np.where((vol >= 1) & (vol <= MAX_STRUCTURES), vol,
                 np.where((vol > PARTIAL_OFFSET) & (vol <= PARTIAL_OFFSET + MAX_STRUCTURES), vol - PARTIAL_OFFSET, 0))
    k = np.where(anterior, k, 0)
    present = sorted((int(v) for v in np.unique(k) if v > 0), reverse=True)  # highest number = most cranial
    lab = np.zeros(vol.shape, np.int32)
    for i, v in enumerate(present, 1):
        lab[k == v] = i
    return np.moveaxis(lab, 0, si_axis), [vertebra_name(v) for v in present]


def levels_table(path: str | os.PathLike):
    """``radiological_gradings.csv`` (the file, or the download folder holding it) as a levels table: one row per
    patient and disc level T12-L1 .. L5-S1 (``report_id`` = the patient, the number in the image names),
    ``scs``/``rfs``/``lfs`` empty (SPIDER grades no stenosis), and its findings per disc (:data:`GRADING_COLUMNS`:
    Modic type 0-3, endplate defects, spondylolisthesis, herniation, narrowing and bulging 0/1, Pfirrmann grade
    1-5). Discs above T12-L1 and rows with an IVD label below 1 are left out and logged.

    Raises:
        ImagingError: I043 when the file is missing or lacks columns.
    """
    import pandas as pd

    from spinecore.schema import LEVELS, LOCATIONS

    path = Path(path)
    csv = path / "radiological_gradings.csv" if path.is_dir() else path
    try:
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise ImagingError(Errors.I043.format(path=path, problem=f"{csv.name} could not be read ({err})")) from None
    missing = [c for c in ("Patient", "IVD label", *GRADING_COLUMNS) if c not in raw.columns]
    if missing:
        raise ImagingError(Errors.I043.format(path=path, problem=f"{csv.name} lacks the column(s) {missing}"))
    ivd = pd.to_numeric(raw["IVD label"], errors="coerce").fillna(0).astype(int)
    level = ivd.map(lambda k: disc_level(k) if k >= 1 else "")
    keep = level.isin(LEVELS)
    if (~keep).any():
        logger.info("%s: %d of %d rows left out (IVD label below 1 or above T12-L1)", csv, int((~keep).sum()),
                    len(raw))
    out = pd.DataFrame({"report_id": raw["Patient"].str.strip(), "level": level, **{t: "" for t in LOCATIONS}})
    for column, name in GRADING_COLUMNS.items():
        out[name] = raw[column].str.strip()
    return out[keep].reset_index(drop=True)


def find_pairs(folder: str | os.PathLike, sequences: tuple[str, ...] = SEQUENCES) -> Optional[list]:
    """Training pairs (:class:`imaging.segment.Pair`, mask convention ``spider``) of a SPIDER folder, None when
    ``folder`` is no SPIDER folder."""
    from ..segment.data import Pair

    if not is_layout(folder):
        return None
    return [Pair(name, image, vertebrae=mask, convention="spider") for name, image, mask in series(folder, sequences)]
