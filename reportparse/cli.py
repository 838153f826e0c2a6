"""The ``reportparse`` command line. Each command is a thin wrapper around one library function."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from spinecore.cli import CodedErrorApp, Verbose, console, progress, renamed, setup_logging
from spinecore.schema import LOCATIONS, REPORT_STATUSES

from .extract import ExtractConfig, ExtractSummary, extract
from .pipeline import REFRESH_EVERY
from .review import MIN_PROBABILITY

app = CodedErrorApp(help="Per-level lumbar stenosis grades (0-3) from free-text MRI reports.",
                    no_args_is_help=True, add_completion=False)

GRADE_NAMES = {0: "0 normal", 1: "1 mild", 2: "2 moderate", 3: "3 severe", None: "not stated"}


def summary_tables(summary: ExtractSummary) -> list[Table]:
    """The grade distribution per location (the paper's Figure 2b) and the report counts per status."""
    grades = Table(title="Grades per location (level rows of ok reports)")
    grades.add_column("grade")
    for loc in LOCATIONS:
        grades.add_column(loc, justify="right")
    for grade, name in GRADE_NAMES.items():
        grades.add_row(name, *(str(summary.grades[loc][grade]) for loc in LOCATIONS))
    status = Table(title=f"Reports per status ({summary.reports} reports, {summary.seconds:.1f} s)")
    status.add_column("status")
    status.add_column("reports", justify="right")
    for name in REPORT_STATUSES:
        status.add_row(name, str(summary.status[name]))
    if summary.duplicates:
        status.add_row("duplicate ids", str(summary.duplicates))
    return [grades, status]


@app.callback()
def main() -> None:
    """Per-level lumbar stenosis grades (0-3) from free-text MRI reports."""


@app.command("extract")
def extract_cmd(
    reports: Path = typer.Argument(..., help="Reports file: .csv, .jsonl or .parquet, one report per row."),
    output: Path = typer.Option(..., "--output", "-o", help="Levels table: .csv, .jsonl or .parquet."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also write one row per grade decision."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Id column (default: found by common names)."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Text column (default: found by common names)."),
    workers: int = typer.Option(1, "--workers", "-j", help="Worker processes."),
    n_process: Optional[int] = typer.Option(None, "--n-process", hidden=True, help="Deprecated: -j/--workers."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rules folder replacing the shipped rules."),
    max_chars: int = typer.Option(200_000, "--max-chars", help="Longer reports get status error."),
    refresh_every: int = typer.Option(REFRESH_EVERY, "--refresh-every", help="Build a fresh parser after this many "
                                      "reports per process, keeping memory flat (0: never)."),
    verbose: Verbose = False,
) -> None:
    """Turn a file of reports into a levels table: report_id, level, scs, rfs, lfs (0-3 or empty), status."""
    setup_logging(verbose)
    config = ExtractConfig(id_col=id_col, text_col=text_col, rules_dir=str(rules) if rules else None,
                           n_process=renamed(workers, n_process, "--n-process", "-j/--workers"), max_chars=max_chars,
                           refresh_every=refresh_every)
    with progress("parsing reports") as bar:
        task = bar.add_task("parse", total=None)
        summary = extract(reports, output, evidence, config, progress=lambda n: bar.advance(task, n))
    for table in summary_tables(summary):
        console.print(table)
    console.print(f"wrote {summary.level_rows} level rows to {output}" +
                  (f" and {summary.evidence_rows} evidence rows to {evidence}" if evidence else ""))


@app.command("evaluate")
def evaluate_cmd(
    gold: Path = typer.Option(Path("gold/annotations.json"), "--gold", help="Gold set: Label Studio JSON export."),
    pred: Optional[Path] = typer.Option(None, "--pred", help="Levels table from 'reportparse extract' "
                                        "(default: run the parser on the gold texts)."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Evidence table for --pred (from "
                                            "'reportparse extract --evidence'), listed with the disagreements."),
    split: Optional[str] = typer.Option(None, "--split", help="Score one split only: tune or holdout."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rules folder for the parser (without --pred)."),
    output: Path = typer.Option(Path("."), "--output", "-o", help="Folder for evaluation.json and evaluation.md."),
    out: Optional[Path] = typer.Option(None, "--out", hidden=True, help="Deprecated: -o/--output."),
    texts: Optional[Path] = typer.Option(None, "--texts", help="Reports file (id and text columns) with the texts "
                                         "of gold reports stored without one (gold/real_notes.json)."),
    min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy", help="Exit 1 when the exact accuracy "
                                                 "is below this fraction (e.g. 0.9)."),
    verbose: Verbose = False,
) -> None:
    """Score per-level grades against the gold set: accuracy, kappa, macro-F1, confusion matrices, errors."""
    from .evaluate import evaluate

    setup_logging(verbose)
    out = renamed(output, out, "--out", "-o/--output")
    report = evaluate(gold, pred, split, rules, evidence_path=evidence, min_accuracy=min_accuracy, out_dir=out,
                      texts_path=texts)
    table = Table(title=f"{report.overall.reports} gold reports (split {split or 'all'}) against "
                  f"{pred or 'the parser'}", caption="exact, within one grade, quadratic kappa and macro-F1 over "
                  "the determined slots; open: slots the gold leaves not stated, and the share graded anyway")
    for name in ("", "slots", "exact", "within 1", "kappa", "macro-F1", "open", "graded"):
        table.add_column(name, justify="right" if name else "left")
    rows = {**report.by_split, (split or "all"): report.overall} if len(report.by_split) > 1 else {
        (split or "all"): report.overall}
    rows.update(report.by_location)
    for name, s in rows.items():
        table.add_row(name, str(s.determined), _pct(s.exact), _pct(s.within_one), _num(s.kappa), _num(s.macro_f1),
                      str(s.open_slots), _pct(s.open_graded_rate))
    console.print(table)
    if report.missing_predictions:
        console.print(f"{len(report.missing_predictions)} gold report(s) not in the predictions (scored as not "
                      f"stated): {', '.join(report.missing_predictions[:10])}", highlight=False)
    if report.unmatched_predictions:
        console.print(f"{len(report.unmatched_predictions)} predicted report(s) not in the gold set (not scored): "
                      f"{', '.join(report.unmatched_predictions[:10])}", highlight=False)
    console.print(f"{len(report.disagreements)} disagreeing slots; wrote {out / 'evaluation.json'} and "
                  f"{out / 'evaluation.md'}", highlight=False)
    if not report.passed:
        console.print(f"[red]exact accuracy {_pct(report.overall.exact)} is below --min-accuracy "
                      f"{min_accuracy:.1%}[/red]", highlight=False)
        raise typer.Exit(code=1)


def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


review_app = CodedErrorApp(help="Review doubtful reports in Label Studio and merge the answers into the gold set. "
                         "Server: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY.", no_args_is_help=True)
app.add_typer(review_app, name="review")
DEFAULT_GOLD = Path("gold/annotations.json")


DEFAULT_PROJECT = "reportparse review"
# the options that choose the reports to review, shared by 'review push' and 'review export' (see review_selection)
ReviewGold = Annotated[Optional[Path], typer.Option(
    "--gold", help="Gold set (Label Studio JSON export): review the reports the parser gets wrong. Default "
    "gold/annotations.json unless --reports.")]
ReviewReports = Annotated[Optional[Path], typer.Option(
    "--reports", help="Reports file (.csv, .jsonl, .parquet): review the reports whose parse is flagged conflict, "
    "uncertain or ungraded.")]
ReviewSplit = Annotated[Optional[str], typer.Option("--split", help="Gold reports of one split only (tune, holdout).")]
ReviewIdCol = Annotated[Optional[str], typer.Option("--id-col", help="Id column of --reports.")]
ReviewTextCol = Annotated[Optional[str], typer.Option("--text-col", help="Text column of --reports.")]
ReviewRules = Annotated[Optional[Path], typer.Option("--rules", help="Rules folder for the parser.")]
ReviewPredictions = Annotated[Optional[Path], typer.Option(
    "--predictions", help="Levels table of 'grading predict' (with --reports, the report texts): review the reports "
    "whose levels the network grades differently from the report.")]
ReviewMinProbability = Annotated[float, typer.Option(
    "--min-probability", help="With --predictions: only the disagreements where the network gives its grade at "
    "least this probability.")]


@dataclass
class ReviewSelection:
    """The reports a review command chooses (its shared options, in :func:`review_selection`)."""

    gold: ReviewGold = None
    reports: ReviewReports = None
    split: ReviewSplit = None
    id_col: ReviewIdCol = None
    text_col: ReviewTextCol = None
    rules: ReviewRules = None
    predictions: ReviewPredictions = None
    min_probability: ReviewMinProbability = MIN_PROBABILITY

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`reportparse.review.push` / ``export_tasks`` after the first: the gold set
        (--gold, else the default one unless --reports or --predictions) and the selection."""
        chosen = self.gold is not None or self.reports is not None or self.predictions is not None
        return dict(gold=self.gold if chosen else DEFAULT_GOLD, reports=self.reports, predictions=self.predictions,
                    min_probability=self.min_probability, split=self.split, id_col=self.id_col,
                    text_col=self.text_col, rules_dir=self.rules)


def review_selection(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the options of :class:`ReviewSelection` (before ``--verbose``) and pass them to it as one
    ``selection`` argument, so that every review command that chooses reports offers the same options."""
    signature = inspect.signature(command, eval_str=True)
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values()
           if p.name != "selection"]
    hints = typing.get_type_hints(ReviewSelection, include_extras=True)  # the Annotated options, not their names
    shared = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=hints[f.name], default=f.default)
              for f in fields(ReviewSelection)]
    names = [f.name for f in fields(ReviewSelection)]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        selection = ReviewSelection(**{name: kwargs.pop(name) for name in names})
        return command(*args, selection=selection, **kwargs)

    parameters = [*own[:-1], *shared, own[-1]]
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


@review_app.command("push")
@review_selection
def review_push_cmd(
    selection: ReviewSelection,
    project: str = typer.Option(DEFAULT_PROJECT, "--project", help="Title of the Label Studio project."),
    verbose: Verbose = False,
) -> None:
    """Create or update a Label Studio project with one task (and the parser's pre-annotation) per doubtful report."""
    from .review import push

    setup_logging(verbose)
    s = push(project, **selection.arguments())
    console.print(f"{'created' if s.project_created else 'updated'} project {s.project_title!r} (id {s.project_id}) at "
                  f"{s.url}: {s.selected} report(s) to review; {len(s.created)} task(s) added, {len(s.updated)} "
                  f"updated, {len(s.unchanged)} unchanged" + (f"; {len(s.stale)} task(s) there no longer selected "
                                                               "(left in place)" if s.stale else ""), highlight=False)


@review_app.command("pull")
def review_pull_cmd(
    project: Optional[str] = typer.Option(None, "--project", help="Title of the Label Studio project to export."),
    export: Optional[Path] = typer.Option(None, "--export", help="Or: a JSON export of the project saved by hand."),
    gold: Path = typer.Option(DEFAULT_GOLD, "--gold", help="Gold set to merge into (Label Studio JSON export)."),
    levels: Optional[Path] = typer.Option(
        None, "--levels", help="Or: a levels table (reportparse extract's output, the labels of grading train) to "
        "correct with the answers, e.g. after 'review push --predictions'."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the merged gold set (or levels table) "
                                          "to this new file."),
    out: Optional[Path] = typer.Option(None, "--out", hidden=True, help="Deprecated: -o/--output."),
    in_place: bool = typer.Option(False, "--in-place", help="Replace --gold (or --levels), keeping a timestamped "
                                  "backup."),
    verbose: Verbose = False,
) -> None:
    """Merge the reviewers' annotations into the gold set (or a levels table); list the reports whose reviewers
    disagree."""
    from .review import pull, pull_levels

    setup_logging(verbose)
    out = renamed(output, out, "--out", "-o/--output")
    if levels is not None:
        s = pull_levels(levels, project, export=export, out=out, in_place=in_place)
    else:
        s = pull(gold, project, export=export, out=out, in_place=in_place)
    what = "levels" if levels is not None else "gold labels"
    console.print(f"{s.tasks} task(s) of {s.reports} report(s) {s.source}: {s.reviewed} reviewed, {s.skipped} "
                  f"skipped, {s.waiting} not answered yet. Of the reviewed: {len(s.changed)} with {what} changed, "
                  f"{len(s.confirmed)} confirmed unchanged, {len(s.added)} added, {len(s.disagreements)} "
                  "inter-reader disagreement(s)" + (f"; {s.recorded} new review(s) recorded in the gold set"
                                                   if levels is None else ""), highlight=False, soft_wrap=True)
    if s.disagreements:
        table = Table(title="Inter-reader disagreements (the gold keeps its previous labels)")
        for name in ("report", "slot", "answers"):
            table.add_column(name)
        for d in s.disagreements:
            for slot in d.slots:
                table.add_row(d.report_id, f"{slot['level']} {slot['location']}",
                              ", ".join(f"{who}: {answer}" for who, answer in slot["answers"].items()))
        console.print(table)
    console.print((f"wrote {s.output}" + (f" (backup {s.backup})" if s.backup else "") if s.output
                   else f"nothing new to record; {s.target} left as it is") + f"; disagreements in {s.sidecar}",
                  highlight=False)


@review_app.command("export")
@review_selection
def review_export_cmd(
    selection: ReviewSelection,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Label Studio import file to write (.json)."),
    tasks: Optional[Path] = typer.Argument(None, hidden=True, help="Deprecated: -o/--output."),
    verbose: Verbose = False,
) -> None:
    """Write the review tasks (with the parser's pre-annotations) as a Label Studio import file, for a manual import."""
    from .review import export_tasks

    setup_logging(verbose)
    tasks = renamed(output, tasks, "the positional tasks file", "-o/--output", required="the import file")
    written = export_tasks(tasks, **selection.arguments())
    console.print(f"wrote {len(written)} task(s) to {tasks}; import it into a Label Studio project whose labelling "
                  "interface is rules/labelstudio/label_config.xml", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app.entry_point()
