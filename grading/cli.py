"""The ``grading`` command line. Each command is a thin wrapper around one library function."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from spinecore.cli import CodedErrorApp, Deidentify, Device, Verbose, console, progress, renamed, setup_logging

app = CodedErrorApp(help="Stenosis grading from disc volumes: train, evaluate (the paper's tables), predict.",
                    no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """Stenosis grading from disc volumes: train, evaluate (the paper's tables), predict."""


def _fmt(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


@app.command("train")
def train_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="Run folder (checkpoints, log, predictions). "
                                "Rerunning the same command there resumes."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON file of TrainConfig settings."),
    manifest: Optional[str] = typer.Option(None, "--manifest", help="manifest.parquet of 'imaging extract'."),
    levels: Optional[str] = typer.Option(None, "--levels", help="Levels table of 'reportparse extract', or the "
                                         "RSNA 2024 competition's train.csv."),
    mapping: Optional[str] = typer.Option(None, "--mapping", help="CSV report_id,study_id[,patient_id]."),
    splits: Optional[str] = typer.Option(None, "--splits", help="Splits CSV to reuse or create."),
    variant: Optional[str] = typer.Option(None, "--variant", help="both, axial or sagittal."),
    swap_val_test: bool = typer.Option(False, "--swap-val-test", help="Exchange validation and test (the paper's "
                                       "second model)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Model preset: paper or tiny."),
    model: Optional[str] = typer.Option(None, "--model", hidden=True, help="Deprecated: --preset."),
    label_scheme: Optional[str] = typer.Option(None, "--label-scheme", help="deepspine (4 grades, report labels) "
                                               "or rsna (3 classes Normal/Mild, Moderate, Severe)."),
    subarticular: bool = typer.Option(False, "--subarticular", help="rsna: also the right/left subarticular heads."),
    epochs: Optional[int] = typer.Option(None, "--epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Data-loading processes."),
    device: Optional[str] = typer.Option(None, "--device", help="Where the network trains: auto (the default: CUDA "
                                         "when present), cpu or cuda."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    verbose: Verbose = False,
) -> None:
    """Train the two-branch ResNeXt on disc volumes and report labels; test the best checkpoint."""
    from .config import TrainConfig
    from .train import train

    setup_logging(verbose)
    overrides = dict(manifest=manifest, levels=levels, mapping=mapping, splits=splits, variant=variant,
                     model=renamed(preset, model, "--model", "--preset"), epochs=epochs, batch_size=batch_size,
                     workers=workers, device=device, seed=seed, swap_val_test=swap_val_test or None,
                     label_scheme=label_scheme, subarticular=subarticular or None)
    cfg = (TrainConfig.from_file(config, **overrides) if config else
           TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None}))
    with progress() as bar:
        epochs_bar = bar.add_task("epochs", total=cfg.epochs)
        steps_bar = bar.add_task("batches", total=None)

        def on_step(step: int, total: int) -> None:
            bar.update(steps_bar, completed=step, total=total)

        def on_epoch(row) -> None:
            bar.update(epochs_bar, completed=row.epoch)
            console.print(f"epoch {row.epoch}: train loss {row.train_loss:.4f}, val loss {row.val_loss:.4f}, "
                          "val class-average " + ", ".join(f"{k} {_fmt(v)}" for k, v in
                                                           row.val_class_average.items())
                          + (" [green](best)[/green]" if row.best else ""), highlight=False)

        summary = train(cfg, output, on_epoch=on_epoch, on_step=on_step)
    table = Table(title=f"grading train: {output}")
    table.add_column("")
    table.add_column("value", justify="right")
    for k, v in (("discs train / val / test", " / ".join(str(summary.sizes[s]) for s in ("train", "val", "test"))),
                 ("epochs run (resumed after)", f"{summary.epochs_run} ({summary.resumed_from})"),
                 ("best epoch", str(summary.best_epoch)), ("best validation loss", f"{summary.best_val_loss:.4f}"),
                 *((f"test class-average accuracy {t} (%)", _fmt(v)) for t, v in summary.test_class_average.items())):
        table.add_row(k, v)
    console.print(table)
    console.print(f"wrote {output / 'checkpoint_best.pt'}, log.csv and predictions_test.csv")


@app.command("evaluate")
def evaluate_cmd(
    runs: list[Path] = typer.Argument(..., help="Run folders of 'grading train' (e.g. the model and its "
                                      "--swap-val-test twin, and axial-only / sagittal-only runs)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for results.md, results.json, confusion PNGs."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples for the AUC confidence interval."),
    seed: int = typer.Option(0, "--seed"),
    verbose: Verbose = False,
) -> None:
    """The paper's Tables 1-3 and the binary AUC with a bootstrap 95% CI, from one or more runs."""
    from .evaluate import evaluate_runs

    setup_logging(verbose)
    report = evaluate_runs(runs, output, n_boot=n_boot, seed=seed)
    Console().print(Markdown(report.to_markdown()))
    console.print(f"wrote {output / 'results.md'}, results.json and the confusion matrices")


@app.command("predict")
def predict_cmd(
    studies: list[Path] = typer.Argument(..., help="DICOM study folders, folders of them, NIfTI or MetaImage."),
    model: Path = typer.Option(..., "--model", help="checkpoint_best.pt of 'grading train'."),
    output: Path = typer.Option(..., "--output", "-o", help="Levels table to write (.csv, .jsonl or .parquet); "
                                "volumes and QC go to its folder's volumes/."),
    seg_model: Optional[Path] = typer.Option(None, "--seg-model", help="Segmentation checkpoint "
                                             "('imaging train-seg'; default: the shipped model)."),
    vertebrae: Optional[Path] = typer.Option(None, "--vertebrae", help="Instead of --seg-model: a folder of "
                                             "<study_id>.json vertebrae."),
    study_ids: Optional[Path] = typer.Option(None, "--study-ids", help="CSV study_instance_uid,study_id naming the "
                                             "studies (as 'imaging extract')."),
    workers: int = typer.Option(1, "--workers", "-j", help="Extraction processes."),
    min_probability: float = typer.Option(0.5, "--min-probability", help="Dominance rule: top probability."),
    min_margin: float = typer.Option(0.2, "--min-margin", help="Dominance rule: lead over the runner-up."),
    device: Device = "auto",
    deidentify: Deidentify = False,
    verbose: Verbose = False,
) -> None:
    """Grade studies end to end: segmentation, disc volumes, grading; a levels table with probabilities."""
    from imaging.extract import environment_key
    from imaging.io import read_study_ids

    from .predict import predict

    setup_logging(verbose)
    with progress("segmenting and extracting") as bar:
        task = bar.add_task("extract", total=None)
        summary = predict(model, studies, output, seg_model=seg_model, vertebrae_dir=vertebrae, workers=workers,
                          min_probability=min_probability, min_margin=min_margin, device=device,
                          study_ids=read_study_ids(study_ids) if study_ids else None,
                          progress=lambda rec: bar.advance(task),
                          deidentify_key=environment_key(deidentify))
    table = Table(title=f"grading predict: {len(summary.rows)} disc levels")
    for col in ("status", "levels"):
        table.add_column(col)
    for k, v in summary.counts.items():
        table.add_row(k, str(v))
    console.print(table)
    console.print(f"wrote {output} (volumes and QC in {summary.volumes})")
