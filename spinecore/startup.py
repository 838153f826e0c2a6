"""Start-up of the toolkit's programs: big imports made without garbage collections that free nothing.

Importing spaCy and medspaCy (``reportparse``) or torch and MONAI (``imaging``, ``grading``) makes hundreds of
thousands of Python objects (modules, classes, functions, registries) that live as long as the process. Python's
cyclic garbage collector walks the young ones every few hundred allocations and all of them now and then, and
frees nothing: in a ``reportparse extract`` run that was about 0.1 s of collections during the imports and a first
full collection of about 60 ms during the parse.

* :func:`gc_paused` pauses the collector around work that only makes objects that stay alive (an import, a pipeline
  build); library code may use it, it restores the collector as it found it.
* :func:`run_program` is what the console scripts and ``python -m <package>`` run: it imports the command line
  with the collector paused, then freezes every object alive (``gc.freeze``: the collector never walks them again;
  reference counting still frees them) before the command runs. Only a program does this, since freezing is
  process-wide: a library imported by other code leaves the collector's generations alone.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused", "run_program"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (if it runs) while the block makes objects that all stay alive."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def run_program(module: str) -> None:
    """Run the command line ``app`` of ``module`` (a :class:`spinecore.cli.CodedErrorApp`) as the program of this
    process: imported with the collector paused, its objects frozen, then ``app.entry_point()``."""
    with gc_paused():
        app = importlib.import_module(module).app
        gc.freeze()  # before the collector resumes: its first collection would walk them all
    app.entry_point()
