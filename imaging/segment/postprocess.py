"""From detector probabilities to named vertebral bodies: components, splitting, corners, level names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .config import SegConfig

LUMBAR_NAMES = ("T12", "L1", "L2", "L3", "L4", "L5")  # cranial -> caudal
THORACIC_ABOVE = ("T11", "T10", "T9", "T8", "T7", "T6")  # names continued above T12 (count warnings apply)
#: Every warning of :func:`assign_levels` that leaves the levels unnamed contains this phrase.
LEVELS_UNNAMED = "levels are left unnamed"


@dataclass
class Component:
    """One detected (or ground-truth) body on a slice: its mask, its detector channel and its S1 score (the mean
    S1 probability over the mask; without probabilities 1 for an S1 detection, 0 for a lumbar one)."""

    mask: np.ndarray
    channel: str = "lumbar"
    s1_score: float | None = None

    def __post_init__(self) -> None:
        if self.s1_score is None:
            self.s1_score = 1.0 if self.channel == "s1" else 0.0

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def centroid(self) -> tuple[float, float]:
        r, c = np.nonzero(self.mask)
        return float(r.mean()), float(c.mean())

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(row_min, col_min, row_max, col_max), inclusive."""
        r, c = np.nonzero(self.mask)
        return int(r.min()), int(c.min()), int(r.max()), int(c.max())


def split_touching(mask: np.ndarray, ref_area: float | None, max_iter: int = 12) -> list[np.ndarray]:
    """Split a component made of touching bodies: erode until it falls apart into parts of a plausible size,
    then give every pixel of the component to its nearest part (a watershed on the distance to the seeds)."""
    if ref_area is None or mask.sum() < 1.5 * ref_area:
        return [mask]
    for it in range(1, max_iter + 1):
        er = ndimage.binary_erosion(mask, iterations=it)
        lab, n = ndimage.label(er)
        if n == 0:
            break
        if n >= 2:
            sizes = ndimage.sum(er, lab, range(1, n + 1))
            keep = [i + 1 for i, s in enumerate(sizes) if s >= 0.1 * ref_area * (1 - it / (max_iter + 2))]
            if len(keep) >= 2:
                seeds = np.zeros_like(lab)
                for j, i in enumerate(keep, 1):
                    seeds[lab == i] = j
                _, (ri, ci) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
                owner = seeds[ri, ci]
                return [mask & (owner == j) for j in range(1, len(keep) + 1)]
    return [mask]


def components(binary: np.ndarray, channel: str, min_area_fraction: float = 0.25, split: bool = True
               ) -> list[Component]:
    """Connected components of a binary slice; small ones dropped, touching bodies split."""
    lab, n = ndimage.label(binary)
    masks = [lab == i for i in range(1, n + 1)]
    if not masks:
        return []
    areas = np.array([m.sum() for m in masks], float)
    ref = float(np.median(areas[areas >= 0.5 * areas.max()])) if len(areas) else None
    masks = [m for m, a in zip(masks, areas) if a >= min_area_fraction * ref]
    if split and len(masks) > 0:
        ref_small = float(np.median([m.sum() for m in masks]))
        out = []
        for m in masks:
            out.extend(split_touching(m, ref_small))
        masks = out
    return [Component(m, channel) for m in masks]


def components_from_labels(lab: np.ndarray, names: Sequence[str] | None = None) -> list[Component]:
    """Ground-truth components of a positional label slice (S1 when its name says so)."""
    out = []
    for v in np.unique(lab):
        if v == 0:
            continue
        name = names[v - 1] if names and v - 1 < len(names) else ""
        out.append(Component(lab == v, "s1" if name.upper() == "S1" else "lumbar"))
    return out


