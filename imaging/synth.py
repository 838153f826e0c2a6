"""Synthetic lumbar MRI studies (sagittal and axial T2 DICOM series) with known anatomy and stenosis grades.

The spine is built in a *straightened* frame: ``s`` runs along the spine (mm, inferior), ``b`` across it in the
mid-sagittal plane (mm, posterior) and ``lat`` to the patient's left (mm). Vertebral bodies T12-L5 are rectangles
in (s, b) (an S1 trapezoid), discs fill the gaps, the CSF canal runs behind them, and the posterior elements and
neural foramina behind and beside the canal. A smooth curve (lordosis) and a lateral offset (mild scoliosis) map the
straightened frame to patient coordinates (DICOM LPS, mm), so every voxel of every series is rendered by looking up
its patient position: the series agree with each other and with the ground truth by construction.

Stenosis grades (0-3, from :func:`spinecore.synth.random_grades`) narrow the canal at the disc (``scs``) and the
left/right foramen (``lfs``/``rfs``). The ground truth per study (vertebral corners and centroids, disc centres and
normals, grades) is written as JSON, and ``reports.csv`` holds one synthetic report per study.

Layout of ``synth_cohort(out_dir)``::

    out_dir/dicom/<study_id>/SAG_T2/IM0001.dcm ...   sagittal T2 series
    out_dir/dicom/<study_id>/AX_T2/IM0001.dcm ...    axial T2 series (4 slices per disc, parallel to each disc)
    out_dir/truth/<study_id>.json                     ground truth
    out_dir/reports.csv                               report_id,text
    out_dir/manifest.csv                              study_id,dicom,truth (paths relative to out_dir)
"""

from __future__ import annotations

import csv
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

from spinecore.synth import random_grades, write_report  # the report texts of the cohort (see the README)
from spinecore.schema import LEVELS, LOCATIONS

from .errors import Errors, ImagingError

__all__ = ["VERTEBRAE", "SynthConfig", "SynthSummary", "SyntheticStudy", "TrainingSlice", "make_study",
           "training_slice", "write_study", "synth_cohort", "study_id"]

logger = logging.getLogger(__name__)

VERTEBRAE: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
CORNER_NAMES: tuple[str, ...] = ("anterior_superior", "posterior_superior", "posterior_inferior", "anterior_inferior")
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's UID root
SCHEMA_VERSION = 1

#: Canal cross-section area at the disc as a fraction of normal, per ``scs`` grade 0-3.
CANAL_AREA_FRACTION = (1.0, 0.62, 0.38, 0.16)
#: Foramen area (sagittal) as a fraction of normal, per ``lfs``/``rfs`` grade 0-3.
FORAMEN_AREA_FRACTION = (1.0, 0.6, 0.33, 0.12)

# T2 intensities (arbitrary units before gain): bright CSF and fat and disc nucleus, dark bone cortex, annulus.
T2 = dict(air=0.0, fat=0.72, muscle=0.22, viscera=0.42, marrow=0.5, cortex=0.12, annulus=0.22, nucleus=0.82,
          dura=0.2, csf=0.97, bone=0.42, root=0.3, foramen_fat=0.74)
# T1 intensities: bright fat and fatty marrow, dark CSF, discs darker than marrow.
T1 = dict(air=0.0, fat=0.95, muscle=0.3, viscera=0.4, marrow=0.66, cortex=0.1, annulus=0.28, nucleus=0.36,
          dura=0.22, csf=0.12, bone=0.55, root=0.35, foramen_fat=0.9)
CONTRASTS: dict[str, dict[str, float]] = {"t2": T2, "t1": T1}


@dataclass
class SynthConfig:
    """How to synthesise a cohort. Sizes follow the issue: ~1.2 mm sagittal pixels, 4 mm slices, 4 axial slices per
    disc parallel to it."""

    n: int = 10
    seed: int = 0
    sag_slices: int = 15
    sag_size: int = 256
    sag_pixel: float = 1.2
    sag_spacing: float = 4.0
    sag_thickness: float = 3.5
    ax_slices_per_level: int = 4
    ax_size: int = 192
    ax_pixel: float = 0.8
    ax_spacing: float = 3.0
    ax_thickness: float = 2.8
    thickness_samples: int = 2
    grades: str = "realistic"  # "realistic" (spinecore.synth.random_grades: mostly 0-1) or "uniform" (0-3 alike)


def uniform_grades(rng: random.Random) -> dict:
    """Every level and location graded 0-3 with equal probability: a balanced cohort for training checks."""
    return {lv: {loc: rng.randrange(4) for loc in LOCATIONS} for lv in LEVELS}


GRADE_MIXES: dict[str, Callable[[random.Random], dict]] = {"realistic": random_grades, "uniform": uniform_grades}


