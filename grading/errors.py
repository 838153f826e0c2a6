"""A catalogue of the coded, actionable errors raised by ``grading`` (the mechanism: :mod:`spinecore.errors`).

Every message names the bad value, what was expected and how to fix it. Codes are stable so that users can
search for them; add new ones at the end of their section. Retired codes (their errors are now the shared
plumbing's): G002 unknown settings (C010), G003 unreadable config file (C011), G100 unknown model settings
(C010), G300 missing table (C001), G302 unreadable table (C003); G008 (no vertebrae source) since the
shipped default segmentation model is used when none is given.
"""

from __future__ import annotations

from pathlib import Path

from spinecore.checks import unwritable
from spinecore.errors import CodedError, ErrorsWithCodes


class GradingError(CodedError, ValueError):
    """A grading error with a stable code (``err.code``, e.g. ``'G001'``)."""


class Errors(metaclass=ErrorsWithCodes):
    # G001-G099: configuration, training, prediction (grading.config, grading.train, grading.predict)
    G001 = ("Training setting '{name}' is {value!r}; expected {expected}. Correct it in the config file or on the "
            "command line.")
    G004 = ("--device cuda was asked for but torch sees no CUDA device. Use --device auto or cpu, or install a CUDA "
            "build of torch on a machine with a GPU.")
    G005 = ("The {split} split has no labelled disc ({n} patients in all). Use more studies, or change "
            "\"fractions\" in the --config file so that every split gets at least one patient (delete the saved "
            "splits.csv to redraw them).")
    G006 = ("File '{path}' is not a grading checkpoint: {error}. Pass checkpoint_best.pt from a 'grading train' run "
            "folder (a segmentation checkpoint of 'imaging train-seg' goes to --seg-model).")
    G007 = ("Run folder checkpoint '{path}' was trained with another config. Resume with the same config, or train "
            "into a new output folder (or delete the folder's checkpoints to start over).")
    G009 = "Output '{path}' cannot be written: {problem}. Choose a writable location or fix the permissions."
    G010 = ("Output '{path}' has the suffix '{suffix}'; expected one of {formats}. Name the levels table "
            "accordingly (e.g. grades.csv).")
    G011 = ("Label scheme '{scheme}' has no optional (subarticular) heads. Use label_scheme \"rsna\" for the "
            "subarticular heads, or leave subarticular off.")
    G012 = ("Labels written in the '{source}' scheme cannot train a '{target}' model: RSNA's Normal/Mild cannot be "
            "split into the paper's normal and mild. Train with label_scheme \"rsna\" (--label-scheme rsna).")

    # G100-G119: model and loss (grading.model, grading.loss)
    G101 = "Model config field '{name}' is {value!r}; expected {expected}. Correct the value."
    G102 = ("Model config switches off both branches (use_axial=False, use_sagittal=False). Enable at least one "
            "of them.")
    G103 = "Unknown model preset {name!r}. Use one of {presets}."
    G104 = ("GradingNet.forward got no {branch} input, but the {branch} branch is enabled. Pass a tensor of "
            "shape {expected}, or build the model with use_{branch}=False.")
    G105 = ("GradingNet.forward got a {branch} input of shape {shape}; expected {expected}. Check the volume "
            "layout (channels first) and the model's axial_slices.")
    G106 = ("GradingNet.forward got {n_axial} axial and {n_sagittal} sagittal volumes; both inputs must hold "
            "the same discs in the same order. Pass batches of equal size.")
    G107 = "ResNeXt dims is {value!r}; expected 2 (2-D convolutions) or 3 (3-D convolutions)."
    G110 = ("Labels have shape {shape}; expected a 2-D integer array (N discs, T tasks) with -1 for a missing "
            "label. Stack the per-task labels as columns.")
    G111 = ("Labels hold the value {value}; expected -1 (missing) or a class index 0..{last}. Map the grades to "
            "class indices first, or pass the right n_classes.")
    G112 = ("The loss got logits for the tasks {got} but needs {missing}. Pass the model output for every task "
            "in 'tasks'.")
    G113 = ("The loss got {name} of shape {shape}; expected {expected}. Check that the targets, class weights "
            "and tasks have the same task order and number of classes.")

    # G200-G219: result tables (grading.evaluate)
    G200 = ("Run folder '{path}' does not exist or is not a folder. Pass the folder of one trained model, "
            "holding config.json and predictions_test.csv.")
    G201 = ("Run folder '{folder}' has no {file}. A run folder must hold config.json and predictions_test.csv; "
            "train the model (config.json) and predict its test set (predictions_test.csv) first.")
    G202 = "Config '{path}' is not a JSON object: {error}. Fix the file or train the run again."
    G203 = ("Config '{path}': key '{key}' is {value}; expected {expected}. Correct the value in the training "
            "config.")
    G204 = ("Predictions file '{path}' could not be read as CSV: {error}. Write it again with the predict step "
            "(a header row and comma-separated values).")
    G205 = ("Predictions file '{path}' lacks the column(s) {missing}; it has {columns}. Expected the columns "
            "{expected}; predict the test set again with the current code.")
    G206 = ("Predictions file '{path}', column '{column}', line {line}: value {value!r}; expected {expected} "
            "({n_bad} bad row(s) in all). Fix the predictions or predict the test set again.")
    G207 = ("Predictions file '{path}', line {line}: p0-p3 sum to {total:.4f}; expected softmax probabilities "
            "summing to 1 (within {tol}). Write probabilities, not logits.")
    G208 = ("Predictions file '{path}', line {line}: pred is {pred}, but the largest probability is p{best} "
            "(p0-p3 = {probs}); expected pred = argmax of p0-p3. Write pred from the same probabilities.")
    G209 = ("Predictions file '{path}', line {line}: study {study!r}, level {level}, task {task} appears a second "
            "time; expected one row per disc and task. Remove the duplicate rows.")
    G210 = ("Predictions file '{path}' has no row with a known label ({rows} rows, all with an empty label); "
            "every figure needs labelled discs. Predict a test split that has labels.")
    G211 = "No run folder given. Pass at least one run folder (holding config.json and predictions_test.csv)."
    G212 = ("Runs '{first}' ({first_path}) and '{second}' ({second_path}) share the name {name!r} (as a file "
            "name); run names must differ. Set a distinct \"name\" in config.json or rename a folder.")
    G213 = "n_boot is {value!r}; expected a whole number of bootstrap resamples >= 1 (e.g. 2000)."
    G214 = ("Runs use different label schemes ({schemes}); the result tables compare runs of one scheme. Evaluate "
            "the runs of each scheme separately (-o into different folders).")

    # G300-G319: data, labels and splits (grading.data)
    G301 = ("{role} file '{path}' has the suffix '{suffix}', which is not supported. Use one of {formats}, or rename "
            "the file if its content is one of those formats.")
    G303 = ("{role} table '{path}' lacks the column(s) {missing}; it has {columns}. Write the table with the "
            "producing command ({producer}) or rename the columns.")
    G304 = ("Levels table '{path}', data row {row} (report_id {report_id!r}, level {level!r}): {column} is "
            "{value!r}; expected {expected} or empty for unknown. Fix the value or re-run the command that wrote "
            "the table.")
    G305 = ("{role} table '{path}', data row {row}: level {value!r} is not one of {levels}. Write levels in that "
            "form (e.g. 'L4-L5').")
    G306 = ("Manifest '{path}', data row {row} (study_id {study_id!r}): status {value!r} is not one of {allowed}. "
            "Re-run imaging extract or fix the status column.")
    G307 = ("{role} table '{path}' has {n} duplicate {key} key(s), e.g. {examples}. Each key must appear once; "
            "remove the duplicates.")
    G308 = ("No disc has both a usable image and a label: the manifest has study_ids like {studies}, the labels "
            "have {labels}. Check that the ids match, or pass a mapping file (report_id, study_id).")
    G309 = ("The manifest folder is unknown, so the relative array paths cannot be resolved. Read the manifest "
            "with read_table/read_manifest, or pass manifest_dir.")
    G310 = ("Split fractions {value!r} are invalid; expected three numbers >= 0 (train, val, test) that sum to 1, "
            "e.g. (0.7, 0.15, 0.15).")
    G311 = ("Splits file '{path}' is invalid: {problem}. Expected one row per patient with split train, val or "
            "test; delete the file to make new splits.")
    G312 = ("Splits file '{path}' has no split for {n} patient(s) of this cohort, e.g. {examples}. Delete the file "
            "(new splits are made and saved) or pass another splits path; reusing it would change the cohort.")
    G313 = ("{branch} array '{path}' could not be read: {error}. Re-run imaging extract for this study, or drop "
            "the disc from the manifest.")
    G314 = ("{branch} array '{path}' has the shape {shape}; expected {expected} (None = any size). Re-run imaging "
            "extract with the same settings, or pass the matching expected_{branch_key} shape.")
    G315 = ("Folder '{path}' holds neither manifest.parquet nor manifest.csv. Run imaging extract into it, or pass "
            "the manifest file itself.")
    G316 = ("RSNA labels '{path}', study {study!r}, column {column}: {value!r} is not a severity. Expected "
            "Normal/Mild, Moderate, Severe or empty; check that the file is the competition's train.csv.")


def check_writable(path: Path, *, folder: bool) -> None:
    """G009 unless ``path`` can be written (as a folder or a file); nothing is created (checked before work)."""
    problem = unwritable(path, folder=folder)
    if problem:
        raise GradingError(Errors.G009.format(path=path, problem=problem))
