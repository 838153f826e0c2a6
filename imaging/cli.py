"""The ``imaging`` command line. Each command is a thin wrapper around one library function."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from spinecore.cli import CodedErrorApp, Deidentify, Verbose, console, progress, renamed, setup_logging

app = CodedErrorApp(help="Lumbar MRI studies: read DICOM/NIfTI/MetaImage, synthesise studies, segment vertebrae.",
                    no_args_is_help=True, add_completion=False)

SEG_MODEL_HELP = ("Segmentation checkpoint written by 'imaging train-seg' (default: the shipped model, see the "
                  "README's model card).")


@app.callback()
def main() -> None:
    """Lumbar MRI studies: read DICOM/NIfTI/MetaImage, synthesise studies, segment vertebrae."""


@app.command("synth")
def synth_cmd(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder: dicom/ (one sub-folder of DICOM "
                                          "files per study), truth/ and reports.csv."),
    out_dir: Optional[Path] = typer.Argument(None, hidden=True, help="Deprecated: -o/--output."),
    n: int = typer.Option(10, "--n", help="Number of studies."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same studies."),
    grades: str = typer.Option("realistic", "--grades", help="'realistic' (mostly normal and mild, as reports) or "
                               "'uniform' (grades 0-3 equally often: a balanced cohort for training checks)."),
    verbose: Verbose = False,
) -> None:
    """Write N synthetic lumbar MRI studies (SAG T2 + AX T2 DICOM), ground-truth JSON and reports.csv."""
    from .synth import SynthConfig, synth_cohort

    setup_logging(verbose)
    out_dir = renamed(output, out_dir, "the positional output folder", "-o/--output", required="the output folder")
    with progress("writing studies") as bar:
        task = bar.add_task("synth", total=n)
        summary = synth_cohort(out_dir, SynthConfig(n=n, seed=seed, grades=grades), progress=lambda k: bar.advance(task, k))
    table = Table(title=f"Synthetic studies ({summary.studies} studies, {summary.seconds:.1f} s)")
    table.add_column("grade")
    for loc in ("scs", "rfs", "lfs"):
        table.add_column(loc, justify="right")
    for grade in (0, 1, 2, 3, None):
        table.add_row("not stated" if grade is None else str(grade),
                      *(str(summary.grades[loc].get(grade, 0)) for loc in ("scs", "rfs", "lfs")))
    console.print(table)
    console.print(f"wrote {summary.studies} studies ({summary.files} DICOM files) to {out_dir / 'dicom'}, ground truth "
                  f"to {out_dir / 'truth'} and the reports to {summary.reports_csv}")


# ------------------------------------------------------------------------------- segmentation (imaging.segment)
@app.command("train-seg")
def train_seg_cmd(
    data: Path = typer.Option(..., "--data", help="Folder of NAME_image.nii.gz + NAME_vertebrae.nii.gz (or "
                              "NAME_corners.json) pairs, a cohort folder written by 'imaging synth', or a SPIDER "
                              "download folder (images/, masks/: its T2 series; its S1 is unknown)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model checkpoint to write (best validation epoch, or "
                                "the last epoch without a validation split)."),
    preset: str = typer.Option("default", "--preset", help="'default' (the shipped model's recipe: 192 px, 8 "
                               "features, depth 4, Adam, synthetic slices, no validation split), 'cpu' (the same "
                               "network, no synthetic slices) or 'paper' (512 px, 32 features, depth 5, SGD 0.01)."),
    input_size: int | None = typer.Option(None, "--input-size", help="Network input side (multiple of 2**depth)."),
    features: int | None = typer.Option(None, "--features", help="Features of the first module."),
    depth: int | None = typer.Option(None, "--depth", help="Down/up-sampling modules."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Slices per batch."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate."),
    lr_warmup_epochs: int | None = typer.Option(None, "--lr-warmup-epochs", help="Raise the learning rate "
                                                 "linearly over these first epochs (default 0: off)."),
    optimizer: str | None = typer.Option(None, "--optimizer", help="'sgd' or 'adam'."),
    val_fraction: float | None = typer.Option(None, "--val-fraction", help="Fraction of volumes held out."),
    repeats: int | None = typer.Option(None, "--repeats", help="Augmented draws of every real case per epoch."),
    loss: str | None = typer.Option(None, "--loss", help="'dice' (eq. 1, every preset) or 'dice+bce' (plus a "
                                    "pixel-wise cross entropy: the S1 output singles out S1 sooner)."),
    synthetic: int | None = typer.Option(None, "--synthetic", help="Synthetic T1/T2 slices added to the training "
                                         "set (imaging.synth)."),
    augment: list[str] = typer.Option([], "--augment", help="Change one augmentation setting, NAME=VALUE (JSON), "
                                      "e.g. gamma=0.7 (gamma in exp(+-0.7)) or 'scale=[0.7, 1.4]'; repeat for "
                                      "several (names: imaging.segment.AugmentConfig)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave this case out of training (a held-out test "
                                      "case); repeat for several."),
    levels: Path | None = typer.Option(None, "--levels", help="JSON naming the mask label of S1 per case (default: "
                                       "the package's annotation of the vertebrae-mri volumes; cases it does not "
                                       "list have no S1 target)."),
    with_s1: bool = typer.Option(True, "--s1/--no-s1", help="Train the sacral S1 detector channel."),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Also stop after this many seconds (off by "
                                            "default: the result must not depend on machine load)."),
    allow_low_dice: bool = typer.Option(False, "--allow-low-dice", help="Exit 0 even when the run failed: the "
                                        "Dice stays near zero (the model did not learn) or the model finds under "
                                        "half the labelled bodies alone (it merges or misses them)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (split, augmentation, weights)."),
    init: Path | None = typer.Option(None, "--init", help="Start from this checkpoint's weights (fine-tuning; same "
                                     "network settings; recorded in the training record)."),
    verbose: Verbose = False,
) -> None:
    """Train the vertebral-body U-Net on the mid-sagittal slices of a folder of image/label pairs."""
    from .segment import LEVELS_FILE, preset_config, train

    setup_logging(verbose)
    cfg = preset_config(preset, input_size=input_size, features=features, depth=depth, epochs=epochs,
                        batch_size=batch_size, lr=lr, lr_warmup_epochs=lr_warmup_epochs, optimizer=optimizer,
                        val_fraction=val_fraction, repeats=repeats, synthetic=synthetic, loss=loss, with_s1=with_s1,
                        time_limit_s=time_limit, seed=seed, augment=augment)
    with progress("epoch[/bold] {task.fields[info]}", time_left=True) as bar:
        task = bar.add_task("train", total=cfg.epochs, info="preparing data")
        summary = train(data, output, cfg, levels=levels or LEVELS_FILE, exclude=exclude, init=init,
                        progress=lambda e, n, m: bar.update(
                            task, completed=e, info=f"loss {m['loss']:.3f}  Dice {m['val_dice']:.3f}"))
    table = Table(title=f"train-seg ({summary.seconds:.1f} s)")
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in (("real cases", summary.pairs), ("synthetic slices", summary.synthetic),
                 ("slices per epoch", summary.train_slices), ("excluded", ", ".join(summary.excluded) or "-"),
                 ("validation volumes", ", ".join(summary.val_pairs) or "- (Dice on the training mid-slices)"),
                 ("epochs run", summary.epochs_run), ("Dice before training", f"{summary.first_metric:.3f}"),
                 ("kept epoch", summary.best_epoch), (f"{summary.monitor} Dice", f"{summary.best_metric:.3f}"),
                 (f"{summary.monitor} bodies found alone",
                  "-" if summary.low_dice else f"{summary.identification:.1%}")):
        table.add_row(k, str(v))
    console.print(table)
    console.print(f"wrote {output}")
    if summary.low_dice:
        console.print(f"[red]warning:[/red] the {summary.monitor} Dice never reached {cfg.min_dice:.2f} (best "
                      f"{summary.best_metric:.3f}): the model did not learn. Check the labels and the data, or train "
                      "longer (--epochs).", highlight=False, soft_wrap=True)
    if summary.merged:
        console.print(f"[red]warning:[/red] the model finds only {summary.identification:.0%} of the labelled "
                      f"bodies of the {summary.monitor} volumes alone (at least {cfg.min_identification:.0%} expected; "
                      f"Dice {summary.best_metric:.3f}): it merges neighbouring bodies or misses them. Train again "
                      "with a warm-up (--lr-warmup-epochs 10) or a lower --lr (e.g. "
                      f"{cfg.lr / 3:g}), and check the result with 'imaging eval-seg'.", highlight=False,
                      soft_wrap=True)
    if (summary.low_dice or summary.merged) and not allow_low_dice:
        raise typer.Exit(1)


@app.command("segment")
def segment_cmd(
    study: Path = typer.Argument(..., help="Study: DICOM folder, NIfTI (.nii, .nii.gz) or MetaImage (.mha)."),
    seg_model: Optional[Path] = typer.Option(None, "--seg-model", help=SEG_MODEL_HELP),
    model: Optional[Path] = typer.Option(None, "--model", hidden=True, help="Deprecated: --seg-model."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    verbose: Verbose = False,
) -> None:
    """Segment and label the vertebral bodies on the mid-sagittal slice: segmentation.nii.gz, vertebrae.json, qc.png."""
    from .segment import segment_study

    setup_logging(verbose)
    res = segment_study(renamed(seg_model, model, "--model", "--seg-model"),
                        study, output)
    table = Table(title=f"Vertebrae on slice {res.slice_index}")
    for col in ("label", "name", "detector", "centroid (voxel)", "centroid (mm)", "area (mm2)"):
        table.add_column(col)
    for v in res.vertebrae:
        table.add_row(str(v.label), v.name or "?", v.detector, ", ".join(f"{x:.1f}" for x in v.centroid_voxel),
                      ", ".join(f"{x:.1f}" for x in v.centroid_mm) if v.centroid_mm else "-", f"{v.area_mm2:.0f}")
    console.print(table)
    console.print(f"wrote segmentation.nii.gz, vertebrae.json and qc.png to {output}")


@app.command("eval-seg")
def eval_seg_cmd(
    seg_model: Optional[Path] = typer.Option(None, "--seg-model", help=SEG_MODEL_HELP),
    model: Optional[Path] = typer.Option(None, "--model", hidden=True, help="Deprecated: --seg-model."),
    data: Path = typer.Option(..., "--data", help="Folder of image/label pairs (as for train-seg)."),
    cases: list[str] = typer.Option([], "--case", help="Score only this case (repeat for several; default: all)."),
    levels: Optional[Path] = typer.Option(None, "--levels", help="JSON naming the mask label of S1 per case (as "
                                          "for train-seg; default: the package's vertebrae-mri annotation)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the per-case results as JSON."),
    verbose: Verbose = False,
) -> None:
    """Score a model: the paper's three success criteria, identification, per-vertebra Dice, centroid error."""
    import json

    from spinecore.io import write_text_atomic

    from .io import check_output
    from .segment import LEVELS_FILE, evaluate_folder

    setup_logging(verbose)
    if output is not None:
        check_output(output, folder=False, suffixes=(".json",))
    seg_model = renamed(seg_model, model, "--model", "--seg-model")
    with progress("evaluating") as bar:
        task = bar.add_task("eval", total=None)
        ev = evaluate_folder(seg_model, data, names=cases or None, levels=levels or LEVELS_FILE,
                             progress=lambda k: bar.advance(task, k))
    table = Table(title=f"eval-seg ({len(ev.cases)} cases, {ev.seconds:.1f} s)")
    for col in ("case", "GT", "detected", "identified", "false", "solitary", "count", "S1 ok", "mean Dice",
                "centroid mm", "named right"):
        table.add_column(col, justify="right")
    for c in ev.cases:
        dist = sum(c.centroid_mm) / len(c.centroid_mm) if c.centroid_mm else float("nan")
        table.add_row(c.name, str(c.gt), str(c.detected), str(c.identified), str(c.false_detections), str(c.solitary),
                      str(c.count_ok), str(c.s1_ok), f"{sum(c.dice) / max(len(c.dice), 1):.3f}", f"{dist:.2f}",
                      f"{c.named_true}/{c.gt_named}" + (f" ({c.named_wrong} wrong)" if c.named_wrong else ""))
    console.print(table)
    console.print(f"success rate (3 criteria) {ev.success_rate:.1%}, identification {ev.identification:.1%}, "
                  f"mean Dice {ev.mean_dice:.3f} (identified only {ev.mean_dice_identified:.3f}), "
                  f"centroid error {ev.mean_centroid_mm:.2f} mm, {ev.false_detections} false detections, true level "
                  f"names {ev.naming:.1%} ({ev.wrong_names} wrong)")
    if output is not None:
        write_text_atomic(output, json.dumps(ev.to_dict(), indent=2))
        console.print(f"wrote {output}")


