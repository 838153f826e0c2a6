"""spinecore.io: the one table reader and writer (CSV, JSONL, Parquet) and atomic writing."""

from __future__ import annotations

import pytest

from spinecore.errors import CoreError
from spinecore.io import TableWriter, atomic_path, read_records, write_text_atomic

ROWS = [{"report_id": "A-1", "level": "L4-L5", "scs": 2, "p": 0.25, "used": True},
        {"report_id": "B 2", "level": "L5-S1", "scs": None, "p": 1.0, "used": False}]
COLUMNS = ["report_id", "level", "scs", "p", "used"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_written_tables_read_back_with_their_columns(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    with TableWriter(path, COLUMNS, int_columns=("scs",), float_columns=("p",), bool_columns=("used",)) as out:
        out.write(ROWS)
    columns, rows = read_records(path, ("report_id", "scs"), role="Levels")
    assert columns == COLUMNS and len(rows) == 2
    if suffix == ".csv":  # CSV has text cells only; an empty cell is ""
        assert rows[0] == {"report_id": "A-1", "level": "L4-L5", "scs": "2", "p": "0.25", "used": "True"}
        assert rows[1]["scs"] == ""
    else:
        assert rows == ROWS


def test_reader_errors_are_coded_and_name_the_table(tmp_path):
    cases = [(tmp_path / "t.xlsx", "C002"), (tmp_path / "absent.csv", "C001")]
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    cases.append((bad, "C003"))
    short = tmp_path / "short.csv"
    short.write_text("report_id,level\nA,L4-L5\n")
    for path, code in cases:
        with pytest.raises(CoreError) as err:
            read_records(path, role="Manifest")
        assert err.value.code == code and path.name in str(err.value) and "Manifest" in str(err.value)
    with pytest.raises(CoreError) as err:
        read_records(short, ("report_id", "scs"), role="Levels", producer="'reportparse extract'")
    assert err.value.code == "C004" and "['scs']" in str(err.value) and "'reportparse extract'" in str(err.value)


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "t.csv"
    with pytest.raises(RuntimeError):
        with TableWriter(path, COLUMNS) as out:
            out.write(ROWS)
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    write_text_atomic(path, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old\n" and list(tmp_path.iterdir()) == [path]
    with pytest.raises(CoreError, match=r"C006.*nope"):
        write_text_atomic(tmp_path / "nope" / "x.txt", "x")
    with pytest.raises(CoreError, match=r"C005.*\.tsv"):
        TableWriter(tmp_path / "x.tsv", COLUMNS)
