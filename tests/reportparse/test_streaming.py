"""Streaming extraction keeps nothing per report beyond what it writes: without an evidence file no evidence
rows are built or held (they were once buffered for the whole run)."""

import csv

from reportparse.extract import ExtractConfig, extract, iter_results
from reportparse.io import ReportReader
from spinecore.synth import generate


def write(path, n):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["report_id", "text"])
        writer.writerows((f"R{i}", r.text) for i, r in enumerate(generate(n, seed=5)))
    return path


def test_results_without_evidence_hold_none(tmp_path):
    rows = list(ReportReader(write(tmp_path / "r.csv", 8)))
    with_ev = list(iter_results(rows, ExtractConfig()))
    without = list(iter_results(rows, ExtractConfig(), with_evidence=False))
    assert all(r.evidence for r in with_ev)  # every synthetic report states grades
    assert not any(r.evidence for r in without)
    assert [r.levels for r in with_ev] == [r.levels for r in without]


def test_extract_without_evidence_file_counts_no_evidence_and_writes_the_same_levels(tmp_path):
    source = write(tmp_path / "r.csv", 12)
    plain = extract(source, tmp_path / "a.csv")
    full = extract(source, tmp_path / "b.csv", tmp_path / "ev.csv")
    assert plain.evidence_rows == 0 and full.evidence_rows > 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
