"""The compiled stages of the parser (lexicon, levels, findings, grades): when they are used, and when their sources
are.

``setup.py`` compiles :data:`COMPILED` with mypyc where the install can (mypy and a C compiler): C extension modules
next to the sources (``levels.cpython-311-x86_64-linux-gnu.so`` beside ``levels.py``), which run those stages in about
half the time with the same results. Python imports an extension module before a source of the same name, so a compiled
module would outlive an edit of its source; and the compiled modules share their classes in C (one mypyc group), so
they only work together. Hence the rule, decided once, at the first import of one of them:

* the compiled modules are used when every one of them and their shared library are there and every source is the
  one they were compiled from (its SHA-256 is the one that the build recorded in ``reportparse/_compiled.json``) or
  absent (an install that ships only the compiled modules);
* otherwise all of them run from the sources: silently where nothing was compiled (an install without a compiler),
  with a warning where a source changed since it was compiled (install again to compile it), and on purpose where
  the environment sets ``REPORTPARSE_PURE_PYTHON=1`` (to debug or profile the stages as Python).

:func:`install` (called by ``import reportparse``) adds the finder that applies this rule; :func:`status` tells
which way it went.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

#: The modules setup.py compiles (its ``MODULES``).
COMPILED = ("reportparse.lexicon", "reportparse.levels", "reportparse.findings", "reportparse.grades")
#: Environment variable that makes the compiled modules run from their sources.
PURE_ENV = "REPORTPARSE_PURE_PYTHON"
PACKAGE_DIR = Path(__file__).resolve().parent


def _extension(name: str) -> Path | None:
    """The extension module ``name`` (a module of this package) as this interpreter would load it, or None."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = PACKAGE_DIR / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _record() -> tuple[str, dict[str, str]]:
    """The shared library's module name and the sources' SHA-256 that the build recorded (none: nothing compiled)."""
    try:
        record = json.loads((PACKAGE_DIR / "_compiled.json").read_text())
        library, sources = record["library"], record["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return "", {}
    return (library, sources) if isinstance(library, str) and isinstance(sources, dict) else ("", {})


def _digest(source: Path) -> str | None:
    """The SHA-256 of a source, or None where there is none (an install that ships only compiled modules: nothing
    else could run)."""
    try:
        return hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:
        return None


def _decide() -> str | None:
    """None when the compiled modules are to be used; else why the sources are (logged as a warning where a source
    changed since it was compiled)."""
    if os.environ.get(PURE_ENV) == "1":
        return f"{PURE_ENV}=1"
    library, sources = _record()
    names = [module.rsplit(".", 1)[1] for module in COMPILED]
    if set(sources) != set(COMPILED) or any(_extension(name) is None for name in [library, *names]):
        return "not compiled"
    changed = [module for module, name in zip(COMPILED, names)
               if _digest(PACKAGE_DIR / f"{name}.py") not in (None, sources[module])]
    if changed:
        logger.warning("%s changed since it was compiled: the compiled stages run from their sources "
                       "(slower, same results); install the toolkit again (pip install -e .) to compile them",
                       ", ".join(f"reportparse/{module.rsplit('.', 1)[1]}.py" for module in changed))
        return "source changed since compiled: " + ", ".join(changed)
    return None


class _StagesFinder(importlib.abc.MetaPathFinder):
    """Applies the module docstring's rule at the first import of a module of :data:`COMPILED`: from then on it
    hands out their sources, or leaves them to the usual finders (which prefer the compiled modules)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.decided = False

    def decision(self) -> str | None:
        """:func:`_decide`'s answer, decided on the first call."""
        if not self.decided:
            self.reason, self.decided = _decide(), True
        return self.reason

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001 (importlib protocol)
        if fullname not in COMPILED or self.decision() is None:
            return None
        return importlib.util.spec_from_file_location(fullname, PACKAGE_DIR / f"{fullname.rsplit('.', 1)[1]}.py")


_FINDER = _StagesFinder()


def install() -> None:
    """Add the finder (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def status() -> str:
    """``"compiled"`` or ``"source (<why>)"``: how the compiled stages run in this process (decided now if none
    of them is imported yet)."""
    reason = _FINDER.decision()
    return "compiled" if reason is None else f"source ({reason})"