@app.command("ensemble-seg")
def ensemble_seg_cmd(
    members: list[Path] = typer.Argument(..., help="Two or more checkpoints written by 'imaging train-seg', with "
                                         "the same network and inference settings."),
    output: Path = typer.Option(..., "--output", "-o", help="Ensemble checkpoint to write; use it as any "
                                "--seg-model."),
    verbose: Verbose = False,
) -> None:
    """Combine trained segmentation models into one that averages their probabilities (the shipped model is one)."""
    from .io import check_output
    from .segment import save_ensemble

    setup_logging(verbose)
    check_output(output, folder=False, suffixes=(".pt",))
    ck = save_ensemble(output, members)
    table = Table(title=f"ensemble of {len(ck.members)}")
    for col in ("member", "epochs", "loss", "lr", "warm-up", "gamma", "seed", "metric"):
        table.add_column(col, justify="right")
    for path, m in zip(members, ck.members):
        c = m.config
        table.add_row(Path(path).name, str(m.epoch), c.loss, f"{c.lr:g}", str(c.lr_warmup_epochs),
                      f"{c.augmentation.gamma:g}", str(c.seed), f"{m.best_metric:.3f}")
    console.print(table)
    console.print(f"wrote {output}")


# ------------------------------------------------------------------------------------- disc volumes (imaging.extract)
@app.command("extract")
def extract_cmd(
    studies: list[Path] = typer.Argument(..., help="DICOM study folders, folders of them, NIfTI or MetaImage files."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (volumes, QC, manifest, index.html)."),
    seg_model: Optional[Path] = typer.Option(None, "--seg-model", help=SEG_MODEL_HELP),
    model: Optional[Path] = typer.Option(None, "--model", hidden=True, help="Deprecated: --seg-model."),
    vertebrae: Optional[Path] = typer.Option(None, "--vertebrae", help="Instead of --seg-model: a folder of "
                                             "<study_id>.json vertebrae ('imaging synth' truth or 'imaging segment')."),
    workers: int = typer.Option(1, "--workers", "-j", help="Parallel processes."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON file of ExtractConfig settings."),
    study_ids: Optional[Path] = typer.Option(None, "--study-ids", help="CSV study_instance_uid,study_id naming the "
                                             "studies (default: the study's own folder name, else its UID)."),
    disc_method: Optional[str] = typer.Option(None, "--disc-method", help="'endplates' (default) or 'paper'."),
    curve_degree: Optional[int] = typer.Option(None, "--curve-degree", help="Spine curve polynomial degree (3)."),
    nifti: bool = typer.Option(False, "--nifti", help="Also write each volume as NIfTI with its oblique geometry."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Redo studies an earlier run finished."),
    deidentify: Deidentify = False,
    verbose: Verbose = False,
) -> None:
    """Cut the axial (360x360x8) and sagittal (160x320x25) volume of every disc T12-L1..L5-S1 of every study."""
    from .extract import ExtractConfig, environment_key, extract
    from .io import read_study_ids

    setup_logging(verbose)
    cfg = ExtractConfig.from_file(config) if config else ExtractConfig()
    for name, value in (("disc_method", disc_method), ("curve_degree", curve_degree)):
        if value is not None:
            setattr(cfg, name, value)
    cfg.nifti = cfg.nifti or nifti
    key = environment_key(deidentify)
    seg_model = renamed(seg_model, model, "--model", "--seg-model")
    with progress("extracting discs") as bar:
        task = bar.add_task("extract", total=None)
        summary = extract(studies, output, cfg, model_path=seg_model, vertebrae_dir=vertebrae, workers=workers,
                          resume=not no_resume, study_ids=read_study_ids(study_ids) if study_ids else None,
                          progress=lambda rec: bar.advance(task), deidentify_key=key)
    table = Table(title=f"Disc volumes ({len(summary.records)} studies, {summary.seconds:.1f} s, "
                        f"{summary.skipped} done earlier)")
    for col in ("study", "ok", "flagged", "failed", "first problem"):
        table.add_column(col)
    for rec in summary.records:
        c = rec.counts
        problem = next((f"{r['level']}: {r['reason']}" for r in rec.rows if r["reason"]), "")
        table.add_row(rec.study_id, str(c["ok"]), str(c["flagged"]), str(c["failed"]), problem[:90])
    console.print(table)
    for line in (summary.found.describe_ignored(),
                 *(f"{p} holds no DICOM image, NIfTI or MetaImage file" for p in summary.found.empty)):
        if line:
            console.print(f"[yellow]note:[/yellow] {line}", highlight=False, soft_wrap=True)
    checked = [r for rec in summary.records for r in rec.rows if r.get("reference_offset_mm") not in (None, "")]
    if checked:
        offsets = sorted(abs(float(r["reference_offset_mm"])) for r in checked)
        other = sum(r.get("reference_level") != r["level"] for r in checked)
        median = offsets[len(offsets) // 2]
        console.print(f"reference marks (RSNA coordinates): {len(checked)} levels, median {median:.1f} mm and max "
                      f"{offsets[-1]:.1f} mm from their disc plane, {other} nearer another level's plane",
                      highlight=False, soft_wrap=True)
    totals = summary.counts
    console.print(f"{totals['ok']} ok, {totals['flagged']} flagged, {totals['failed']} failed levels; wrote "
                  f"{summary.manifest} (and .csv) and {output / 'index.html'}")
