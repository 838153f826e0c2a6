"""``reportparse.frame``: DataFrames of reports in, the tables of ``reportparse extract`` out; and the Dask example
run on a local distributed cluster (two worker processes on 127.0.0.1)."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reportparse.errors import ReportParseError
from reportparse.extract import EVIDENCE_COLUMNS, ExtractConfig, extract
from reportparse.frame import evidence_meta, levels_meta, parse_frame, parse_tables, spark_schema
from reportparse.frame import _process_pipeline
from spinecore.synth import generate
from spinecore.schema import LEVEL_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def reports_frame(n: int = 40) -> pd.DataFrame:
    texts = [r.text for r in generate(n, seed=11)]
    frame = pd.DataFrame({"accession": [f"ACC{i:04d}" for i in range(n)], "report_text": texts})
    frame.loc[2, "report_text"] = ""  # empty report
    frame.loc[4, "report_text"] = None  # missing text
    frame.loc[6, "accession"] = None  # missing id
    frame.loc[8, "report_text"] = "FINDINGS:\nL4-5: Severe canal stenosis. Mild left foraminal narrowing."
    return frame


def extracted(frame: pd.DataFrame, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables of ``reportparse extract`` on ``frame`` written as Parquet, read back typed."""
    source = tmp_path / "reports.parquet"
    frame.to_parquet(source, index=False)
    extract(source, tmp_path / "levels.parquet", tmp_path / "evidence.parquet")
    return tuple(pd.read_parquet(tmp_path / name, dtype_backend="numpy_nullable")
                 for name in ("levels.parquet", "evidence.parquet"))


def test_tables_equal_extract_on_the_same_reports(tmp_path):
    frame = reports_frame()
    levels, evidence = parse_tables(frame)
    want_levels, want_evidence = extracted(frame, tmp_path)
    pd.testing.assert_frame_equal(levels, want_levels)
    pd.testing.assert_frame_equal(evidence, want_evidence)
    assert set(levels["status"]) == {"ok", "empty", "error"}
    row = levels[(levels["report_id"] == "ACC0008") & (levels["level"] == "L4-L5")].iloc[0]
    assert (row["scs"], row["lfs"]) == (3, 1)


def test_parse_frame_gives_either_table_with_the_meta_dtypes():
    frame = reports_frame(6)
    levels = parse_frame(frame)
    evidence = parse_frame(frame, table="evidence")
    assert levels.dtypes.to_dict() == levels_meta().dtypes.to_dict() and len(levels) == 6 * len(frame)
    assert evidence.dtypes.to_dict() == evidence_meta().dtypes.to_dict() and len(evidence) > 0
    assert tuple(levels_meta().columns) == LEVEL_COLUMNS and tuple(evidence_meta().columns) == EVIDENCE_COLUMNS
    assert spark_schema("levels") == ("report_id string, level string, scs bigint, rfs bigint, lfs bigint, "
                                      "status string, reason string, flags string, row bigint")


def test_empty_frame_gives_empty_typed_tables():
    levels, evidence = parse_tables(pd.DataFrame({"report_id": [], "text": []}))
    assert levels.empty and levels.dtypes.to_dict() == levels_meta().dtypes.to_dict()
    assert evidence.empty and evidence.dtypes.to_dict() == evidence_meta().dtypes.to_dict()


def test_missing_values_of_nullable_and_arrow_dtypes_are_missing():
    frame = pd.DataFrame({"report_id": ["A", None, "C"], "text": ["L4-5: mild canal stenosis.", "x", None]})
    for dtype in ("string", "string[pyarrow]"):
        levels = parse_frame(frame.astype(dtype))
        assert levels["status"].tolist()[::6] == ["ok", "error", "empty"]
        assert levels["report_id"].tolist()[::6] == ["A", "", "C"]


def test_row_numbers_come_from_row_col_and_columns_from_the_config():
    frame = pd.DataFrame({"key": [7, 9], "body": ["L4-5: mild canal stenosis.", "L5-S1: normal."],
                          "line": [101, 102]})
    levels = parse_frame(frame, ExtractConfig(id_col="key", text_col="body"), row_col="line")
    assert levels["row"].tolist() == [101] * 6 + [102] * 6
    assert levels["report_id"].tolist()[::6] == ["7", "9"]


def test_pipeline_is_built_once_per_process_and_refreshed_by_count():
    frame = reports_frame(3)
    parse_frame(frame)
    pipeline = _process_pipeline(None, ExtractConfig().refresh_every)
    builds = pipeline.builds
    parse_frame(frame)
    parse_frame(frame, table="evidence")
    assert pipeline.builds == builds == 1 and _process_pipeline(None, ExtractConfig().refresh_every) is pipeline
    three = pd.DataFrame({"report_id": ["A", "B", "C"], "text": [r.text for r in generate(3, seed=5)]})
    every_four = ExtractConfig(refresh_every=4)
    parse_frame(three, every_four)
    parse_frame(three, every_four)  # six reports: built for the 1st, built anew for the 5th
    assert _process_pipeline(None, 4).builds == 2


def test_bad_columns_and_table_name_are_coded_errors():
    frame = pd.DataFrame({"note": ["x"], "text": ["y"]})
    with pytest.raises(ReportParseError, match=r"E112.*id column among the usual names.*'note', 'text'"):
        parse_frame(frame)
    with pytest.raises(ReportParseError, match=r"E112.*text column named 'body'"):
        parse_frame(frame, ExtractConfig(id_col="note", text_col="body"))
    with pytest.raises(ReportParseError, match=r"E111.*'mentions'"):
        parse_frame(frame, ExtractConfig(id_col="note"), table="mentions")


def test_dask_example_on_a_local_cluster_equals_extract(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install '.[dask]')")
    pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed (pip install '.[dask]')")
    frame = reports_frame(60)
    want_levels, want_evidence = extracted(frame, tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_extract.py"), str(tmp_path / "reports.parquet"),
                          str(tmp_path / "dask_levels"), "--evidence", str(tmp_path / "dask_evidence"),
                          "--workers", "2", "--partitions", "3"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list((tmp_path / "dask_levels").glob("*.parquet"))) == 3
    for folder, want in (("dask_levels", want_levels), ("dask_evidence", want_evidence)):
        got = pd.read_parquet(tmp_path / folder, dtype_backend="numpy_nullable")
        got = got.sort_values("row", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
