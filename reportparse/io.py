"""Reading reports and the cells of report tables (CSV, JSONL, Parquet).

:class:`ReportReader` streams a reports file and yields one :class:`InputRow` per input row, never fewer: a row
that cannot be read becomes a row with an error reason, so every input row reaches the output with a status.
Whole tables (levels, evidence, predictions) are read with the toolkit's one table reader
(:func:`spinecore.io.read_records`, here :func:`read_rows`) and written with :class:`spinecore.io.TableWriter`.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spinecore.io import TABLE_FORMATS, read_records

from .errors import Errors, ReportParseError, Warnings

ID_CANDIDATES = ("report_id", "accession", "accession_number", "accession_no", "id", "study_id", "exam_id", "doc_id")
TEXT_CANDIDATES = ("text", "report", "report_text", "report_body", "body", "note_text", "narrative")
INPUT_FORMATS = TABLE_FORMATS


@dataclass
class InputRow:
    """One input row. ``row`` counts data rows from 1; ``problem`` is an error reason when unreadable."""

    row: int
    report_id: str
    text: str | None
    problem: str | None = None


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in INPUT_FORMATS:
        raise ReportParseError(Errors.E102.format(path=path, suffix=suffix or "<none>",
                                                  formats=", ".join(INPUT_FORMATS)))
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
        self.format = _format(self.path)
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
                    yield InputRow(row, "", None, Warnings.W206.format(error=err))
                    continue
                row += 1
                if not values:
                    row -= 1  # csv yields [] for blank lines between records; they are not rows
                    continue
                if len(values) <= max(id_i, text_i):
                    yield InputRow(row, _fix(values[id_i]) if len(values) > id_i else "", None,
                                   Warnings.W206.format(error=f"{len(values)} fields, header has {len(header)}"))
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
                    yield InputRow(row, "", None, Warnings.W206.format(error=f"invalid JSON: {err}"))
                    continue
                if not isinstance(obj, dict):
                    yield InputRow(row, "", None, Warnings.W206.format(error="line is not a JSON object"))
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


def read_rows(path: Path, required: tuple[str, ...], *, role: str,
              producer: str = "'reportparse extract'") -> list[tuple[int, dict[str, Any]]]:
    """(row number from 1, row) of a table, after checking it has the ``required`` columns (see
    :func:`spinecore.io.read_records`: CoreError C001-C004)."""
    return list(enumerate(read_records(path, required, role=role, producer=producer)[1], 1))


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
