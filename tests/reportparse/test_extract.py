"""``reportparse.extract.extract``: statuses and reasons, evidence, summary, multiprocessing, atomic output and
bounded memory. Every input row must reach the levels table as six rows with a status."""

import csv
import gc
import json
import os
import time
import tracemalloc
import weakref
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from reportparse import LEVELS, LOCATIONS, ReportParseError, parse_text
from reportparse.extract import EVIDENCE_COLUMNS, PROGRESS_EVERY, ExtractConfig, SeenIds, extract, iter_results
from reportparse.gold import load_gold
from reportparse.io import InputRow
from reportparse.pipeline import RefreshingPipeline, default_pipeline
from reportparse.rules import load_rules
from spinecore.startup import gc_paused

GOOD = "FINDINGS:\nL4-5: Moderate canal stenosis. Mild bilateral foraminal narrowing.\nL5-S1: Normal."


# --------------------------------------------------------------------------------------------------- helpers


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for c in ("scs", "rfs", "lfs", "row"):
            assert r[c] == "" or r[c].isdigit(), (c, r[c])
            r[c] = int(r[c]) if r[c] else None
    return rows


def reports(rows: list[dict]) -> list[list[dict]]:
    """The level rows grouped per input row (six consecutive rows each), checking the layout on the way."""
    assert len(rows) % 6 == 0
    groups = [rows[i:i + 6] for i in range(0, len(rows), 6)]
    for k, group in enumerate(groups, start=1):
        assert [r["level"] for r in group] == list(LEVELS)
        assert len({(r["report_id"], r["status"], r["reason"], r["row"]) for r in group}) == 1
        assert group[0]["row"] == k
        assert group[0]["status"] in ("ok", "empty", "error")
        for r in group:
            assert all(r[loc] in (0, 1, 2, 3, None) for loc in LOCATIONS)
            if r["status"] != "ok":
                assert (r["scs"], r["rfs"], r["lfs"]) == (None, None, None) and r["reason"]
    return groups


