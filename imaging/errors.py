"""A catalogue of the coded, actionable errors raised by ``imaging`` (the mechanism: :mod:`spinecore.errors`).

Every message names the bad value, what was expected and how to fix it. Codes are stable so that users can
search for them; add new ones at the end. ``I0xx``: studies, synthetic cohorts, disc volumes; ``S0xx``:
segmentation (:mod:`imaging.segment`). Retired: I037 unreadable config file (now C011).
"""

from __future__ import annotations

from spinecore.errors import CodedError, ErrorsWithCodes


class Errors(metaclass=ErrorsWithCodes):
    # reading studies
    I001 = "Study path '{path}' does not exist. Check the path (current folder: {cwd})."
    I002 = ("Study path '{path}' has the suffix '{suffix}', which is not a supported image format. Pass a folder of "
            "DICOM files, a NIfTI file (.nii, .nii.gz) or a MetaImage file (.mha, .mhd).")
    I003 = ("File '{path}' of the study in '{folder}' could not be read as DICOM ({error}), although its header "
            "was readable when the study was found. Check that the file is complete and readable, or remove it.")
    I004 = ("Folder '{path}' holds no DICOM image ({ignored}). Point to the folder that holds the study's DICOM "
            "files (sub-folders are searched).")
    I005 = ("Study '{path}' has no sagittal series: found {found}. A sagittal series is one whose slice normal "
            "(ImageOrientationPatient row x column cosines) lies nearer the left-right axis than any other. Add the "
            "sagittal T2 series to the folder.")
    I006 = ("Series '{description}' ({uid}) in '{path}' mixes image sizes {sizes} (rows x columns). Every slice of "
            "a series must have the same size; remove the odd slices or export the series again.")
    I007 = ("Series '{description}' ({uid}) in '{path}' has only {n} slice(s) in the stack with orientation "
            "{orientation}. A volume needs at least 2 slices; export the complete series.")
    I008 = ("File '{path}' lacks the geometry tag {tag}. Every slice needs ImagePositionPatient, "
            "ImageOrientationPatient and PixelSpacing; export the series with full DICOM headers.")
    I009 = ("Series '{description}' ({uid}) in '{path}' has unevenly spaced slices: gaps of {gaps} mm along the "
            "slice normal (expected one spacing within {tol} mm). A slice is probably missing or duplicated; "
            "export the complete series.")
    I010 = ("Image file '{path}' could not be read as {format}: {error}. Check that the file is a valid {format} "
            "file.")
    I011 = ("Image file '{path}' has {ndim} dimensions (size {size}); expected a 3-D volume. Pass a single 3-D "
            "volume (split 4-D series first).")
    I012 = ("File '{path}' has pixel data that could not be decoded: {error}. Export the series uncompressed or "
            "install the decoder for its transfer syntax.")
    I013 = ("ImageOrientationPatient {value!r} is not two unit-length, orthogonal direction cosines (6 numbers). "
            "Fix the header of the series.")
    # synthetic studies
    I020 = "--n must be at least 1, got {value}. Pass the number of studies to write."
    I021 = "Output path '{path}' exists and is not a folder. Choose a folder path for the synthetic studies."
    I022 = "Output folder '{path}' could not be created: {error}. Choose a writable location."
    I023 = "Grade mix '{value}' is unknown; expected one of {allowed}. Pass --grades realistic or uniform."
    # disc volume extraction (imaging.extract)
    I030 = ("Extraction setting '{name}' is {value!r}; expected {expected}. Correct the value in the config or on the "
            "command line.")
    I031 = ("Studies {paths} share the study id '{study_id}'. Study ids must be unique in one output folder: give "
            "the studies distinct ids in a --study-ids mapping file, rename an image file, or extract them into "
            "separate output folders.")
    I032 = ("Vertebrae file '{path}' could not be read: {error}. Pass a ground-truth JSON written by 'imaging synth' "
            "(vertebrae with corners/centroid in patient mm) or a vertebrae.json written by 'imaging segment'.")
    I033 = ("Two vertebrae sources: pass either --seg-model (a segmentation checkpoint from 'imaging train-seg'; "
            "neither: the shipped default model) or --vertebrae (a folder of <study_id>.json ground-truth or "
            "vertebrae files), not both.")
    I034 = ("No studies found in {paths}{ignored}. Pass DICOM study folders, a folder of study folders, or NIfTI / "
            "MetaImage files.")
    I035 = ("Folder '{path}' holds {n} studies ({ids}), not one. Pass the folder of one study, or use 'imaging "
            "extract', which splits a folder into its studies by StudyInstanceUID.")
    I036 = ("Study-id mapping file '{path}' is unusable: {problem}. Expected a CSV file with the columns "
            "study_instance_uid and study_id, one row per study, the id usable as a folder name.")
    I038 = "Output '{path}' cannot be written: {problem}. Choose a writable location or fix the permissions."
    I039 = "Output '{path}' has the suffix '{suffix}'; expected {expected}. Name the output file accordingly."
    I040 = ("Vertebrae folder '{path}' does not exist or is not a folder. Pass the folder holding <study_id>.json "
            "files ('imaging synth' truth or 'imaging segment' output).")
    I041 = ("Output folder '{path}' already holds studies (e.g. '{study}') extracted with another de-identification "
            "setting or key; one manifest must not mix them. Extract into a new output folder, or use the same key.")
    I042 = ("RSNA table '{path}' is unusable: {problem}. Expected the competition's CSV with the columns {columns}; "
            "pass the download folder as it was unpacked (train_images/ beside the CSV files).")
    I043 = ("SPIDER folder '{path}' is unusable: {problem}. Expected images/ and masks/ with one .mha mask per image "
            "(as unpacked from the data set's archive), optionally radiological_gradings.csv beside them.")

    # segmentation (imaging.segment)
    S001 = ("Training folder '{path}' holds no training pairs. Expected files named NAME_image.nii.gz (or .nii, .mha) "
            "with NAME_vertebrae.nii.gz (label mask, 1..N cranial to caudal) or NAME_corners.json beside them.")
    S002 = "Training folder '{path}' does not exist or is not a folder (current folder: {cwd})."
    S003 = ("Model file '{path}' is not an imaging segmentation checkpoint: {error}. Pass a file written by "
            "'imaging train-seg' (a grading checkpoint of 'grading train' goes to 'grading predict --model').")
    S004 = ("Corners file '{path}' is malformed: {problem}. Expected {{\"slice\": K (optional), \"vertebrae\": "
            "[{{\"name\": \"L1\", \"corners\": [[row, col], [row, col], [row, col], [row, col]]}}, ...]}}.")
    S005 = ("Label mask '{mask}' has shape {mask_shape} but image '{image}' has shape {image_shape}. The mask must be "
            "drawn on the image's voxel grid.")
    S006 = "--preset {value!r} is unknown. Use one of {presets}."
    S007 = ("SegConfig.{name} = {value!r} is invalid: {expected}.")
    S008 = ("Need at least 2 training pairs to hold out a validation split, got {n} in '{path}'. Add pairs or pass "
            "--val-fraction 0 (then the last epoch is kept).")
    S009 = "Study '{path}' could not be read: {error}."
    S010 = ("Level annotation file '{path}' is unusable: {problem}. Expected a JSON object {{\"cases\": {{NAME: "
            "{{\"s1_label\": LABEL or null, \"s1_in_view\": true or false, \"lowest_labelled\": NAME (optional), "
            "\"s1_outline\": [[ROW, COL], ...] (optional)}}}}}} (LABEL: the positional mask label of S1, 1..N "
            "cranial to caudal; NAME: the lowest labelled body when S1 is not labelled, T6..L5; s1_outline: at least "
            "3 voxel points of a polygon inside that unlabelled S1 on the mid-sagittal slice).")
    S011 = ("--exclude names {names} match no training pair in '{path}' (pairs: {pairs}). Pass names of "
            "NAME_image files in that folder.")
    S012 = ("The default segmentation model '{path}' is missing from this installation. Reinstall the package, or "
            "pass --seg-model with a checkpoint written by 'imaging train-seg'.")
    S013 = ("Cannot start training from '{path}': its network differs from the one to train ({differ}). Pass the "
            "same --preset/--input-size/--features/--depth/--s1 settings as that checkpoint, or leave out --init.")
    S014 = ("--augment {value!r} is not NAME=VALUE with a JSON value. Write e.g. --augment gamma=0.7 or --augment "
            "'scale=[0.7, 1.4]'; names: {allowed}.")
    S015 = ("Cannot build an ensemble from '{path}': {problem}. Pass two or more checkpoints written by 'imaging "
            "train-seg' that share the network and inference settings (the same --preset/--input-size/--features/"
            "--depth/--s1).")


class ImagingError(CodedError):
    """An error with a stable code (``I0xx``, ``S0xx``); ``code`` holds it."""
