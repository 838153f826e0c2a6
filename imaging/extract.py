"""Disc localisation and per-disc image volumes (section 3.1 of DeepSPINE, second half).

For every study: vertebral bodies (from the segmentation network, or given) -> a polynomial spine curve through
their centroids -> one point and one plane per intervertebral disc -> an axial and a sagittal image volume
resampled in the disc's own frame -> ``.npy`` arrays, a QC picture and one manifest row per disc level.

Geometry (patient LPS, mm). A body is its centroid and, where known, its four mid-sagittal corners
(anterior-superior, posterior-superior, posterior-inferior, anterior-inferior). The spine curve is a polynomial
of degree ``curve_degree`` in each coordinate, parameterised by cumulative chord length between consecutive
centroids. Two disc methods:

* ``paper``: the disc point is the midpoint of the two centroids, the disc normal the curve tangent there.
* ``endplates`` (default): the disc point is the midpoint of the two facing endplate centres, the normal is
  perpendicular to the mean of the two facing endplates (their anterior-posterior directions). The endplates of a
  body are the two sides of its corner box most perpendicular to the spine curve there (a box fitted on the image
  axes swaps endplates and walls on a sacrum tilted beyond 45 degrees). On synthetic studies, where S1 is much
  larger than L5, this is closer to the true disc than the paper's midpoint (measured in the README). Every
  level is checked against the line through its two centroids and the curve: a facing endplate tilted more than
  ``max_endplate_tilt_deg`` from perpendicular to that line, a normal more than ``max_plane_deviation_deg`` from
  it or from the curve tangent, or a disc point more than ``max_centre_offset`` x the centroid gap from their
  midpoint is implausible (a box fitted on a trapezoidal sacrum, a wedge fracture, a bad segmentation); that level,
  and levels whose bodies have no corners, use the paper's method. ``method`` records which was used and
  ``method_note`` why the endplates were not.

Disc frame: ``normal`` points superior along the spine; ``lr`` is the patient-left axis made perpendicular to it;
``ap = normal x lr`` points posterior. The axial volume's index axes are (lr, ap, normal): columns toward patient
left, rows toward posterior, slices inferior to superior (the radiological axial view). The sagittal volume's are
(ap, -normal, -lr): columns toward posterior, rows toward inferior, slices from patient left to right.

Arrays are stored as numpy ``(slices, rows, columns)``: axial ``(8, 360, 360)``, sagittal ``(25, 160, 320)`` at
the paper's sizes, float16, with the volume's mean subtracted (the mean is in the manifest: raw = array + mean).
Resampling is SimpleITK linear interpolation with correct physical geometry; a point outside the source
series' field of view (more than half a voxel beyond its outermost voxel centres, so a slice counts as its
slab) gets no value: those voxels are filled with the mean of the covered ones (0 after mean subtraction), and
``axial_coverage`` / ``sagittal_coverage`` record the covered fraction.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
import SimpleITK as sitk
from threadpoolctl import threadpool_limits

from spinecore.config import Config
from spinecore.io import atomic_path, write_text_atomic
from spinecore.schema import LEVELS, MANIFEST_COLUMNS, STATUS_FAILED, STATUS_FLAGGED, STATUS_OK

from .datasets import rsna
from .errors import Errors, ImagingError
from .io import IMAGE_SUFFIXES, Discovery, Study, StudySource, Volume, check_output, discover_studies, read_study

__all__ = ["ExtractConfig", "Body", "SpineCurve", "DiscPlane", "fit_curve", "disc_planes", "bodies_from_truth",
           "bodies_from_labels", "resample", "extract_study", "extract", "ExtractSummary", "Naming",
           "DEIDENTIFY_KEY_ENV", "environment_key"]

logger = logging.getLogger(__name__)

VERTEBRAE = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
assert LEVELS == tuple(f"{a}-{b}" for a, b in zip(VERTEBRAE, VERTEBRAE[1:]))
LEFT = np.array([1.0, 0.0, 0.0])  # patient left in LPS
POSTERIOR = np.array([0.0, 1.0, 0.0])


# --------------------------------------------------------------------------------------------------- configuration
@dataclass
class ExtractConfig(Config):
    """How disc volumes are cut. Sizes are (rows, columns, slices); extents the same axes in mm (the paper's)."""

    axial_size: tuple[int, int, int] = (360, 360, 8)
    axial_extent_mm: tuple[float, float, float] = (90.0, 90.0, 16.0)
    sagittal_size: tuple[int, int, int] = (160, 320, 25)
    sagittal_extent_mm: tuple[float, float, float] = (40.0, 80.0, 50.0)
    curve_degree: int = 3
    disc_method: str = "endplates"      # "endplates" or "paper" (see the module docstring)
    max_endplate_tilt_deg: float = 30.0  # endplates: a facing endplate tilted more is implausible (paper used)
    max_plane_deviation_deg: float = 15.0  # endplates: a normal further from the centroid line / curve: paper
    max_centre_offset: float = 0.25     # endplates: disc point further from the centroid midpoint (x their gap)
    min_coverage: float = 0.6           # a volume with less of itself inside the source series is flagged
    min_axial_coverage: float = 0.5     # below this no axial stack counts as covering the disc: use the sagittal
    nifti: bool = False                 # also write <level>_axial.nii.gz / _sagittal.nii.gz (raw intensities)

    def validate(self) -> None:
        checks = [
            ("axial_size", len(self.axial_size) == 3 and min(self.axial_size) >= 1, "3 sizes >= 1"),
            ("sagittal_size", len(self.sagittal_size) == 3 and min(self.sagittal_size) >= 1, "3 sizes >= 1"),
            ("axial_extent_mm", len(self.axial_extent_mm) == 3 and min(self.axial_extent_mm) > 0, "3 extents > 0"),
            ("sagittal_extent_mm", len(self.sagittal_extent_mm) == 3 and min(self.sagittal_extent_mm) > 0,
             "3 extents > 0"),
            ("curve_degree", 1 <= self.curve_degree <= 6, "an integer from 1 to 6"),
            ("disc_method", self.disc_method in ("endplates", "paper"), "'endplates' or 'paper'"),
            ("max_endplate_tilt_deg", 0.0 < self.max_endplate_tilt_deg <= 90.0, "degrees in (0, 90]"),
            ("max_plane_deviation_deg", 0.0 < self.max_plane_deviation_deg <= 90.0, "degrees in (0, 90]"),
            ("max_centre_offset", 0.0 < self.max_centre_offset <= 1.0, "a fraction in (0, 1]"),
            ("min_coverage", 0.0 <= self.min_coverage <= 1.0, "a fraction in [0, 1]"),
            ("min_axial_coverage", 0.0 <= self.min_axial_coverage <= 1.0, "a fraction in [0, 1]"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ImagingError(Errors.I030.format(name=name, value=getattr(self, name), expected=expected))


# -------------------------------------------------------------------------------------------------------- geometry
@dataclass
class Body:
    """A vertebral body in patient mm: its centroid and (optional) mid-sagittal corners, in the order
    anterior-superior, posterior-superior, posterior-inferior, anterior-inferior."""

    name: str
    centroid: np.ndarray
    corners: Optional[np.ndarray] = None  # (4, 3)

    def endplates(self, axis: np.ndarray) -> Optional[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray,
                                                                                                np.ndarray]]]:
        """``((centre, direction), (centre, direction))`` of the superior and inferior endplates, or None without
        corners. ``direction`` is the unit anterior -> posterior vector along the endplate.

        The endplates are the pair of opposite sides of the corner quadrilateral most perpendicular to ``axis``
        (the spine's superior direction at the body), whatever the corners' own order says: a box fitted on the
        image axes swaps its endplates and walls on a body tilted more than 45 degrees (a steep sacrum).
        """
        if self.corners is None:
            return None
        axis = axis / np.linalg.norm(axis)
        sides = [(self.corners[i], self.corners[(i + 1) % 4]) for i in range(4)]

        def tilt(side: tuple[np.ndarray, np.ndarray]) -> float:
            d = side[1] - side[0]
            return abs(float(d @ axis)) / max(float(np.linalg.norm(d)), 1e-9)

        pair = min(((sides[0], sides[2]), (sides[1], sides[3])), key=lambda p: tilt(p[0]) + tilt(p[1]))
        posterior = POSTERIOR - (POSTERIOR @ axis) * axis
        out = []
        for a, b in pair:
            d = (b - a) / np.linalg.norm(b - a)
            out.append(((a + b) / 2.0, d if d @ posterior >= 0 else -d))
        superior, inferior = sorted(out, key=lambda e: -float(e[0] @ axis))
        return superior, inferior


@dataclass
class SpineCurve:
    """``x(t), y(t), z(t)`` polynomials (numpy ``polyfit`` coefficients) of chord length ``t`` (mm) from the most
    cranial centroid; ``t_knots`` are the centroids' parameters."""

    coefficients: np.ndarray  # (3, degree + 1)
    t_knots: np.ndarray

    def point(self, t) -> np.ndarray:
        """Curve points ``(..., 3)`` at parameters ``t``."""
        t = np.asarray(t, dtype=float)
        return np.stack([np.polyval(c, t) for c in self.coefficients], axis=-1)

    def tangent(self, t: float) -> np.ndarray:
        """Unit tangent at ``t``, pointing superior (toward smaller t: the curve runs cranial -> caudal)."""
        d = -np.array([np.polyval(np.polyder(c), t) for c in self.coefficients])
        return d / np.linalg.norm(d)

    def project(self, p: np.ndarray, margin: float = 20.0) -> float:
        """Parameter of the curve point nearest ``p`` (dense search, 2001 samples)."""
        ts = np.linspace(self.t_knots[0] - margin, self.t_knots[-1] + margin, 2001)
        return float(ts[np.argmin(np.linalg.norm(self.point(ts) - p, axis=1))])


def fit_curve(centroids: np.ndarray, degree: int = 3) -> SpineCurve:
    """Least-squares polynomial curve through centroids ``(n, 3)`` ordered cranial -> caudal; the degree drops to
    ``n - 1`` when there are too few points."""
    centroids = np.asarray(centroids, dtype=float)
    t = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(centroids, axis=0), axis=1))]
    deg = max(1, min(degree, len(centroids) - 1))
    return SpineCurve(np.stack([np.polyfit(t, centroids[:, a], deg) for a in range(3)]), t)


