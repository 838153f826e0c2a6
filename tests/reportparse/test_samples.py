"""``samples/reports.csv``, the file the README's first command parses: reports written for the samples, none of
them a gold report (a sample from the tuning split would flatter the parser), all parsed with status ok."""

import csv
from pathlib import Path

from typer.testing import CliRunner

from reportparse.cli import app
from reportparse.gold import load_gold

ROOT = Path(__file__).resolve().parents[2]


def test_samples_are_not_gold_reports_and_parse(tmp_path):
    with open(ROOT / "samples" / "reports.csv", newline="", encoding="utf-8") as fh:
        samples = list(csv.DictReader(fh))
    assert len(samples) >= 20
    gold_texts = {" ".join(r.text.split()) for r in load_gold(ROOT / "gold" / "annotations.json")}
    assert not any(" ".join(s["text"].split()) in gold_texts for s in samples)
    result = CliRunner().invoke(app, ["extract", str(ROOT / "samples" / "reports.csv"), "-o", str(tmp_path / "l.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "l.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 * len(samples) and {r["status"] for r in rows} == {"ok"}
    graded = sum(1 for r in rows for k in ("scs", "rfs", "lfs") if r[k] != "")
    assert graded >= 0.8 * 18 * len(samples)
