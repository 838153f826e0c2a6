"""The ``reportparse`` command line (``reportparse.cli.app``): a thin wrapper over ``extract()`` that prints a
summary, and turns every ``ReportParseError`` into a coded message and exit code 2 without a traceback."""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportparse import LEVELS
from reportparse.cli import app
from reportparse.rules import default_rules_dir

RUNNER = CliRunner()


def invoke(*args: str):
    return RUNNER.invoke(app, [str(a) for a in args])


def write_reports(path: Path, rows=None, header=("report_id", "text")) -> Path:
    rows = rows if rows is not None else [
        ("A", "FINDINGS:\nL4-5: Moderate canal stenosis.\nL5-S1: Mild left foraminal narrowing."),
        ("B", "IMPRESSION: Normal MRI of the lumbar spine."),
        ("C", ""),
        ("", "L4-5: Severe canal stenosis."),
    ]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count_line(output: str, name: str) -> int:
    """The first number on the summary table's line for ``name`` (e.g. the 'ok' row of the status table)."""
    match = re.search(rf"^\W*{re.escape(name)}\W+(\d+)\W", output, flags=re.MULTILINE)
    assert match, f"no line for {name!r} in\n{output}"
    return int(match.group(1))


def assert_clean_error(result, code: str) -> str:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"[{code}]" in result.output
    assert "Traceback" not in result.output
    assert "error:" in result.output
    return result.output.replace("\n", "")


def test_extract_command(tmp_path):
    src = write_reports(tmp_path / "in.csv")
    out, ev = tmp_path / "levels.csv", tmp_path / "evidence.jsonl"
    result = invoke("extract", src, "-o", out, "--evidence", ev)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert out.exists() and ev.exists()
    assert count_line(result.output, "ok") == 2
    assert count_line(result.output, "empty") == 1
    assert count_line(result.output, "error") == 1
    assert count_line(result.output, "2 moderate") == 1  # the grade table (scs column): one moderate canal stenosis
    assert count_line(result.output, "0 normal") == 6  # report B: every level normal
    text = result.output.replace("\n", "")
    assert "wrote 24 level rows" in text
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24 and [r["level"] for r in rows[:6]] == list(LEVELS)
    assert [r["status"] for r in rows[::6]] == ["ok", "ok", "empty", "error"]
    l45 = rows[4]
    assert (l45["report_id"], l45["level"], l45["scs"]) == ("A", "L4-L5", "2")
    evidence = [json.loads(line) for line in ev.read_text(encoding="utf-8").splitlines()]
    assert f"{len(evidence)} evidence rows" in text
    assert {e["report_id"] for e in evidence} == {"A", "B"}


def test_extract_command_options(tmp_path):
    src = write_reports(tmp_path / "mrn.csv", rows=[("X1", "L4-5: Mild canal stenosis."),
                                                          ("X2", "L4-5: Moderate canal stenosis. " * 5)],
                        header=("MRN", "Findings"))
    out = tmp_path / "levels.parquet"
    result = invoke("extract", src, "--output", out, "--id-col", "MRN", "--text-col", "Findings",
                    "--max-chars", "100", "-j", "1")
    assert result.exit_code == 0, result.output
    assert count_line(result.output, "ok") == 1 and count_line(result.output, "error") == 1
    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pylist()
    assert [r["report_id"] for r in table[::6]] == ["X1", "X2"]
    assert table[4]["scs"] == 1 and table[10]["status"] == "error" and "[W202]" in table[10]["reason"]


def test_bad_column_exit_2_without_traceback(tmp_path):
    src = write_reports(tmp_path / "in.csv")
    out = tmp_path / "levels.csv"
    result = invoke("extract", src, "-o", out, "--text-col", "nope")
    text = assert_clean_error(result, "E103")
    assert "'nope'" in text and "['report_id', 'text']" in text and "--text-col" in text
    assert not out.exists()