@dataclass
class DiscPlane:
    """A disc's centre and frame (unit vectors; ``normal`` superior, ``lr`` patient left, ``ap`` posterior)."""

    level: str
    centre: np.ndarray
    normal: np.ndarray
    method: str     # "endplates" or "paper"
    note: str = ""  # why the endplates were not used, when they were asked for

    @property
    def lr(self) -> np.ndarray:
        v = LEFT - (LEFT @ self.normal) * self.normal
        return v / np.linalg.norm(v)

    @property
    def ap(self) -> np.ndarray:
        return np.cross(self.normal, self.lr)

    def axial_direction(self) -> np.ndarray:
        """Columns: the axial volume's index axes (lr, ap, normal)."""
        return np.stack([self.lr, self.ap, self.normal], axis=1)

    def sagittal_direction(self) -> np.ndarray:
        """Columns: the sagittal volume's index axes (ap, -normal, -lr)."""
        return np.stack([self.ap, -self.normal, -self.lr], axis=1)


def disc_planes(bodies: Sequence[Body], cfg: ExtractConfig) -> tuple[list[DiscPlane], Optional[SpineCurve],
                                                                      dict[str, str]]:
    """Disc planes for the levels T12-L1 .. L5-S1 whose two bodies are present.

    Returns ``(planes, curve, failed)`` where ``failed`` maps each level without a plane to the reason.
    """
    by_name = {b.name: b for b in bodies if b.name in VERTEBRAE}
    failed: dict[str, str] = {}
    ordered = [by_name[v] for v in VERTEBRAE if v in by_name]
    if len(ordered) < 2:
        found = ", ".join(sorted(by_name)) or "none"
        return [], None, {lv: f"fewer than 2 named vertebral bodies (found: {found})" for lv in LEVELS}
    curve = fit_curve(np.stack([b.centroid for b in ordered]), cfg.curve_degree)
    knot = {b.name: t for b, t in zip(ordered, curve.t_knots)}
    planes = []
    for lv in LEVELS:
        upper, lower = (by_name.get(v) for v in lv.split("-"))
        if upper is None or lower is None:
            missing = " and ".join(v for v in lv.split("-") if v not in by_name)
            failed[lv] = f"vertebral body {missing} not found"
            continue
        plane, note = None, ""
        if cfg.disc_method == "endplates":
            plane, note = _endplate_plane(lv, upper, lower, curve, knot, cfg)
        if plane is None:  # the paper's: the centroids' midpoint, perpendicular to the curve there
            plane = DiscPlane(lv, (upper.centroid + lower.centroid) / 2.0,
                              curve.tangent((knot[upper.name] + knot[lower.name]) / 2), "paper", note)
        if plane.normal @ (upper.centroid - lower.centroid) < 0:
            plane.normal = -plane.normal
        planes.append(plane)
    return planes, curve, failed


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two lines (0-90 degrees: the sign of either vector does not count)."""
    c = abs(float(a @ b)) / (np.linalg.norm(a) * np.linalg.norm(b))
    return math.degrees(math.acos(min(1.0, c)))


def _endplate_plane(level: str, upper: Body, lower: Body, curve: SpineCurve, knot: dict[str, float],
                    cfg: ExtractConfig) -> tuple[Optional[DiscPlane], str]:
    """The plane between the two facing endplates, or ``(None, why)`` when they are missing or implausible.

    Checks, against the line through the two centroids (``axis``) and the spine curve: each facing endplate
    tilted at most ``max_endplate_tilt_deg`` from perpendicular to ``axis``; the plane's normal within
    ``max_plane_deviation_deg`` of ``axis`` and of the curve tangent at the disc point; the disc point at most
    ``max_centre_offset`` x the centroid distance from the centroids' midpoint.
    """
    axis = upper.centroid - lower.centroid
    gap = float(np.linalg.norm(axis))
    axis = axis / gap
    ends_upper, ends_lower = upper.endplates(curve.tangent(knot[upper.name])), \
        lower.endplates(curve.tangent(knot[lower.name]))
    if ends_upper is None or ends_lower is None:
        return None, "endplates unknown (no body corners)"
    (c1, d1), (c2, d2) = ends_upper[1], ends_lower[0]
    for name, d in ((f"{upper.name} inferior", d1), (f"{lower.name} superior", d2)):
        tilt = 90.0 - _angle_deg(d, axis)
        if tilt > cfg.max_endplate_tilt_deg:
            return None, (f"endplates rejected: the {name} endplate is tilted {tilt:.0f} deg from perpendicular to "
                          f"the line of centroids (max {cfg.max_endplate_tilt_deg:g})")
    centre = (c1 + c2) / 2.0
    offset = float(np.linalg.norm(centre - (upper.centroid + lower.centroid) / 2.0))
    if offset > cfg.max_centre_offset * gap:
        return None, (f"endplates rejected: their midpoint is {offset:.1f} mm from the centroids' midpoint "
                      f"(max {cfg.max_centre_offset:g} x {gap:.1f} mm)")
    along = d1 + d2  # mean anterior -> posterior endplate direction
    tangent = curve.tangent(curve.project(centre))
    side = np.cross(along, tangent)  # perpendicular to the mid-sagittal plane of the two endplates
    normal = np.cross(side, along)
    normal /= np.linalg.norm(normal)
    for name, ref in (("line of centroids", axis), ("spine curve", tangent)):
        dev = _angle_deg(normal, ref)
        if dev > cfg.max_plane_deviation_deg:
            return None, (f"endplates rejected: their plane's normal is {dev:.0f} deg from the {name} "
                          f"(max {cfg.max_plane_deviation_deg:g})")
    return DiscPlane(level, centre, normal, "endplates"), ""


def bodies_from_truth(doc: dict[str, Any]) -> list[Body]:
    """Bodies from a ground-truth JSON of ``imaging synth`` (``vertebrae: {name: {centroid, corners}}``) or a
    ``vertebrae.json`` of ``imaging segment`` (``vertebrae: [{name, centroid_mm, corners_mm}]``)."""
    verts = doc["vertebrae"]
    items = verts.items() if isinstance(verts, dict) else ((v.get("name"), v) for v in verts)
    bodies = []
    for name, v in items:
        centroid = v.get("centroid", v.get("centroid_mm"))
        corners = v.get("corners", v.get("corners_mm"))
        if not name or centroid is None:
            continue
        bodies.append(Body(str(name), np.asarray(centroid, float),
                           None if corners is None else np.asarray(corners, float).reshape(4, 3)))
    return bodies


def bodies_from_labels(verts: Iterable[Any]) -> list[Body]:
    """Bodies from :class:`imaging.segment.Vertebra` records (named ones only)."""
    return [Body(v.name, np.asarray(v.centroid_mm, float),
                 None if v.corners_mm is None else np.asarray(v.corners_mm, float))
            for v in verts if v.name and v.centroid_mm is not None]


# ------------------------------------------------------------------------------------------------------ resampling
def resample(source: sitk.Image, centre: np.ndarray, direction: np.ndarray, size: Sequence[int],
             extent_mm: Sequence[float]) -> tuple[np.ndarray, float]:
    """Resample ``source`` on a grid centred at ``centre`` with index axes ``direction`` (columns).

    Args:
        size, extent_mm: (rows, columns, slices) and their extents in mm.

    Returns:
        ``(array (slices, rows, columns) float32, coverage)``: voxels outside the source's field of view are
        NaN, and ``coverage`` is the fraction that is not.
    """
    rows, cols, slices = (int(s) for s in size)
    spacing = np.array([extent_mm[1] / cols, extent_mm[0] / rows, extent_mm[2] / slices])  # (i, j, k)
    n = np.array([cols, rows, slices])
    origin = np.asarray(centre, float) - direction @ ((n - 1) / 2.0 * spacing)
    out = sitk.Resample(source, [int(x) for x in n], sitk.Transform(), sitk.sitkLinear, origin.tolist(),
                        spacing.tolist(), direction.ravel().tolist(), float("nan"), sitk.sitkFloat32)
    arr = sitk.GetArrayFromImage(out)
    return arr, float(np.isfinite(arr).mean())


def _grid_coverage(vol: Volume, centre: np.ndarray, direction: np.ndarray, size: Sequence[int],
                   extent_mm: Sequence[float], samples: int = 24) -> float:
    """Fraction of the output grid (up to ``samples`` voxels per axis) inside ``vol``, as :func:`resample` counts."""
    rows, cols, slices = size
    axes = [(np.unique(np.linspace(0, s - 1, min(s, samples)).round()) - (s - 1) / 2.0) * e / s
            for s, e in ((cols, extent_mm[1]), (rows, extent_mm[0]), (slices, extent_mm[2]))]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    ijk = vol.patient_to_index(centre + g @ direction.T)
    n = np.array(vol.shape[::-1])
    return float(np.all((ijk >= -0.5) & (ijk <= n - 0.5), axis=1).mean())


# ------------------------------------------------------------------------------------------------------ one study
@dataclass
class DiscVolumes:
    """One level's outcome (a manifest row before paths are made relative)."""

    row: dict[str, Any]
    axial: Optional[np.ndarray] = None  # (slices, rows, columns), mean subtracted, float32
    sagittal: Optional[np.ndarray] = None


