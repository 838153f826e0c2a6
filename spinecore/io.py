"""Tables and atomic writing, shared by every package: one reader and one writer for CSV, JSONL and Parquet.

* :func:`read_records` reads a whole table (levels, evidence, predictions, manifests, splits) into dicts, after
  checking its format and its columns. The streaming reader of report files (``reportparse.io.ReportReader``)
  is a different job: it yields every input row, an unreadable one with a reason, and never loads the file.
* :class:`TableWriter` writes rows with fixed columns; :func:`atomic_path` and :func:`write_text_atomic` write any
  other file. A file appears at its path only when it is complete: readers never see a part.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import CoreError, Errors

__all__ = ["TABLE_FORMATS", "read_records", "atomic_path", "write_text_atomic", "TableWriter"]

#: The formats every table of the toolkit may be read from and written to.
TABLE_FORMATS = (".csv", ".jsonl", ".parquet")


def _suffix(path: Path, code: str, role: str = "") -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise CoreError(getattr(Errors, code).format(role=role, path=path, suffix=suffix or "<none>",
                                                     formats=", ".join(TABLE_FORMATS)))
    return suffix


def read_records(path: str | os.PathLike, required: Sequence[str] = (), *, role: str = "Input",
                 producer: str = "the command that writes it") -> tuple[list[str], list[dict[str, Any]]]:
    """``(columns, rows)`` of a CSV, JSONL or Parquet table, after checking it has the ``required`` columns.

    CSV cells are strings; JSONL and Parquet cells keep their types (None where missing). ``role`` names the table
    in error messages ("Levels", "Manifest" ...) and ``producer`` the command that writes it.

    Raises:
        CoreError: missing file (C001), unknown suffix (C002), unreadable file (C003), missing columns (C004).
    """
    path = Path(path)
    suffix = _suffix(path, "C002", role)
    if not path.is_file():
        raise CoreError(Errors.C001.format(role=role, path=path, cwd=Path.cwd()))
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
        raise CoreError(Errors.C003.format(role=role, path=path, format=suffix.lstrip("."),
                                           error=f"{type(err).__name__}: {err}")) from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise CoreError(Errors.C004.format(role=role, path=path, missing=missing, columns=columns, producer=producer))
    return columns, rows


def _publish(tmp: str, path: Path) -> None:
    """Give a finished temporary file the usual permissions and move it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for any writer; it replaces ``path`` when the block ends and is removed
    if the block raises, so that readers never see a part. ``suffix`` keeps a format chosen by extension
    (e.g. ``".nii.gz"`` for SimpleITK).

    Raises:
        CoreError: when the folder does not exist (C006).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise CoreError(Errors.C006.format(path=path.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return Path(path)


class TableWriter:
    """Writes rows (dicts with fixed columns) to CSV, JSONL or Parquet; atomic: the file appears on success.

    ``int_columns`` are written as nullable integers (empty in CSV, null in JSONL and Parquet), ``float_columns``
    and ``bool_columns`` likewise as numbers and booleans.

    Raises:
        CoreError: an output suffix other than :data:`TABLE_FORMATS` (C005), a missing folder (C006).
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], int_columns: Sequence[str] = (),
                 bool_columns: Sequence[str] = (), float_columns: Sequence[str] = ()):
        self.path = Path(path)
        self.format = _suffix(self.path, "C005")
        if not self.path.parent.exists():
            raise CoreError(Errors.C006.format(path=self.path.parent))
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
            kinds = [(self.int_columns, pa.int64()), (self.bool_columns, pa.bool_()),
                     (self.float_columns, pa.float64())]
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
