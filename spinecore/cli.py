"""The command-line convention of the toolkit's three commands (``reportparse``, ``imaging``, ``grading``).

* ``-o/--output`` names what a command writes (a file or a folder); ``-j/--workers`` the number of processes;
  ``--seg-model`` a segmentation checkpoint (``imaging train-seg``), ``--model`` the grading checkpoint,
  ``--preset`` a named set of settings, ``--device auto|cpu|cuda`` (default ``auto``: CUDA when present),
  ``--config`` a JSON file of settings, ``-v/--verbose`` INFO logging (default WARNING).
* Every command runs in a :class:`CodedErrorApp`: a coded error ends as ``error: [CODE] message`` on stderr and
  exit status 2; anything else is a bug and shows its traceback.
* Logging is set up once per command by :func:`setup_logging`; long work shows :func:`progress` on stderr and
  ends with a summary.
* An option renamed under this convention keeps its old name, hidden from ``--help``; using it prints a
  deprecation note (:func:`renamed`).
"""

from __future__ import annotations

import functools
import gc
import logging
import re
from typing import Annotated, Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

__all__ = ["CodedErrorApp", "is_coded", "console", "setup_logging", "progress", "renamed", "Verbose", "Device"]

_CODE = re.compile(r"^[A-Z]\d{3}$")
T = TypeVar("T")

#: Where every command writes its messages, tables and progress bars (stdout stays free for data).
console = Console(stderr=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details (INFO).")]
Device = Annotated[str, typer.Option("--device", help="Where the network runs: auto (CUDA when present), cpu or "
                                     "cuda.")]
Deidentify = Annotated[bool, typer.Option(
    "--deidentify", help="Replace study ids, patient ids and series UIDs by keyed hashes and leave out input paths; "
    "the key (16+ characters) is read from the environment variable DEEPSPINE_DEIDENTIFY_KEY, never from the command "
    "line.")]


def is_coded(err: BaseException) -> bool:
    """Whether ``err`` is one of the toolkit's coded errors (a ``code`` such as ``'I001'`` or ``'G106'``)."""
    return isinstance(getattr(err, "code", None), str) and bool(_CODE.match(err.code))


class CodedErrorApp(typer.Typer):
    """A ``typer.Typer`` whose commands report a coded error as ``error: [CODE] message`` on stderr (one line, no
    traceback) and exit with status 2; any other exception still shows its traceback (a bug to report)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(func)
            def run(*a: Any, **kw: Any) -> Any:
                try:
                    return func(*a, **kw)
                except Exception as err:
                    if not is_coded(err):
                        raise
                    console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
                    raise typer.Exit(code=2) from None

            register(run)
            return func

        return decorator

    def entry_point(self) -> None:
        """Run this command line as the program of the process (the console scripts and ``python -m`` call this
        through :func:`spinecore.startup.run_program`).

        When the interpreter exits, Python collects garbage once more over every object it tracks: with spaCy,
        medspaCy or torch loaded that walk took 0.1-0.2 s per command. Freezing the objects (``gc.freeze``) as
        the command ends skips it; outputs are written and files closed before, and reference counting still
        frees what it frees. Called in-process (tests, notebooks), use the app itself: it freezes nothing.
        """
        try:
            self()
        finally:
            gc.freeze()


def setup_logging(verbose: bool) -> None:
    """The commands' logging: INFO with ``--verbose``, else WARNING, as ``LEVEL logger: message`` on stderr."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def progress(description: str = "{task.description}", *, time_left: bool = False) -> Progress:
    """The progress bar of long work (transient, on stderr): spinner, ``description``, bar, count, elapsed time
    and, with ``time_left``, the estimated time left."""
    left = (TextColumn("left"), TimeRemainingColumn()) if time_left else ()
    return Progress(SpinnerColumn(), TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), *left, console=console, transient=True)


def renamed(value: T, old_value: T | None, old: str, new: str, *, required: str | None = None) -> T:
    """The value of an option: ``old_value`` when it was given under its deprecated name ``old`` (with a note on
    stderr naming ``new``), else ``value``. With ``required`` (what the option names), a usage error when neither
    name was given."""
    if old_value is not None:
        console.print(f"[yellow]note:[/yellow] {old} is deprecated and will be removed; use {new}.", highlight=False)
        value = old_value
    if value is None and required:
        raise typer.BadParameter(f"name {required} with {new}.")
    return value
