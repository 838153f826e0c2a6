"""Reading training and evaluation cases: image/ground-truth pairs, slices, corner polygons, letterboxing."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..datasets import spider
from ..errors import Errors
from .augment import AugmentConfig, choose_slice, random_crop
from .config import SegConfig, SegmentationError
from .postprocess import LUMBAR_NAMES, THORACIC_ABOVE


@dataclass
class Letterbox:
    """How a slice ``(h, w)`` was zero-padded to a square and resized to ``size``; inverts predictions."""

    h: int
    w: int
    size: int

    @property
    def side(self) -> int:
        return max(self.h, self.w)

    @property
    def pad(self) -> tuple[int, int]:
        return (self.side - self.h) // 2, (self.side - self.w) // 2

    def forward(self, arr: np.ndarray, mode: str = "bilinear") -> torch.Tensor:
        """``(C, h, w)`` array -> ``(C, size, size)`` tensor."""
        t = torch.as_tensor(np.ascontiguousarray(arr), dtype=torch.float32)
        pr, pc = self.pad
        sq = torch.zeros((t.shape[0], self.side, self.side), dtype=torch.float32)
        sq[:, pr:pr + self.h, pc:pc + self.w] = t
        if mode == "bilinear":
            out = F.interpolate(sq[None], size=(self.size, self.size), mode="bilinear", align_corners=False,
                                antialias=True)
        else:
            out = F.interpolate(sq[None], size=(self.size, self.size), mode=mode)
        return out[0]

    def inverse(self, t: torch.Tensor) -> np.ndarray:
        """``(C, size, size)`` probabilities -> ``(C, h, w)`` array on the slice grid (bilinear)."""
        sq = F.interpolate(t[None].float(), size=(self.side, self.side), mode="bilinear", align_corners=False)[0]
        pr, pc = self.pad
        return sq[:, pr:pr + self.h, pc:pc + self.w].numpy()


def normalise(img: np.ndarray) -> np.ndarray:
    """Robust intensity scaling to about [0, 1] (1st-99.5th percentile)."""
    img = img.astype(np.float32)
    lo, hi = np.percentile(img, [1.0, 99.5])
    return np.clip((img - lo) / max(hi - lo, 1e-6), 0.0, 1.5)


#: Pixels at or below this (after :func:`normalise`) are background (air) for :func:`standardise_tissue`.
TISSUE_FLOOR = 0.05


def standardise_tissue(img: np.ndarray, median_range: tuple[float, float]) -> np.ndarray:
    """:func:`normalise`, then, when the median of the tissue (the pixels above :data:`TISSUE_FLOOR`) lies outside
    ``median_range`` (that of the training scans), raised to the power that brings it to the nearer end: a slice
    whose tissue is much darker or brighter than any in training (another sequence's or scanner's brightness
    curve) is shown to the network as the darkest or brightest in training; one inside the range is left as it
    is. The order of intensities is kept; the power is found by bisection in [0.2, 5]."""
    x = normalise(img)

    def tissue_median(y: np.ndarray) -> float:
        tissue = y[y > TISSUE_FLOOR]
        return float(np.median(tissue)) if tissue.size else 0.0

    m = tissue_median(x)
    if median_range[0] <= m <= median_range[1]:
        return x
    target = median_range[0] if m < median_range[0] else median_range[1]
    lo, hi = 0.2, 5.0
    for _ in range(24):
        g = (lo * hi) ** 0.5
        if tissue_median(x ** g) > target:
            lo = g
        else:
            hi = g
    return x ** ((lo * hi) ** 0.5)


def polygon_mask(shape: tuple[int, int], corners: Sequence[Sequence[float]]) -> np.ndarray:
    """Boolean ``shape`` mask of the polygon with (row, col) ``corners`` (4 corners: a rectangle or trapezoid)."""
    from matplotlib.path import Path as MplPath

    rr, cc = np.mgrid[:shape[0], :shape[1]]
    pts = np.stack([cc.ravel() + 0.5, rr.ravel() + 0.5], axis=1) - 0.5
    poly = MplPath([(c, r) for r, c in corners])
    return poly.contains_points(pts, radius=0.5).reshape(shape)


def read_corners(path: Path, shape: tuple[int, int]) -> tuple[int | None, np.ndarray, list[str]]:
    """Rasterise a corners JSON file: ``(slice or None, positional label map (h, w), names cranial->caudal)``."""
    try:
        data = json.loads(Path(path).read_text())
        verts = data["vertebrae"]
        items = []
        for v in verts:
            corners = v["corners"]
            if len(corners) != 4 or any(len(c) != 2 for c in corners):
                raise ValueError(f"vertebra {v.get('name')!r} needs 4 [row, col] corners")
            items.append((str(v.get("name", "")), corners))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SegmentationError(Errors.S004.format(path=path, problem=err)) from None
    lab, names = rasterise(items, shape)
    k = data.get("slice")
    return (int(k) if k is not None else None), lab, names


def rasterise(items: Sequence[tuple[str, Sequence[Sequence[float]]]], shape: tuple[int, int]
              ) -> tuple[np.ndarray, list[str]]:
    """Positional label map (1..N cranial -> caudal by mean corner row) of named (row, col) corner polygons."""
    items = sorted(items, key=lambda it: np.mean([c[0] for c in it[1]]))
    lab = np.zeros(shape, np.int32)
    for i, (_, corners) in enumerate(items, 1):
        lab[polygon_mask(shape, corners) & (lab == 0)] = i
    return lab, [n for n, _ in items]


def targets_from_labels(lab: np.ndarray, names: Sequence[str] | None, with_s1: bool) -> np.ndarray:
    """Detector targets ``(C, h, w)`` from a positional label slice: lumbar = every body not named S1."""
    s1 = np.zeros(lab.shape, bool)
    if names:
        for i, n in enumerate(names, 1):
            if n.upper() == "S1":
                s1 |= lab == i
    lumbar = (lab > 0) & ~s1
    return np.stack([lumbar, s1] if with_s1 else [lumbar]).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- data reading
#: The layout every NIfTI / MetaImage volume is brought to: index axes toward patient left, posterior and
#: inferior, i.e. numpy order ``(SI, AP, LR)`` with sagittal slices ``[:, :, k]`` (the vertebrae data set's own).
CANONICAL = "LPI"


def read_array(path: Path) -> tuple[np.ndarray, Any]:
    """A 3-D volume ``(SI, AP, LR)`` as numpy and its SimpleITK image in that layout. NIfTI / MetaImage files
    in any orientation are permuted and flipped (no resampling) to :data:`CANONICAL` by their direction cosines."""
    import SimpleITK as sitk

    try:
        img = sitk.DICOMOrient(sitk.ReadImage(str(path)), CANONICAL)
    except RuntimeError as err:
        raise SegmentationError(Errors.S009.format(path=path, error=str(err).strip().splitlines()[-1])) from None
    return sitk.GetArrayFromImage(img), img


@dataclass
class Pair:
    """A training/evaluation case: an image (file, or DICOM study folder) and its ground truth."""

    name: str
    image: Path
    vertebrae: Path | None = None  # positional label mask on the image grid
    corners: Path | None = None    # corners JSON: voxel (row, col), or a synthetic truth file (patient mm)
    s1_label: int | None = None    # the positional mask label of S1 (from a level annotation file)
    s1_known: bool = False         # whether S1 is labelled or annotated as out of view (else its target is unknown)
    lowest_labelled: str | None = None  # S1 unlabelled; the name of the lowest labelled body (all lie above S1)
    s1_outline: tuple[tuple[float, float], ...] | None = None  # S1 unlabelled: an outline drawn inside it (row, col)
    convention: str = ""           # "" positional mask; "spider": SPIDER's label values (imaging.datasets.spider)


#: Which mask label is S1 in each volume of the vertebrae-mri development set (ids and label values only).
LEVELS_FILE = Path(__file__).resolve().parent.parent / "models" / "vertebrae-mri-levels.json"


#: The vertebra names a level annotation may give as ``lowest_labelled`` (a body above S1).
ABOVE_S1 = THORACIC_ABOVE[::-1] + LUMBAR_NAMES
LEVEL_KEYS = ("s1_label", "s1_in_view", "lowest_labelled", "s1_outline")
#: Around an ``s1_outline`` the S1 target is unknown for this many millimetres (the outline is drawn inside S1 by
#: eye; S1's true edge may lie anywhere in that band).
S1_OUTLINE_MARGIN_MM = 5.0


class CaseLevels(NamedTuple):
    """What a level annotation file says about one case (:func:`read_levels`)."""

    s1_label: int | None           # the positional mask label of S1; None: S1 not labelled
    s1_in_view: bool
    lowest_labelled: str | None = None  # the name of the lowest labelled body when it is not S1 (e.g. "L5")
    s1_outline: tuple[tuple[float, float], ...] | None = None  # S1 unlabelled: (row, col) points inside it


def read_levels(path: Path) -> dict[str, CaseLevels]:
    """A level annotation file: ``{case name: CaseLevels}``. Each case has ``s1_label`` and ``s1_in_view``, and
    optionally ``lowest_labelled``: the name of the lowest labelled body when S1 is unlabelled (T6..L5), which
    names every labelled body (counted upward) and makes each a known non-S1 body; with it, optionally
    ``s1_outline``: a polygon of at least 3 (row, col) voxel points drawn inside the unlabelled S1 on the
    mid-sagittal slice, which makes it a training target (:func:`case_from_pair`). Unknown keys are refused (a
    misspelt key would silently change the training targets)."""
    try:
        cases = json.loads(Path(path).read_text())["cases"]
        out = {}
        for name, c in cases.items():
            extra = sorted(set(c) - set(LEVEL_KEYS))
            if extra:
                raise ValueError(f"case {name!r}: unknown key(s) {extra}, expected {list(LEVEL_KEYS)}")
            label, in_view, lowest = c["s1_label"], c["s1_in_view"], c.get("lowest_labelled")
            if label is not None and (not isinstance(label, int) or label < 1):
                raise ValueError(f"case {name!r}: s1_label {label!r} is not a label >= 1")
            if not isinstance(in_view, bool) or (label is not None and not in_view):
                raise ValueError(f"case {name!r}: s1_in_view {in_view!r} must be true or false (true when labelled)")
            if lowest is not None and (lowest not in ABOVE_S1 or label is not None):
                raise ValueError(f"case {name!r}: lowest_labelled {lowest!r} must be one of {', '.join(ABOVE_S1)}, "
                                 "given only when s1_label is null")
            outline = c.get("s1_outline")
            if outline is not None:
                if lowest is None or not in_view:
                    raise ValueError(f"case {name!r}: s1_outline is given only with lowest_labelled and s1_in_view "
                                     "true (an unlabelled S1 in view)")
                if (not isinstance(outline, list) or len(outline) < 3
                        or any(not isinstance(pt, list) or len(pt) != 2 for pt in outline)):
                    raise ValueError(f"case {name!r}: s1_outline must be a list of at least 3 [row, col] points")
                outline = tuple((float(r), float(col)) for r, col in outline)
            out[str(name)] = CaseLevels(label, in_view, lowest, outline)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SegmentationError(Errors.S010.format(path=path, problem=err)) from None
    return out


def annotate_pairs(pairs: Sequence[Pair], levels: dict[str, CaseLevels]) -> list[Pair]:
    """``pairs`` with their S1 label, whether S1 is known and whether their labelled bodies are known not to be S1,
    from :func:`read_levels` (unlisted pairs unchanged)."""
    out = []
    for p in pairs:
        if p.name in levels:
            lv = levels[p.name]
            p = replace(p, s1_label=lv.s1_label, s1_known=lv.s1_label is not None or not lv.s1_in_view,
                        lowest_labelled=lv.lowest_labelled, s1_outline=lv.s1_outline)
        out.append(p)
    return out


IMAGE_SUFFIXES = ("_image.nii.gz", "_image.nii", "_image.mha", "_image.mhd")


def find_pairs(folder: Path) -> list[Pair]:
    """Training pairs in ``folder``: each ``NAME_image.*`` with ``NAME_vertebrae.*`` or ``NAME_corners.json``, the
    studies of an ``imaging synth`` cohort, or the T2 series of a SPIDER download folder with their masks."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SegmentationError(Errors.S002.format(path=folder, cwd=os.getcwd()))
    spider_pairs = spider.find_pairs(folder)
    if spider_pairs is not None:
        return spider_pairs
    pairs = []
    if (folder / "truth").is_dir() and (folder / "dicom").is_dir():  # a cohort written by 'imaging synth'
        for t in sorted((folder / "truth").glob("*.json")):
            if (folder / "dicom" / t.stem).is_dir():
                pairs.append(Pair(t.stem, folder / "dicom" / t.stem, corners=t))
        return pairs
    for p in sorted(folder.iterdir()):
        suffix = next((s for s in IMAGE_SUFFIXES if p.name.endswith(s)), None)
        if suffix is None:
            continue
        name = p.name[: -len(suffix)]
        ext = suffix[len("_image"):]
        mask = folder / f"{name}_vertebrae{ext}"
        corners = folder / f"{name}_corners.json"
        if mask.exists():
            pairs.append(Pair(name, p, vertebrae=mask))
        elif corners.exists():
            pairs.append(Pair(name, p, corners=corners))
    return pairs


