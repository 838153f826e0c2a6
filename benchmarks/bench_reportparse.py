"""Throughput, per-stage cost and memory of ``reportparse extract`` on realistic synthetic reports.

Prints, for one corpus of ``--n`` reports from ``spinecore.synth`` (seven report styles, about 1 kB each):

* a bare ``spacy.blank("en")`` tokenizer pass over the texts, twice: in this process after spaCy is imported,
  and as a fresh process timed from its start to its exit (interpreter start-up, importing spaCy with torch kept
  out of it as ``import reportparse`` does, reading the CSV file, ``spacy.blank("en")`` and the pass): the same
  footing as the ``extract`` runs, whose rate includes their start-up;
* ``reportparse extract`` with ``-j 1`` and ``2``, each a fresh process that runs what the ``reportparse``
  console script runs (``reportparse.__main__.main``), timed from its start to its exit, best of 3 (interpreter
  start-up, imports and pipeline build included), its peak resident memory, its rate relative to both bare
  tokenizer figures and the scaling of two processes over one; and the same per CPU second (of the process and its
  workers), which other work on a busy machine does not distort;
* the CPU milliseconds per report of every pipeline stage (in this process, after a warm-up);
* all of the above twice: on the reports as generated, and on the same reports each opened by a :func:`header`
  line (as archived reports are: stock spaCy's tokenizer caches nothing of a document after its first special
  case, and a lone line break is one, see ``reportparse.pipeline.create_tokenizer``; so a header line costs the
  bare pass the cache for the rest of every report);
* the per-stage costs and the bare tokenizer's rate on real-style texts met for the first time (the gold set's
  reports and, where ``../shared`` is beside the repository, the real clinical notes), which repeat far less than
  the synthetic reports, and from them and the start-up of an ``extract`` process the rate for 2,000 such
  reports with start-up (:func:`real_style`);
* with ``--rss N [N ...]``: the peak memory of ``reportparse extract`` on N reports, streamed to a CSV file
  first (1,000,000 reports take about an hour per core; the input file needs about 1 kB per report). Each of
  these reports opens with a header line of five words of its own (accession and record numbers, a date, a
  referring doctor), as archived reports do: spaCy's vocabulary keeps every new word, so this is what makes memory
  grow without ``--refresh-every``, which is passed on to ``extract`` (0: one parser for the whole run).

Run:

    python benchmarks/bench_reportparse.py [--n 2000] [--seed 0] [--rss 10000 1000000] [--refresh-every N]
                                           [--no-speed]
"""

import argparse
import compileall
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spinecore.synth import generate

CHUNK = 1000  # reports generated at once when streaming a large input


def header(rng: random.Random) -> str:
    """A report header line of five words of its own: accession and record numbers, a date, a doctor's name."""
    name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)).title()
    return (f"Accession XR{rng.randrange(10**9):09d} MRN {rng.randrange(10**8):08d} Exam date "
            f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1990, 2030)} Ref Dr {name}\n")


def write_texts(path: Path, texts: list[str], prefix: str) -> Path:
    """Write ``texts`` to a CSV file of reports (ids ``prefix`` and a number); returns ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("report_id", "text"), *((f"{prefix}{i:08d}", t) for i, t in enumerate(texts))])
    return path


def write_reports(path: Path, n: int, seed: int, headers: bool = False) -> list[str]:
    """Write ``n`` synthetic reports to a CSV file, generated in chunks (bounded memory), each opened by a
    :func:`header` line when ``headers``; returns the texts of the first chunk."""
    first: list[str] = []
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["report_id", "text"])
        for k, start in enumerate(range(0, n, CHUNK)):
            texts = [(header(rng) if headers else "") + r.text
                     for r in generate(min(CHUNK, n - start), seed=seed + k)]
            writer.writerows((f"S{start + i:08d}", text) for i, text in enumerate(texts))
            first = first or texts
    return first


def compile_toolkit() -> None:
    """Compile the parser's modules to bytecode first, as an installed wheel and the README's setup command have
    them: from an editable install, where Python writes no bytecode itself (``PYTHONDONTWRITEBYTECODE``), every
    ``extract`` process would compile them again (about 50 ms of its start-up)."""
    root = Path(__file__).resolve().parents[1]
    for package in ("reportparse", "spinecore"):
        compileall.compile_dir(root / package, quiet=1)


def _environ() -> dict[str, str]:
    """This process's environment with the repository on the module path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}


