"""Streaming readers and atomic writers for report tables (CSV, JSONL, Parquet).

Readers yield one :class:`InputRow` per input row, never fewer: a row that cannot be read becomes a row with
an error reason, so every input row reaches the output with a status. Writers write to a temporary file in the
output folder and move it into place only when the whole run succeeded.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import Errors, ReportParseError

ID_CANDIDATES = ("report_id", "accession", "accession_number", "accession_no", "id", "study_id", "exam_id", "doc_id")
TEXT_CANDIDATES = ("text", "report", "report_text", "report_body", "body", "note_text", "narrative")
INPUT_FORMATS = (".csv", ".jsonl", ".parquet")
OUTPUT_FORMATS = (".csv", ".jsonl", ".parquet")


@dataclass
class InputRow:
    """One input row. ``row`` counts data rows from 1; ``problem`` is an error reason when unreadable."""

    row: int
    report_id: str
    text: str | None
    problem: str | None = None


def _format(path: Path, allowed: Sequence[str], code: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ReportParseError(getattr(Errors, code).format(path=path, suffix=suffix or "<none>",
                                                            formats=", ".join(allowed)))
    return suffix


def find_column(columns: Sequence[str], wanted: str | None, candidates: Sequence[str]) -> str | None:
    """``wanted`` when it is one of ``columns``, else (without ``wanted``) the first of ``candidates`` among the
    columns, compared in lower case; None when there is no such column."""
    if wanted is not None:
        return wanted if wanted in columns else None
    lower = {c.lower().strip(): c for c in columns}
    return next((lower[name] for name in candidates if name in lower), None)


def _pick(path: Path, columns: Sequence[str], wanted: str | None, candidates: Sequence[str], role: str,
          option: str) -> str:
    found = find_column(columns, wanted, candidates)
    if found is not None:
        return found
    if wanted is not None:
        raise ReportParseError(Errors.E103.format(path=path, role=role, wanted=wanted, columns=list(columns),
                                                  option=option))
    raise ReportParseError(Errors.E104.format(path=path, role=role, candidates=list(candidates),
                                              columns=list(columns), option=option))


def _clean_id(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _fix(str(value)).strip()


def _clean_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return _fix(value if isinstance(value, str) else str(value))


class ReportReader:
    """Streams (id, text) rows from a CSV, JSONL or Parquet file, finding the columns by common names."""

    def __init__(self, path: str | Path, id_col: str | None = None, text_col: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ReportParseError(Errors.E101.format(path=self.path, cwd=Path.cwd()))
        self.format = _format(self.path, INPUT_FORMATS, "E102")
        self.columns = self._columns()
        self.id_col = _pick(self.path, self.columns, id_col, ID_CANDIDATES, "id", "--id-col")
        self.text_col = _pick(self.path, self.columns, text_col, TEXT_CANDIDATES, "text", "--text-col")

    def _columns(self) -> list[str]:
        try:
            if self.format == ".csv":
                with open(self.path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
                    header = next(csv.reader(fh), None)
                if not header:
                    raise ReportParseError(Errors.E109.format(path=self.path))
                return [_fix(name) for name in header]
            if self.format == ".parquet":
                import pyarrow.parquet as pq

                return list(pq.ParquetFile(self.path).schema_arrow.names)
            with open(self.path, encoding="utf-8-sig", errors="replace") as fh:
                for line in fh:
                    if line.strip():
                        try:
                            first = json.loads(line)
                        except json.JSONDecodeError:
                            continue
                        if isinstance(first, dict):
                            return list(first)
            raise ReportParseError(Errors.E109.format(path=self.path))
        except ReportParseError:
            raise
        except Exception as err:  # pyarrow and csv raise many types for corrupt files
            raise ReportParseError(Errors.E105.format(path=self.path, format=self.format.lstrip("."),
                                                      error=err)) from None

    def __iter__(self) -> Iterator[InputRow]:
        if self.format == ".csv":
            yield from self._csv()
        elif self.format == ".jsonl":
            yield from self._jsonl()
        else:
            yield from self._parquet()

    def _csv(self) -> Iterator[InputRow]:
        csv.field_size_limit(sys.maxsize)
        with open(self.path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
            reader = csv.reader(fh)
            header = [_fix(name) for name in next(reader)]
            id_i, text_i = header.index(self.id_col), header.index(self.text_col)
            row = 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as err:
                    row += 1
                    yield InputRow(row, "", None, Errors.W206.format(error=err))
                    continue
                row += 1
                if not values:
                    row -= 1  # csv yields [] for blank lines between records; they are not rows
                    continue
                if len(values) <= max(id_i, text_i):
                    yield InputRow(row, _fix(values[id_i]) if len(values) > id_i else "", None,
                                   Errors.W206.format(error=f"{len(values)} fields, header has {len(header)}"))
                    continue
                yield InputRow(row, _fix(values[id_i]).strip(), _fix(values[text_i]))

    def _jsonl(self) -> Iterator[InputRow]:
        with open(self.path, encoding="utf-8-sig", errors="surrogateescape") as fh:
            row = 0
            for line in fh:
                if not line.strip():
                    continue
                row += 1
                try:
                    obj = json.loads(_fix(line))
                except json.JSONDecodeError as err:
                    yield InputRow(row, "", None, Errors.W206.format(error=f"invalid JSON: {err}"))
                    continue
                if not isinstance(obj, dict):
                    yield InputRow(row, "", None, Errors.W206.format(error="line is not a JSON object"))
                    continue
                yield InputRow(row, _clean_id(obj.get(self.id_col)), _clean_text(obj.get(self.text_col)))

    def _parquet(self) -> Iterator[InputRow]:
        import pyarrow.parquet as pq

        row = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=2048, columns=[self.id_col, self.text_col]):
            ids = batch.column(0).to_pylist()
            texts = batch.column(1).to_pylist()
            for rid, text in zip(ids, texts):
                row += 1
                yield InputRow(row, _clean_id(rid), _clean_text(text))


def _fix(value: str) -> str:
    """Replace undecodable bytes (kept as surrogates by the reader) and lone surrogates with U+FFFD."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:  # bytes the reader kept as surrogates: one U+FFFD per byte
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # lone surrogates from JSON escapes
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