@dataclass(frozen=True)
class BodyRules:
    """What a detected vertebral body must look like on a sagittal slice to be reported. Areas are relative to
    the median area of the detections that do not touch the image border; distances to body widths (the square
    root of that area) or to the median centroid spacing along the spine."""

    min_area: float = 0.3          # smaller: a fragment
    max_area: float = 2.5          # larger: merged bodies or another structure
    border_partial: float = 0.75   # touching the image border and smaller than this: a body cut by the field of view
                                   # (on the 17 shared scans such detections are 0.30-0.50, none a labelled body)
    max_elongation: float = 3.0    # long / short side of the minimum-area rectangle
    min_solidity: float = 0.7      # area / convex-hull area: ragged shapes are not bodies
    max_offset: float = 1.2        # distance from the spine line (a quadratic through the centroids), body widths
    min_spacing: float = 0.45      # centroid distance to a neighbour, fraction of the median spacing: a duplicate
    # level naming (assign_levels): S1 is the body whose S1 score (mean S1 probability) singles it out
    s1_min_score: float = 0.3      # a lower best score is no anchor: S1 not detected
    s1_dominance: float = 3.0      # the best score must be this many times that of every body above it
    s1_within: float = 0.6         # an S1 detection on a lumbar detection must lie this much within it (one body)
    min_step: float = 0.5          # S1 to the lowest body above it, fraction of the median spacing of those bodies
    max_step: float = 1.7          # a longer step between named bodies: a body may be missed there
    max_step_size: float = 2.2     # ... or a step longer than this x the body size (the square root of the median
                                   # body area): where bodies are missed throughout, their spacing is no yardstick
                                   # (on the 17 shared scans and the robustness changes, named steps are <= 1.7 x)
    max_named_area: float = 1.6    # a body larger than this x the median of those above S1 may be two merged bodies


def _touches_border(c: Component, shape: tuple[int, int]) -> bool:
    r0, c0, r1, c1 = c.bbox
    return r0 == 0 or c0 == 0 or r1 == shape[0] - 1 or c1 == shape[1] - 1


def _shape_measures(mask: np.ndarray, spacing: Sequence[float]) -> tuple[float, float]:
    """``(elongation, solidity)`` of a body mask, in mm."""
    import cv2

    pts = (np.argwhere(mask) * np.asarray(spacing[:2], float)).astype(np.float32)
    (_, _), (a, b), _ = cv2.minAreaRect(pts)
    step = float(max(spacing[:2]))
    elongation = (max(a, b) + step) / (min(a, b) + step)
    hull = cv2.convexHull(pts)
    hull_area = cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True) * step + step * step  # pixel-area terms
    return float(elongation), float(min(mask.sum() * spacing[0] * spacing[1] / hull_area, 1.0))


def plausible_bodies(comps: Sequence[Component], shape: tuple[int, int], spacing: Sequence[float] = (1.0, 1.0),
                     rules: BodyRules = BodyRules()) -> tuple[list[Component], list[str]]:
    """Drop the detections that are not whole vertebral bodies; ``(kept, one reason per dropped detection)``.

    In order: size (fragments, merged blobs), bodies cut by the image border (partial: an S1 detection cut by the
    bottom edge is kept, as the anchor of the level names), shape (elongated or ragged), position off the line of
    the spine, and duplicates too close to a neighbour along the spine (the smaller one goes).
    """
    if not comps:
        return [], []
    inner = [c for c in comps if not _touches_border(c, shape)] or list(comps)
    ref = float(np.median([c.area for c in inner]))
    sp = np.asarray(spacing[:2], float)
    notes: list[str] = []

    def where(c: Component) -> str:
        r, col = c.centroid
        return f"{c.channel} detection at row {r:.0f}, column {col:.0f}"

    kept = []
    for c in comps:
        elongation, solidity = _shape_measures(c.mask, spacing)
        if c.area < rules.min_area * ref:
            reason = f"{c.area / ref:.2f} x the median body area: a fragment"
        elif c.area > rules.max_area * ref:
            reason = f"{c.area / ref:.1f} x the median body area: not one body"
        elif _touches_border(c, shape) and c.area < rules.border_partial * ref and not (
                c.channel == "s1" and c.bbox[2] == shape[0] - 1):  # an S1 cut by the bottom edge still anchors
            reason = "a partial body cut by the image border"
        elif elongation > rules.max_elongation:
            reason = f"elongated ({elongation:.1f}:1), not a body's shape"
        elif solidity < rules.min_solidity:
            reason = f"ragged (solidity {solidity:.2f}), not a body's shape"
        else:
            kept.append(c)
            continue
        notes.append(f"dropped the {where(c)}: {reason}")
    width = np.sqrt(ref * sp[0] * sp[1])
    while len(kept) >= 4:  # off the spine line (a quadratic col(row) fit), one detection at a time: while one lies
        # too far from the line through all, the one farthest from the line through the others goes (a stray
        # detection pulls the line through all toward itself, so that a true end body, S1, can lie farther from it)
        cen = np.array([c.centroid for c in kept]) * sp
        off = np.abs(cen[:, 1] - np.polyval(np.polyfit(cen[:, 0], cen[:, 1], 2), cen[:, 0]))
        if off.max() <= rules.max_offset * width:
            break
        others = [np.delete(cen, i, axis=0) for i in range(len(cen))]
        loo = [abs(cen[i, 1] - np.polyval(np.polyfit(o[:, 0], o[:, 1], 2), cen[i, 0])) for i, o in enumerate(others)]
        worst = int(np.argmax(loo))
        notes.append(f"dropped the {where(kept[worst])}: {loo[worst] / width:.1f} body widths off the line of the "
                     "spine through the other bodies")
        kept.pop(worst)
    kept.sort(key=lambda c: c.centroid[0])
    for channel in sorted({c.channel for c in kept}):  # duplicates along the spine, per detector (an S1 detection
        same = [c for c in kept if c.channel == channel]  # on a lumbar one is criterion 3, see assign_levels)
        while len(same) >= 3:
            cen = np.array([c.centroid for c in same]) * sp
            gaps = np.linalg.norm(np.diff(cen, axis=0), axis=1)
            i = int(gaps.argmin())
            if gaps[i] >= rules.min_spacing * float(np.median(gaps)):
                break
            small = same[i] if same[i].area < same[i + 1].area else same[i + 1]
            notes.append(f"dropped the {where(small)}: {gaps[i]:.0f} mm from its neighbour (median spacing "
                         f"{np.median(gaps):.0f} mm), a duplicate detection")
            same = [c for c in same if c is not small]
            kept = [c for c in kept if c is not small]
    return kept, notes