def grades(group: list[dict], level: str = "L4-L5") -> tuple:
    (row,) = [r for r in group if r["level"] == level]
    return row["scs"], row["rfs"], row["lfs"]


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_csv(path: Path, rows, header=("report_id", "text")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# ------------------------------------------------------------------------------------------------ statuses


def test_statuses_and_reasons_csv(tmp_path):
    src = tmp_path / "in.csv"
    big = "L4-5: Mild canal stenosis. " * 38_837  # just over 1 MB
    assert len(big) > 1_000_000
    with open(src, "wb") as fh:
        fh.write(b"report_id,text\n")
        fh.write(f'A,"{GOOD}"\n'.encode())                                # 1 ok
        fh.write(b'B,"L4-5: Severe canal stenosis. Dr M\xfcller \xff."\n')    # 2 not UTF-8: kept, parsed
        fh.write(b'A,"L4-5: Mild canal stenosis."\n')                       # 3 duplicate id
        fh.write(b',"L4-5: Moderate canal stenosis."\n')                    # 4 no id
        fh.write(b'C,"   \n  "\n')                                          # 5 blank text
        fh.write(b'D,\n')                                                   # 6 empty text
        fh.write(f'E,"{big}"\n'.encode())                                   # 7 over max_chars
        fh.write(b'F\n')                                                    # 8 too few fields
        fh.write(b'G,"L5-S1: Severe left foraminal stenosis."\n')           # 9 ok after all that
    out = tmp_path / "o.jsonl"
    summary = extract(src, out)
    groups = reports(read_jsonl(out))
    assert len(groups) == 9
    first = [g[0] for g in groups]
    assert [r["report_id"] for r in first] == ["A", "B", "A", "", "C", "D", "E", "F", "G"]
    assert [r["status"] for r in first] == ["ok", "ok", "ok", "error", "empty", "empty", "error", "error", "ok"]
    assert first[0]["reason"] == ""
    assert grades(groups[0]) == (2, 1, 1) and grades(groups[0], "L5-S1") == (0, 0, 0)
    assert first[1]["reason"].startswith("[W205]") and grades(groups[1]) == (3, None, None)
    assert first[2]["reason"] == "[W204] duplicate report_id (first seen at input row 1)"
    assert grades(groups[2]) == (1, None, None)  # the duplicate keeps its own grades
    assert first[3]["reason"] == "[W203] missing report id"
    assert first[4]["reason"] == first[5]["reason"] == "[W201] empty report text"
    assert first[6]["reason"].startswith("[W202]")
    assert f"{len(big)} characters" in first[6]["reason"] and "200000" in first[6]["reason"]
    assert first[7]["reason"].startswith("[W206]") and first[7]["report_id"] == "F"
    assert grades(groups[8], "L5-S1") == (None, None, 3)
    assert summary.status == {"ok": 4, "empty": 2, "error": 3}
    assert summary.duplicates == 1 and summary.reports == 9 and summary.level_rows == 54


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_empty_and_missing_text_is_status_empty(tmp_path, suffix):
    frame = pd.DataFrame({"report_id": ["A", "B", "C", "D"],
                          "text": ["", None, float("nan"), "L4-5: Mild canal stenosis."]})
    src = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        frame.to_csv(src, index=False)
    elif suffix == ".jsonl":
        frame.to_json(src, orient="records", lines=True)
    else:
        frame.to_parquet(src)
    summary = extract(src, tmp_path / "o.csv")
    groups = reports(read_csv(tmp_path / "o.csv"))
    assert [g[0]["status"] for g in groups] == ["empty", "empty", "empty", "ok"]
    assert all(g[0]["reason"] == "[W201] empty report text" for g in groups[:3])
    assert grades(groups[3]) == (1, None, None)
    assert summary.status == {"empty": 3, "ok": 1}


def test_max_chars(tmp_path):
    text = "L4-5: Moderate canal stenosis. " + "The vertebral bodies are normal in height. " * 120
    assert 5_000 < len(text) < 6_000
    src = write_csv(tmp_path / "in.csv", [("A", text), ("B", "L3-4: Mild canal stenosis.")])
    extract(src, tmp_path / "o.csv", config=ExtractConfig(max_chars=1_000))
    groups = reports(read_csv(tmp_path / "o.csv"))
    assert groups[0][0]["status"] == "error"
    assert groups[0][0]["reason"] == (f"[W202] report text has {len(text)} characters, over the limit of 1000; "
                                      "raise --max-chars to parse it")
    assert groups[1][0]["status"] == "ok" and grades(groups[1], "L3-L4") == (1, None, None)
    extract(src, tmp_path / "o.csv", config=ExtractConfig(max_chars=len(text)))  # the limit is inclusive
    groups = reports(read_csv(tmp_path / "o.csv"))
    assert groups[0][0]["status"] == "ok" and groups[0][0]["reason"] == ""
    assert grades(groups[0]) == (2, None, None)


def test_parse_text_frees_the_doc_without_the_cyclic_collector():
    """The stages' spans in ``doc.user_data`` hold the doc; ``parse_text`` breaks that cycle, so a parsed report
    does not wait for a garbage collection (whose cost grew with the reports waiting)."""
    from spacy.tokens import Doc

    nlp = default_pipeline()
    texts = [GOOD, "IMPRESSION: Severe right foraminal stenosis at L5-S1.", "Otherwise unremarkable."]
    gc.collect()
    gc.disable()
    try:
        grades = [parse_text(text, nlp) for text in texts]
        assert not [o for o in gc.get_objects() if type(o) is Doc]
        # the pipeline itself keeps the doc (and its cycle) for a caller that wants it
        docs = [nlp(text) for text in texts]
        assert all(doc._.rp_result is not None for doc in docs)
        del docs
        assert len([o for o in gc.get_objects() if type(o) is Doc]) == len(texts)
    finally:
        gc.enable()
    assert [g.rows() for g in grades] == [parse_text(text, nlp).rows() for text in texts]
    assert grades[0].grades["L4-L5"]["scs"] == 2


def test_parse_time_grows_linearly_with_report_length():
    nlp = default_pipeline()
    unit = "L4-5: Moderate canal stenosis. Disc desiccation and mild bulge. "

    def seconds(n: int, repeat: int) -> float:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            parse_text(unit * n, nlp)
            best = min(best, time.perf_counter() - start)
        return best

    seconds(20, 1)  # warm up
    small, large = seconds(120, 5), seconds(960, 3)  # about 7.7k and 61k characters; best of several runs
    # linear work gives a ratio near 8; quadratic work near 64 (measured 38-59 at commit ea00d89)
    assert large / small < 20, f"{small:.3f} s -> {large:.3f} s for 8x the text"


def test_malformed_jsonl_line_is_an_error_row(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"report_id": "A", "text": "L4-5: Mild canal stenosis."}\n'
        '{"report_id": "B", "text": "L4-5: Severe canal\n'  # broken line
        '{"report_id": "C", "text": "L4-5: Moderate canal stenosis."}\n',
        encoding="utf-8")
    summary = extract(src, tmp_path / "o.jsonl")
    groups = reports(read_jsonl(tmp_path / "o.jsonl"))
    assert [g[0]["status"] for g in groups] == ["ok", "error", "ok"]
    assert groups[1][0]["reason"].startswith("[W206] unreadable input row: invalid JSON")
    assert grades(groups[0]) == (1, None, None) and grades(groups[2]) == (2, None, None)
    assert summary.status == {"ok": 2, "error": 1}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_missing_report_id_is_an_error_row(tmp_path, suffix):
    frame = pd.DataFrame({"report_id": ["A", None, "  "], "text": ["L4-5: Mild canal stenosis."] * 3})
    src = tmp_path / f"in{suffix}"
    frame.to_json(src, orient="records", lines=True) if suffix == ".jsonl" else frame.to_parquet(src)
    extract(src, tmp_path / "o.csv")
    groups = reports(read_csv(tmp_path / "o.csv"))
    assert [g[0]["status"] for g in groups] == ["ok", "error", "error"]
    assert groups[1][0]["reason"] == groups[2][0]["reason"] == "[W203] missing report id"


