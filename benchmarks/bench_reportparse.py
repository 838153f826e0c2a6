"""Throughput and memory of ``reportparse extract`` on a few thousand realistic synthetic reports.

Prints reports/second for one process and for ``--n-process 2``, the peak resident memory of each run, and the
ratio to a bare ``spacy.blank("en")`` tokenizer pass over the same texts. Run:

    python benchmarks/bench_reportparse.py [--n 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy

from reportparse.synth import generate

CHILD = """
import resource, sys, time
from reportparse.extract import ExtractConfig, extract
t = time.perf_counter()
s = extract(sys.argv[1], sys.argv[2], config=ExtractConfig(n_process=int(sys.argv[3])))
dt = time.perf_counter() - t
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(s.reports, dt, peak)
"""


def run(input_csv: Path, out: Path, n_process: int) -> tuple[int, float, float]:
    """Run extract in a fresh interpreter (so peak memory is this run's own); returns (reports, seconds, MiB)."""
    res = subprocess.run([sys.executable, "-c", CHILD, str(input_csv), str(out), str(n_process)],
                         check=True, capture_output=True, text=True)
    reports, seconds, peak_kib = res.stdout.split()
    return int(reports), float(seconds), int(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="number of reports")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reports = generate(args.n, seed=args.seed)
    texts = [r.text for r in reports]
    print(f"{len(texts)} synthetic reports, mean {statistics.mean(map(len, texts)):.0f} characters")
    with tempfile.TemporaryDirectory() as tmp:
        input_csv = Path(tmp) / "reports.csv"
        with open(input_csv, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["report_id", "text"])
            writer.writerows((f"S{i:06d}", t) for i, t in enumerate(texts))
        nlp = spacy.blank("en")
        start = time.perf_counter()
        for doc in nlp.pipe(texts, batch_size=256):
            pass
        bare = len(texts) / (time.perf_counter() - start)
        print(f"bare spacy.blank('en') tokenizer: {bare:,.0f} reports/s")
        for n_process in (1, 2):
            n, seconds, peak = run(input_csv, Path(tmp) / f"levels{n_process}.csv", n_process)
            rate = n / seconds
            print(f"reportparse extract --n-process {n_process}: {rate:,.0f} reports/s "
                  f"({seconds:.1f} s incl. start-up), peak RSS {peak:,.0f} MiB, "
                  f"{bare / rate:.1f}x slower than the bare tokenizer")


if __name__ == "__main__":
    main()
