"""The RSNA 2024 Lumbar Spine Degenerative Classification data set in its published layout.

A download folder holds, for ``split`` ``train`` (and ``test``)::

    train_images/<study_id>/<series_id>/<instance_number>.dcm
    train_series_descriptions.csv      study_id, series_id, series_description (Sagittal T1, Sagittal T2/STIR, Axial T2)
    train.csv                          study_id + 25 columns <condition>_<level> (Normal/Mild, Moderate, Severe, empty)
    train_label_coordinates.csv        study_id, series_id, instance_number, condition, level, x, y

:func:`find_layout` recognises such a folder (or its ``*_images`` folder) and :func:`discover` turns it into
:class:`imaging.io.StudySource` studies named by their ``study_id``. The series descriptions come from the
descriptions file, never from the DICOM headers (the competition's files carry none): ``Sagittal T2/STIR`` is the
sagittal T2 series (segmentation, disc planes, sagittal volumes), ``Axial T2`` the axial series; ``Sagittal T1`` is
read but not used for the volumes. Each study carries the competition's coordinates as :class:`Landmark` rows:
``imaging extract`` compares them with the disc planes it finds (:func:`landmark_points`, manifest columns
``reference_offset_mm`` etc.).

Vocabulary shared with ``grading.rsna``: :data:`CONDITIONS` maps the condition names to the levels table's tasks
(``spinal_canal_stenosis`` -> ``scs``, ``right/left_neural_foraminal_narrowing`` -> ``rfs``/``lfs``,
``right/left_subarticular_stenosis`` -> ``rss``/``lss``) and :data:`LEVEL_TOKENS` the level suffixes
(``l1_l2`` -> ``L1-L2`` ... ``l5_s1`` -> ``L5-S1``; RSNA grades no T12-L1).
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pydicom

from ..errors import Errors, ImagingError

__all__ = ["CONDITIONS", "LEVEL_TOKENS", "SERIES_ROLES", "RsnaLayout", "Landmark", "find_layout", "discover",
           "landmark_points", "read_csv_rows"]

logger = logging.getLogger(__name__)

#: RSNA condition (train.csv column prefix; the coordinates' "Spinal Canal Stenosis" lower-cased) -> task.
CONDITIONS: dict[str, str] = {
    "spinal_canal_stenosis": "scs",
    "right_neural_foraminal_narrowing": "rfs",
    "left_neural_foraminal_narrowing": "lfs",
    "right_subarticular_stenosis": "rss",
    "left_subarticular_stenosis": "lss",
}
#: RSNA level suffix (train.csv) -> level; the coordinates file writes the same levels as "L1/L2".
LEVEL_TOKENS: dict[str, str] = {"l1_l2": "L1-L2", "l2_l3": "L2-L3", "l3_l4": "L3-L4", "l4_l5": "L4-L5",
                                "l5_s1": "L5-S1"}
#: Series description of the descriptions file -> its role (the imaging.io series roles).
SERIES_ROLES: dict[str, str] = {"sagittal t2/stir": "sagittal_t2", "axial t2": "axial_t2",
                                "sagittal t1": "sagittal_t1"}
DESCRIPTION_COLUMNS = ("study_id", "series_id", "series_description")
COORDINATE_COLUMNS = ("study_id", "series_id", "instance_number", "condition", "level", "x", "y")


@dataclass(frozen=True)
class RsnaLayout:
    """A download folder: ``root`` holding ``<split>_images/`` and ``<split>_series_descriptions.csv``; ``study``
    restricts it to one study folder ("" for all)."""

    root: Path
    split: str
    study: str = ""

    @property
    def images(self) -> Path:
        return self.root / f"{self.split}_images"

    @property
    def descriptions(self) -> Path:
        return self.root / f"{self.split}_series_descriptions.csv"

    @property
    def coordinates(self) -> Path:
        return self.root / f"{self.split}_label_coordinates.csv"


@dataclass(frozen=True)
class Landmark:
    """One row of the coordinates file: where a radiologist marked a condition at a level (pixel x = column,
    y = row of the instance ``path``)."""

    task: str
    level: str
    path: Path
    x: float
    y: float


def find_layout(path: str | os.PathLike) -> Optional[RsnaLayout]:
    """The RSNA layout ``path`` is part of (the download folder, its ``train_images`` / ``test_images`` folder, or
    one study folder in it), else None."""
    path = Path(path)
    if not path.is_dir():
        return None
    for split in ("train", "test"):
        images = f"{split}_images"
        for layout, here in ((RsnaLayout(path, split), True),
                             (RsnaLayout(path.parent, split), path.name == images),
                             (RsnaLayout(path.parent.parent, split, path.name), path.parent.name == images)):
            if here and layout.descriptions.is_file() and layout.images.is_dir():
                return layout
    return None


def read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of an RSNA CSV file (every cell a stripped string), checked for ``columns`` (I042)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ImagingError(Errors.I042.format(path=path, problem=err, columns=list(columns))) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImagingError(Errors.I042.format(path=path, problem=f"it lacks the column(s) {missing} (it has "
                                              f"{list(header)})", columns=list(columns)))
    return rows


def _normal_level(text: str) -> str:
    """'L4/L5', 'l4_l5' or 'L4-L5' -> 'L4-L5'."""
    return re.sub(r"[/_\s]+", "-", text.strip()).upper()


def _landmarks(layout: RsnaLayout) -> dict[str, list[Landmark]]:
    """The coordinates file as landmarks per study ({} when the file is absent, as for the test split)."""
    if not layout.coordinates.is_file():
        return {}
    out: dict[str, list[Landmark]] = {}
    for n, row in enumerate(read_csv_rows(layout.coordinates, COORDINATE_COLUMNS), 2):
        task = CONDITIONS.get(row["condition"].lower().replace(" ", "_"))
        level = _normal_level(row["level"])
        try:
            x, y = float(row["x"]), float(row["y"])
        except ValueError:
            task = None
        if task is None or level not in LEVEL_TOKENS.values():
            raise ImagingError(Errors.I042.format(path=layout.coordinates, problem=(
                f"line {n} has condition {row['condition']!r}, level {row['level']!r}, x {row['x']!r}, "
                f"y {row['y']!r}"), columns=list(COORDINATE_COLUMNS)))
        path = layout.images / row["study_id"] / row["series_id"] / f"{row['instance_number']}.dcm"
        out.setdefault(row["study_id"], []).append(Landmark(task, level, path, x, y))
    return out


def discover(layout: RsnaLayout) -> list:
    """The studies of an RSNA download folder as :class:`imaging.io.StudySource` (``study_id`` = the RSNA study
    id), each with its series descriptions from the descriptions file (by SeriesInstanceUID) and its landmarks.
    A study folder without a row in the descriptions file is skipped with a warning; a described series missing
    on disk is noted (the study is read without it)."""
    from ..io import StudySource

    described: dict[str, dict[str, str]] = {}
    for row in read_csv_rows(layout.descriptions, DESCRIPTION_COLUMNS):
        described.setdefault(row["study_id"], {})[row["series_id"]] = row["series_description"]
    landmarks = _landmarks(layout)
    studies = []
    folders = [layout.images / layout.study] if layout.study else sorted(layout.images.iterdir())
    for folder in (p for p in folders if p.is_dir() and not p.name.startswith(".")):
        series = described.get(folder.name)
        if series is None:
            logger.warning("%s: study %s is not in %s; skipped", layout.images, folder.name, layout.descriptions.name)
            continue
        files: list[Path] = []
        descriptions: dict[str, str] = {}
        study_uid = ""
        for series_id, description in sorted(series.items()):
            dcm = sorted((folder / series_id).glob("*.dcm"), key=_instance_order)
            if not dcm:
                logger.warning("%s: series %s (%s) of the descriptions file has no DICOM file", folder, series_id,
                               description)
                continue
            ds = pydicom.dcmread(dcm[0], stop_before_pixels=True,
                                 specific_tags=["StudyInstanceUID", "SeriesInstanceUID"])
            descriptions[str(ds.get("SeriesInstanceUID", "") or series_id)] = description
            study_uid = study_uid or str(ds.get("StudyInstanceUID", "") or "")
            files.extend(dcm)
        if files:
            studies.append(StudySource(folder.name, folder, tuple(files), study_uid, descriptions,
                                       tuple(landmarks.get(folder.name, ()))))
    return studies


def _instance_order(path: Path) -> tuple[int, str]:
    return (int(path.stem), path.name) if path.stem.isdigit() else (1 << 30, path.name)


def landmark_points(landmarks: tuple[Landmark, ...] | list[Landmark]) -> list[tuple[str, str, np.ndarray]]:
    """``(task, level, patient LPS mm)`` of each landmark, from the geometry of the instance it was marked on
    (ImagePositionPatient + x * column spacing * row cosines + y * row spacing * column cosines). A landmark whose
    instance is missing or lacks geometry is left out with a warning."""
    out = []
    for lm in landmarks:
        try:
            ds = pydicom.dcmread(lm.path, stop_before_pixels=True,
                                 specific_tags=["ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"])
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            iop = np.array([float(v) for v in ds.ImageOrientationPatient])
            row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
        except (OSError, AttributeError, ValueError, TypeError, pydicom.errors.InvalidDicomError) as err:
            logger.warning("RSNA landmark %s %s on %s left out: %s", lm.task, lm.level, lm.path, err)
            continue
        out.append((lm.task, lm.level, ipp + lm.x * col_spacing * iop[:3] + lm.y * row_spacing * iop[3:]))
    return out


def check_planes(planes, points: list[tuple[str, str, np.ndarray]]) -> dict[str, dict[str, object]]:
    """Compare the disc planes found (``imaging.extract.DiscPlane``: level, centre, unit normal) with the
    landmarks of each level (:func:`landmark_points`).

    Per level with landmarks: ``reference_offset_mm``, the mean signed distance of its landmarks from the level's
    disc plane along the normal (positive: superior; the competition marks each condition at the disc's height, so
    about 0 when the plane lies where the radiologist graded the level, and about one vertebral height, 30-40 mm,
    when the levels are named one off); ``reference_points``, their number; ``reference_level``, the level whose
    plane lies nearest their mean point (the level's own name when the naming agrees). Levels without a plane get
    the number of points only.
    """
    by_level: dict[str, list[np.ndarray]] = {}
    for _, level, xyz in points:
        by_level.setdefault(level, []).append(xyz)
    out: dict[str, dict[str, object]] = {}
    for level, pts in by_level.items():
        row: dict[str, object] = {"reference_points": len(pts)}
        mean = np.mean(pts, axis=0)
        offsets = {p.level: float((mean - p.centre) @ p.normal) for p in planes}
        if level in offsets:
            row["reference_offset_mm"] = round(offsets[level], 2)
        if offsets:
            row["reference_level"] = min(offsets, key=lambda lv: abs(offsets[lv]))
        out[level] = row
    return out