def test_duplicates_across_many_rows(tmp_path):
    rows = [(f"R{i % 3}", f"L4-5: {word} canal stenosis.") for i, word in enumerate(["Mild", "Moderate", "Severe"] * 2)]
    src = write_csv(tmp_path / "in.csv", rows)
    summary = extract(src, tmp_path / "o.csv")
    groups = reports(read_csv(tmp_path / "o.csv"))
    assert len(groups) == 6 and summary.duplicates == 3
    assert [g[0]["reason"] for g in groups] == ["", "", ""] + [
        f"[W204] duplicate report_id (first seen at input row {k})" for k in (1, 2, 3)]
    assert [grades(g)[0] for g in groups] == [1, 2, 3, 1, 2, 3]


@pytest.mark.parametrize("same_first_half", [False, True])
def test_seen_ids_find_the_first_row_before_and_after_a_merge(monkeypatch, same_first_half):
    """Also when every digest opens with the same 64 bits: the ids are then told apart by their second halves."""
    if same_first_half:
        digest = SeenIds._digest
        monkeypatch.setattr(SeenIds, "_digest", staticmethod(lambda report_id: bytes(8) + digest(report_id)[8:]))
    seen = SeenIds(flush=5)
    ids = [f"R{i % 17}" for i in range(60)] + ["\udc80", "\udc80", "ü", "u"] + [f"R{i}" for i in range(17, 40)]
    expected: dict[str, int] = {}
    for row, rid in enumerate(ids, start=1):
        assert seen.first_row(rid, row) == expected.get(rid), (row, rid)
        expected.setdefault(rid, row)
    assert len(seen.rows) + len(seen.recent) == len(expected) and len(seen.rows) >= 35


