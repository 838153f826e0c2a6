"""Keep the heavy optional imports of spaCy and medspaCy out of a report-parsing process.

The report parser uses spaCy's tokenizer and matchers and medspaCy's rule components; two of their imports cost
more start-up time and memory than all the parsing they serve, and the parser never uses them:

* **torch.** thinc (spaCy's machine-learning library) imports torch in ``thinc.compat`` whenever it is installed,
  to offer PyTorch layers: about 300 MiB of resident memory and seconds of start-up. While ``thinc.compat`` runs,
  torch is hidden from it, so thinc sees no torch (``thinc.compat.has_torch`` is False: thinc's PyTorch
  wrappers are unavailable in this process). torch itself stays importable: ``import torch`` afterwards loads
  it as usual (the grading package does). Nothing is hidden when torch was imported before reportparse, or when
  the environment sets ``REPORTPARSE_THINC_TORCH=1``.
* **nltk** (and through it scipy.stats). medspaCy imports QuickUMLS for its optional ``medspacy_quickumls``
  component, and QuickUMLS imports nltk at module level.
* **langcodes** (its language tables). ``spacy.util`` imports it at module level, but uses it only to guess a
  language that has no module of its own (``spacy.blank("no")`` giving Norwegian Bokmål); the parser's ``"en"``
  has one.
* **spaCy's command line** (``spacy.cli``). ``import spacy`` imports it for one function, ``spacy.info``, and with it
  every ``spacy`` command and what they use (requests, jinja2, weasel): about 0.07 s of a start-up of under a second.
* **asyncio** (with ssl). medspaCy imports PyRuSH, which logs through loguru, whose ``_asyncio_loop`` imports asyncio
  for two functions that only a coroutine sink calls (PyRuSH adds none); **tqdm**, which ``spacy.training`` imports
  for its training progress bars. Together about 1% of an ``extract`` start-up, in instructions.

nltk and langcodes are imported lazily (``importlib.util.LazyLoader``): the real module runs on its first
attribute access, so a program that uses them notices nothing. ``spacy.cli``, ``spacy.cli.info``, tqdm and
``loguru._asyncio_loop`` are deferred (:data:`DEFERRED_MODULES`): each module's code runs on the first look-up of a
name it has not set (not on the import system's look-ups of ``__spec__`` and the like, which a second ``import tqdm``
makes and which would run a lazily imported module; its submodules import as usual); ``spacy.info`` and loguru's
``get_running_loop`` and ``get_task_loop`` are functions that run their module on their first call.

The imports of spaCy and medspaCy themselves (with thinc, pydantic, numpy and the rest they bring) create hundreds
of thousands of objects that live as long as the process; Python's cyclic garbage collector walks them again and
again while they are created and frees nothing: about a tenth of their import time. They run with the collector
paused (:func:`spinecore.startup.gc_paused`); reference counting frees objects as always. (The ``reportparse``
program also freezes them afterwards: :func:`spinecore.startup.run_program`.)

:func:`install` (called by ``import reportparse``) adds a finder to ``sys.meta_path`` that acts once on each of
these imports and then removes itself; any other import is untouched.

:func:`lazy_exports` gives a package the module ``__getattr__`` (PEP 562) that imports each public name from its
module on first use, so that importing the package, or one light module of it, loads nothing heavy.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from spinecore.startup import gc_paused

#: Environment variable that lets thinc import torch as usual.
KEEP_TORCH_ENV = "REPORTPARSE_THINC_TORCH"
#: Modules that spaCy or medspaCy import at start-up and the parser never uses: imported lazily.
LAZY_MODULES = ("nltk", "langcodes")
#: Packages imported with the cyclic garbage collector paused.
GC_PAUSED_MODULES = ("spacy", "medspacy")
#: Modules that spaCy, medspaCy or what they use import at start-up for names the parser never uses: their code runs
#: on the first look-up of a name they have not set; each maps to the functions taken from it meanwhile, given as
#: stand-ins that run the module's code on their first call.
DEFERRED_MODULES: dict[str, tuple[str, ...]] = {"spacy.cli": (), "spacy.cli.info": ("info",), "tqdm": (),
                                                 "loguru._asyncio_loop": ("get_running_loop", "get_task_loop")}


class _WrappingLoader(importlib.abc.Loader):
    """A module's own loader, with something around the run of the module's code."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)


