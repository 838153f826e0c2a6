"""The ``reportparse`` command line. Each command is a thin wrapper around one library function."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import ReportParseError
from .extract import STATUSES, ExtractConfig, ExtractSummary, extract
from .rules import LOCATIONS

app = typer.Typer(help="Per-level lumbar stenosis grades (0-3) from free-text MRI reports.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)

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
    for name in STATUSES:
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
    n_process: int = typer.Option(1, "--n-process", help="Worker processes."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rules folder replacing the shipped rules."),
    max_chars: int = typer.Option(200_000, "--max-chars", help="Longer reports get status error."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    """Turn a file of reports into a levels table: report_id, level, scs, rfs, lfs (0-3 or empty), status."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = ExtractConfig(id_col=id_col, text_col=text_col, rules_dir=str(rules) if rules else None,
                           n_process=n_process, max_chars=max_chars)
    try:
        with Progress(SpinnerColumn(), TextColumn("[bold]parsing reports"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("parse", total=None)
            summary = extract(reports, output, evidence, config, progress=lambda n: bar.advance(task, n))
    except ReportParseError as err:
        console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    for table in summary_tables(summary):
        console.print(table)
    console.print(f"wrote {summary.level_rows} level rows to {output}" +
                  (f" and {summary.evidence_rows} evidence rows to {evidence}" if evidence else ""))


if __name__ == "__main__":  # pragma: no cover
    app()