@dataclass
class SliceSample:
    """One training/validation slice: image ``(1, S, S)``, targets ``(C, S, S)``, the GT label slice and which
    targets are known."""

    name: str
    image: torch.Tensor
    target: torch.Tensor
    labels: np.ndarray
    spacing: tuple[float, float]
    weight: torch.Tensor  # (C, S, S) 1 where the target is known, 0 where it is not (S1 not annotated)


@dataclass
class PairData:
    """A case read into memory: ``vol (SI, AP, LR)``, in-plane spacing (row, col) mm and the ground truth."""

    vol: np.ndarray
    spacing: tuple[float, float]
    k_mid: int
    lab3: np.ndarray | None = None
    lab2: np.ndarray | None = None
    names: list[str] | None = None
    s1_known: bool = False
    slice_mm: float = 1.0  # spacing of the sagittal slices (LR)

    def labels(self, k: int) -> np.ndarray:
        return self.lab3[:, :, k].astype(np.int32) if self.lab3 is not None else self.lab2


def read_pair(pair: Pair) -> PairData:
    """Read a pair: NIfTI/MetaImage image with a label mask or corners JSON, or a synthetic DICOM study with its
    truth file (corners in patient mm, projected onto the mid-sagittal slice)."""
    if pair.image.is_dir():
        from ..io import read_study

        sag = read_study(pair.image).sagittal_t2
        vol = np.transpose(sag.array, (1, 2, 0))
        k_mid = vol.shape[2] // 2
        try:
            truth = json.loads(pair.corners.read_text())["vertebrae"]
            items = []
            for name, v in truth.items():
                ijk = sag.patient_to_index(np.asarray(v["corners"], float))
                items.append((name, [(float(j), float(i)) for i, j, _ in ijk]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise SegmentationError(Errors.S004.format(path=pair.corners, problem=err)) from None
        lab2, names = rasterise(items, vol.shape[:2])
        return PairData(vol, (float(sag.spacing[1]), float(sag.spacing[0])), k_mid, lab2=lab2, names=names,
                        s1_known="S1" in names)
    vol, img = read_array(pair.image)
    sp = img.GetSpacing()  # (LR, AP, SI) in ITK order
    data = PairData(vol, (float(sp[2]), float(sp[1])), vol.shape[2] // 2, s1_known=pair.s1_known,
                    slice_mm=float(sp[0]))
    if pair.s1_label is not None:
        data.names = [""] * (pair.s1_label - 1) + ["S1"]
    if pair.vertebrae is not None:
        data.lab3, _ = read_array(pair.vertebrae)
        if data.lab3.shape != vol.shape:
            raise SegmentationError(Errors.S005.format(mask=pair.vertebrae, mask_shape=data.lab3.shape,
                                                       image=pair.image, image_shape=vol.shape))
        if pair.convention == "spider":
            data.lab3, data.names = spider.body_labels(data.lab3)
        elif pair.lowest_labelled is not None:
            data.names = [""] * (int(data.lab3.max()) - 1) + [pair.lowest_labelled]
    else:
        k, data.lab2, data.names = read_corners(pair.corners, vol.shape[:2])
        data.k_mid = k if k is not None else data.k_mid
        data.s1_known = data.s1_known or "S1" in data.names
    return data


@dataclass
class TrainCase:
    """A training/validation case in memory: the sagittal slab ``vol (SI, AP, n)`` around the mid-line with its
    positional labels, the slab index of the mid-sagittal slice, the slice spacing and what S1 is."""

    name: str
    vol: np.ndarray
    lab: np.ndarray
    k_mid: int
    slice_mm: float
    spacing: tuple[float, float]
    names: list[str] | None
    s1_known: bool
    bodies_not_s1: bool = False  # S1 unknown, but known to be none of the labelled bodies
    s1_outlined: bool = False  # S1 painted from an outline drawn inside it: its edge band is unknown


def case_from_pair(pair: Pair, aug: AugmentConfig) -> TrainCase:
    """The slices of ``pair`` that ``aug`` can draw (all labelled slices within reach of the mid-line). An
    ``s1_outline`` becomes one more positional label, S1, on every slice (S1 is wider than that slab)."""
    data = read_pair(pair)
    if data.lab3 is None:  # ground truth on one slice only
        k, vol, lab, slice_mm = 0, data.vol[:, :, data.k_mid:data.k_mid + 1], data.lab2[:, :, None], 1.0
    else:
        reach = int(np.ceil((aug.slice_mm + aug.thick_mm / 2) / max(data.slice_mm, 1e-6)))
        lo, hi = max(data.k_mid - reach, 0), min(data.k_mid + reach + 1, data.vol.shape[2])
        k, vol, lab, slice_mm = data.k_mid - lo, data.vol[:, :, lo:hi], data.lab3[:, :, lo:hi], data.slice_mm
    lab, names = lab.astype(np.int32), data.names
    if pair.s1_outline is not None:
        s1 = len(names) + 1  # below the lowest labelled body (names run to it: read_pair)
        lab[polygon_mask(lab.shape[:2], pair.s1_outline)[:, :, None] & (lab == 0)] = s1
        names = names + ["S1"]
    outlined = pair.s1_outline is not None
    return TrainCase(pair.name, vol, lab, k, slice_mm, data.spacing, names, data.s1_known or outlined,
                     pair.lowest_labelled is not None, outlined)


def case_from_synthetic(ts: Any, name: str) -> TrainCase:
    """A case from an :class:`imaging.synth.TrainingSlice` (S1 is known: drawn, or out of view)."""
    return TrainCase(name, ts.image[:, :, None], ts.labels[:, :, None], 0, ts.thickness_mm,
                     (ts.pixel_mm, ts.pixel_mm), list(ts.names), True)


def draw_sample(case: TrainCase, cfg: SegConfig, aug: AugmentConfig, rng: np.random.Generator) -> SliceSample:
    """One slice of ``case`` through the slice stage of ``aug`` (slice choice, thick slab, crop), normalised and
    letterboxed to ``cfg.input_size``; ``AugmentConfig.none()`` gives the plain mid-sagittal slice."""
    image, lab = choose_slice(case.vol, case.lab, case.k_mid, case.slice_mm, rng, aug)
    image, lab = random_crop(image, lab, rng, aug)
    box = Letterbox(lab.shape[0], lab.shape[1], cfg.input_size)
    x = box.forward(normalise(image)[None])
    target = (box.forward(targets_from_labels(lab, case.names, cfg.with_s1)) > 0.5).float()
    return SliceSample(case.name, x, target, lab, case.spacing, target_weights(case, lab, box, cfg))


def target_weights(case: TrainCase, lab: np.ndarray, box: Letterbox, cfg: SegConfig) -> torch.Tensor:
    """Where each target of ``case`` is known, ``(C, S, S)`` in {0, 1}: the lumbar target everywhere; the S1 target
    everywhere when S1 is labelled or out of view, except a band of :data:`S1_OUTLINE_MARGIN_MM` around an S1
    painted from an outline (:attr:`TrainCase.s1_outlined`); on the labelled bodies only when they are known to lie
    above an unlabelled S1 (:attr:`TrainCase.bodies_not_s1`: S1 is 0 there), else nowhere. The letterbox padding is
    known (empty) in every channel."""
    s1_unknown = np.full(lab.shape, not case.s1_known, np.float32)
    if not case.s1_known and case.bodies_not_s1:
        s1_unknown = (lab == 0).astype(np.float32)
    elif case.s1_outlined:
        s1 = lab == case.names.index("S1") + 1
        reach = max(int(round(S1_OUTLINE_MARGIN_MM / min(case.spacing))), 1)
        s1_unknown = (ndimage.binary_dilation(s1, np.ones((3, 3), bool), reach) & (lab == 0)).astype(np.float32)
    unknown = np.stack([np.zeros(lab.shape, np.float32), s1_unknown])[:len(cfg.channels)]
    return 1.0 - (box.forward(unknown) > 0.5).float()