class _GcPausedLoader(_WrappingLoader):
    """Runs a module's code with the cyclic garbage collector paused."""

    def exec_module(self, module: ModuleType) -> None:
        with gc_paused():
            self.loader.exec_module(module)


class _DeferredLoader(_WrappingLoader):
    """Runs a module's code on the first look-up of a name the module has not set (PEP 562 ``__getattr__``), or
    on the first call of one of its ``stand_ins`` (functions that others import from it meanwhile)."""

    def __init__(self, loader: importlib.abc.Loader, stand_ins: tuple[str, ...]):
        super().__init__(loader)
        self.stand_ins = stand_ins

    def exec_module(self, module: ModuleType) -> None:
        def run() -> ModuleType:
            hook = module.__dict__.pop("__getattr__", None)
            if hook is not None:  # (once)
                try:
                    self.loader.exec_module(module)
                except BaseException:
                    module.__getattr__ = hook  # a later look-up runs it again (and fails as this one did)
                    raise
            return module

        def __getattr__(name: str) -> Any:
            # the import system looks up dunder names that a module may lack ("__path__" of a plain module)
            if name.startswith("__") and name != "__all__":
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
            return getattr(run(), name)

        def stand_in(name: str) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                return getattr(run(), name)(*args, **kwargs)

            call.__name__ = call.__qualname__ = name
            call.__doc__ = f"``{module.__name__}.{name}``, whose module runs on this function's first call."
            return call

        module.__getattr__ = __getattr__
        for name in self.stand_ins:
            setattr(module, name, stand_in(name))


class _TorchHidingLoader(_WrappingLoader):
    """Runs ``thinc.compat`` with ``import torch`` failing, then makes torch importable again."""

    def exec_module(self, module: ModuleType) -> None:
        if "torch" in sys.modules:  # imported meanwhile: nothing to save
            self.loader.exec_module(module)
            return
        sys.modules["torch"] = None  # type: ignore[assignment]  # "import torch" raises ImportError
        try:
            self.loader.exec_module(module)
        finally:
            if sys.modules.get("torch", False) is None:
                del sys.modules["torch"]


class _LightImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``thinc.compat`` (torch hidden), :data:`LAZY_MODULES` (lazy), :data:`GC_PAUSED_MODULES` and
    :data:`DEFERRED_MODULES` once each; leaves every other import alone."""

    def __init__(self, names: set[str]):
        self.pending = set(names)

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001 (importlib protocol)
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        if not self.pending:
            uninstall()
        spec = _find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        if fullname == "thinc.compat":
            spec.loader = _TorchHidingLoader(spec.loader)
        elif fullname in GC_PAUSED_MODULES:
            spec.loader = _GcPausedLoader(spec.loader)
        elif fullname in DEFERRED_MODULES:
            spec.loader = _DeferredLoader(spec.loader, DEFERRED_MODULES[fullname])
        else:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def _find_spec(fullname: str, path: list[str] | None) -> importlib.machinery.ModuleSpec | None:
    """The spec the other finders give (this finder no longer wants the name, so it answers None)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(fullname, path) if find is not None else None
        if spec is not None:
            return spec
    return None


def install() -> None:
    """Add the finder (once), for the imports that have not happened yet."""
    if any(isinstance(f, _LightImportFinder) for f in sys.meta_path):
        return
    names = set()
    if "thinc.compat" not in sys.modules and "torch" not in sys.modules and os.environ.get(KEEP_TORCH_ENV) != "1":
        names.add("thinc.compat")
    names.update(name for name in (*LAZY_MODULES, *GC_PAUSED_MODULES, *DEFERRED_MODULES) if name not in sys.modules)
    if names:
        sys.meta_path.insert(0, _LightImportFinder(names))


def uninstall() -> None:
    """Remove the finder (it removes itself once all its imports happened)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _LightImportFinder)]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package`` for its public names: ``exports`` maps each name to the module
    that defines it (relative to the package, or absolute); the value is imported on first use and kept."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
