"""Parse a pandas DataFrame of reports: the entry point for Dask, Spark and Ray.

:func:`parse_frame` turns a DataFrame with one report per row into the levels table (or the evidence table) of
``reportparse extract``, with the same columns and values; :func:`parse_tables` gives both from one parse. Each
process builds the parser once (and anew every ``ExtractConfig.refresh_every`` reports, as ``extract`` does, so
that a long-lived worker's memory stays flat), so a Dask worker, a Spark Python worker or a Ray worker pays the
start-up once and not per partition. The empty tables
:func:`levels_meta` and :func:`evidence_meta` (for ``meta=``) and :func:`spark_schema` describe the output.

Dask (one partition at a time, in the worker processes)::

    ddf = dd.read_parquet("reports.parquet")
    levels = ddf.map_partitions(parse_frame, meta=levels_meta())

Spark::

    levels = reports.mapInPandas(lambda frames: map(parse_frame, frames), schema=spark_schema("levels"))

Ray Data::

    levels = ds.map_batches(parse_frame, batch_format="pandas")

Row numbers: ``row`` is taken from ``row_col`` when given, else it counts the frame's rows from 1. Partitions
of a distributed frame each count from 1, so give a column with the row numbers of the whole table when they
matter (the Dask example in ``examples/dask_extract.py`` adds one). Duplicate report ids are flagged (W204)
by ``reportparse extract`` only, since a partition does not see the others.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import pandas as pd

from .errors import Errors, ReportParseError
from .extract import ExtractConfig, parse_row
from .io import ID_CANDIDATES, TEXT_CANDIDATES, InputRow, _clean_id, _clean_text, find_column
from .pipeline import RefreshingPipeline

Table = Literal["levels", "evidence"]

#: pandas dtypes of the two tables: those of ``pandas.read_parquet(path, dtype_backend="numpy_nullable")`` on a
#: Parquet table written by ``reportparse extract``.
LEVEL_DTYPES = {"report_id": "string", "level": "string", "scs": "Int64", "rfs": "Int64", "lfs": "Int64",
                "status": "string", "reason": "string", "flags": "string", "row": "Int64"}
EVIDENCE_DTYPES = {"report_id": "string", "level": "string", "location": "string", "grade": "Int64",
                   "sentence": "string", "start": "Int64", "end": "Int64", "span_start": "Int64",
                   "span_end": "Int64", "section": "string", "rank": "string", "flags": "string", "used": "boolean",
                   "row": "Int64"}
_SPARK_TYPES = {"string": "string", "Int64": "bigint", "boolean": "boolean"}


def _dtypes(table: Table) -> dict[str, str]:
    if table == "levels":
        return LEVEL_DTYPES
    if table == "evidence":
        return EVIDENCE_DTYPES
    raise ReportParseError(Errors.E111.format(value=table))


def _typed(rows: list[dict[str, Any]], table: Table) -> pd.DataFrame:
    dtypes = _dtypes(table)
    frame = pd.DataFrame.from_records(rows, columns=list(dtypes)) if rows else pd.DataFrame(columns=list(dtypes))
    return frame.astype(dtypes)


def levels_meta() -> pd.DataFrame:
    """An empty levels table with the output's columns and dtypes (Dask's ``meta=``)."""
    return _typed([], "levels")


def evidence_meta() -> pd.DataFrame:
    """An empty evidence table with the output's columns and dtypes (Dask's ``meta=``)."""
    return _typed([], "evidence")


def spark_schema(table: Table = "levels") -> str:
    """The Spark DDL schema of a table, for ``mapInPandas(..., schema=spark_schema("levels"))``."""
    return ", ".join(f"{name} {_SPARK_TYPES[dtype]}" for name, dtype in _dtypes(table).items())


def _column(frame: pd.DataFrame, wanted: str | None, candidates: tuple[str, ...], role: str, option: str) -> str:
    columns = [str(c) for c in frame.columns]
    found = find_column(columns, wanted, candidates)
    if found is not None:
        return found
    what = f"named {wanted!r}" if wanted is not None else f"among the usual names {list(candidates)}"
    raise ReportParseError(Errors.E112.format(role=role, what=what, columns=columns, option=option))


def _values(column: pd.Series) -> list[Any]:
    """The column's values with every missing value (None, NaN, ``pd.NA`` of nullable and Arrow dtypes) as None."""
    return column.astype(object).where(column.notna(), None).tolist()


@lru_cache(maxsize=4)
def _process_pipeline(rules_dir: str | None, refresh_every: int) -> RefreshingPipeline:
    """This process's parser, kept across partitions."""
    return RefreshingPipeline(rules_dir, refresh_every)


def _parse(frame: pd.DataFrame, config: ExtractConfig | None, row_col: str | None,
           with_evidence: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    config = config or ExtractConfig()
    config.validate()
    id_col = _column(frame, config.id_col, ID_CANDIDATES, "id", "ExtractConfig(id_col=...)")
    text_col = _column(frame, config.text_col, TEXT_CANDIDATES, "text", "ExtractConfig(text_col=...)")
    rows = frame[_column(frame, row_col, (), "row number", "the row_col argument")].tolist() if row_col is not None \
        else range(1, len(frame) + 1)
    pipeline = _process_pipeline(config.rules_dir, config.refresh_every)
    levels: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    for rid, text, row in zip(_values(frame[id_col]), _values(frame[text_col]), rows):
        result = parse_row(pipeline(), InputRow(int(row), _clean_id(rid), _clean_text(text)), config.max_chars,
                           with_evidence)
        levels.extend(result.levels)
        evidence.extend(result.evidence)
    return levels, evidence


def parse_tables(frame: pd.DataFrame, config: ExtractConfig | None = None,
                 row_col: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The levels table and the evidence table of the reports in ``frame``, from one parse.

    Args:
        frame: one report per row; the id and text columns are found as ``reportparse extract`` finds them, or
            named in ``config`` (``id_col``, ``text_col``).
        config: columns, rules folder and ``max_chars`` (``n_process`` and ``batch_size`` do not apply here:
            the engine decides the parallelism).
        row_col: the column with each report's row number; None numbers the frame's rows from 1.

    Raises:
        ReportParseError: for a missing column, bad options or bad rules; a bad report becomes an error row.
    """
    levels, evidence = _parse(frame, config, row_col, with_evidence=True)
    return _typed(levels, "levels"), _typed(evidence, "evidence")


def parse_frame(frame: pd.DataFrame, config: ExtractConfig | None = None, row_col: str | None = None,
                table: Table = "levels") -> pd.DataFrame:
    """The levels table (``table="levels"``, six rows per report) or the evidence table of ``frame``.

    Same arguments as :func:`parse_tables`; usable as it is with ``dask.dataframe.map_partitions``, Spark's
    ``mapInPandas`` and Ray Data's ``map_batches``.
    """
    _dtypes(table)  # a bad table name fails before the parse
    levels, evidence = _parse(frame, config, row_col, with_evidence=table == "evidence")
    return _typed(levels if table == "levels" else evidence, table)
