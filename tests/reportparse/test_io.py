"""Report tables in and out (``reportparse.io`` through ``reportparse.extract.extract``): CSV, JSONL, Parquet.

Checks the table layout (columns, six rows per report in level order, nullable integer grades in every format),
column discovery and its errors, row-level read problems (each input row still reaches the output), the lazy
reader and the atomic writer.
"""

import csv
import json
import math
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reportparse import LEVELS, ReportParseError
from reportparse.extract import EVIDENCE_COLUMNS, ExtractConfig, extract
from reportparse.io import ID_CANDIDATES, TEXT_CANDIDATES, ReportReader
from spinecore.errors import CoreError
from spinecore.io import TableWriter
from spinecore.schema import LEVEL_COLUMNS

FORMATS = (".csv", ".jsonl", ".parquet")
LEADING = ["report_id", "level", "scs", "rfs", "lfs", "status"]
INT_LEVEL_COLUMNS = ("scs", "rfs", "lfs", "row")
INT_EVIDENCE_COLUMNS = ("grade", "start", "end", "span_start", "span_end", "row")

REPORTS = [
    ("R1", "FINDINGS:\nL4-5: Moderate canal stenosis. Mild bilateral foraminal narrowing.\nL5-S1: Normal."),
    ("R2", "IMPRESSION: Normal MRI of the lumbar spine."),
    ("R3", ""),
    ("R4", "L3-4: Severe left foraminal stenosis."),
]
EXPECTED = {  # report -> level -> (scs, rfs, lfs); levels not listed are empty
    "R1": {"L4-L5": (2, 1, 1), "L5-S1": (0, 0, 0)},
    "R2": {lvl: (0, 0, 0) for lvl in LEVELS},
    "R3": {},
    "R4": {"L3-L4": (None, None, 3)},
}


# --------------------------------------------------------------------------------------------------- helpers


def write_input(path: Path, rows, id_col="report_id", text_col="text") -> Path:
    frame = pd.DataFrame(rows, columns=[id_col, text_col])
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, engine="pyarrow", index=False)
    return path