def _finish(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """Subtract the mean of the covered voxels and set the uncovered (NaN) ones to 0, in place: ``(array, mean)``."""
    missing = np.isnan(arr)
    mean = float(np.nanmean(arr)) if not missing.all() else 0.0
    arr -= mean
    arr[missing] = 0.0
    return arr, mean


def _empty_row(study_id: str, patient_id: str, level: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: "" for c in MANIFEST_COLUMNS}
    row.update(study_id=study_id, patient_id=patient_id, level=level)
    return row


def extract_discs(study: Study, planes: Sequence[DiscPlane], failed: dict[str, str], cfg: ExtractConfig,
                  study_id: str, patient_id: str = "") -> list[DiscVolumes]:
    """Resample the axial and sagittal volume of every disc plane; one :class:`DiscVolumes` per level, in order."""
    sag_img = study.sagittal_t2.to_sitk()
    ax_imgs: dict[int, sitk.Image] = {}
    sag_uid = next((s.uid for s in study.series if s.role == "sagittal_t2"), "")
    ax_uid = next((s.uid for s in study.series if s.role == "axial_t2"), "")
    by_level = {p.level: p for p in planes}
    out = []
    for lv in LEVELS:
        row = _empty_row(study_id, patient_id, lv)
        plane = by_level.get(lv)
        if plane is None:
            row.update(status=STATUS_FAILED, reason=failed.get(lv, "no disc plane"))
            out.append(DiscVolumes(row))
            continue
        row.update(centre_x=plane.centre[0], centre_y=plane.centre[1], centre_z=plane.centre[2],
                   normal_x=plane.normal[0], normal_y=plane.normal[1], normal_z=plane.normal[2], method=plane.method,
                   method_note=plane.note, sagittal_series=sag_uid)
        flags = []
        ax_dir = plane.axial_direction()
        cover = [_grid_coverage(v, plane.centre, ax_dir, cfg.axial_size, cfg.axial_extent_mm) for v in study.axial_stacks]
        best = int(np.argmax(cover)) if cover else -1
        if best >= 0 and cover[best] >= cfg.min_axial_coverage:
            src = ax_imgs.setdefault(best, study.axial_stacks[best].to_sitk())
            row.update(axial_source="axial_t2", axial_series=ax_uid)
        else:
            src = sag_img
            row.update(axial_source="sagittal_t2", axial_series=sag_uid)
            flags.append("no axial series" if best < 0 else
                         f"no axial stack covers the disc (best {cover[best]:.0%}); axial volume resampled from the "
                         "sagittal series")
        axial, ax_cov = resample(src, plane.centre, ax_dir, cfg.axial_size, cfg.axial_extent_mm)
        sagittal, sag_cov = resample(sag_img, plane.centre, plane.sagittal_direction(), cfg.sagittal_size,
                                     cfg.sagittal_extent_mm)
        for name, cov in (("axial", ax_cov), ("sagittal", sag_cov)):
            if cov < cfg.min_coverage:
                flags.append(f"only {cov:.0%} of the {name} volume lies inside its source series")
        axial, ax_mean = _finish(axial)
        sagittal, sag_mean = _finish(sagittal)
        row.update(status=STATUS_FLAGGED if flags else STATUS_OK, reason="; ".join(flags),
                   axial_coverage=round(ax_cov, 4), sagittal_coverage=round(sag_cov, 4),
                   axial_mean=ax_mean, sagittal_mean=sag_mean)
        out.append(DiscVolumes(row, axial, sagittal))
    return out


# ------------------------------------------------------------------------------------------------- writing a study
def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr.astype(np.float16))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _save_nifti(path: Path, arr: np.ndarray, mean: float, plane: DiscPlane, direction: np.ndarray,
                size: Sequence[int], extent_mm: Sequence[float]) -> None:
    """A raw-intensity NIfTI with the volume's oblique geometry (opens in 3D Slicer / ITK-SNAP in place)."""
    rows, cols, slices = size
    spacing = np.array([extent_mm[1] / cols, extent_mm[0] / rows, extent_mm[2] / slices])
    img = sitk.GetImageFromArray((arr + mean).astype(np.float32))
    img.SetSpacing(spacing.tolist())
    img.SetDirection(direction.ravel().tolist())
    img.SetOrigin((plane.centre - direction @ ((np.array([cols, rows, slices]) - 1) / 2.0 * spacing)).tolist())
    with atomic_path(path, suffix=".nii.gz") as tmp:
        sitk.WriteImage(img, str(tmp))