@dataclass
class SynthSummary:
    """What a run wrote."""

    studies: int = 0
    files: int = 0
    reports_csv: Optional[Path] = None
    grades: dict[str, Counter] = field(default_factory=lambda: {loc: Counter() for loc in LOCATIONS})
    seconds: float = 0.0


@dataclass
class SeriesImages:
    """One rendered series: pixels (slices, rows, cols) uint16 and per-slice geometry."""

    description: str
    pixels: np.ndarray
    positions: np.ndarray  # (slices, 3) ImagePositionPatient, mm
    orientations: np.ndarray  # (slices, 6) ImageOrientationPatient
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing), mm
    thickness: float
    spacing_between: float


@dataclass
class SyntheticStudy:
    """A rendered study and its ground truth (a JSON-ready dict)."""

    study_id: str
    sagittal: SeriesImages
    axial: SeriesImages
    truth: dict


def study_id(seed: int, index: int) -> str:
    """The id of study ``index`` of the cohort drawn with ``seed``; also the report_id in reports.csv."""
    return f"synth-{seed}-{index:04d}"


def _soft(d: np.ndarray, eps: float = 0.45) -> np.ndarray:
    """Partial-volume membership from a signed distance (mm, positive inside)."""
    return 0.5 * (1.0 + np.tanh(d / (2.0 * eps)))