#: Formats of the tables read by :func:`read_rows` (levels and evidence tables, predictions).
TABLE_FORMATS = (".csv", ".jsonl", ".parquet")


def read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """(row number, row) of a CSV, JSONL or Parquet table, after checking it has the ``required`` columns."""
    if not path.is_file():
        raise ReportParseError(Errors.E101.format(path=path, cwd=Path.cwd()))
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ReportParseError(Errors.E102.format(path=path, suffix=suffix or "<none>",
                                                  formats=", ".join(TABLE_FORMATS)))
    try:
        if suffix == ".csv":
            csv.field_size_limit(sys.maxsize)
            with open(path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                columns = list(reader.fieldnames or [])
                rows = list(reader)
        elif suffix == ".jsonl":
            with open(path, encoding="utf-8-sig") as fh:
                rows = [json.loads(line) for line in fh if line.strip()]
            if not all(isinstance(r, dict) for r in rows):
                raise ValueError("a line is not a JSON object")
            columns = list(dict.fromkeys(k for r in rows for k in r))
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            columns = table.column_names
            rows = table.to_pylist()
    except Exception as err:  # OSError, ValueError, csv.Error, and the many types pyarrow raises
        raise ReportParseError(Errors.E105.format(path=path, format=suffix.lstrip("."), error=err)) from None
    for column in required:
        if column not in columns:
            raise ReportParseError(Errors.E311.format(path=path, column=column, columns=columns))
    return list(enumerate(rows, 1))


def report_id(value: Any) -> str:
    """A report id as read from a table cell (a whole float such as 12.0 is '12'; empty is '')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_grade(value: Any, path: Path, row: int, column: str) -> int | None:
    """A grade cell of a levels table: 0-3, or None when empty (E312 otherwise)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (
            isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer() or not 0 <= number <= 3:
        raise ReportParseError(Errors.E312.format(path=path, row=row, column=column, value=value,
                                                  expected="0, 1, 2, 3 or empty"))
    return int(number)


def _publish(tmp: str, path: Path) -> None:
    """Give a finished temporary file the usual permissions and move it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for any writer; it replaces ``path`` when the block ends and is removed
    if the block raises, so that readers never see a part. ``suffix`` keeps a format chosen by extension
    (e.g. ``".nii.gz"`` for SimpleITK).

    Raises:
        ReportParseError: when the folder does not exist (E107).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ReportParseError(Errors.E107.format(path=path.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return Path(path)


class TableWriter:
    """Writes rows (dicts with fixed columns) to CSV, JSONL or Parquet; atomic: the file appears on success.

    ``int_columns`` are written as nullable integers (empty in CSV, null in JSONL and Parquet), ``float_columns``
    and ``bool_columns`` likewise as numbers and booleans.
    """

    def __init__(self, path: str | Path, columns: Sequence[str], int_columns: Sequence[str] = (),
                 bool_columns: Sequence[str] = (), float_columns: Sequence[str] = ()):
        self.path = Path(path)
        self.format = _format(self.path, OUTPUT_FORMATS, "E106")
        if not self.path.parent.exists():
            raise ReportParseError(Errors.E107.format(path=self.path.parent))
        self.columns = list(columns)
        self.int_columns = set(int_columns)
        self.bool_columns = set(bool_columns)
        self.float_columns = set(float_columns)
        self._tmp: str | None = None
        self._fh: Any = None
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None

    def __enter__(self) -> "TableWriter":
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        if self.format == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            os.close(fd)
            kinds = [(self.int_columns, pa.int64()), (self.bool_columns, pa.bool_()), (self.float_columns, pa.float64())]
            fields = [pa.field(c, next((t for cols, t in kinds if c in cols), pa.string())) for c in self.columns]
            self._schema = pa.schema(fields)
            self._parquet = pq.ParquetWriter(self._tmp, self._schema)
        else:
            self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
            if self.format == ".csv":
                self._csv = csv.writer(self._fh)
                self._csv.writerow(self.columns)
        return self

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._parquet is not None:
            import pyarrow as pa

            data = {c: [r.get(c) for r in rows] for c in self.columns}
            self._parquet.write_table(pa.table(data, schema=self._schema))
        elif self._csv is not None:
            for r in rows:
                self._csv.writerow(["" if r.get(c) is None else r[c] for c in self.columns])
        else:
            for r in rows:
                self._fh.write(json.dumps({c: r.get(c) for c in self.columns}, ensure_ascii=False) + "\n")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._fh is not None:
            self._fh.close()
        assert self._tmp is not None
        if exc_type is None:
            _publish(self._tmp, self.path)
        else:
            os.unlink(self._tmp)
