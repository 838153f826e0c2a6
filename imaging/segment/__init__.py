"""Vertebral-body segmentation and level labelling on the mid-sagittal slice (Deep Spine, sections 3.1, 4.1).

Two detectors, as in the paper, are the two output channels of one U-Net: channel 0 segments the lumbar bodies
(T12-L5, rectangles in the paper's ground truth) and channel 1 the sacral S1 segment (trapezoids). The Dice loss is
computed per channel and averaged, so the channels do not compete (a sigmoid per channel, not a softmax); with
``with_s1=False`` the network has the lumbar channel only (for data without S1 semantics).

Library entry points (the CLI in :mod:`imaging.cli` is a thin wrapper around each):

- :func:`train` (``imaging train-seg``): train on a folder of ``NAME_image.nii.gz`` + ``NAME_vertebrae.nii.gz``
  (positional label masks) or ``NAME_image.nii.gz`` + ``NAME_corners.json`` (four (row, col) corners per vertebra
  on the mid-sagittal slice), or on a cohort written by ``imaging synth`` (DICOM studies + truth corners in mm).
- :func:`segment_study` (``imaging segment``): segmentation.nii.gz, vertebrae.json and qc.png for one study.
- :func:`evaluate_folder` (``imaging eval-seg``): the paper's three success criteria, per-vertebra Dice and
  centroid distance against ground-truth masks.

Slices are 2-D arrays ``(SI, AP)`` taken as ``volume[:, :, k]`` of a numpy array in SimpleITK order
``(SI, AP, LR)``: row 0 is the most superior (cranial) row. NIfTI/MetaImage files are taken in that order as
stored (the convention of the vertebrae-mri development set); DICOM studies are read with
:func:`imaging.io.read_study` and their sagittal T2 ``array[k, row, col]`` is turned to ``(row, col, k)``.

Level names: bodies are named upward from the S1 detection (L5, L4, ... L1, T12, then T11...). Without an S1
detection the bodies stay unnamed (``name: null``) and a warning says so; a lumbar count other than 6 warns too.
Checkpoints hold the :class:`SegConfig`, model and optimizer state, epoch and best validation Dice.

One module per stage: :mod:`.config` (errors, settings, presets), :mod:`.losses`, :mod:`.data` (pairs, slices,
letterbox), :mod:`.augment`, :mod:`.checkpoint`, :mod:`.training`, :mod:`.postprocess` (components, corners, level
names), :mod:`.inference` and :mod:`.evaluation`; this package re-exports their public names.
"""

from .augment import AugmentConfig, augment_batch
from .checkpoint import (CHECKPOINT_FORMAT, DEFAULT_MODEL, ENSEMBLE_SHARED, Checkpoint, Ensemble, build_model,
                         load_checkpoint, model_or_default, save_checkpoint, save_ensemble)
from .config import PRESETS, SegConfig, SegmentationError, augmentation_with, preset_config
from .data import (CANONICAL, IMAGE_SUFFIXES, LEVELS_FILE, Letterbox, Pair, PairData, SliceSample, TrainCase,
                   annotate_pairs, case_from_pair, case_from_synthetic, draw_sample, find_pairs, normalise,
                   polygon_mask, rasterise, read_array, read_corners, read_levels, read_pair, targets_from_labels)
from .evaluation import CaseEval, EvalSummary, bodies_found, evaluate_case, evaluate_folder, true_names
from .inference import (SegmentResult, named_bodies, predict_slice, predict_volume_slice, save_qc, segment_array,
                        segment_image, segment_study)
from .losses import bce_loss, dice_loss, dice_score
from .postprocess import (LUMBAR_NAMES, THORACIC_ABOVE, BodyRules, Component, Vertebra, assign_levels,
                          body_corners, components, components_from_labels, detect, find_bodies, plausible_bodies,
                          split_touching)
from .training import TrainSummary, build_optimizer, evaluate, train, train_one_epoch, training_cases

__all__ = [
    "annotate_pairs", "assign_levels", "augment_batch", "augmentation_with", "AugmentConfig", "bce_loss",
    "bodies_found", "body_corners", "BodyRules", "build_model", "build_optimizer", "CANONICAL", "case_from_pair",
    "case_from_synthetic", "CaseEval", "Checkpoint", "CHECKPOINT_FORMAT", "Component", "components",
    "components_from_labels", "DEFAULT_MODEL", "detect", "dice_loss", "dice_score", "draw_sample", "Ensemble",
    "ENSEMBLE_SHARED", "EvalSummary",
    "evaluate", "evaluate_case", "evaluate_folder", "find_bodies", "find_pairs", "IMAGE_SUFFIXES", "Letterbox",
    "LEVELS_FILE", "load_checkpoint", "LUMBAR_NAMES", "model_or_default", "named_bodies", "normalise", "Pair",
    "PairData", "plausible_bodies", "polygon_mask", "predict_slice", "predict_volume_slice", "preset_config",
    "PRESETS", "rasterise", "read_array", "read_corners", "read_levels", "read_pair", "save_checkpoint",
    "save_ensemble", "save_qc",
    "SegConfig", "segment_array", "segment_image", "segment_study", "SegmentationError", "SegmentResult",
    "SliceSample", "split_touching", "targets_from_labels", "THORACIC_ABOVE", "train", "train_one_epoch",
    "TrainCase", "training_cases", "TrainSummary", "true_names", "Vertebra",
]
