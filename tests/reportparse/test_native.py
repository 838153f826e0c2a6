"""``reportparse.native``: the compiled stages (lexicon, levels, findings, grades) run compiled only where every
compiled module is there and was compiled from the source beside it; otherwise (nothing compiled, a source edited
since, or ``REPORTPARSE_PURE_PYTHON=1``) they run from their sources, and both ways give the same tables.

The rule is tested on a folder made for it (no compiled module is imported there); the processes of the last tests
use this install, whose stages are compiled where ``pip install`` could compile them (``setup.py``).
"""

import csv
import hashlib
import importlib.machinery
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportparse import native
from reportparse.gold import load_gold
from reportparse.io import ReportReader

ROOT = Path(__file__).resolve().parents[2]
REAL_NOTES = ROOT.parent / "shared" / "data" / "reports-real" / "notes.jsonl"
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
COMPILED_HERE = native._decide() is None and native.PURE_ENV not in os.environ
needs_compiled = pytest.mark.skipif(not COMPILED_HERE, reason="this install did not compile the lexicon, level, "
                                    "finding and grade stages (setup.py needs mypy and a C compiler at install time)")


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package folder as a compiling install leaves it: sources, compiled modules (empty stand-ins, never
    imported) and the record of the compiled sources."""
    sources = {}
    for module in native.COMPILED:
        name = module.rsplit(".", 1)[1]
        (tmp_path / f"{name}.py").write_text(f"STAGE = {name!r}\n")
        (tmp_path / f"{name}{SUFFIX}").write_bytes(b"")
        sources[module] = hashlib.sha256((tmp_path / f"{name}.py").read_bytes()).hexdigest()
    (tmp_path / f"stages__mypyc{SUFFIX}").write_bytes(b"")
    (tmp_path / "_compiled.json").write_text(json.dumps({"library": "stages__mypyc", "sources": sources}))
    monkeypatch.setattr(native, "PACKAGE_DIR", tmp_path)
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    return tmp_path


def test_compiled_modules_of_the_sources_beside_them_are_used(package):
    assert native._decide() is None


def test_an_install_that_ships_no_source_of_a_compiled_module_uses_the_compiled_modules(package):
    (package / "levels.py").unlink()  # (nothing else could run)
    assert native._decide() is None


def test_an_edited_source_makes_every_stage_run_from_its_source_with_a_warning(package, caplog):
    with (package / "findings.py").open("a") as f:
        f.write("# edited\n")
    with caplog.at_level(logging.WARNING, logger="reportparse.native"):
        reason = native._decide()
    assert reason == "source changed since compiled: reportparse.findings"
    assert "reportparse/findings.py changed since it was compiled" in caplog.text
    assert "pip install -e ." in caplog.text


@pytest.mark.parametrize("missing", ["levels", "findings", "stages__mypyc"])
def test_a_missing_compiled_module_makes_every_stage_run_from_its_source(package, missing, caplog):
    (package / f"{missing}{SUFFIX}").unlink()
    with caplog.at_level(logging.WARNING, logger="reportparse.native"):
        assert native._decide() == "not compiled"
    assert caplog.text == ""  # an install without a compiler is no fault


@pytest.mark.parametrize("record", [None, "{not json", '{"library": "stages__mypyc", "sources": {}}',
                                    '{"library": 3, "sources": {}}', "[]"])
def test_no_usable_record_of_the_compiled_sources_means_not_compiled(package, record):
    if record is None:
        (package / "_compiled.json").unlink()
    else:
        (package / "_compiled.json").write_text(record)
    assert native._decide() == "not compiled"


def test_the_environment_variable_runs_the_sources(package, monkeypatch):
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native._decide() == f"{native.PURE_ENV}=1"


def stage_files(**env: str) -> dict:
    code = ("import json, reportparse.native as n, reportparse.levels as l, reportparse.findings as f; "
            "print(json.dumps({'status': n.status(), 'files': [l.__file__, f.__file__]}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env}, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@needs_compiled
def test_this_install_runs_the_compiled_stages_and_the_variable_their_sources():
    compiled = stage_files()
    assert compiled["status"] == "compiled"
    assert all(file.endswith(SUFFIX) for file in compiled["files"])
    source = stage_files(**{native.PURE_ENV: "1"})
    assert source["status"] == f"source ({native.PURE_ENV}=1)"
    assert [Path(file).name for file in source["files"]] == ["levels.py", "findings.py"]


@needs_compiled
def test_compiled_and_source_stages_give_the_same_tables(tmp_path):
    """The gold set's reports and, where ``../shared`` is there, the real clinical notes, through ``reportparse
    extract`` with its evidence table, once each way: the same bytes."""
    rows = [(f"G{k}", report.text) for k, report in enumerate(load_gold(ROOT / "gold" / "annotations.json"))]
    if REAL_NOTES.is_file():
        rows += [(f"N{k}", row.text) for k, row in enumerate(ReportReader(REAL_NOTES)) if row.text]
    reports = tmp_path / "reports.csv"
    with reports.open("w", newline="") as f:
        csv.writer(f).writerows([("report_id", "text"), *rows])
    outputs = {}
    for way, env in (("compiled", {}), ("source", {native.PURE_ENV: "1"})):
        levels, evidence = tmp_path / f"levels-{way}.csv", tmp_path / f"evidence-{way}.csv"
        res = subprocess.run([sys.executable, "-m", "reportparse", "extract", str(reports), "-o", str(levels),
                              "--evidence", str(evidence)], capture_output=True, text=True, timeout=600,
                             env={**os.environ, **env}, cwd=ROOT)
        assert res.returncode == 0, res.stderr
        outputs[way] = (levels.read_bytes(), evidence.read_bytes())
    assert outputs["compiled"][0].count(b"\n") == 6 * len(rows) + 1
    assert outputs["compiled"] == outputs["source"]


def build_copy(tmp_path: Path, env: dict[str, str], wrong: str = "") -> tuple[subprocess.CompletedProcess, Path]:
    """``setup.py build_ext --inplace`` (the compiling step of ``pip install -e .``) on a copy of the sources, with
    ``wrong`` appended to ``grades.py``."""
    skip = shutil.ignore_patterns("*.so", "_compiled.json", "__pycache__")
    for folder in ("reportparse", "spinecore"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=skip)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    with (tmp_path / "reportparse" / "grades.py").open("a") as source:
        source.write(wrong)
    res = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path, env={**os.environ, native.PURE_ENV: "", **env})
    return res, tmp_path / "reportparse"


@pytest.mark.slow
@pytest.mark.parametrize("env, wrong", [({"CC": "/bin/false"}, ""), ({}, "\nWRONG: int = 'not an int'\n")],
                         ids=["no C compiler", "a type error"])
def test_an_install_that_cannot_compile_goes_on_and_records_nothing(tmp_path, env, wrong):
    """The install's promise: without a C compiler, or with sources that fail mypy's type check, the build succeeds
    with no compiled module and a record that names no source (the parser runs the sources)."""
    pytest.importorskip("mypyc", reason="mypy (a build requirement, and in the test extra) is not installed")
    res, package = build_copy(tmp_path, env, wrong)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not list(package.glob("*.so"))
    assert json.loads((package / "_compiled.json").read_text())["sources"] == {}
    if wrong:  # stopped by the type check
        assert "are not compiled" in res.stderr and "grades.py" in res.stdout and "Incompatible types" in res.stdout
    else:  # type-checked, then stopped by the compiler
        assert 'building extension "reportparse.stages__mypyc" failed' in res.stderr