@dataclass
class QCView:
    """What the QC picture draws on the mid-sagittal slice: the canonical sagittal image and its slice index."""

    image: sitk.Image  # canonical layout (imaging.segment.CANONICAL): array (SI, AP, LR)
    slice_index: int
    labels: Optional[np.ndarray] = None  # segmentation label slice (SI, AP), when the network ran


def save_qc(path: Path, view: QCView, bodies: Sequence[Body], planes: Sequence[DiscPlane],
            curve: Optional[SpineCurve], discs: Sequence[DiscVolumes], title: str) -> None:
    """The seed's Figure 5 (d) for one study: the mid-sagittal slice with the spine curve, the vertebral centroids,
    the disc points and planes; beside it the axial and sagittal mid-slices of every level's volumes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = sitk.GetArrayFromImage(view.image)[:, :, view.slice_index]

    def to_px(p: np.ndarray) -> tuple[float, float]:  # patient mm -> (col, row) on the slice
        i, j, k = view.image.TransformPhysicalPointToContinuousIndex([float(x) for x in p])
        return j, k

    fig = plt.figure(figsize=(15, 6))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 2.6], height_ratios=[2.25, 1], left=0.01, right=0.99,
                            bottom=0.02, top=0.93, wspace=0.03, hspace=0.15)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(arr, cmap="gray")
    if view.labels is not None and view.labels.any():
        ax.imshow(np.ma.masked_equal(view.labels, 0), cmap="autumn", alpha=0.25, interpolation="nearest")
    if curve is not None:
        ts = np.linspace(curve.t_knots[0] - 15, curve.t_knots[-1] + 15, 200)
        xy = np.array([to_px(p) for p in curve.point(ts)])
        ax.plot(xy[:, 0], xy[:, 1], "-", color="yellow", lw=1.2)
    for b in bodies:
        x, y = to_px(b.centroid)
        ax.plot(x, y, "o", color="cyan", ms=4)
        ax.text(x - 4, y, b.name, color="cyan", fontsize=8, ha="right", va="center")
    for p in planes:  # orange: the endplates were implausible and the paper's plane was used
        a, b_ = to_px(p.centre - 25 * p.ap), to_px(p.centre + 25 * p.ap)
        ax.plot([a[0], b_[0]], [a[1], b_[1]], "-", color="orange" if p.note else "lime", lw=1.2)
        x, y = to_px(p.centre)
        ax.plot(x, y, "x", color="red", ms=6, mew=1.5)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    for r, name in enumerate(("axial", "sagittal")):
        tiles = [getattr(d, name) for d in discs]
        shape = next((t.shape[1:] for t in tiles if t is not None), (8, 8))
        strip = np.concatenate([_tile(t, shape) for t in tiles], axis=1)
        sub = fig.add_subplot(grid[r, 1])
        sub.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        width = strip.shape[1] / len(discs)
        for n, d in enumerate(discs):
            status = d.row["status"]
            colour = {STATUS_OK: "lime", STATUS_FLAGGED: "orange"}.get(status, "red")
            sub.text((n + 0.03) * width, 0.04 * strip.shape[0], f"{d.row['level']} {name}"
                     + ("" if status == STATUS_OK else f" ({status})"), color=colour, fontsize=8, va="top")
        sub.axis("off")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80, pil_kwargs={"compress_level": 1})
    plt.close(fig)


def _tile(vol: Optional[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The middle slice of a disc volume, at most about 128 px a side, scaled to [0, 1] by its 1st-99th
    percentiles (black when failed); ``shape`` is the full slice shape."""
    step = max(1, max(shape) // 128)
    if vol is None:
        return np.zeros((-(-shape[0] // step), -(-shape[1] // step)), np.float32)
    mid = vol[vol.shape[0] // 2, ::step, ::step].astype(np.float32)
    lo, hi = np.percentile(mid, [1, 99])
    return np.clip((mid - lo) / max(hi - lo, 1e-6), 0, 1)


# ------------------------------------------------------------------------------------------------------ one study
@dataclass
class StudyRecord:
    """One study's outcome: its manifest rows (paths relative to the output folder) and notes."""

    study_id: str
    path: str
    rows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: bool = False  # done by an earlier run (resume)

    @property
    def counts(self) -> dict[str, int]:
        out = {STATUS_OK: 0, STATUS_FLAGGED: 0, STATUS_FAILED: 0}
        for r in self.rows:
            out[r["status"]] += 1
        return out


def _patient_id(study: Study) -> str:
    import pydicom

    for info in study.series:
        if info.role == "sagittal_t2" and info.files and not str(info.files[0]).lower().endswith(IMAGE_SUFFIXES):
            try:
                return str(pydicom.dcmread(info.files[0], stop_before_pixels=True).get("PatientID", "") or "")
            except Exception:  # noqa: BLE001 - a header already read once; a patient id is optional
                return ""
    return ""


class BodySource:
    """Where the vertebral bodies of a study come from: the segmentation network, or files per study."""

    def __init__(self, model_path: Optional[Path] = None, vertebrae_dir: Optional[Path] = None) -> None:
        from .segment import load_checkpoint

        if model_path is not None and vertebrae_dir is not None:
            raise ImagingError(Errors.I033)
        if vertebrae_dir is not None and not Path(vertebrae_dir).is_dir():
            raise ImagingError(Errors.I040.format(path=vertebrae_dir))
        self.vertebrae_dir = vertebrae_dir
        # checked before any work; neither given: the shipped default model
        self._ck = load_checkpoint(model_path) if vertebrae_dir is None else None

    def __call__(self, study: Study, study_id: str) -> tuple[list[Body], QCView, list[str]]:
        from .segment import CANONICAL, segment_image

        img = sitk.DICOMOrient(study.sagittal_t2.to_sitk(), CANONICAL)  # no resampling: axes permuted / flipped
        if self._ck is not None:
            res = segment_image(self._ck.model, self._ck.config, img)
            return bodies_from_labels(res.vertebrae), QCView(img, res.slice_index, res.label_slice), res.warnings
        path = Path(self.vertebrae_dir) / f"{study_id}.json"
        if not path.exists():
            path = Path(self.vertebrae_dir) / study_id / "vertebrae.json"  # an 'imaging segment' output folder
        try:
            bodies = bodies_from_truth(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ImagingError(Errors.I032.format(path=path, error=err)) from None
        return bodies, QCView(img, img.GetSize()[0] // 2), []


DEIDENTIFY_KEY_ENV = "DEEPSPINE_DEIDENTIFY_KEY"
MIN_KEY_CHARS = 16


def environment_key(deidentify: bool) -> str | None:
    """The de-identification key the commands' ``--deidentify`` asks for: :data:`DEIDENTIFY_KEY_ENV` of the
    environment (never a command-line argument), ``""`` when unset (:class:`Naming` then names the variable);
    None without ``deidentify``."""
    return os.environ.get(DEIDENTIFY_KEY_ENV, "") if deidentify else None


class Naming:
    """How identifiers and input paths appear in the outputs.

    Without a key: study ids are the input folder / file names, patient ids and series UIDs as in the DICOM
    headers, and the input path is written relative to the output folder. With a key (de-identification): study
    ids, patient ids and series UIDs are replaced by keyed hashes (HMAC-SHA256 of the value, first 16 hex digits:
    the same input and key always give the same pseudonym, and nobody without the key can recompute or reverse
    it), the input path is not written, and reasons and warnings that quote it say ``<input>`` instead. The key
    itself is never written or logged; ``key_check`` (an HMAC of a constant) tells whether two runs used the same.
    """

    def __init__(self, out_dir: Path, key: Optional[str | bytes] = None) -> None:
        if key is not None and len(key) < MIN_KEY_CHARS:
            raise ImagingError(Errors.I030.format(name=f"de-identification key (${DEIDENTIFY_KEY_ENV})",
                                                  value=f"<hidden, {len(key)} characters>",
                                                  expected=f"at least {MIN_KEY_CHARS} characters (a random secret)"))
        self.out_dir = Path(out_dir)
        self._key = key.encode() if isinstance(key, str) else key

    def __repr__(self) -> str:  # never the key
        return f"Naming({self.out_dir}, deidentified={self.deidentified})"

    @property
    def deidentified(self) -> bool:
        return self._key is not None

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]

    @property
    def key_check(self) -> str:
        return self._hash("key-check", "") if self._key is not None else ""

    def study_id(self, source: StudySource) -> str:
        return self._hash("study", source.study_id) if self._key is not None else source.study_id

    def source(self, path: Path) -> str:
        """The input path as written in the outputs ('' when de-identified)."""
        if self._key is not None:
            return ""
        return os.path.relpath(Path(path).absolute(), self.out_dir.absolute())

    def source_check(self, source: StudySource) -> str:
        """What ``study.json`` keeps to recognise its input on resume: the input path, StudyInstanceUID and number
        of files (a keyed hash of them when de-identified)."""
        if self._key is not None:
            return "hmac:" + self._hash("source", f"{Path(source.path).absolute()}|{source.study_uid}|"
                                                  f"{len(source.files)}")
        return f"{self.source(source.path)}|{source.study_uid}|{len(source.files)}"

    def publish(self, rows: list[dict[str, Any]], warnings: list[str], path: Path) -> None:
        """Rewrite a study's rows and warnings, in place, with the identifiers and path as they are published."""
        for row in rows:
            row["study_path"] = self.source(path)
            if self._key is None:
                continue
            row["patient_id"] = self._hash("patient", row["patient_id"]) if row["patient_id"] else ""
            for col in ("axial_series", "sagittal_series"):
                row[col] = self._hash("uid", row[col]) if row[col] else ""
            row["reason"] = self._scrub(row["reason"], path)
        if self._key is not None:
            warnings[:] = [self._scrub(w, path) for w in warnings]

    def _scrub(self, text: str, path: Path) -> str:
        for form in {str(Path(path).absolute()), str(path)}:
            text = text.replace(form, "<input>")
        return text


def _failed_record(study_id: str, path: Path, reason: str, seconds: dict[str, float]) -> StudyRecord:
    rows = [dict(_empty_row(study_id, "", lv), status=STATUS_FAILED, reason=reason) for lv in LEVELS]
    return StudyRecord(study_id, str(path), rows, [reason], seconds)


def extract_study(source: StudySource, out_dir: Path, cfg: ExtractConfig, bodies_of: BodySource,
                  naming: Optional[Naming] = None) -> StudyRecord:
    """Extract one study (found by :func:`imaging.io.discover_studies`) into ``out_dir/<study_id>/``
    (``<level>_axial.npy``, ``<level>_sagittal.npy``, ``qc.png``, ``study.json``, written last). Any failure is
    recorded in the rows, never raised. ``naming`` (default: as they are) decides the published study id,
    patient id, series UIDs and input path."""
    path = source.path
    naming = naming or Naming(out_dir)
    sid = naming.study_id(source)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        study = read_study(source)
        seconds["read"] = time.perf_counter() - t0
        t = time.perf_counter()
        bodies, view, warnings = bodies_of(study, source.study_id)
        seconds["vertebrae"] = time.perf_counter() - t
    except ImagingError as err:
        record = _failed_record(sid, path, str(err), seconds)
    else:
        t = time.perf_counter()
        planes, curve, failed = disc_planes(bodies, cfg)
        from .segment.postprocess import LEVELS_UNNAMED

        unnamed = next((w for w in warnings if LEVELS_UNNAMED in w), None)
        if unnamed:  # the segmentation's reason belongs with each level it leaves unextracted
            failed = {lv: f"{reason}: {unnamed}" for lv, reason in failed.items()}
        discs = extract_discs(study, planes, failed, cfg, sid, _patient_id(study))
        if source.landmarks:  # a data set's reference points (RSNA): how far they lie from the planes found
            checks = rsna.check_planes(planes, rsna.landmark_points(source.landmarks))
            for d in discs:
                d.row.update(checks.get(d.row["level"], {}))
        seconds["resample"] = time.perf_counter() - t
        t = time.perf_counter()
        folder = Path(out_dir) / sid
        folder.mkdir(parents=True, exist_ok=True)
        planes_by_level = {p.level: p for p in planes}
        for d in discs:
            if d.axial is None:
                continue
            lv = d.row["level"]
            for name, arr in (("axial", d.axial), ("sagittal", d.sagittal)):
                _save_npy(folder / f"{lv}_{name}.npy", arr)
                d.row[f"{name}_path"] = f"{sid}/{lv}_{name}.npy"
            if cfg.nifti:
                plane = planes_by_level[lv]
                _save_nifti(folder / f"{lv}_axial.nii.gz", d.axial, d.row["axial_mean"], plane,
                            plane.axial_direction(), cfg.axial_size, cfg.axial_extent_mm)
                _save_nifti(folder / f"{lv}_sagittal.nii.gz", d.sagittal, d.row["sagittal_mean"], plane,
                            plane.sagittal_direction(), cfg.sagittal_size, cfg.sagittal_extent_mm)
        seconds["write"] = time.perf_counter() - t
        t = time.perf_counter()
        save_qc(folder / "qc.png", view, bodies, planes, curve, discs, f"{sid}  ({len(bodies)} vertebrae)")
        seconds["qc"] = time.perf_counter() - t
        record = StudyRecord(sid, str(path), [d.row for d in discs], warnings, seconds)
    naming.publish(record.rows, record.warnings, path)
    record.path = naming.source(path)
    seconds["total"] = time.perf_counter() - t0
    folder = Path(out_dir) / sid
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "study.json", json.dumps(
        {"study_id": sid, "path": record.path, "source_check": naming.source_check(source),
         "deidentified": naming.deidentified, "key_check": naming.key_check, "config": cfg.to_dict(),
         "rows": record.rows, "warnings": record.warnings, "seconds": seconds}, indent=1, default=_jsonable))
    return record


def _read_record(study_json: Path) -> Optional[tuple[dict[str, Any], StudyRecord]]:
    """``(document, record)`` of a study's ``study.json``, or None when it is missing or unreadable."""
    try:
        doc = json.loads(study_json.read_text())
        record = StudyRecord(str(doc["study_id"]), str(doc.get("path", "")), list(doc["rows"]),
                             list(doc.get("warnings", [])), dict(doc.get("seconds", {})))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return doc, record


def _load_done(out_dir: Path, source: StudySource, cfg: ExtractConfig, naming: Naming) -> Optional[StudyRecord]:
    """The record of a study an earlier run finished with the same settings and files (resume), else None."""
    got = _read_record(Path(out_dir) / naming.study_id(source) / "study.json")
    if got is None:
        return None
    doc, record = got
    if doc.get("config") != cfg.to_dict() or doc.get("source_check") != naming.source_check(source):
        return None
    files = [Path(out_dir) / r[k] for r in record.rows for k in ("axial_path", "sagittal_path") if r.get(k)]
    if not all(f.exists() for f in files):
        return None
    record.skipped = True
    return record


def _check_output_folder(out_dir: Path, naming: Naming) -> None:
    """Refuse to mix identified and de-identified studies (or two keys) in one output folder and manifest."""
    for study_json in sorted(Path(out_dir).glob("*/study.json")):
        got = _read_record(study_json)
        if got is None:
            continue
        doc = got[0]
        if bool(doc.get("deidentified")) != naming.deidentified or doc.get("key_check", "") != naming.key_check:
            raise ImagingError(Errors.I041.format(path=out_dir, study=study_json.parent.name))


# ------------------------------------------------------------------------------------------------------ the cohort
@dataclass
class ExtractSummary:
    """What :func:`extract` did."""

    out_dir: Path
    records: list[StudyRecord]  # this run's studies, in input order
    manifest: Path
    seconds: float = 0.0
    manifest_studies: int = 0   # studies in the manifest: this run's and earlier runs' into the same folder
    found: Discovery = field(default_factory=lambda: Discovery([]))  # the studies and the files ignored

    @property
    def counts(self) -> dict[str, int]:
        out = {STATUS_OK: 0, STATUS_FLAGGED: 0, STATUS_FAILED: 0}
        for r in self.records:
            for k, v in r.counts.items():
                out[k] += v
        return out

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.records)


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: Optional[str], vertebrae_dir: Optional[str], threads: int) -> None:
    """A worker process: its share of the CPU threads for torch and SimpleITK (each would otherwise start one
    thread per core in every worker, and N workers would fight over the cores), and its body source."""
    import torch

    torch.set_num_threads(threads)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    _WORKER["blas"] = threadpool_limits(limits=1, user_api="blas")  # see extract()
    _WORKER["source"] = BodySource(Path(model_path) if model_path else None,
                                   Path(vertebrae_dir) if vertebrae_dir else None)


def _work(source: StudySource, out_dir: Path, cfg: ExtractConfig, naming: Naming) -> StudyRecord:
    return extract_study(source, out_dir, cfg, _WORKER["source"], naming)


def extract(studies: Sequence[Path], out_dir: Path, cfg: Optional[ExtractConfig] = None, *,
            model_path: Optional[Path] = None, vertebrae_dir: Optional[Path] = None, workers: int = 1,
            resume: bool = True, study_ids: Optional[dict[str, str]] = None,
            progress: Optional[Callable[[StudyRecord], None]] = None,
            deidentify_key: Optional[str | bytes] = None) -> ExtractSummary:
    """Extract the disc volumes of many studies into ``out_dir`` and write ``manifest.parquet``/``.csv`` (one row
    per study and level, failed ones too) and ``index.html`` (all QC pictures).

    The manifest and the index cover every study extracted into ``out_dir``, by this run or an earlier one (each
    study's ``study.json``): a rerun replaces the rows of the studies it extracts and keeps the others.

    Args:
        studies: folders (searched for studies by DICOM identity, :func:`imaging.io.discover_studies`), DICOM,
            NIfTI or MetaImage files.
        model_path: a segmentation checkpoint (``imaging train-seg``); or
        vertebrae_dir: a folder of ``<study_id>.json`` vertebrae (``imaging synth`` truth, ``imaging segment``).
        workers: processes; each loads the model once and uses its share of the CPU cores.
        resume: skip studies an earlier run finished with the same settings.
        study_ids: StudyInstanceUID -> study id (:func:`imaging.io.read_study_ids`); see ``discover_studies``.
        progress: called with each study's record as it finishes.
        deidentify_key: a secret (at least 16 characters): replace study ids, patient ids and series UIDs by
            keyed hashes and leave out the input paths (see :class:`Naming`). Never written or logged.
    """
    cfg = cfg or ExtractConfig()
    cfg.validate()
    t0 = time.perf_counter()
    check_output(out_dir, folder=True)
    out_dir = Path(out_dir)
    naming = Naming(out_dir, deidentify_key)
    source = BodySource(model_path, vertebrae_dir)
    with ExitStack() as stack:
        pool = None
        if workers > 1:
            # forked workers start with this process's imports (a spawned one spends seconds of CPU on its own);
            # each sets its own torch and ITK threads (_init_worker). Fork only on Linux (macOS's system libraries
            # are not fork-safe, Windows has none): spawn elsewhere. The pool reads the DICOM headers of the
            # discovery too.
            start = "fork" if sys.platform.startswith("linux") else "spawn"
            threads = max(1, (os.cpu_count() or 1) // workers)
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=get_context(start), initializer=_init_worker,
                initargs=(str(model_path) if model_path else None, str(vertebrae_dir) if vertebrae_dir else None,
                          threads)))
        found = discover_studies(studies, study_ids, probe_map=partial(pool.map, chunksize=32) if pool else map)
        if not found.studies:
            ignored = found.describe_ignored()
            raise ImagingError(Errors.I034.format(paths=[str(s) for s in studies],
                                                  ignored=f" ({ignored})" if ignored else ""))
        _check_output_folder(out_dir, naming)
        out_dir.mkdir(parents=True, exist_ok=True)
        records: dict[str, StudyRecord] = {}
        todo = []
        for st in found.studies:
            done = _load_done(out_dir, st, cfg, naming) if resume else None
            if done is not None:
                records[st.study_id] = done
                if progress:
                    progress(done)
            else:
                todo.append(st)
        if pool is None or len(todo) <= 1:
            # numpy's BLAS on one thread: the disc geometry's products are tiny, and idle BLAS threads spin between
            # them (a third of the CPU time of a study, and the cores another worker could use)
            with threadpool_limits(limits=1, user_api="blas"):
                for st in todo:
                    records[st.study_id] = extract_study(st, out_dir, cfg, source, naming)
                    if progress:
                        progress(records[st.study_id])
        else:
            futures = {pool.submit(_work, st, out_dir, cfg, naming): st.study_id for st in todo}
            for fut in futures:
                records[futures[fut]] = fut.result()
                if progress:
                    progress(records[futures[fut]])
    ordered = [records[st.study_id] for st in found.studies]
    cohort = _cohort(out_dir, ordered, cfg)
    manifest = write_manifest(cohort, out_dir)
    write_index(cohort, out_dir)
    if len(cohort) > len(ordered):
        logger.info("manifest: %d studies (%d of this run, %d from earlier runs)", len(cohort), len(ordered),
                    len(cohort) - len(ordered))
    return ExtractSummary(out_dir, ordered, manifest, time.perf_counter() - t0, len(cohort), found)


def _cohort(out_dir: Path, records: Sequence[StudyRecord], cfg: ExtractConfig) -> list[StudyRecord]:
    """This run's records and those of every other study extracted into ``out_dir`` earlier, by study id; a
    warning names the earlier studies cut with other settings (their volumes may differ in size)."""
    mine = {r.study_id: r for r in records}
    earlier, other_settings = [], []
    for f in sorted(Path(out_dir).glob("*/study.json")):
        got = _read_record(f)
        if got is None or got[1].study_id in mine:
            continue
        earlier.append(got[1])
        if got[0].get("config") != cfg.to_dict():
            other_settings.append(got[1].study_id)
    if other_settings:
        logger.warning("%d studies of the manifest were extracted with other settings than this run (%s%s); "
                       "extract them again with these settings, or use a separate output folder",
                       len(other_settings), ", ".join(other_settings[:5]), ", ..." if len(other_settings) > 5 else "")
    return sorted([*records, *earlier], key=lambda r: r.study_id)


def write_manifest(records: Sequence[StudyRecord], out_dir: Path) -> Path:
    """``manifest.parquet`` and ``manifest.csv`` (atomic) with :data:`MANIFEST_COLUMNS`; returns the parquet path."""
    import pandas as pd

    df = pd.DataFrame([r for rec in records for r in rec.rows], columns=list(MANIFEST_COLUMNS)).fillna("")
    for c in ("centre_x", "centre_y", "centre_z", "normal_x", "normal_y", "normal_z", "axial_coverage",
              "sagittal_coverage", "axial_mean", "sagittal_mean", "reference_offset_mm", "reference_points"):
        df[c] = pd.to_numeric(df[c], errors="coerce")  # "" (failed levels) -> NaN
    out = Path(out_dir) / "manifest.parquet"
    with atomic_path(out) as tmp:
        df.to_parquet(tmp, index=False)
    write_text_atomic(out.with_suffix(".csv"), df.to_csv(index=False))
    return out


def _reference_text(row: dict[str, Any]) -> str:
    """The reference-point check of a manifest row for the QC page ("" without reference points)."""
    if not row.get("reference_points"):
        return ""
    offset = row.get("reference_offset_mm")
    text = f"{row['reference_points']} reference point(s)"
    if offset not in (None, ""):
        text += f" {float(offset):+.1f} mm from the disc plane"
    nearest = row.get("reference_level", "")
    if nearest and nearest != row["level"]:
        return f"<span class='failed'>{text}; nearest plane: {html.escape(str(nearest))}</span>"
    return text


def write_index(records: Sequence[StudyRecord], out_dir: Path) -> Path:
    """``index.html``: every study's QC picture with its per-level status, for scrolling through a cohort."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>imaging extract QC</title><style>"
             "body{font-family:sans-serif;margin:1em}section{margin-bottom:2em;border-top:1px solid #ccc}"
             "img{max-width:100%}.failed{color:#b00}.flagged{color:#c60}.ok{color:#070}td{padding:0 .6em}"
             "</style></head><body>", f"<h1>Disc extraction QC: {len(records)} studies</h1>"]
    for rec in records:
        c = rec.counts
        parts.append(f"<section id='{html.escape(rec.study_id)}'><h2>{html.escape(rec.study_id)}</h2>"
                     f"<p>{c[STATUS_OK]} ok, {c[STATUS_FLAGGED]} flagged, {c[STATUS_FAILED]} failed &middot; "
                     f"{html.escape(rec.path)}</p><table>")
        for r in rec.rows:
            parts.append(f"<tr><td>{r['level']}</td><td class='{r['status']}'>{r['status']}</td>"
                         f"<td>{html.escape(str(r['reason']))}</td><td>{_reference_text(r)}</td></tr>")
        parts.append("</table>")
        parts.extend(f"<p class='flagged'>{html.escape(w)}</p>" for w in rec.warnings)
        if (Path(out_dir) / rec.study_id / "qc.png").exists():
            parts.append(f"<img loading='lazy' src='{html.escape(rec.study_id)}/qc.png' alt='QC {rec.study_id}'>")
        parts.append("</section>")
    parts.append("</body></html>")
    return write_text_atomic(Path(out_dir) / "index.html", "\n".join(parts))
