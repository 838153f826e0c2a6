"""Applying a segmentation network to a study (``imaging segment``): label map, vertebrae.json, qc.png."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import check_output
from ..errors import Errors
from .checkpoint import load_checkpoint, model_or_default
from .config import SegConfig, SegmentationError
from .data import CANONICAL, Letterbox, normalise, standardise_tissue
from .postprocess import Component, Vertebra, assign_levels, body_corners, find_bodies

logger = logging.getLogger(__name__)


@torch.no_grad()
def predict_slice(model: torch.nn.Module, image: np.ndarray, cfg: SegConfig, spacing: Sequence[float]
                  ) -> np.ndarray:
    """Probabilities ``(C, h, w)`` on the slice grid for a raw slice ``(h, w)`` of ``spacing`` (row, column) mm: the
    mean over the network input sides :meth:`SegConfig.slice_sides` (the bodies drawn larger or smaller than in
    training's mean; with :attr:`SegConfig.infer_mm` as large as in training whatever the field of view), the
    intensities scaled by percentiles and, with :attr:`SegConfig.infer_tissue_range`, brought into training's
    range (:func:`.data.standardise_tissue`)."""
    model.eval()
    norm = (normalise(image) if cfg.infer_tissue_range is None
            else standardise_tissue(image, cfg.infer_tissue_range))[None]
    out = []
    for size in cfg.slice_sides(image.shape, spacing):
        box = Letterbox(image.shape[0], image.shape[1], size)
        out.append(box.inverse(model(box.forward(norm)[None])[0]))
    return np.mean(out, axis=0)


def predict_volume_slice(model: torch.nn.Module, vol: np.ndarray, k: int, cfg: SegConfig, spacing: Sequence[float]
                         ) -> np.ndarray:
    """Probabilities ``(C, SI, AP)`` for sagittal slice ``k`` of ``vol (SI, AP, LR)`` with in-plane ``spacing``
    (SI, AP) mm: :func:`predict_slice` averaged over ``k`` and :attr:`SegConfig.infer_neighbours` slices on each
    side (those inside the volume)."""
    n = cfg.infer_neighbours
    ks = [j for j in range(k - n, k + n + 1) if 0 <= j < vol.shape[2]]
    return np.mean([predict_slice(model, vol[:, :, j], cfg, spacing) for j in ks], axis=0)


def named_bodies(model: torch.nn.Module, vol: np.ndarray, k: int, cfg: SegConfig, spacing: Sequence[float]
                 ) -> tuple[list[tuple[Component, str | None]], list[str]]:
    """The vertebral bodies on sagittal slice ``k`` of ``vol (SI, AP, LR)`` (in-plane ``spacing`` (SI, AP) mm),
    cranial -> caudal with their level names, and the warnings: :func:`predict_volume_slice`, then
    :func:`.postprocess.find_bodies` (why detections were dropped) and :func:`.postprocess.assign_levels`."""
    comps, dropped = find_bodies(predict_volume_slice(model, vol, k, cfg, spacing), cfg, spacing)
    ordered, warnings = assign_levels(comps)
    return ordered, dropped + warnings


@dataclass
class SegmentResult:
    slice_index: int
    vertebrae: list[Vertebra]
    warnings: list[str]
    label_slice: np.ndarray


def _read_study(path: Path) -> tuple[np.ndarray, Callable[[Sequence[float]], list[float]], tuple, Callable]:
    """``(array (SI, AP, LR), voxel->mm, spacing (SI, AP, LR), seg array -> sitk image)`` of a study.

    A DICOM folder gives its sagittal T2 volume (:func:`imaging.io.read_study`), a NIfTI / MetaImage file its
    volume; either is permuted and flipped (no resampling) to :data:`CANONICAL` by its direction cosines, and
    the segmentation goes back to the input's own grid.
    """
    import SimpleITK as sitk

    path = Path(path)
    if not path.exists():
        raise SegmentationError(Errors.S009.format(path=path, error="no such file or folder"))
    if path.is_dir():
        from ..io import read_study  # DICOM series selection and geometry (imaging.io)

        src = read_study(path).sagittal_t2.to_sitk()
    else:
        try:
            src = sitk.ReadImage(str(path))
        except RuntimeError as err:
            raise SegmentationError(Errors.S009.format(path=path, error=str(err).strip().splitlines()[-1])) \
                from None
    img = sitk.DICOMOrient(src, CANONICAL)
    stored = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(src.GetDirection())

    def to_image(seg: np.ndarray) -> Any:
        out = sitk.GetImageFromArray(seg)
        out.CopyInformation(img)
        return sitk.DICOMOrient(out, stored)  # back to the input's own grid

    return sitk.GetArrayFromImage(img), _sitk_mm(img), tuple(img.GetSpacing()[::-1]), to_image


def _sitk_mm(img: Any) -> Callable[[Sequence[float]], list[float]]:
    def to_mm(v: Sequence[float]) -> list[float]:
        return [round(float(x), 2) for x in img.TransformContinuousIndexToPhysicalPoint(
            (float(v[2]), float(v[1]), float(v[0])))]
    return to_mm


def segment_array(model: torch.nn.Module, cfg: SegConfig, vol: np.ndarray, spacing: Sequence[float] = (1, 1, 1),
                  to_mm: Callable[[Sequence[float]], list[float]] | None = None, slice_index: int | None = None
                  ) -> SegmentResult:
    """Segment and label the mid-sagittal slice (or ``slice_index``) of ``vol (SI, AP, LR)``."""
    k = vol.shape[2] // 2 if slice_index is None else slice_index
    ordered, warnings = named_bodies(model, vol, k, cfg, spacing[:2])
    lab = np.zeros(vol.shape[:2], np.uint8)
    verts = []
    px_mm2 = float(spacing[0]) * float(spacing[1])
    for i, (c, name) in enumerate(ordered, 1):
        lab[c.mask & (lab == 0)] = i
        r, col = c.centroid
        vox = [round(r, 2), round(col, 2), float(k)]
        corners = body_corners(c.mask, spacing) if to_mm else None
        verts.append(Vertebra(label=i, name=name, detector=c.channel, centroid_voxel=vox,
                              centroid_mm=to_mm(vox) if to_mm else None, bbox=list(c.bbox), area_px=c.area,
                              area_mm2=round(c.area * px_mm2, 1),
                              corners_mm=None if corners is None else [to_mm([r_, c_, k]) for r_, c_ in corners]))
    return SegmentResult(k, verts, warnings, lab)


def segment_image(model: torch.nn.Module, cfg: SegConfig, img: Any) -> SegmentResult:
    """Segment a SimpleITK image already in the :data:`CANONICAL` layout (``sitk.DICOMOrient(image, CANONICAL)``);
    centroids and corners come out in its patient mm."""
    import SimpleITK as sitk

    return segment_array(model, cfg, sitk.GetArrayFromImage(img), img.GetSpacing()[::-1], _sitk_mm(img))


def save_qc(path: Path, image: np.ndarray, probs_label: np.ndarray, verts: Sequence[Vertebra], title: str) -> None:
    """qc.png: the slice, the segmentation overlay, and the level names at the centroids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.5))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("image")
    axes[1].imshow(probs_label, cmap="nipy_spectral", interpolation="nearest", vmin=0,
                   vmax=max(int(probs_label.max()), 1))
    axes[1].set_title("segmentation")
    axes[2].imshow(image, cmap="gray")
    axes[2].imshow(np.ma.masked_equal(probs_label, 0), cmap="autumn", alpha=0.4, interpolation="nearest")
    for v in verts:
        axes[2].text(v.centroid_voxel[1], v.centroid_voxel[0], v.name or f"#{v.label}", color="cyan", fontsize=8,
                     ha="center", va="center")
    axes[2].set_title("labels")
    for a in axes:
        a.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def segment_study(model_path: Path | None, study: Path, out_dir: Path) -> SegmentResult:
    """Write ``segmentation.nii.gz`` (label map on the slice used, input geometry), ``vertebrae.json`` and
    ``qc.png`` to ``out_dir`` for one study; ``model_path`` None: the shipped default model."""
    import SimpleITK as sitk

    model_path = model_or_default(model_path)
    ck = load_checkpoint(model_path)
    check_output(out_dir, folder=True)
    vol, to_mm, spacing, to_image = _read_study(Path(study))
    res = segment_array(ck.model, ck.config, vol, spacing, to_mm)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seg = np.zeros(vol.shape, np.uint8)
    seg[:, :, res.slice_index] = res.label_slice
    sitk.WriteImage(to_image(seg), str(out_dir / "segmentation.nii.gz"))
    doc = {"study": str(study), "model": str(model_path), "slice_index": res.slice_index,
           "slice_axis": "array[:, :, k] (SI, AP, LR numpy order)", "vertebrae": [asdict(v) for v in res.vertebrae],
           "warnings": res.warnings}
    (out_dir / "vertebrae.json").write_text(json.dumps(doc, indent=2))
    save_qc(out_dir / "qc.png", vol[:, :, res.slice_index], res.label_slice, res.vertebrae, Path(study).name)
    for w in res.warnings:
        logger.warning("%s: %s", study, w)
    return res