def read_table(path: Path, int_columns=INT_LEVEL_COLUMNS, bool_columns=()) -> tuple[list[str], list[dict]]:
    """Columns and rows of an output file, checking that integer columns hold integers or nothing.

    CSV: an integer cell is digits or empty (never "2.0"); JSONL: a JSON integer or null; Parquet: an int64 column.
    Returns rows with Python ints / None in the integer columns.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            columns = next(reader)
            rows = []
            for values in reader:
                assert len(values) == len(columns), values
                row = dict(zip(columns, values))
                for c in int_columns:
                    assert row[c] == "" or row[c].lstrip("-").isdigit(), (c, row[c])
                    row[c] = int(row[c]) if row[c] else None
                for c in bool_columns:
                    assert row[c] in ("True", "False"), (c, row[c])
                    row[c] = row[c] == "True"
                rows.append(row)
        return columns, rows
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        columns = list(rows[0]) if rows else []
        for row in rows:
            assert list(row) == columns
            for c in int_columns:
                assert row[c] is None or (isinstance(row[c], int) and not isinstance(row[c], bool)), (c, row[c])
            for c in bool_columns:
                assert isinstance(row[c], bool), (c, row[c])
        return columns, rows
    table = pq.read_table(path)
    for c in int_columns:
        assert table.schema.field(c).type == pa.int64(), (c, table.schema.field(c).type)
    for c in bool_columns:
        assert table.schema.field(c).type == pa.bool_(), (c, table.schema.field(c).type)
    return table.column_names, table.to_pylist()


def by_report(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["report_id"], []).append(row)
    return out


def grades(rows: list[dict]) -> dict[str, tuple]:
    return {r["level"]: (r["scs"], r["rfs"], r["lfs"]) for r in rows}


def reader_rows(path: Path, **kw) -> list:
    return list(ReportReader(path, **kw))


# ------------------------------------------------------------------------------------------- formats 3 x 3


@pytest.mark.parametrize("in_suffix", FORMATS)
@pytest.mark.parametrize("out_suffix", FORMATS)
def test_formats_levels_and_evidence(tmp_path, in_suffix, out_suffix):
    src = write_input(tmp_path / f"in{in_suffix}", REPORTS)
    out, ev = tmp_path / f"levels{out_suffix}", tmp_path / f"evidence{out_suffix}"
    summary = extract(src, out, ev)

    columns, rows = read_table(out)
    assert columns[:6] == LEADING
    assert columns == list(LEVEL_COLUMNS)
    assert len(rows) == 6 * len(REPORTS)
    assert [r["report_id"] for r in rows] == [rid for rid, _ in REPORTS for _ in LEVELS]
    assert [r["level"] for r in rows] == list(LEVELS) * len(REPORTS)
    assert [r["row"] for r in rows] == [i + 1 for i in range(len(REPORTS)) for _ in LEVELS]
    for r in rows:
        assert all(r[loc] in (0, 1, 2, 3, None) for loc in ("scs", "rfs", "lfs"))
    per = by_report(rows)
    for rid, expected in EXPECTED.items():
        want = {lvl: expected.get(lvl, (None, None, None)) for lvl in LEVELS}
        assert grades(per[rid]) == want, rid
    assert {r["status"] for r in per["R3"]} == {"empty"}
    assert all("[W201]" in r["reason"] for r in per["R3"])
    assert {r["status"] for rid in ("R1", "R2", "R4") for r in per[rid]} == {"ok"}
    assert summary.status == {"ok": 3, "empty": 1}
    assert summary.reports == 4 and summary.level_rows == 24

    ev_columns, ev_rows = read_table(ev, INT_EVIDENCE_COLUMNS, ("used",))
    assert ev_columns == list(EVIDENCE_COLUMNS)
    assert len(ev_rows) == summary.evidence_rows > 0
    assert {r["report_id"] for r in ev_rows} == {"R1", "R2", "R4"}
    texts = dict(REPORTS)
    for r in ev_rows:
        text = texts[r["report_id"]]
        assert r["sentence"] in text[r["start"]:r["end"]]
        assert 0 <= r["start"] <= r["span_start"] <= r["span_end"] <= r["end"] <= len(text)


def test_parquet_output_with_pandas(tmp_path):
    """Nullable integers survive a pandas round trip (Int64 when requested, floats never hold 2.5 etc.)."""
    src = write_input(tmp_path / "in.parquet", REPORTS)
    extract(src, tmp_path / "out.parquet")
    frame = pd.read_parquet(tmp_path / "out.parquet", dtype_backend="numpy_nullable")
    assert str(frame["scs"].dtype) == "Int64"
    row = frame[(frame.report_id == "R1") & (frame.level == "L4-L5")].iloc[0]
    assert (row.scs, row.rfs, row.lfs) == (2, 1, 1)
    assert frame[(frame.report_id == "R3")]["scs"].isna().all()


# -------------------------------------------------------------------------------------------- column names


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("id_col,text_col", [("accession", "report"), ("study_id", "report_text"),
                                             ("Report_ID", "Text"), ("doc_id", "narrative")])
def test_columns_found_by_common_names(tmp_path, suffix, id_col, text_col):
    src = write_input(tmp_path / f"in{suffix}", REPORTS[:2], id_col, text_col)
    reader = ReportReader(src)
    assert (reader.id_col, reader.text_col) == (id_col, text_col)
    assert [(r.report_id, r.text) for r in reader] == REPORTS[:2]


def test_columns_found_by_common_names_end_to_end(tmp_path):
    src = write_input(tmp_path / "in.parquet", REPORTS[:1], "study_id", "report_text")
    extract(src, tmp_path / "o.csv")
    _, rows = read_table(tmp_path / "o.csv")
    assert [r["report_id"] for r in rows] == ["R1"] * 6
    assert grades(rows)["L4-L5"] == (2, 1, 1)


def test_first_common_name_wins(tmp_path):
    """With several candidate columns, the earlier name in the candidate lists is used."""
    src = tmp_path / "in.csv"
    src.write_text("id,accession,body,text\nX,A1,ignored,L4-5: Moderate canal stenosis.\n")
    reader = ReportReader(src)
    assert ID_CANDIDATES.index("accession") < ID_CANDIDATES.index("id")
    assert (reader.id_col, reader.text_col) == ("accession", "text")
    (row,) = list(reader)
    assert (row.report_id, row.text) == ("A1", "L4-5: Moderate canal stenosis.")


@pytest.mark.parametrize("suffix", FORMATS)
def test_columns_by_option(tmp_path, suffix):
    src = write_input(tmp_path / f"in{suffix}", REPORTS[:2], "MRN", "Body Text")
    with pytest.raises(ReportParseError, match=r"^\[E104\]"):
        ReportReader(src)
    with pytest.raises(ReportParseError, match=r"^\[E104\].*text column"):
        ReportReader(src, id_col="MRN")
    reader = ReportReader(src, id_col="MRN", text_col="Body Text")
    assert [(r.report_id, r.text) for r in reader] == REPORTS[:2]


def test_option_overrides_common_name(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("report_id,text,alt_id,alt_text\nR1,Normal.,X1,L4-5: Severe canal stenosis.\n")
    extract(src, tmp_path / "o.jsonl", config=ExtractConfig(id_col="alt_id", text_col="alt_text"))
    _, rows = read_table(tmp_path / "o.jsonl")
    assert {r["report_id"] for r in rows} == {"X1"}
    assert grades(rows)["L4-L5"] == (3, None, None)


@pytest.mark.parametrize("suffix", FORMATS)
def test_missing_named_column_E103_lists_columns(tmp_path, suffix):
    src = write_input(tmp_path / f"in{suffix}", REPORTS[:1], "MRN", "Body Text")
    with pytest.raises(ReportParseError) as info:
        ReportReader(src, id_col="MRN", text_col="body")
    message = str(info.value)
    assert message.startswith("[E103] ")
    assert str(src) in message and "'body'" in message and "['MRN', 'Body Text']" in message
    assert "--text-col" in message
    with pytest.raises(ReportParseError, match=r"^\[E103\].*no id column named 'mrn'.*--id-col"):
        ReportReader(src, id_col="mrn", text_col="Body Text")


def test_missing_named_column_E103_through_extract(tmp_path):
    src = write_input(tmp_path / "in.csv", REPORTS[:1])
    with pytest.raises(ReportParseError, match=r"^\[E103\].*'body'.*\['report_id', 'text'\]"):
        extract(src, tmp_path / "o.csv", config=ExtractConfig(text_col="body"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_no_common_column_E104_lists_columns_and_candidates(tmp_path, suffix):
    src = write_input(tmp_path / f"in{suffix}", REPORTS[:1], "report_id", "findings")
    with pytest.raises(ReportParseError) as info:
        ReportReader(src)
    message = str(info.value)
    assert message.startswith("[E104] ")
    assert "text column" in message and "['report_id', 'findings']" in message
    assert str(list(TEXT_CANDIDATES)) in message and "--text-col" in message
    src = write_input(tmp_path / f"in2{suffix}", REPORTS[:1], "patient", "text")
    with pytest.raises(ReportParseError, match=r"^\[E104\].*id column.*\['patient', 'text'\].*--id-col"):
        ReportReader(src)


# ------------------------------------------------------------------------------------------ file problems


def test_missing_input_E101(tmp_path):
    with pytest.raises(ReportParseError, match=r"^\[E101\].*missing\.csv.*current folder"):
        extract(tmp_path / "missing.csv", tmp_path / "o.csv")
    with pytest.raises(ReportParseError, match=r"^\[E101\]"):
        ReportReader(tmp_path)  # a folder is no input file
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("name", ["reports.txt", "reports.xlsx", "reports", "reports.json"])
def test_unsupported_input_suffix_E102(tmp_path, name):
    src = tmp_path / name
    src.write_text("report_id,text\nR1,Normal.\n")
    with pytest.raises(ReportParseError) as info:
        ReportReader(src)
    message = str(info.value)
    assert message.startswith("[E102] ") and name in message and ".csv, .jsonl, .parquet" in message


def test_uppercase_suffix_is_accepted(tmp_path):
    src = write_input(tmp_path / "in.csv", REPORTS[:1])
    upper = src.rename(tmp_path / "IN.CSV")
    extract(upper, tmp_path / "OUT.JSONL")
    assert len(read_table(tmp_path / "OUT.JSONL")[1]) == 6


@pytest.mark.parametrize("name", ["o.txt", "o.xlsx", "o"])
def test_unsupported_output_suffix_C005(tmp_path, name):
    with pytest.raises(CoreError, match=r"^\[C005\].*\.csv, \.jsonl, \.parquet"):
        TableWriter(tmp_path / name, ["a"])
    assert list(tmp_path.iterdir()) == []


def test_unsupported_evidence_suffix_C005_through_extract(tmp_path):
    src = write_input(tmp_path / "in.csv", REPORTS[:1])
    with pytest.raises(CoreError, match=r"^\[C005\].*ev\.txt"):
        extract(src, tmp_path / "o.csv", tmp_path / "ev.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_missing_output_folder_C006(tmp_path):
    with pytest.raises(CoreError, match=r"^\[C006\].*nope"):
        TableWriter(tmp_path / "nope" / "o.csv", ["a"])


def test_empty_csv_E109(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("")
    with pytest.raises(ReportParseError, match=r"^\[E109\]"):
        ReportReader(src)
    blank = tmp_path / "in.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(ReportParseError, match=r"^\[E109\]"):
        ReportReader(blank)


def test_corrupt_parquet_E105(tmp_path):
    src = tmp_path / "in.parquet"
    src.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(ReportParseError, match=r"^\[E105\].*parquet"):
        ReportReader(src)


def test_header_only_file_gives_empty_table(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("report_id,text\n")
    summary = extract(src, tmp_path / "o.csv")
    columns, rows = read_table(tmp_path / "o.csv")
    assert columns == list(LEVEL_COLUMNS) and rows == [] and summary.reports == 0


# -------------------------------------------------------------------------------------- row-level problems


def test_reader_csv_rows(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"report_id,text\n"
        b"A,\"L4-5: mild\ncanal stenosis, wrapped.\"\n"  # quoted multi-line text
        b"\n"  # blank line: no row
        b"B,L3-4: mild \xff\xfe canal stenosis.\n"  # not UTF-8
        b"C\n"  # too few fields
        b" D ,L5-S1: Normal.,extra\n"  # surrounding spaces in the id, one field too many
    )
    rows = reader_rows(src)
    assert [r.row for r in rows] == [1, 2, 3, 4]
    assert rows[0].text == "L4-5: mild\ncanal stenosis, wrapped." and rows[0].problem is None
    assert rows[1].report_id == "B" and rows[1].text == "L3-4: mild \ufffd\ufffd canal stenosis."
    assert rows[2].report_id == "C" and rows[2].text is None and rows[2].problem.startswith("[W206]")
    assert "1 fields" in rows[2].problem
    assert rows[3].report_id == "D" and rows[3].text == "L5-S1: Normal." and rows[3].problem is None


def test_reader_jsonl_rows(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"report_id": "A", "text": "L4-5: Mild canal stenosis."}\n'
        "\n"
        '{"report_id": "B", "text": oops}\n'
        '["not", "an", "object"]\n'
        '{"report_id": 7.0, "text": 42}\n'
        '{"report_id": null, "text": NaN}\n'
        '{"text": "no id key"}\n',
        encoding="utf-8",
    )
    rows = reader_rows(src)
    assert [r.row for r in rows] == [1, 2, 3, 4, 5, 6]
    assert (rows[0].report_id, rows[0].text, rows[0].problem) == ("A", "L4-5: Mild canal stenosis.", None)
    assert rows[1].problem.startswith("[W206]") and "invalid JSON" in rows[1].problem
    assert rows[2].problem.startswith("[W206]") and "not a JSON object" in rows[2].problem
    assert (rows[3].report_id, rows[3].text) == ("7", "42")
    assert (rows[4].report_id, rows[4].text, rows[4].problem) == ("", None, None)
    assert (rows[5].report_id, rows[5].text) == ("", "no id key")


def test_reader_parquet_rows(tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"accession": [1, 2, None], "report": ["L4-5: Mild canal stenosis.", math.nan, "x"]}).to_parquet(src)
    rows = reader_rows(src)
    assert [(r.row, r.report_id, r.text) for r in rows] == [(1, "1", "L4-5: Mild canal stenosis."), (2, "2", None),
                                                           (3, "", "x")]


def test_parquet_column_order_does_not_matter(tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"text": ["L4-5: Mild canal stenosis."], "junk": [1], "report_id": ["A"]}).to_parquet(src)
    (row,) = reader_rows(src)
    assert (row.report_id, row.text) == ("A", "L4-5: Mild canal stenosis.")


def test_parquet_many_batches(tmp_path):
    src = tmp_path / "in.parquet"
    n = 5000  # more than one reader batch (2048 rows)
    pq.write_table(pa.table({"report_id": [f"R{i}" for i in range(n)], "text": [f"t{i}" for i in range(n)]}), src,
                   row_group_size=700)
    rows = reader_rows(src)
    assert [r.report_id for r in rows] == [f"R{i}" for i in range(n)]
    assert [r.row for r in rows] == list(range(1, n + 1))


def test_jsonl_with_byte_order_mark(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"report_id": "A", "text": "L4-5: Mild canal stenosis."}\n'
                   '{"report_id": "B", "text": "Normal."}\n', encoding="utf-8-sig")
    rows = reader_rows(src)
    assert [(r.report_id, r.problem) for r in rows] == [("A", None), ("B", None)]


def test_csv_with_byte_order_mark(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("report_id,text\nA,L4-5: Mild canal stenosis.\n", encoding="utf-8-sig")
    (row,) = reader_rows(src)
    assert (row.report_id, row.text, row.problem) == ("A", "L4-5: Mild canal stenosis.", None)


def test_non_utf8_column_name_as_listed_in_the_error(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("report_id,résumé\nA,L4-5: Mild canal stenosis.\n".encode("latin-1"))
    with pytest.raises(ReportParseError) as info:
        ReportReader(src)
    assert "'r\ufffdsum\ufffd'" in str(info.value)  # the name the user is shown
    reader = ReportReader(src, text_col="r\ufffdsum\ufffd")
    (row,) = list(reader)
    assert (row.report_id, row.text) == ("A", "L4-5: Mild canal stenosis.")


# ------------------------------------------------------------------------------------------ lazy reading


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_reader_is_lazy(tmp_path, suffix):
    """The first row comes back while the tail of the file is not written yet; later rows are read as they come."""
    src = tmp_path / f"in{suffix}"

    def line(rid: str, text: str) -> str:
        if suffix == ".csv":
            return f'{rid},"{text}"\n'
        return json.dumps({"report_id": rid, "text": text}) + "\n"

    with open(src, "w", encoding="utf-8", newline="") as fh:
        fh.write("report_id,text\n" if suffix == ".csv" else "")
        fh.write(line("A", "L4-5: Mild canal stenosis."))
        fh.write('B,"an unterminated quote' if suffix == ".csv" else '{"report_id": "B", "te')  # half written
        fh.flush()
        rows = iter(ReportReader(src))
        first = next(rows)
        assert (first.row, first.report_id, first.text) == (1, "A", "L4-5: Mild canal stenosis.")
        fh.write('xt": "Normal."}\n' if suffix == ".jsonl" else ' closed now."\n')
        for i in range(3000):  # far more than any read-ahead buffer
            fh.write(line(f"C{i}", "Normal."))
    rest = list(rows)
    assert rest[0].report_id == "B" and rest[0].problem is None
    assert len(rest) == 3001 and rest[-1].report_id == "C2999"


def test_reader_validates_before_iterating(tmp_path):
    src = write_input(tmp_path / "in.csv", REPORTS)
    reader = ReportReader(src)
    assert reader.columns == ["report_id", "text"] and reader.format == ".csv"
    assert [r.report_id for r in reader] == [r.report_id for r in reader] == ["R1", "R2", "R3", "R4"]  # re-iterable


# ------------------------------------------------------------------------------------------ atomic writer


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


@pytest.mark.parametrize("suffix", FORMATS)
def test_writer_is_atomic(tmp_path, suffix):
    out = tmp_path / f"t{suffix}"
    with TableWriter(out, ["a", "n", "b"], int_columns=("n",), bool_columns=("b",)) as writer:
        writer.write([{"a": "x", "n": 1, "b": True}, {"a": "y", "n": None, "b": False}])
        assert not out.exists()  # nothing appears before the run has finished
        assert len(leftovers(tmp_path)) == 1
        writer.write([])
    assert out.exists() and leftovers(tmp_path) == []
    _, rows = read_table(out, ("n",), ("b",))
    assert rows == [{"a": "x", "n": 1, "b": True}, {"a": "y", "n": None, "b": False}]
    mode = out.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # a normal file, not the 0600 of a temporary file


@pytest.mark.parametrize("suffix", FORMATS)
def test_writer_failure_leaves_old_file_and_no_temp(tmp_path, suffix):
    out = tmp_path / f"t{suffix}"
    out.write_text("previous run")
    with pytest.raises(RuntimeError):
        with TableWriter(out, ["a"]) as writer:
            writer.write([{"a": "x"}])
            raise RuntimeError("disk full")
    assert out.read_text() == "previous run"
    assert leftovers(tmp_path) == []