def test_seen_ids_take_a_few_dozen_bytes_per_id_and_merge_in_place():
    """About 24 bytes per id held (a dict of the ids and rows: about 130), and a merge adds about one column's copy
    to them, not a second set of arrays (the peak of a long run is a merge's)."""
    ids = [f"ACC-{row:09d}" for row in range(1, 100_001)]
    seen = SeenIds(flush=2_500)
    tracemalloc.start()
    for row, report_id in enumerate(ids, start=1):
        seen.first_row(report_id, row)
    size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert size / len(ids) < 30 and peak / len(ids) < 40  # (a concatenation and a sort of all ids: 50 at the peak)
    assert seen.first_row("ACC-000023456", 0) == 23456 and seen.first_row("ACC-000100001", 0) is None
    assert seen.first_row("ACC-000100000", 0) == 100_000 and seen.first_row("ACC-000000001", 0) == 1


def test_duplicate_reason_is_appended_to_existing_reason(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'report_id,text\nA,"L4-5: Mild canal stenosis."\nA,"L4-5: Mild \xff canal stenosis."\n')
    summary = extract(src, tmp_path / "o.csv")
    second = reports(read_csv(tmp_path / "o.csv"))[1][0]
    assert second["status"] == "ok"
    assert second["reason"].startswith("[W205]") and second["reason"].endswith("[W204] duplicate report_id (first "
                                                                               "seen at input row 1)")
    assert summary.duplicates == 1


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_lone_surrogate_in_report_id_keeps_the_run(tmp_path, suffix):
    src = tmp_path / "in.jsonl"
    src.write_text('{"report_id": "A\\udc80", "text": "L4-5: Mild canal stenosis."}\n'
                   '{"report_id": "B", "text": "L4-5: Moderate canal stenosis."}\n', encoding="utf-8")
    summary = extract(src, tmp_path / f"o{suffix}")
    assert summary.reports == 2 and summary.level_rows == 12
    assert (tmp_path / f"o{suffix}").exists()