def _box(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.minimum(x - lo, hi - x)


class _Anatomy:
    """One random spine: the straightened layout, the curve to patient space and the T2 tissue model."""

    def __init__(self, rng: np.random.Generator, grades: dict, contrast: str = "t2") -> None:
        self.tissue = CONTRASTS[contrast]
        self.grades = {lv: {loc: (grades[lv][loc] or 0) for loc in LOCATIONS} for lv in LEVELS}
        size = rng.uniform(0.88, 1.12)
        self.size = size
        heights = np.array([24.0, 25.0, 26.5, 27.5, 28.0, 27.0, 30.0]) * size * rng.uniform(0.95, 1.05, 7)
        discs = np.array([7.5, 8.5, 9.5, 10.5, 11.0, 10.0]) * size * rng.uniform(0.85, 1.12, 6)
        self.width = 34.0 * size * rng.uniform(0.95, 1.05)  # AP depth of the bodies
        self.lat_width = 46.0 * size * rng.uniform(0.95, 1.05)
        tops, bots, s = [], [], 0.0
        for k in range(7):
            tops.append(s)
            s += heights[k]
            bots.append(s)
            if k < 6:
                s += discs[k]
        self.s_top, self.s_bot = np.array(tops), np.array(bots)
        self.length = self.s_bot[-1]
        self.s_disc = (self.s_bot[:-1] + self.s_top[1:]) / 2.0
        # canal and posterior elements
        self.r_ap = 7.5 * size * rng.uniform(0.9, 1.1)
        self.r_lat = 11.0 * size * rng.uniform(0.9, 1.1)
        self.b_canal = self.width / 2 + 1.5 + self.r_ap
        # lordosis: tangent angle theta(s) (0 = straight down, > 0 = going posterior) grows along the spine
        lordosis = rng.uniform(0.6, 1.2)
        self.theta0 = np.deg2rad(rng.uniform(-22, -12) * lordosis)
        self.theta1 = np.deg2rad(rng.uniform(38, 52) * lordosis)
        self.theta2 = np.deg2rad(rng.uniform(-4, 8))
        # mild scoliosis: lateral offset of the mid-line along the spine
        self.scol_amp = rng.uniform(-5.0, 5.0)
        self.scol_phase = rng.uniform(0, np.pi)
        self.x0 = rng.uniform(-8.0, 8.0)
        # position: the L3 centroid lands near (y, z) = (yl3, zl3)
        self.yl3, self.zl3 = rng.uniform(-25, 15), rng.uniform(-30, 30)
        self._build_curve()
        self.marrow = self.tissue["marrow"] * rng.uniform(0.85, 1.15, 7)

    # -- geometry -----------------------------------------------------------------------------------------
    def theta(self, s: np.ndarray) -> np.ndarray:
        t = np.clip(np.asarray(s, dtype=float), 0.0, self.length) / self.length
        return self.theta0 + self.theta1 * t ** 2 + self.theta2 * t

    def _build_curve(self) -> None:
        step = 0.5
        s = np.arange(-220.0, self.length + 220.0 + step, step)
        th = self.theta(s)
        dy, dz = np.sin(th) * step, -np.cos(th) * step
        y, z = np.cumsum(dy), np.cumsum(dz)
        self.curve_s = s
        k3 = np.searchsorted(s, (self.s_top[3] + self.s_bot[3]) / 2)
        self.curve_yz = np.stack([y - y[k3] + self.yl3, z - z[k3] + self.zl3], axis=1)
        self.tree = cKDTree(self.curve_yz)

    def x_off(self, s: np.ndarray) -> np.ndarray:
        return self.x0 + self.scol_amp * np.sin(np.pi * np.asarray(s) / self.length + self.scol_phase)

    def to_patient(self, s: float, b: float, lat: float = 0.0) -> np.ndarray:
        """Straightened (s, b, lat) -> patient LPS mm."""
        y = np.interp(s, self.curve_s, self.curve_yz[:, 0])
        z = np.interp(s, self.curve_s, self.curve_yz[:, 1])
        th = float(self.theta(s))
        return np.array([float(self.x_off(s)) + lat, y + b * np.cos(th), z + b * np.sin(th)])

    def axis(self, s: float) -> np.ndarray:
        """Unit vector along the spine pointing superior (the disc plane normal at s)."""
        th = float(self.theta(s))
        return np.array([0.0, -np.sin(th), np.cos(th)])

    def posterior(self, s: float) -> np.ndarray:
        th = float(self.theta(s))
        return np.array([0.0, np.cos(th), np.sin(th)])

    def straighten_yz(self, yz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Patient (y, z) -> straightened (s, b) via the nearest curve point and its local tangent."""
        _, idx = self.tree.query(yz)
        s0 = self.curve_s[idx]
        th = self.theta(s0)
        d = yz - self.curve_yz[idx]
        along = d[:, 0] * np.sin(th) - d[:, 1] * np.cos(th)
        b = d[:, 0] * np.cos(th) + d[:, 1] * np.sin(th)
        return s0 + along, b

    def straighten(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient points (N, 3) -> (s, b, lat), through a 2 mm lookup grid in (y, z) built once per study."""
        if not hasattr(self, "_grid"):
            half, self._step = 176, 2.0
            self._grid0 = np.array([self.yl3 - half, self.zl3 - half])
            g = np.arange(0, 2 * half + self._step, self._step)
            gy, gz = np.meshgrid(self._grid0[0] + g, self._grid0[1] + g, indexing="ij")
            gs, gb = self.straighten_yz(np.stack([gy.ravel(), gz.ravel()], axis=1))
            self._grid = (gs.reshape(gy.shape).astype(np.float32), gb.reshape(gy.shape).astype(np.float32))
        coords = np.stack([pts[:, 1] - self._grid0[0], pts[:, 2] - self._grid0[1]]) / self._step
        s = map_coordinates(self._grid[0], coords, order=1, mode="nearest")
        b = map_coordinates(self._grid[1], coords, order=1, mode="nearest")
        return s, b, pts[:, 0] - self.x_off(s)

    # -- tissue model -------------------------------------------------------------------------------------
    def render(self, s: np.ndarray, b: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """T2 intensity at straightened coordinates (painter's algorithm over soft shapes).

        Each structure is evaluated only on the points inside its window along the spine, which keeps a study at
        about a second of CPU time."""
        s, b, lat = (np.asarray(a, dtype=np.float32).ravel() for a in (s, b, lat))
        tissue = self.tissue
        img = np.zeros(s.shape, np.float32)
        w2, l2, bc, bk = self.width / 2, self.lat_width / 2, self.b_canal, self.b_canal + self.r_ap
        order = np.argsort(s, kind="stable")
        s_sorted = s[order]

        def window(lo: float, hi: float, b_lo: float = -1e9, b_hi: float = 1e9, lat_max: float = 1e9):
            i0, i1 = np.searchsorted(s_sorted, [lo, hi])
            idx = order[i0:i1]
            bb, ll = b[idx], lat[idx]
            keep = (bb > b_lo) & (bb < b_hi) & (np.abs(ll) < lat_max)
            idx = idx[keep]
            return idx, s[idx], b[idx], lat[idx]

        def paint(idx: np.ndarray, mask: np.ndarray, value) -> None:
            cur = img[idx]
            img[idx] = cur + mask * (np.float32(value) - cur)

        # trunk: fat shell, viscera in front, muscle behind the spine
        trunk = np.sqrt(((b + 40) / 135) ** 2 + (lat / 165) ** 2)
        img[:] = _soft((1 - trunk) * 135) * tissue["fat"]
        inner = _soft((1 - trunk * (135 / 122)) * 122)
        muscle = _soft(np.minimum(np.minimum(b - (w2 - 8), 75 - np.abs(lat)), (0.9 - trunk) * 120), 2.0)
        val = tissue["viscera"] + muscle * (tissue["muscle"] - tissue["viscera"])
        img += inner * (val - img)
        idx, ss, bb, ll = window(self.s_top[1] - 30, 1e9, -30, 30, l2 + 40)
        psoas = 1 - np.sqrt((bb / 16) ** 2 + ((np.abs(ll) - l2 - 14) / 16) ** 2)
        paint(idx, _soft(psoas * 16, 1.0) * _soft(ss - self.s_top[1], 10.0), tissue["muscle"])
        # posterior elements: lamina and spinous process per vertebra, pedicles, facets at each disc
        for k in range(6):
            h = self.s_bot[k] - self.s_top[k]
            idx, ss, bb, ll = window(self.s_top[k] + 0.1 * h, self.s_bot[k] + 5, w2 - 5, bk + 40 * self.size, self.r_lat + 12)
            al = np.abs(ll)
            lam = np.minimum(np.minimum(_box(ss, self.s_top[k] + 0.3 * h, self.s_bot[k] + 3.0), _box(bb, bk - 1.5, bk + 7)),
                             self.r_lat + 7 - al)
            spin = np.minimum(np.minimum(_box(ss, self.s_top[k] + 0.35 * h, self.s_bot[k] - 0.05 * h),
                                         _box(bb, bk + 4, bk + 36 * self.size)), 4.5 - al)
            bone = np.maximum(lam, spin)
            paint(idx, _soft(bone, 0.6), tissue["cortex"])
            paint(idx, _soft(bone - 1.2, 0.6), tissue["bone"])
            ped = np.minimum(np.minimum(_box(ss, self.s_top[k] + 0.15 * h, self.s_top[k] + 0.6 * h),
                                        _box(bb, w2 - 3, bc + 0.3 * self.r_ap)), _box(al, self.r_lat - 1, self.r_lat + 8))
            paint(idx, _soft(ped, 0.6), tissue["bone"])
        for d in range(6):
            sd = self.s_disc[d]
            idx, ss, bb, ll = window(sd - 11, sd + 9, bk - 5, bk + 11, self.r_lat + 15)
            fac = np.minimum(np.minimum(_box(ss, sd - 9, sd + 7), _box(bb, bk - 3, bk + 9)),
                             _box(np.abs(ll), self.r_lat - 2, self.r_lat + 13))
            paint(idx, _soft(fac, 0.7), tissue["bone"])
            paint(idx, _soft(np.minimum(fac, 0.6 - np.abs(bb - bk - 3)), 0.4), tissue["csf"] * 0.6)  # facet joint fluid
        # neural foramina: fat between consecutive pedicles, narrowed by grade, with the exiting root
        for d in range(6):
            lv = LEVELS[d]
            sf, rs, bf, rb = self.foramen(d)
            idx, ss, bb, ll = window(sf - rs - 2, sf + rs + 2, bf - rb - 2, bf + rb + 2, self.r_lat + 12)
            full = (1 - np.sqrt(((ss - sf) / rs) ** 2 + ((bb - bf) / rb) ** 2)) * min(rs, rb)
            for side, loc in ((1.0, "lfs"), (-1.0, "rfs")):
                in_lat = _box(ll * side, self.r_lat - 1, self.r_lat + 10)
                paint(idx, _soft(np.minimum(full, in_lat), 0.6), tissue["dura"])
                m = np.sqrt(FORAMEN_AREA_FRACTION[self.grades[lv][loc]])
                fat = 1 - np.sqrt(((ss - sf) / (rs * m)) ** 2 + ((bb - bf) / (rb * m)) ** 2)
                paint(idx, _soft(np.minimum(fat * min(rs, rb) * m, in_lat), 0.5), tissue["foramen_fat"])
                rr = min(2.0, 0.8 * rb * m)
                root = rr - np.sqrt((ss - (sf - 0.3 * rs * m)) ** 2 + (bb - bf) ** 2)
                paint(idx, _soft(np.minimum(root, in_lat), 0.4), tissue["root"])
        # canal: dura/ligament ring, then CSF narrowed at each disc by the scs grade
        idx, ss, bb, ll = window(-1e9, 1e9, bc - self.r_ap - 4, bc + self.r_ap + 4, self.r_lat + 4)
        mult = np.ones_like(ss)
        for d in range(6):
            m = np.sqrt(CANAL_AREA_FRACTION[self.grades[LEVELS[d]]["scs"]])
            mult = mult - (1 - m) * np.exp(-(((ss - self.s_disc[d]) / 5.0) ** 4))
        sac = self.sac_taper(ss)
        ra0, rl0 = self.r_ap * sac + 1.5, self.r_lat * sac + 1.5
        paint(idx, _soft((1 - np.sqrt(((bb - bc) / ra0) ** 2 + (ll / rl0) ** 2)) * ra0), tissue["dura"])
        ra, rl = self.r_ap * mult * sac, self.r_lat * mult * sac
        paint(idx, _soft((1 - np.sqrt(((bb - bc) / ra) ** 2 + (ll / rl) ** 2)) * ra), tissue["csf"])
        # discs: dark annulus, bright nucleus (ellipsoid)
        for d in range(6):
            st, sb = self.s_bot[d] - 0.5, self.s_top[d + 1] + 0.5
            idx, ss, bb, ll = window(st - 2, sb + 2, -w2 - 3, w2 + 3, l2 + 3)
            ab, al = np.abs(bb) / (w2 + 1.0), np.abs(ll) / (l2 + 1.0)
            cs = 1 - np.cbrt(ab * ab * ab + al * al * al)
            paint(idx, _soft(np.minimum(cs * (w2 + 1), _box(ss, st, sb))), tissue["annulus"])
            sc, hs = (st + sb) / 2, (sb - st) / 2
            nuc = 1 - np.sqrt(((ss - sc) / (0.55 * hs)) ** 2 + ((bb + 2) / (0.6 * w2)) ** 2 + (ll / (0.6 * l2)) ** 2)
            paint(idx, _soft(nuc * 0.55 * hs, 0.8), tissue["nucleus"])
        # vertebral bodies: cortex then marrow; S1 is a trapezoid
        for k in range(7):
            idx, ss, bb, ll = window(self.s_top[k] - 2, self.s_bot[k] + 2, -w2 - 3, w2 + 3, l2 + 3)
            body = self.body_distance(k, ss, bb, ll)
            paint(idx, _soft(body), tissue["cortex"])
            paint(idx, _soft(body - 1.3), self.marrow[k])
        return img

    def body_distance(self, k: int, s: np.ndarray, b: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Signed distance (mm, positive inside) to the outer surface of vertebral body ``k`` (0 = T12 ... 6 = S1,
        a trapezoid narrowing toward its inferior end)."""
        w2, l2 = self.width / 2, self.lat_width / 2
        st, sb = self.s_top[k], self.s_bot[k]
        if k < 6:
            bc_k, ab = np.float32(0.0), np.float32(w2)
        else:
            t = np.clip((s - st) / (sb - st), 0, 1)
            b_ant = -w2 + 0.45 * self.width * t
            bc_k, ab = (b_ant + w2) / 2, (w2 - b_ant) / 2
        xb, xl = np.abs((b - bc_k) / ab), np.abs(lat) / l2
        cs = (1 - np.cbrt(xb * xb * xb + xl * xl * xl)) * ab
        return np.minimum(cs, _box(s, st, sb))

    def foramen(self, d: int) -> tuple[float, float, float, float]:
        """Foramen ``d`` (0 = T12-L1) in the straightened frame: centre s, half-height, centre b, half-depth."""
        top = self.s_top[d] + 0.6 * (self.s_bot[d] - self.s_top[d])
        bot = self.s_top[d + 1] + 0.15 * (self.s_bot[d + 1] - self.s_top[d + 1])
        bk = self.b_canal + self.r_ap
        return (top + bot) / 2, (bot - top) / 2, (self.width / 2 + bk) / 2 + 0.5, (bk - self.width / 2) / 2

    def sac_taper(self, s):
        """Canal size factor: 1 down to the upper sacrum, then tapering (the sacral canal)."""
        return np.clip((self.s_top[6] + 8.0 - s) / 25.0 + 1.0, 0.45, 1.0).astype(np.float32)

    # -- ground truth -------------------------------------------------------------------------------------
    def corners(self, k: int) -> list[np.ndarray]:
        w2 = self.width / 2
        b_ant_bot = -w2 + (0.45 * self.width if k == 6 else 0.0)
        st, sb = self.s_top[k], self.s_bot[k]
        return [self.to_patient(st, -w2), self.to_patient(st, w2), self.to_patient(sb, w2),
                self.to_patient(sb, b_ant_bot)]

    def truth(self) -> dict:
        vert = {}
        for k, name in enumerate(VERTEBRAE):
            cs = self.corners(k)
            vert[name] = {"corners": [_r(c) for c in cs], "centroid": _r(np.mean(cs, axis=0))}
        discs = {}
        for d, lv in enumerate(LEVELS):
            sd = float(self.s_disc[d])
            m = np.sqrt(CANAL_AREA_FRACTION[self.grades[lv]["scs"]]) * float(self.sac_taper(sd))
            discs[lv] = {"centre": _r(self.to_patient(sd, 0.0)), "normal": _r(self.axis(sd), 6),
                         "canal_centre": _r(self.to_patient(sd, self.b_canal)),
                         "canal_area_mm2": round(float(np.pi * self.r_ap * self.r_lat * m * m), 2)}
        foramina = {}
        for d, lv in enumerate(LEVELS):
            sf, rs, bf, rb = self.foramen(d)
            foramina[lv] = {side: {"centre": _r(self.to_patient(sf, bf, sign * (self.r_lat + 4.5))),
                                   "area_mm2": round(float(np.pi * rs * rb * FORAMEN_AREA_FRACTION[self.grades[lv][loc]]), 2)}
                            for side, sign, loc in (("left", 1.0, "lfs"), ("right", -1.0, "rfs"))}
        return {"vertebrae": vert, "discs": discs, "foramina": foramina}


def _r(v, nd: int = 3) -> list[float]:
    return [round(float(x), nd) for x in v]


def _bias_and_noise(img: np.ndarray, pts: np.ndarray, centre: np.ndarray, bias: np.ndarray, sigma: float,
                    gain: float, rng: np.random.Generator) -> np.ndarray:
    q = (pts - centre) / 150.0
    field = 1.0 + q @ bias[:3] + bias[3] * q[:, 1] ** 2 + bias[4] * q[:, 2] ** 2
    img = img.ravel() * field.astype(np.float32)
    n1 = rng.normal(0, sigma, img.shape).astype(np.float32)
    n2 = rng.normal(0, sigma, img.shape).astype(np.float32)
    img = np.sqrt((img + n1) ** 2 + n2 ** 2)  # Rician magnitude noise
    return np.clip(np.rint(img * gain), 0, 4095).astype(np.uint16)


def _plane_points(origin: np.ndarray, row_dir: np.ndarray, col_dir: np.ndarray, rows: int, cols: int,
                  pixel: float) -> np.ndarray:
    """Patient positions of the pixel centres of one slice, (rows*cols, 3); row_dir runs along a row."""
    j, i = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return origin + (i.ravel()[:, None] * pixel) * row_dir + (j.ravel()[:, None] * pixel) * col_dir


def make_study(seed: int, index: int, config: SynthConfig | None = None) -> SyntheticStudy:
    """Draw and render study ``index`` of the cohort with ``seed`` (deterministic)."""
    cfg = config or SynthConfig()
    sid = study_id(seed, index)
    prng = random.Random(f"imaging-synth-{seed}-{index}")
    if cfg.grades not in GRADE_MIXES:
        raise ImagingError(Errors.I023.format(value=cfg.grades, allowed=sorted(GRADE_MIXES)))
    grades = GRADE_MIXES[cfg.grades](prng)
    report = write_report(grades, prng)
    rng = np.random.default_rng([seed, index, 20260101])
    anat = _Anatomy(rng, grades)
    bias = rng.uniform(-0.15, 0.15, 5)
    sigma = rng.uniform(0.015, 0.04)
    gain = rng.uniform(700, 1400)
    sub = (np.arange(cfg.thickness_samples) + 0.5) / cfg.thickness_samples - 0.5

    # sagittal: rows run inferior, columns posterior (IOP 0,1,0,0,0,-1); slices stepped to the patient's right
    l3 = anat.to_patient((anat.s_top[3] + anat.s_bot[3]) / 2, 0.0)
    n, size, px = cfg.sag_slices, cfg.sag_size, cfg.sag_pixel
    row_dir, col_dir = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    normal = np.cross(row_dir, col_dir)
    centre = np.array([float(anat.x_off((anat.s_top[3] + anat.s_bot[3]) / 2)) + rng.uniform(-1.5, 1.5), l3[1] + 22 + rng.uniform(-8, 8), l3[2] - 12 + rng.uniform(-8, 8)])
    first = centre - normal * cfg.sag_spacing * (n - 1) / 2
    origin0 = first - row_dir * px * (size - 1) / 2 - col_dir * px * (size - 1) / 2
    plane = _plane_points(origin0, row_dir, col_dir, size, size, px)
    s, b, _ = anat.straighten(plane)
    xoff = anat.x_off(s)
    sag = np.empty((n, size * size), np.float32)
    positions = []
    for k in range(n):
        pos = origin0 + normal * cfg.sag_spacing * k
        positions.append(pos)
        acc = np.zeros(size * size, np.float32)
        for t in sub:
            x = pos[0] + normal[0] * t * cfg.sag_thickness
            acc += anat.render(s, b, x - xoff)
        sag[k] = acc / len(sub)
    pts = np.concatenate([plane + normal * cfg.sag_spacing * k for k in range(n)])
    sag_px = _bias_and_noise(sag, pts, centre, bias, sigma, gain, rng).reshape(n, size, size)
    sagittal = SeriesImages("SAG T2", sag_px, np.array(positions), np.tile(np.r_[row_dir, col_dir], (n, 1)),
                            (px, px), cfg.sag_thickness, cfg.sag_spacing)

    # axial: per disc, slices parallel to the disc plane, rows along +x, columns posterior along the disc plane
    m, size, px = cfg.ax_slices_per_level, cfg.ax_size, cfg.ax_pixel
    ax_imgs, ax_pos, ax_ori, ax_pts = [], [], [], []
    for d in range(6):
        sd = float(anat.s_disc[d])
        normal = anat.axis(sd)
        row_dir = np.array([1.0, 0.0, 0.0])
        col_dir = np.cross(normal, row_dir)  # posterior in the disc plane
        centre = anat.to_patient(sd, anat.b_canal + 8.0)
        for k in range(m):
            off = (k - (m - 1) / 2) * cfg.ax_spacing
            # slices ordered inferior -> superior along the normal
            c = centre + normal * off
            origin = c - row_dir * px * (size - 1) / 2 - col_dir * px * (size - 1) / 2
            plane = _plane_points(origin, row_dir, col_dir, size, size, px)
            acc = np.zeros(size * size, np.float32)
            for t in sub:
                ss, bb, ll = anat.straighten(plane + normal * t * cfg.ax_thickness)
                acc += anat.render(ss, bb, ll)
            ax_imgs.append(acc / len(sub))
            ax_pos.append(origin)
            ax_ori.append(np.r_[row_dir, col_dir])
            ax_pts.append(plane)
    pts = np.concatenate(ax_pts)
    ax_px = _bias_and_noise(np.stack(ax_imgs), pts, l3, bias, sigma, gain, rng).reshape(-1, size, size)
    axial = SeriesImages("AX T2", ax_px, np.array(ax_pos), np.array(ax_ori), (px, px), cfg.ax_thickness,
                         cfg.ax_spacing)

    truth = {"schema_version": SCHEMA_VERSION, "study_id": sid, "seed": seed, "index": index,
             "coordinate_system": "DICOM patient coordinates (LPS), mm",
             "corner_order": list(CORNER_NAMES), **anat.truth(),
             "grades": grades, "report": {"report_id": sid, "style": report.style}}
    study = SyntheticStudy(sid, sagittal, axial, truth)
    study.report_text = report.text  # type: ignore[attr-defined]
    return study


@dataclass
class TrainingSlice:
    """One synthetic sagittal slice for segmentation training: the image ``(rows SI, cols AP)``, the positional
    label map of the vertebral bodies in view (1..N cranial -> caudal, partial bodies at the edges included) and
    their names."""

    image: np.ndarray
    labels: np.ndarray
    names: list[str]
    pixel_mm: float
    thickness_mm: float
    contrast: str


def training_slice(seed: int, index: int, contrast: str | None = None) -> TrainingSlice:
    """Draw and render slice ``index`` of the synthetic training set ``seed`` (deterministic).

    Varied on purpose, for a network that must work on other scanners: T1 or T2 contrast (``contrast``: drawn
    when ``None``), pixels of 0.5-1.3 mm, slices 1-6 mm thick (partial volume across the slice), fields of view
    120-320 mm high centred anywhere from T12 to S1 (thoracolumbar views without S1, lumbosacral views without
    T12, bodies cut by the image edges), the slice 0-7 mm off the mid-line, bias field and Rician noise.
    """
    rng = np.random.default_rng([seed, index, 20261129])
    grades = random_grades(random.Random(f"imaging-train-slice-{seed}-{index}"))
    contrast = contrast or ("t1" if rng.random() < 0.4 else "t2")
    if contrast not in CONTRASTS:
        raise ImagingError(Errors.I023.format(value=contrast, allowed=sorted(CONTRASTS)))
    anat = _Anatomy(rng, grades, contrast)
    pixel, thickness = rng.uniform(0.5, 1.3), rng.uniform(1.0, 6.0)
    height = rng.uniform(120.0, 320.0)
    rows = int(round(height / pixel))
    cols = int(round(rows * rng.uniform(0.8, 1.2)))
    s_centre = rng.uniform(anat.s_top[0], anat.s_bot[6])
    lat = rng.uniform(-7.0, 7.0)
    centre = anat.to_patient(s_centre, rng.uniform(0.0, 40.0), 0.0)
    centre[0] = float(anat.x_off(s_centre)) + lat
    row_dir, col_dir = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])  # columns posterior, rows inferior
    origin = centre - row_dir * pixel * (cols - 1) / 2 - col_dir * pixel * (rows - 1) / 2
    j, i = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    plane = origin + (i.ravel()[:, None] * pixel) * row_dir + (j.ravel()[:, None] * pixel) * col_dir
    ss, bb, ll = anat.straighten(plane)
    img = np.zeros(ss.shape, np.float32)
    offsets = (np.arange(3) + 0.5) / 3 - 0.5
    for t in offsets:
        img += anat.render(ss, bb, ll + t * thickness) / len(offsets)
    labels = np.zeros(ss.shape, np.int32)
    names = []
    for k, name in enumerate(VERTEBRAE):
        inside = anat.body_distance(k, ss.astype(np.float32), bb.astype(np.float32), ll.astype(np.float32)) > 0
        if inside.any():
            names.append(name)
            labels[inside & (labels == 0)] = len(names)
    bias = rng.uniform(-0.25, 0.25, 5)
    pix = _bias_and_noise(img, plane, centre, bias, rng.uniform(0.01, 0.05), 1000.0, rng)
    return TrainingSlice(pix.reshape(rows, cols).astype(np.float32), labels.reshape(rows, cols), names,
                         float(pixel), float(thickness), contrast)


def _uid(*parts) -> str:
    return generate_uid(prefix=UID_ROOT, entropy_srcs=[str(p) for p in parts])


def _write_series(folder: Path, series: SeriesImages, sid: str, number: int, study_uid: str, frame_uid: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = _uid(study_uid, "series", number)
    for k in range(series.pixels.shape[0]):
        sop_uid = _uid(series_uid, k)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = UID_ROOT + "1"
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = MR_IMAGE_STORAGE, sop_uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.Modality, ds.Manufacturer = "MR", "imaging.synth"
        ds.PatientName, ds.PatientID, ds.StudyID, ds.AccessionNumber = sid, sid, sid[-8:], sid[-16:]
        ds.StudyDate = ds.SeriesDate = "20260101"
        ds.StudyDescription, ds.SeriesDescription = "MRI LUMBAR SPINE", series.description
        ds.SeriesNumber, ds.InstanceNumber = number, k + 1
        ds.BodyPartExamined, ds.ScanningSequence, ds.SequenceVariant = "LSPINE", "SE", "SK"
        ds.MRAcquisitionType, ds.EchoTime, ds.RepetitionTime, ds.MagneticFieldStrength = "2D", 100.0, 3500.0, 1.5
        ds.ImagePositionPatient = [round(float(v), 4) for v in series.positions[k]]
        ds.ImageOrientationPatient = [round(float(v), 6) for v in series.orientations[k]]
        ds.PixelSpacing = [float(series.pixel_spacing[0]), float(series.pixel_spacing[1])]
        ds.SliceThickness, ds.SpacingBetweenSlices = series.thickness, series.spacing_between
        normal = np.cross(series.orientations[k][:3], series.orientations[k][3:])
        ds.SliceLocation = round(float(np.dot(series.positions[k], normal)), 4)
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = series.pixels.shape[1:]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth = 600, 1200
        ds.PixelData = np.ascontiguousarray(series.pixels[k]).tobytes()
        ds.save_as(folder / f"IM{k + 1:04d}.dcm", enforce_file_format=True)
    return series.pixels.shape[0]


def write_study(study: SyntheticStudy, out_dir: Path) -> int:
    """Write the study's DICOM series under out_dir/dicom/<id>/ and its truth JSON; returns the file count."""
    out_dir = Path(out_dir)
    study_uid = _uid("study", study.study_id)
    frame_uid = _uid("frame", study.study_id)
    folder = out_dir / "dicom" / study.study_id
    files = _write_series(folder / "SAG_T2", study.sagittal, study.study_id, 1, study_uid, frame_uid)
    files += _write_series(folder / "AX_T2", study.axial, study.study_id, 2, study_uid, frame_uid)
    truth = dict(study.truth)
    truth["series"] = {"sagittal_t2": {"description": "SAG T2", "series_uid": _uid(study_uid, "series", 1),
                                       "folder": f"dicom/{study.study_id}/SAG_T2"},
                       "axial_t2": {"description": "AX T2", "series_uid": _uid(study_uid, "series", 2),
                                    "folder": f"dicom/{study.study_id}/AX_T2",
                                    "slices_per_level": int(study.axial.pixels.shape[0] // len(LEVELS)),
                                    "levels": list(LEVELS)}}
    truth["study_instance_uid"] = study_uid
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    (out_dir / "truth" / f"{study.study_id}.json").write_text(json.dumps(truth, indent=1))
    return files


def synth_cohort(out_dir: Path, config: SynthConfig | None = None,
                 progress: Callable[[int], None] | None = None) -> SynthSummary:
    """Write ``config.n`` synthetic studies, their ground truth and ``reports.csv`` to ``out_dir``."""
    cfg = config or SynthConfig()
    if cfg.n < 1:
        raise ImagingError(Errors.I020.format(value=cfg.n))
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ImagingError(Errors.I021.format(path=out_dir))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ImagingError(Errors.I022.format(path=out_dir, error=err)) from None
    t0 = time.perf_counter()
    summary = SynthSummary()
    rows = []
    for i in range(cfg.n):
        study = make_study(cfg.seed, i, cfg)
        summary.files += write_study(study, out_dir)
        summary.studies += 1
        for lv in LEVELS:
            for loc in LOCATIONS:
                summary.grades[loc][study.truth["grades"][lv][loc]] += 1
        rows.append((study.study_id, study.report_text))  # type: ignore[attr-defined]
        logger.info("wrote study %s", study.study_id)
        if progress:
            progress(1)
    with (out_dir / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["study_id", "dicom", "truth"])
        writer.writerows([(sid, f"dicom/{sid}", f"truth/{sid}.json") for sid, _ in rows])
    summary.reports_csv = out_dir / "reports.csv"
    with summary.reports_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["report_id", "text"])
        writer.writerows(rows)
    summary.seconds = time.perf_counter() - t0
    return summary