@dataclass
class Vertebra:
    """One labelled vertebral body on the slice."""

    label: int                     # value in segmentation.nii.gz (1..N cranial -> caudal)
    name: str | None               # T12..L5 / S1; None when the levels cannot be named (no S1)
    detector: str                  # "lumbar" or "s1"
    centroid_voxel: list[float]    # (SI row, AP column, LR slice) voxel index in the numpy array
    centroid_mm: list[float] | None  # physical point (ITK LPS) of the centroid
    bbox: list[int]                # (row_min, col_min, row_max, col_max) on the slice
    area_px: int
    area_mm2: float
    corners_mm: list[list[float]] | None = None  # anterior-superior, posterior-superior, posterior-inferior,
                                                 # anterior-inferior corners of the body's minimum-area rectangle


def body_corners(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Corners ``(4, 2)`` (row, col voxel units) of the minimum-area rectangle around a body mask on a slice
    ``(SI, AP)``, ordered anterior-superior, posterior-superior, posterior-inferior, anterior-inferior.

    The rectangle is fitted in mm (``spacing`` = row, column mm); its axis nearer the image rows is the body's
    superior-inferior axis (bodies tilt less than 45 degrees from the image axes on a sagittal slice).
    """
    import cv2

    sp = np.asarray(spacing[:2], dtype=np.float32)
    pts = np.argwhere(mask).astype(np.float32) * sp  # (row mm, col mm)
    (cr, cc), (len0, len1), angle = cv2.minAreaRect(np.ascontiguousarray(pts))
    a = np.deg2rad(angle)
    e0, e1 = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])  # the rectangle's (row, col) axes
    if abs(e0[0]) >= abs(e1[0]):
        si, ap, h, w = e0, e1, len0, len1
    else:
        si, ap, h, w = e1, e0, len1, len0
    si, ap = si * np.sign(si[0] or 1.0), ap * np.sign(ap[1] or 1.0)  # toward inferior (rows) and posterior (cols)
    c = np.array([cr, cc])
    corners = [c - h / 2 * si - w / 2 * ap, c - h / 2 * si + w / 2 * ap, c + h / 2 * si + w / 2 * ap,
               c + h / 2 * si - w / 2 * ap]
    return np.stack(corners) / sp


def _same_body(a: Component, b: Component) -> bool:
    """Two detections cover the same body: they overlap by more than half of the smaller one."""
    return bool((a.mask & b.mask).sum() > 0.5 * min(a.area, b.area))


def assign_levels(comps: Sequence[Component], expected_lumbar: int = 6, rules: BodyRules = BodyRules()
                  ) -> tuple[list[tuple[Component, str | None]], list[str]]:
    """Name bodies upward from S1: the S1 body, then L5, L4, ... L1, T12 (and T11... above, with a warning).

    Returns the components ordered cranial -> caudal with their names and the warnings. S1 is the detection (of
    either detector) with the best S1 score, at least ``rules.s1_min_score`` and ``rules.s1_dominance`` times the
    score of every body above it (an S1 detection on a body the lumbar detector found is that body, once, unless it
    reaches beyond it: ``rules.s1_within``; a lumbar detection under half the median body area inside a larger S1
    detection is the top of S1 that both detectors found). Bodies below it may score high: the S1 output also fires
    on the sacral segments below S1 (S2, S3), which it has seen as negatives on few scans, and seldom on L5, a
    negative on all.
    The levels are named only when that S1 is unambiguous: no body-sized lumbar detection lies below it, and it lies
    at about the spacing of the bodies above it below the lowest one (``rules.min_step``, ``rules.max_step``).
    Names are counted upward only as far as that is sure: from a step longer than ``rules.max_step`` times the
    median or ``rules.max_step_size`` times the body size (a missed body), or a body larger than
    ``rules.max_named_area`` times the median area (two merged bodies), up, the bodies stay unnamed. Otherwise
    every body stays unnamed (``None``) and a warning says why: counting from another body would be a guess, and
    one missed or doubled body would shift every name.
    """
    warnings: list[str] = []
    s1s = [c for c in comps if c.channel == "s1"]
    lumbar = sorted((c for c in comps if c.channel == "lumbar"), key=lambda c: c.centroid[0])
    twice = [s for s in s1s if any(_same_body(s, c) for c in lumbar)]  # reported once, as the lumbar body
    median_area = float(np.median([c.area for c in lumbar])) if lumbar else 0.0
    for s in list(twice):
        on = max(lumbar, key=lambda c: int((s.mask & c.mask).sum()))
        if (s.mask & on.mask).sum() < rules.s1_within * s.area and on.area < 0.5 * median_area:
            # a lumbar fragment inside a larger S1 detection is S1's top, found by both detectors: S1 stands
            lumbar = [c for c in lumbar if c is not on]
            twice = [t for t in twice if t is not s]
            warnings.append(f"a small lumbar detection at row {on.centroid[0]:.0f} lies inside the S1 detection "
                            "and is taken as part of S1")
    bodies = lumbar + [s for s in s1s if not any(s is t for t in twice)]

    def unnamed(reason: str) -> tuple[list[tuple[Component, str | None]], list[str]]:
        warnings.append(f"{reason}, so the {LEVELS_UNNAMED}")
        if twice:
            warnings.append(f"{len(twice)} S1 detection(s) on bodies the lumbar detector also found are reported "
                            "once")
        return [(c, None) for c in sorted(bodies, key=lambda c: c.centroid[0])], warnings

    for s in twice:  # an S1 detection reaching well beyond the lumbar body it lies on covers another body as well
        inside = max((s.mask & c.mask).sum() for c in lumbar) / s.area
        if inside < rules.s1_within:
            return unnamed(f"the S1 detection at row {s.centroid[0]:.0f} covers a lumbar body and more (only "
                           f"{inside:.0%} of it lies on that body): which body is S1 is ambiguous")
    ranked = sorted(bodies, key=lambda c: -c.s1_score)
    if not ranked or ranked[0].s1_score < rules.s1_min_score:
        best = f"; the best S1 score is {ranked[0].s1_score:.2f}" if ranked else ""
        warnings.append(f"S1 not detected (out of view, or not found{best}, below {rules.s1_min_score}): the lumbar "
                        f"{LEVELS_UNNAMED} (counting from the lowest body would be a guess); {len(lumbar)} lumbar "
                        "bodies found")
        return [(c, None) for c in sorted(bodies, key=lambda c: c.centroid[0])], warnings
    s1 = ranked[0]
    rival = next((c for c in ranked[1:] if c.centroid[0] < s1.centroid[0]), None)  # the best-scoring body above
    if rival is not None and s1.s1_score < rules.s1_dominance * rival.s1_score:
        return unnamed(f"no single S1: the best S1 scores are {s1.s1_score:.2f} (row {s1.centroid[0]:.0f}) and "
                       f"{rival.s1_score:.2f} (row {rival.centroid[0]:.0f}), less than {rules.s1_dominance:g} "
                       "times apart: which body is S1 is ambiguous")
    others = [c for c in bodies if c is not s1]
    if any((c.mask & s1.mask).any() for c in others):
        warnings.append("the S1 detection touches a lumbar detection (success criterion 3 fails)")
    above = sorted((c for c in others if c.centroid[0] <= s1.centroid[0]), key=lambda c: c.centroid[0])
    below = [c for c in others if c.centroid[0] > s1.centroid[0]]
    ref = float(np.median([c.area for c in above])) if above else float(s1.area)
    if any(c.area >= 0.5 * ref and c.channel == "lumbar" for c in below):
        return unnamed("a body-sized lumbar detection lies below the S1 detection: which body is S1 is ambiguous")
    if below:
        warnings.append(f"{len(below)} detection(s) below S1 (sacral segments: small, or found by the S1 detector) "
                        "were dropped")
    upward = list(reversed(LUMBAR_NAMES)) + list(THORACIC_ABOVE)
    names = [upward[i] if i < len(upward) else None for i in range(len(above))][::-1]
    if len(above) >= 2:
        cen = np.array([c.centroid for c in above] + [s1.centroid])
        steps = np.linalg.norm(np.diff(cen, axis=0), axis=1)
        spacing = float(np.median(steps[:-1]))
        longest = min(rules.max_step * spacing, rules.max_step_size * float(np.sqrt(ref)))
        if not rules.min_step * spacing <= steps[-1] <= longest:
            return unnamed(f"the S1 detection lies {steps[-1]:.0f} pixels from the lowest lumbar body, expected "
                           f"about {spacing:.0f} (the spacing of the lumbar bodies) and at most {longest:.0f} (their "
                           "size): a body between them may be missed or the S1 detection is wrong")
        # counting upward across a missed body, or over two merged bodies, would shift every name above it
        doubts = [(i, f"{steps[i]:.0f} pixels between the bodies at rows {cen[i][0]:.0f} and {cen[i + 1][0]:.0f}, "
                      f"expected about {spacing:.0f} and at most {longest:.0f}: a body between them may be missed")
                  for i in range(len(above) - 1) if steps[i] > longest]
        doubts += [(i, f"the body at row {cen[i][0]:.0f} is {above[i].area / ref:.1f} x the median body area: it may "
                       "be two merged bodies")
                   for i in range(len(above)) if above[i].area > rules.max_named_area * ref]
        if doubts:
            top, why = max(doubts)
            names[:top + 1] = [None] * (top + 1)
            warnings.append(f"{why}, so the {top + 1} bodies from there up are left unnamed")
    if len(above) != expected_lumbar:
        warnings.append(f"found {len(above)} lumbar bodies, expected {expected_lumbar} (T12-L5); "
                        + ("field of view may miss T12 or a body was not detected" if len(above) < expected_lumbar
                           else "extra bodies above T12 or a body was split (check qc.png)"))
    return list(zip(above, names)) + [(s1, "S1")], warnings


def detect(probs: np.ndarray, cfg: SegConfig) -> list[Component]:
    """Components of every detector channel of ``probs (C, h, w)``, each with its S1 score (the mean S1
    probability over its mask; 0 without an S1 channel)."""
    out = []
    s1_probs = probs[cfg.channels.index("s1")] if "s1" in cfg.channels else None
    for c, ch in enumerate(cfg.channels):
        binary = probs[c] > cfg.threshold
        for comp in components(binary, ch, cfg.min_area_fraction, split=ch != "s1"):
            comp.s1_score = float(s1_probs[comp.mask].mean()) if s1_probs is not None else 0.0
            out.append(comp)
    return out


def find_bodies(probs: np.ndarray, cfg: SegConfig, spacing: Sequence[float] = (1.0, 1.0)
                ) -> tuple[list[Component], list[str]]:
    """The plausible vertebral bodies in ``probs (C, h, w)`` and why the others were dropped
    (:func:`detect` then :func:`plausible_bodies`)."""
    return plausible_bodies(detect(probs, cfg), probs.shape[1:], spacing)
