"""The house's layers: spinecore at the bottom, imaging and grading on it without reportparse, and grading's
prediction without its training and result-table modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("spinecore", "reportparse", "imaging", "grading")


def imported_packages(path: Path) -> set[str]:
    """The top-level modules that ``path`` imports (absolute imports, at any depth of the code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imports_of(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): {m for m in imported_packages(p) if m.split(".")[0] in PACKAGES}
            for p in sorted((ROOT / package).rglob("*.py"))}


def test_spinecore_imports_none_of_the_packages_above_it():
    above = {f: m for f, m in imports_of("spinecore").items() if any(not x.startswith("spinecore") for x in m)}
    assert above == {}


def test_imaging_and_grading_import_nothing_of_reportparse():
    """The synthetic report generator that writes the reports of a synthetic cohort (``imaging synth``) is
    ``spinecore.synth``, shared content at the bottom of the house."""
    uses = {f: sorted(m for m in mods if m.startswith("reportparse"))
            for pkg in ("imaging", "grading") for f, mods in imports_of(pkg).items()}
    assert {f: m for f, m in uses.items() if m} == {}


def test_predict_loads_neither_training_nor_result_tables():
    code = ("import json, sys; import grading.predict; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('grading', 'matplotlib', 'sklearn', 'reportparse'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    modules = set(json.loads(out.stdout))
    assert "grading.checkpoint" in modules and "grading.predict" in modules
    assert not modules & {"grading.train", "grading.evaluate", "grading.metrics", "matplotlib", "sklearn"}
    assert not {m for m in modules if m.startswith("reportparse")}