def bare_tokenizer_process(input_csv: Path) -> float:
    """Wall seconds of a fresh process that reads ``input_csv`` and runs ``spacy.blank("en")`` over its texts, from
    its start to its exit; spaCy is imported after ``reportparse`` (which keeps torch out of it), as in
    ``extract``."""
    code = ("import csv, sys\nimport reportparse\nimport spacy\n"
            "csv.field_size_limit(sys.maxsize)\nwith open(sys.argv[1], newline='', encoding='utf-8') as fh:\n"
            "    texts = [row['text'] for row in csv.DictReader(fh)]\nnlp = spacy.blank('en')\n"
            "for _ in nlp.pipe(texts, batch_size=256):\n    pass\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(input_csv)], env=_environ(), check=True)
    return time.perf_counter() - start


def run_extract(input_csv: Path, output: Path, n_process: int, refresh_every: int | None = None
                ) -> tuple[float, float, float]:
    """``reportparse extract`` in a fresh process; returns (wall seconds from start to exit, CPU seconds of the
    process and its workers, peak RSS in MiB over the process and its workers)."""
    env = _environ()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # each worker is a child of the extract process, so its peak is in that process's RUSAGE_CHILDREN. The
    # process's own peak is VmHWM where Linux has it: its ru_maxrss keeps the peak of the process it was started
    # from across exec (this benchmark's, a few hundred MiB after the stage timings)
    code = ("import resource, sys\nfrom pathlib import Path\nfrom reportparse.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
            "status = Path('/proc/self/status')\n"
            "own = (int(next(l for l in status.read_text().splitlines() if l.startswith('VmHWM:')).split()[1])\n"
            "       if status.exists() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "print('PEAK', max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n")
    res = subprocess.run([sys.executable, "-c", code, "extract", str(input_csv), "-o", str(output),
                          "-j", str(n_process),
                          *(["--refresh-every", str(refresh_every)] if refresh_every is not None else [])],
                         capture_output=True, text=True, env=env, check=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak_kib = int(res.stdout.rsplit("PEAK", 1)[1].split()[0])
    return seconds, cpu, peak_kib / 1024


def bare_tokenizer(texts: list[str], warm: list[str] | None = None) -> tuple[float, float]:
    """Reports per wall-clock second and per CPU second of ``spacy.blank("en")`` over the texts, after a warm-up on
    ``warm`` (default: the first 100 texts, which the pass then meets again)."""
    import spacy

    nlp = spacy.blank("en")
    for _ in nlp.pipe(texts[:100] if warm is None else warm):
        pass
    start, cpu = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return len(texts) / (time.perf_counter() - start), len(texts) / (time.process_time() - cpu)


def stage_ms(texts: list[str], warm: list[str] | None = None) -> dict[str, float]:
    """CPU milliseconds per report of the tokenizer and every pipeline component, in a pipeline built for the
    purpose as ``extract`` builds it for a run without an evidence table (as the benchmark's runs are) and warmed
    up on ``warm`` (default: the first 100 texts, which the pass then meets again)."""
    from reportparse.pipeline import build_pipeline

    nlp = build_pipeline(evidence=False)
    for text in texts[:100] if warm is None else warm:
        nlp(text).user_data.clear()
    totals = {"tokenizer": 0.0, **{name: 0.0 for name in nlp.pipe_names}}
    for text in texts:
        t = time.process_time()
        doc = nlp.make_doc(text)
        totals["tokenizer"] += time.process_time() - t
        for name, proc in nlp.pipeline:
            t = time.process_time()
            doc = proc(doc)
            totals[name] += time.process_time() - t
        doc.user_data.clear()  # freed at once, as parse_text frees it (no garbage collection to time)
    return {name: 1000 * total / len(texts) for name, total in totals.items()}


def print_stages(stages: dict[str, float], bare_cpu: float) -> None:
    """The per-stage table, its total and the total's rate against the bare tokenizer's rate per CPU second."""
    for name, ms in stages.items():
        print(f"  {name:26s} {ms:6.3f}")
    total = sum(stages.values())
    print(f"  {'total':26s} {total:6.3f}  ({1000 / total:,.0f} reports per CPU second, "
          f"{1000 / total / bare_cpu:.2f} x the bare tokenizer)")


def speed(tmp: Path, n: int, seed: int, headers: bool) -> None:
    """The speed runs on ``n`` reports, each opened by a :func:`header` line when ``headers``: bare tokenizer,
    ``extract -j 1`` and ``-j 2``, per-stage costs."""
    input_csv = tmp / f"reports{'-headers' if headers else ''}.csv"
    rng = random.Random(seed)
    texts = [(header(rng) if headers else "") + r.text for r in generate(n, seed=seed)]
    write_texts(input_csv, texts, "S")
    print(f"{len(texts)} synthetic reports{', each opening with a header line' if headers else ''}, "
          f"mean {statistics.mean(map(len, texts)):.0f} characters, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine slows "
          "every figure, the CPU-second ones least)")
    bare, bare_cpu = bare_tokenizer(texts)
    print(f"bare spacy.blank('en') tokenizer, in this process after import: {bare:,.0f} reports/s "
          f"({bare_cpu:,.0f} per CPU second)")
    bare_seconds = min(bare_tokenizer_process(input_csv) for _ in range(3))
    bare_started = len(texts) / bare_seconds
    print(f"bare spacy.blank('en') tokenizer as a fresh process, start-up included (best of 3): "
          f"{bare_started:,.0f} reports/s ({bare_seconds:.2f} s from process start to exit)")
    rates = {}
    for n_process in (1, 2):
        # best of 3 by wall clock, as the bare process is timed
        seconds, cpu, peak = min(run_extract(input_csv, tmp / f"levels{n_process}.csv", n_process)
                                 for _ in range(3))
        rates[n_process] = len(texts) / seconds
        print(f"reportparse extract -j {n_process}: {rates[n_process]:,.0f} reports/s "
              f"({seconds:.1f} s from process start to exit, best of 3), {rates[n_process] / bare_started:.2f} x the bare "
              f"tokenizer process ({rates[n_process] / bare:.2f} x the in-process pass); "
              f"{len(texts) / cpu:,.0f} reports per CPU second ({len(texts) / cpu / bare_cpu:.2f} x); "
              f"peak RSS {peak:,.0f} MiB")
    print(f"-j 2 / -j 1: {rates[2] / rates[1]:.2f} x (wall clock)")
    print("per stage, ms per report (one process, after start-up):")
    print_stages(stage_ms(texts), bare_cpu)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def real_style(tmp: Path, seed: int, rounds: int = 5) -> None:
    """Per-stage costs on real-style texts that the parser meets for the first time: the gold set's reports
    (written for this project in many radiologists' styles) and, where ``../shared`` is beside the repository,
    the real clinical notes. The synthetic reports repeat their words and phrases, which the tokenizer's cache
    and the parser's memos reward; these texts mostly do not. Each of ``rounds`` rounds builds a fresh pipeline
    and a fresh bare tokenizer, warms both up on 300 synthetic reports and then makes one pass over the texts;
    the stage table gives the rounds' minima (start-up not included).

    Then the issue's footing (one ``extract`` process on 2,000 reports, start-up included, against the bare
    tokenizer's pass), estimated for 2,000 such texts: the CPU seconds of an ``extract -j 1`` process on one of
    them (start-up: imports and pipeline build) plus 2,000 times the cost per text, against the bare tokenizer's
    rate per CPU second; from each figure's best round, and from each round's own three figures, taken back to
    back (their median and range: the host's speed drifts by 10-20% within minutes on a shared machine, so the
    two views differ by as much as it moved). (The process's own time on all the texts less its start-up would be
    the direct figure, but it is the difference of two runs of about a second, whose noise is as large as the parse
    of 119 texts.) Reading and writing the rows is left out (about 0.05-0.1 ms per report on the synthetic
    reports); 2,000 distinct reports would repeat more words than these texts, so the estimate leans low."""
    from reportparse.gold import load_gold
    from reportparse.io import ReportReader

    root = Path(__file__).resolve().parents[1]
    texts = [report.text for report in load_gold(root / "gold" / "annotations.json")]
    notes = root.parent / "shared" / "data" / "reports-real" / "notes.jsonl"
    if notes.is_file():
        texts += [row.text for row in ReportReader(notes) if row.text]
    warm = [r.text for r in generate(300, seed=seed + 7)]
    print(f"{len(texts)} real-style texts (the gold set{' and the real notes' if notes.is_file() else ''}), "
          f"mean {statistics.mean(map(len, texts)):.0f} characters, first pass after a warm-up on other reports, "
          f"{rounds} rounds")
    one = write_texts(tmp / "real-style-1.csv", texts[:1], "R")
    measured = []  # per round: (bare rate per CPU second, stage costs, start-up CPU seconds)
    for _ in range(rounds):
        bare_cpu = bare_tokenizer(texts, warm)[1]
        stages = stage_ms(texts, warm)
        startup = run_extract(one, tmp / "real-style-levels.csv", 1)[1]
        measured.append((bare_cpu, stages, startup))
    bare_best = max(bare for bare, _, _ in measured)
    print(f"bare spacy.blank('en') tokenizer: {bare_best:,.0f} reports per CPU second (best round; "
          f"{min(bare for bare, _, _ in measured):,.0f} in the slowest)")
    print("per stage, ms per report (one process, after start-up; each stage's best round):")
    print_stages({name: min(stages[name] for _, stages, _ in measured) for name in measured[0][1]}, bare_best)
    startup = min(startup for _, _, startup in measured)
    parse = min(sum(stages.values()) for _, stages, _ in measured)
    seconds = startup + 2 * parse
    print(f"estimated for 2,000 such reports, start-up included: start-up (reportparse extract -j 1 on one text) + "
          f"2,000 x the ms per text, against the bare tokenizer. Each figure's best round: {startup:.2f} CPU s + "
          f"2,000 x {parse:.2f} ms = {seconds:.2f} s, {2000 / seconds:,.0f} reports per CPU second, "
          f"{2000 / seconds / bare_best:.2f} x the bare tokenizer")
    ratios = sorted(2000 / (own_startup + 2 * sum(own_stages.values())) / own_bare
                    for own_bare, own_stages, own_startup in measured)
    print(f"  each round's own three figures: median {ratios[len(ratios) // 2]:.2f} x, "
          f"range {ratios[0]:.2f}-{ratios[-1]:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="reports in the speed runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rss", type=int, nargs="*", default=[], metavar="N",
                        help="also measure peak memory of extract on N streamed reports (e.g. 10000 1000000)")
    parser.add_argument("--refresh-every", type=int, default=None, metavar="N",
                        help="passed to extract in the --rss runs (default: extract's own; 0: never rebuild)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed runs (only the --rss runs)")
    parser.add_argument("--tmp", help="folder for the generated inputs (default: the system's temporary folder)")
    args = parser.parse_args()
    compile_toolkit()
    from reportparse import native

    print(f"lexicon, level, finding and grade stages: {native.status()} (see reportparse/native.py; "
          f"{native.PURE_ENV}=1 runs them from their sources)")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if not args.no_speed:
            for headers in (False, True):
                speed(Path(tmp), args.n, args.seed, headers)
            real_style(Path(tmp), args.seed)
        for n in args.rss:
            big = Path(tmp) / f"reports{n}.csv"
            start = time.perf_counter()
            write_reports(big, n, args.seed + 1_000_000, headers=True)
            print(f"{n:,} reports: input written in {time.perf_counter() - start:,.0f} s "
                  f"({big.stat().st_size / 2**20:,.0f} MiB)")
            seconds, cpu, peak = run_extract(big, Path(tmp) / f"levels{n}.csv", 1, args.refresh_every)
            print(f"{n:,} reports: reportparse extract {n / seconds:,.0f} reports/s ({seconds:,.0f} s, "
                  f"{cpu:,.0f} CPU s), peak RSS {peak:,.0f} MiB (--refresh-every "
                  f"{'default' if args.refresh_every is None else args.refresh_every})")
            big.unlink()


if __name__ == "__main__":
    main()
