"""``spinecore.startup``: the programs import their command line with the garbage collector paused and freeze what
the imports made before the command runs; the pause restores the collector as it found it."""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from spinecore.startup import gc_paused

ROOT = Path(__file__).resolve().parents[2]


def test_the_pause_restores_the_collector_as_it_found_it():
    was = gc.isenabled()
    try:
        gc.disable()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        gc.enable()
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("the block failed")
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_program_is_imported_without_collections_and_frozen_before_its_command_runs(tmp_path):
    (tmp_path / "toyprogram.py").write_text(
        "import gc, json\n"
        "during_import = gc.isenabled()\n"
        "made = [[i] for i in range(100_000)]  # objects of the import, alive as long as the process\n"
        "collections = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and collections.append(info['generation']))\n"
        "class App:\n"
        "    def entry_point(self):\n"
        "        print(json.dumps({'during_import': during_import, 'enabled': gc.isenabled(),\n"
        "                          'frozen': gc.get_freeze_count(), 'collections': len(collections)}))\n"
        "app = App()\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", "from spinecore.startup import run_program; run_program('toyprogram')"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["during_import"] is False
    assert out["enabled"] is True
    assert out["frozen"] >= 100_000
    assert out["collections"] == 0  # frozen before the collector resumed, so resuming walked nothing


@pytest.mark.parametrize("package", ["reportparse", "imaging", "grading"])
def test_every_console_script_and_python_m_run_its_command_line_as_a_program(package, monkeypatch):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts[package] == f"{package}.__main__:main"
    entry = importlib.import_module(f"{package}.__main__")
    calls: list[str] = []
    monkeypatch.setattr(entry, "run_program", calls.append)
    entry.main()
    assert calls == [f"{package}.cli"]


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("4", "4")])
def test_the_reportparse_program_starts_no_blas_threads_unless_asked(given, expected):
    # the parser does no linear algebra: numpy's OpenBLAS thread pool would cost start-up CPU for nothing
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = ("import os\nimport reportparse.__main__ as program\n"
            "program.run_program = lambda module: print(os.environ.get('OPENBLAS_NUM_THREADS'), module)\n"
            "program.main()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [expected, "reportparse.cli"]