def test_lone_surrogate_in_text_is_replaced_and_parsed(tmp_path):
    """A JSON lone-surrogate escape in the text is replaced like undecodable bytes (W205), not a parser failure."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"report_id": "A", "text": "L4-5: Moderate canal stenosis. Dictated by Dr \\ud800."}\n'
                   '{"report_id": "B", "text": "L4-5: Mild canal stenosis \\udc80"}\n', encoding="utf-8")
    summary = extract(src, tmp_path / "o.jsonl", tmp_path / "ev.jsonl")
    a, b = reports(read_jsonl(tmp_path / "o.jsonl"))
    assert a[0]["status"] == b[0]["status"] == "ok", (a[0]["reason"], b[0]["reason"])
    assert a[0]["reason"].startswith("[W205]") and b[0]["reason"].startswith("[W205]")
    assert grades(a) == (2, None, None) and grades(b) == (1, None, None)
    assert summary.status == {"ok": 2}
    assert "\ufffd" in (tmp_path / "ev.jsonl").read_text(encoding="utf-8")  # the sentence quotes the replaced text


# ------------------------------------------------------------------------------------------------ evidence


def test_evidence_table(tmp_path):
    texts = {
        "A": GOOD,
        "B": "FINDINGS:\nL4-5: Mild canal stenosis.\nIMPRESSION:\nModerate canal stenosis at L4-5.",
        "C": "L3-4: Foraminal narrowing is noted on the left.",
        "D": "",
        "E": "IMPRESSION: Normal MRI of the lumbar spine.",
    }
    src = write_csv(tmp_path / "in.csv", list(texts.items()))
    summary = extract(src, tmp_path / "o.jsonl", tmp_path / "ev.jsonl")
    levels = read_jsonl(tmp_path / "o.jsonl")
    ev = read_jsonl(tmp_path / "ev.jsonl")
    assert len(ev) == summary.evidence_rows > 0
    assert all(list(r) == list(EVIDENCE_COLUMNS) for r in ev)
    assert {r["report_id"] for r in ev} == {"A", "B", "C", "E"}
    rows_of = {rid: i + 1 for i, rid in enumerate(texts)}
    for r in ev:
        text = texts[r["report_id"]]
        assert r["row"] == rows_of[r["report_id"]]
        assert r["level"] in LEVELS + ("",) and r["location"] in LOCATIONS
        assert r["grade"] in (0, 1, 2, 3, None) and isinstance(r["used"], bool)
        assert all(isinstance(r[c], int) for c in ("start", "end", "span_start", "span_end"))
        assert 0 <= r["start"] <= r["span_start"] <= r["span_end"] <= r["end"] <= len(text)
        assert r["sentence"] and r["sentence"] in text[r["start"]:r["end"]]
        assert isinstance(r["section"], str) and isinstance(r["flags"], str)
    # every graded slot of the levels table is backed by a used evidence row with that grade
    for row in levels:
        for loc in LOCATIONS:
            if row[loc] is not None:
                assert any(e["report_id"] == row["report_id"] and e["level"] == row["level"] and e["location"] == loc
                           and e["grade"] == row[loc] and e["used"] for e in ev), (row, loc)
    b = [r for r in ev if r["report_id"] == "B" and r["level"] == "L4-L5" and r["location"] == "scs"]
    assert {r["section"] for r in b} == {"findings", "impression"}
    assert all("conflict" in r["flags"] for r in b)
    c = [r for r in ev if r["report_id"] == "C" and r["used"]]
    assert c and all(r["grade"] is None for r in c)


def test_a_run_without_evidence_parses_without_it_and_grades_the_same(tmp_path, monkeypatch):
    """``extract`` without an evidence table builds a parser that leaves the evidence out (``evidence=False``, about
    2% of the parse): the levels table is the one of a run with evidence, on every gold report, in one process and
    in workers."""
    gold = load_gold(Path(__file__).resolve().parents[2] / "gold" / "annotations.json")
    src = write_csv(tmp_path / "in.csv", [(report.report_id, report.text) for report in gold])
    extract(src, tmp_path / "with.csv", tmp_path / "ev.csv")
    built = []
    original = RefreshingPipeline.build

    def build(self):
        built.append(self.evidence)
        original(self)

    monkeypatch.setattr(RefreshingPipeline, "build", build)
    extract(src, tmp_path / "without.csv")
    monkeypatch.undo()
    assert built == [False]
    assert (tmp_path / "with.csv").read_bytes() == (tmp_path / "without.csv").read_bytes()
    extract(src, tmp_path / "workers.csv", config=ExtractConfig(n_process=2))
    assert (tmp_path / "workers.csv").read_bytes() == (tmp_path / "with.csv").read_bytes()
    lean = RefreshingPipeline(evidence=False)()
    full = default_pipeline()
    for report in gold[:20]:
        kept, left = parse_text(report.text, full), parse_text(report.text, lean)
        assert (left.grades, left.flags, left.evidence) == (kept.grades, kept.flags, [])
        assert kept.evidence or not any(v is not None for row in kept.grades.values() for v in row.values())
    with pytest.raises(ValueError, match="keeps the evidence"):
        next(iter_results([InputRow(1, "A", GOOD)], ExtractConfig(), RefreshingPipeline(evidence=False),
                          with_evidence=True))


def test_evidence_csv_keeps_offsets_and_booleans(tmp_path):
    src = write_csv(tmp_path / "in.csv", [("A", GOOD)])
    extract(src, tmp_path / "o.csv", tmp_path / "ev.csv")
    with open(tmp_path / "ev.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(EVIDENCE_COLUMNS)
        ev = list(reader)
    assert ev
    for r in ev:
        assert r["used"] in ("True", "False") and r["grade"] in ("", "0", "1", "2", "3")
        start, end = int(r["start"]), int(r["end"])
        assert r["sentence"] in GOOD[start:end]


# ------------------------------------------------------------------------------------------------- summary


def test_summary_matches_the_file(tmp_path):
    rows = [(f"R{i}", text) for i, text in enumerate([
        GOOD, "IMPRESSION: Normal MRI of the lumbar spine.", "", "L3-4: Severe left foraminal stenosis.",
        "L4-5: Possible mild left foraminal narrowing.", "L2-3: Disc bulge causing canal stenosis."])]
    rows += [("", "L4-5: Mild canal stenosis."), ("R1", "L4-5: Mild canal stenosis.")]
    src = write_csv(tmp_path / "in.csv", rows)
    seen = []
    summary = extract(src, tmp_path / "o.csv", tmp_path / "ev.csv", progress=seen.append)
    table = read_csv(tmp_path / "o.csv")
    groups = reports(table)
    assert sum(seen) == summary.reports == len(groups) == len(rows)
    assert seen == [len(rows)]  # the callback runs every PROGRESS_EVERY reports and once at the end
    assert summary.level_rows == len(table)
    with open(tmp_path / "ev.csv", newline="", encoding="utf-8") as fh:
        assert summary.evidence_rows == sum(1 for _ in csv.DictReader(fh))
    assert summary.status == Counter(g[0]["status"] for g in groups)
    assert summary.status == {"ok": 6, "empty": 1, "error": 1}
    for loc in LOCATIONS:
        assert summary.grades[loc] == Counter(r[loc] for r in table if r["status"] == "ok"), loc
    assert summary.grades["scs"][0] == 7 and summary.grades["lfs"][3] == 1
    assert summary.duplicates == 1 and summary.seconds > 0


def test_config_is_validated(tmp_path):
    src = write_csv(tmp_path / "in.csv", [("A", GOOD)])
    with pytest.raises(ReportParseError, match=r"^\[E108\].*got 0"):
        extract(src, tmp_path / "o.csv", config=ExtractConfig(n_process=0))
    with pytest.raises(ReportParseError, match=r"^\[E110\].*got -5"):
        extract(src, tmp_path / "o.csv", config=ExtractConfig(max_chars=-5))
    with pytest.raises(ReportParseError, match=r"^\[E113\].*got -1.*default, 10000,"):
        extract(src, tmp_path / "o.csv", config=ExtractConfig(refresh_every=-1))
    assert files(tmp_path) == ["in.csv"]


# ------------------------------------------------------------------------------------------ multiprocessing


def test_two_processes_give_identical_output(tmp_path):
    phrases = ["L4-5: Moderate canal stenosis.", "L5-S1: Mild left foraminal narrowing.",
               "L3-4: Severe bilateral foraminal stenosis. The remaining levels are normal.",
               "IMPRESSION: No significant stenosis.", "L2-3: Possible mild canal stenosis.",
               "At L1-2, there is a disc bulge. This results in mild canal stenosis."]
    rows = []
    for i in range(40):
        text = " ".join(phrases[(i + k) % len(phrases)] for k in range(1 + i % 3))
        if i % 9 == 4:
            text = ""
        rows.append((f"R{i % 37}", text))  # three duplicate ids
    rows[20] = ("", rows[20][1])
    src = write_csv(tmp_path / "in.csv", rows)
    one = extract(src, tmp_path / "one.csv", tmp_path / "one_ev.jsonl", ExtractConfig(n_process=1, batch_size=3))
    # the workers also rebuild their parser along the way (every 15 reports): the output must not change
    two = extract(src, tmp_path / "two.csv", tmp_path / "two_ev.jsonl",
                  ExtractConfig(n_process=2, batch_size=3, refresh_every=15))
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (tmp_path / "one_ev.jsonl").read_bytes() == (tmp_path / "two_ev.jsonl").read_bytes()
    assert one.status == two.status and one.grades == two.grades and one.duplicates == two.duplicates == 3
    assert one.evidence_rows == two.evidence_rows > 40
    assert len(reports(read_csv(tmp_path / "two.csv"))) == 40


def test_refreshing_pipeline_bounds_the_vocabulary_and_keeps_the_output(tmp_path):
    """Every report brings new words (ids, dates, measurements) that spaCy's vocabulary keeps for good; a parser
    rebuilt every ``refresh_every`` reports holds only the words of its own cycle, and parses the same."""
    texts = [f"Exam {9000 + i} dated 2021-{1 + i % 12:02d}-{1 + i % 28:02d}, accession XK{i * 7919:07d}. "
             f"L{1 + i % 4}-{2 + i % 4}: disc bulge of {2 + i % 5}.{i % 10} mm with {('mild', 'moderate')[i % 2]} "
             f"canal stenosis; foramen dimension {i % 9}.{i % 7} mm." for i in range(60)]
    kept, fresh = RefreshingPipeline(refresh_every=0), RefreshingPipeline(refresh_every=20)
    for text in texts:
        assert kept()(text)._.rp_result.rows() == fresh()(text)._.rp_result.rows()
    assert (kept.builds, fresh.builds) == (1, 3)
    grown, bounded = len(kept().vocab.strings), len(fresh().vocab.strings)
    assert grown - bounded > 2 * 40, (grown, bounded)  # the first 40 reports' words are gone
    src = write_csv(tmp_path / "in.csv", [(f"R{i}", t) for i, t in enumerate(texts)])
    extract(src, tmp_path / "a.csv", config=ExtractConfig(refresh_every=0))
    extract(src, tmp_path / "b.csv", config=ExtractConfig(refresh_every=7))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_rules_edited_during_a_run_are_not_picked_up_by_a_refresh(tmp_path, caplog):
    """A long run keeps the rules it started with: a rebuild after the rule files changed would mix two rule sets
    in one table (or stop the run on a half-edited file)."""
    rules = tmp_path / "rules"
    load_rules(None).to_disk(rules)
    pipeline = RefreshingPipeline(rules, refresh_every=2)
    first = pipeline()
    assert pipeline() is first
    grammar = rules / "grammar.json"
    grammar.write_text(grammar.read_text(encoding="utf-8").replace('"levels": {', '"levels": {"bogus": 1,', 1),
                       encoding="utf-8")
    os.utime(grammar, (time.time() + 5, time.time() + 5))
    with caplog.at_level("WARNING"):
        assert pipeline() is first and pipeline() is first
    assert pipeline.builds == 1 and "changed during the run" in caplog.text


def test_a_refreshed_parser_is_released_during_a_run():
    """Nothing in the run may keep the previous parser alive: its vocabulary is what the refresh frees."""
    rows = [InputRow(i + 1, f"R{i}", f"L4-5: mild canal stenosis, accession {i:06d}.") for i in range(5)]
    pipeline = RefreshingPipeline(refresh_every=3)
    first = weakref.ref(pipeline())  # the parser of a first report (one use of three)
    results = iter_results(iter(rows), ExtractConfig(refresh_every=3), pipeline)
    next(results), next(results)  # the second and third reports, on the same parser
    gc.collect()  # a spaCy pipeline holds reference cycles: only a collection frees it, whenever it runs
    assert first() is not None and pipeline.builds == 1
    next(results)  # the fourth report runs on a new parser
    gc.collect()
    assert first() is None and pipeline.builds == 2



def test_a_refresh_frees_the_old_parser_before_it_builds_the_new_one(monkeypatch):
    """The peak of a refresh holds one parser: the old one (kept alive by its reference cycles until a collection,
    and none runs during a build) is gone when the new one is built."""
    import reportparse.pipeline as pipeline_module

    pipeline = RefreshingPipeline(refresh_every=1)
    old = weakref.ref(pipeline())
    old_gone = []
    build = pipeline_module.build_pipeline

    def watched_build(*args, **kwargs):
        old_gone.append(old() is None)
        return build(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "build_pipeline", watched_build)
    with gc_paused():  # no collection of its own may free the old parser meanwhile
        new = pipeline()
    assert old_gone == [True] and pipeline.builds == 2 and new("L4-5: mild canal stenosis.") is not None

# ------------------------------------------------------------------------------------------- atomic output


def test_bad_rules_leave_no_output(tmp_path):
    src = write_csv(tmp_path / "in.csv", [("A", GOOD)])
    (tmp_path / "kept.csv").write_text("from an earlier run\n")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "concepts.json").write_text("{not json")
    for bad in (rules, tmp_path / "no-such-rules"):
        with pytest.raises(ReportParseError, match=r"^\[E00[123]\]"):
            extract(src, tmp_path / "o.csv", tmp_path / "ev.csv", ExtractConfig(rules_dir=str(bad)))
        with pytest.raises(ReportParseError):
            extract(src, tmp_path / "kept.csv", config=ExtractConfig(rules_dir=str(bad)))
    assert files(tmp_path) == ["in.csv", "kept.csv", "rules"]
    assert (tmp_path / "kept.csv").read_text() == "from an earlier run\n"


class Interrupted(Exception):
    pass


def test_failure_mid_run_leaves_no_output(tmp_path):
    """A run that fails after rows were written (here: the progress callback raises) leaves no partial output."""
    src = write_csv(tmp_path / "in.csv", [(f"R{i}", "") for i in range(1_500)])  # empty texts: no parsing
    (tmp_path / "o.csv").write_text("from an earlier run\n")
    done = []
    partial = {}

    def progress(n: int) -> None:
        done.append(n)
        if sum(done) >= 1_200:  # after the first flush of 1,000 reports
            temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            partial.update({p.name: p.stat().st_size for p in temps})
            raise Interrupted

    with pytest.raises(Interrupted):
        extract(src, tmp_path / "o.csv", tmp_path / "ev.jsonl", progress=progress)
    assert len(partial) == 2 and max(partial.values()) > 10_000  # data had been written to temporary files
    assert files(tmp_path) == ["in.csv", "o.csv"]
    assert (tmp_path / "o.csv").read_text() == "from an earlier run\n"


def test_successful_run_replaces_old_output(tmp_path):
    src = write_csv(tmp_path / "in.csv", [("A", GOOD)])
    (tmp_path / "o.csv").write_text("from an earlier run\n")
    extract(src, tmp_path / "o.csv")
    assert len(read_csv(tmp_path / "o.csv")) == 6
    assert files(tmp_path) == ["in.csv", "o.csv"]


# ----------------------------------------------------------------------------------------- bounded memory


N_REPORTS = 20_000
#: Measured (2-core dev box, Python 3.11): peak 14.7 MB for this run, most of it the two pipelines extract()
#: builds. Holding all input rows in memory takes 29 MB on its own, holding all results 48 MB: either would
#: push the peak well past the limit.
PEAK_LIMIT = 30_000_000


def test_extract_streams_with_bounded_memory(tmp_path):
    """20,000 reports through extract() under tracemalloc.

    Every 200th report is parsed; the others are 1,200-character reports over ``max_chars``, so they go through
    the reader, the status logic and the writers without the (slow under tracemalloc) parser. The input file is
    about 25 MB and the level table 120,000 rows: a reader that loaded the file, or a run that collected the
    results before writing, would exceed the limit.
    """
    body = ("FINDINGS: L1-2 through L3-4: No canal or foraminal stenosis. L4-5: Disc bulge and facet arthropathy "
            "with moderate canal stenosis and mild bilateral foraminal narrowing. L5-S1: Mild left foraminal "
            "narrowing. ") * 8
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["report_id", "text"])
        for i in range(N_REPORTS):
            text = "L4-5: Mild canal stenosis." if i % 200 == 0 else f"Report {i}. {body}"[:1_200]
            writer.writerow([f"ACC{i:06d}", text])
    assert src.stat().st_size > 24_000_000
    gc.collect()
    tracemalloc.start()
    try:
        summary = extract(src, tmp_path / "o.csv", tmp_path / "ev.csv", ExtractConfig(max_chars=100))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak traced memory during extract: {peak / 1e6:.1f} MB")
    assert summary.reports == N_REPORTS and summary.level_rows == 6 * N_REPORTS
    assert summary.status == {"ok": N_REPORTS // 200, "error": N_REPORTS - N_REPORTS // 200}
    assert peak < PEAK_LIMIT, f"peak traced memory {peak / 1e6:.1f} MB"
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 6 * N_REPORTS + 1


def test_progress_is_reported_in_batches(tmp_path):
    src = write_csv(tmp_path / "in.csv", [(f"R{i}", "") for i in range(2 * PROGRESS_EVERY + 5)])
    seen: list[int] = []
    extract(src, tmp_path / "o.csv", progress=seen.append)
    assert seen == [PROGRESS_EVERY, PROGRESS_EVERY, 5]
