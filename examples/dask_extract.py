"""``reportparse extract`` on a Dask cluster: a Parquet table of reports in, the levels table (and evidence) out.

Each partition is parsed by :func:`reportparse.frame.parse_frame` in a worker process, which builds the parser
once and keeps it for the following partitions. The output is a folder of Parquet files with the columns and
values of ``reportparse extract`` (same row numbers: the example numbers the rows of the whole table first).

    pip install 'deepspine-toolkit[dask]'
    python examples/dask_extract.py reports.parquet levels/ [--evidence evidence/] [--workers 4]
    python examples/dask_extract.py reports.parquet levels/ --scheduler tcp://scheduler:8786

Without ``--scheduler`` a local cluster of ``--workers`` processes is started on 127.0.0.1. Input columns are
found as ``reportparse extract`` finds them (``--id-col``/``--text-col`` name them). With ``--evidence`` each
partition is parsed twice (once per table); ``reportparse.frame.parse_tables`` gives both tables from one parse
where an engine can take two outputs per task.
"""

import argparse
import logging

import dask.dataframe as dd
from dask.distributed import Client, LocalCluster

from reportparse.extract import ExtractConfig
from reportparse.frame import evidence_meta, levels_meta, parse_frame

ROW = "row"


def dask_extract(client: Client, input_path: str, output_dir: str, evidence_dir: str | None = None,
                 config: ExtractConfig | None = None, partitions: int | None = None) -> int:
    """Parse every report of ``input_path`` on the cluster of ``client``; returns the number of reports."""
    config = config or ExtractConfig()
    reports = dd.read_parquet(input_path)
    if partitions:
        reports = reports.repartition(npartitions=partitions)
    # the row numbers of the whole table (1-based, as reportparse extract counts them)
    reports = reports.assign(**{ROW: 1})
    reports[ROW] = reports[ROW].cumsum()
    levels = reports.map_partitions(parse_frame, config, ROW, meta=levels_meta())
    writes = [levels.to_parquet(output_dir, write_index=False, compute=False)]
    if evidence_dir:
        evidence = reports.map_partitions(parse_frame, config, ROW, "evidence", meta=evidence_meta())
        writes.append(evidence.to_parquet(evidence_dir, write_index=False, compute=False))
    client.compute(writes, sync=True)
    return len(reports)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="Parquet file (or folder) with one report per row")
    parser.add_argument("output", help="folder for the levels table (Parquet files)")
    parser.add_argument("--evidence", help="folder for the evidence table")
    parser.add_argument("--id-col")
    parser.add_argument("--text-col")
    parser.add_argument("--rules", help="rules folder (default: the shipped rules)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (without --scheduler)")
    parser.add_argument("--partitions", type=int, help="repartition the input into this many partitions")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = ExtractConfig(id_col=args.id_col, text_col=args.text_col, rules_dir=args.rules)
    config.validate()
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        n = dask_extract(client, args.input, args.output, args.evidence, config, args.partitions)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    logging.info("parsed %d reports into %s", n, args.output)


if __name__ == "__main__":
    main()
