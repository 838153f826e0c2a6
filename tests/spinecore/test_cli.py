"""The command-line convention of the three commands: the same option names, old names accepted with a note."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from grading.cli import app as grading_app
from imaging.cli import app as imaging_app
from reportparse.cli import app as reportparse_app

RUNNER = CliRunner()


def run(app, *args: str):
    return RUNNER.invoke(app, [str(a) for a in args])


def test_renamed_options_still_work_with_a_deprecation_note(tmp_path):
    reports = tmp_path / "r.csv"
    reports.write_text("report_id,text\nA,\"IMPRESSION: L4-L5: moderate canal stenosis.\"\n", encoding="utf-8")
    res = run(reportparse_app, "extract", reports, "-o", tmp_path / "levels.csv", "--n-process", "1")
    assert res.exit_code == 0, res.output
    assert "--n-process is deprecated" in res.output and "-j/--workers" in res.output
    assert (tmp_path / "levels.csv").read_text().count("\n") == 7
    # old names reach the same checks as the new ones: the note, then the command's own coded error
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    res = run(imaging_app, "segment", tmp_path, "--model", junk, "-o", tmp_path / "seg")
    assert res.exit_code == 2 and "--model is deprecated" in res.output and "--seg-model" in res.output
    assert "[S003]" in res.output
    res = run(imaging_app, "synth", tmp_path / "cohort", "--n", "0")
    assert res.exit_code == 2 and "-o/--output" in res.output and "[I020]" in res.output
    res = run(grading_app, "train", "-o", tmp_path / "run", "--manifest", tmp_path / "m.csv", "--levels",
              tmp_path / "l.csv", "--model", "huge")
    assert res.exit_code == 2 and "--model is deprecated" in res.output and "[G103]" in res.output


@pytest.mark.parametrize("app, command, new, old", [
    (reportparse_app, ["extract"], ["--workers", "-j"], "--n-process"),
    (reportparse_app, ["evaluate"], ["--output", "-o"], "--out"),
    (reportparse_app, ["review", "pull"], ["--output", "-o"], "--out"),
    (reportparse_app, ["review", "export"], ["--output", "-o"], None),
    (imaging_app, ["synth"], ["--output", "-o"], None),
    (imaging_app, ["segment"], ["--seg-model"], "--model"),
    (imaging_app, ["eval-seg"], ["--seg-model"], "--model"),
    (imaging_app, ["extract"], ["--seg-model", "--workers", "-j"], "--model"),
    (grading_app, ["train"], ["--preset", "--workers", "-j", "--device"], "--model"),
    (grading_app, ["predict"], ["--seg-model", "--workers", "-j", "--device"], None),
])
def test_help_shows_the_convention_and_hides_old_names(app, command, new, old):
    res = RUNNER.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    assert all(name in res.output for name in new), res.output
    if old is not None:
        assert not re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", res.output), res.output


def test_predict_device_defaults_to_auto():
    res = RUNNER.invoke(grading_app, ["predict", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    assert re.search(r"--device .*\[default: auto\]", res.output), res.output


@pytest.mark.parametrize("args, status", [(["extract", "{src}", "-o", "{out}"], 0),
                                          (["extract", "{tmp}/missing.csv", "-o", "{out}"], 2)])
def test_the_entry_point_runs_the_command_and_freezes_the_objects_before_exit(tmp_path, args, status):
    """A console script (``app.entry_point``) runs the command with its exit status, writes its output, and leaves
    the objects frozen for the interpreter's exit (no final collection over spaCy's objects)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = tmp_path / "r.csv"
    src.write_text("report_id,text\nA,\"L4-L5: moderate canal stenosis.\"\n", encoding="utf-8")
    out = tmp_path / "levels.csv"
    argv = [a.format(src=src, out=out, tmp=tmp_path) for a in args]
    code = ("import atexit, gc, json, sys\nfrom reportparse.cli import app\n"
            "atexit.register(lambda: print(json.dumps({'frozen': gc.get_freeze_count()})))\n"
            "sys.argv[1:] = " + json.dumps(argv) + "\napp.entry_point()\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == status, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1])["frozen"] > 10_000
    assert out.exists() == (status == 0)
    assert status == 0 or "[E" in res.stderr