def test_error_message_is_a_single_line(tmp_path):
    folder = tmp_path / ("reports_" + "x" * 200)  # a long path, as in real data folders
    folder.mkdir()
    src = write_reports(folder / "in.csv")
    result = invoke("extract", src, "-o", folder / "levels.csv", "--text-col", "nope")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert str(src) in lines[0] and "[E103]" in lines[0]


def test_broken_rules_folder_exit_2_names_the_file(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = json.loads((rules / "concepts.json").read_text(encoding="utf-8"))
    index = next(i for i, e in enumerate(data["target_rules"]) if e.get("category") == "SEVERITY")
    data["target_rules"][index]["metadata"]["grade"] = 7
    (rules / "concepts.json").write_text(json.dumps(data), encoding="utf-8")
    src = write_reports(tmp_path / "in.csv")
    out = tmp_path / "levels.csv"
    result = invoke("extract", src, "-o", out, "--rules", rules)
    text = assert_clean_error(result, "E005")
    assert "concepts.json" in text and f"entry {index} " in text and "metadata.grade" in text
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "rules"]


def test_missing_rules_folder_exit_2(tmp_path):
    src = write_reports(tmp_path / "in.csv")
    result = invoke("extract", src, "-o", tmp_path / "levels.csv", "--rules", tmp_path / "no-rules")
    text = assert_clean_error(result, "E001")
    assert "no-rules" in text


def test_rules_option_changes_the_parse(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = json.loads((rules / "concepts.json").read_text(encoding="utf-8"))
    data["target_rules"].append({"literal": "gentle", "category": "SEVERITY", "metadata": {"grade": 1}})
    (rules / "concepts.json").write_text(json.dumps(data), encoding="utf-8")
    src = write_reports(tmp_path / "in.csv", rows=[("A", "L4-5: Gentle canal stenosis.")])
    for args, want in (((), ""), (("--rules", rules), "1")):
        result = invoke("extract", src, "-o", tmp_path / "levels.csv", *args)
        assert result.exit_code == 0, result.output
        with open(tmp_path / "levels.csv", newline="", encoding="utf-8") as fh:
            assert list(csv.DictReader(fh))[4]["scs"] == want


@pytest.mark.parametrize("args,code", [
    (("-j", "0"), "E108"),
    (("--max-chars", "0"), "E110"),
    (("--id-col", "nope"), "E103"),
])
def test_bad_options_exit_2(tmp_path, args, code):
    src = write_reports(tmp_path / "in.csv")
    assert_clean_error(invoke("extract", src, "-o", tmp_path / "levels.csv", *args), code)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_bad_paths_exit_2(tmp_path):
    assert_clean_error(invoke("extract", tmp_path / "missing.csv", "-o", tmp_path / "o.csv"), "E101")
    src = write_reports(tmp_path / "in.csv")
    assert_clean_error(invoke("extract", src, "-o", tmp_path / "o.xlsx"), "C005")
    assert_clean_error(invoke("extract", src, "-o", tmp_path / "nope" / "o.csv"), "C006")
    (tmp_path / "in.txt").write_text("report_id,text\n")
    assert_clean_error(invoke("extract", tmp_path / "in.txt", "-o", tmp_path / "o.csv"), "E102")


def test_review_push_and_export_offer_the_same_report_selection():
    from reportparse.cli import ReviewSelection

    selection = ["--gold", "--reports", "--split", "--id-col", "--text-col", "--rules", "--predictions",
                 "--min-probability"]
    assert [f"--{name.replace('_', '-')}" for name in ReviewSelection.__dataclass_fields__] == selection
    for command in ("push", "export"):
        result = CliRunner().invoke(app, ["review", command, "--help"], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        for option in selection:  # each with its help text, not a bare name
            line = next(line for line in result.output.splitlines() if f" {option} " in line)
            assert len(line.split(option, 1)[1].strip(" │").split()) > 3, line
