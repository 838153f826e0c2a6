"""``reportparse extract``: a file of reports in, a levels table (and optionally evidence) out.

Streams the input in batches (bounded memory for files of millions of reports), parses them in one process or
in ``n_process`` worker processes (each builds the pipeline once), and writes the outputs atomically. Every
input row yields six level rows with a ``status``: ``ok``, ``empty`` (no text) or ``error`` (with a reason).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import time
from contextlib import nullcontext
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy
from spacy.language import Language

from spinecore.config import Config
from spinecore.io import TableWriter
from spinecore.schema import LEVEL_COLUMNS, LEVELS, LOCATIONS

from .errors import Errors, ReportParseError, Warnings
from .grades import Evidence
from .io import InputRow, ReportReader
from .pipeline import REFRESH_EVERY, RefreshingPipeline, parse_text
from .rules import cached_rules

logger = logging.getLogger(__name__)

EVIDENCE_COLUMNS = ("report_id", "level", "location", "grade", "sentence", "start", "end", "span_start", "span_end",
                    "section", "rank", "flags", "used", "row")
#: Reports between two calls of ``extract``'s progress callback (a progress bar's update costs more than a tenth
#: of a report's parse).
PROGRESS_EVERY = 32
#: The fields of an evidence row taken from :class:`reportparse.grades.Evidence` (read by name: ``asdict`` deep-copies
#: every value and cost a fifth of the parse time).
_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))


@dataclass
class ExtractConfig(Config):
    """Settings of one extraction run."""

    id_col: str | None = None
    text_col: str | None = None
    rules_dir: str | None = None
    n_process: int = 1
    batch_size: int = 64
    max_chars: int = 200_000
    refresh_every: int = REFRESH_EVERY  # rebuild the parser after this many reports per process (0: never)

    def validate(self) -> None:
        if self.n_process < 1:
            raise ReportParseError(Errors.E108.format(value=self.n_process))
        if self.max_chars < 1:
            raise ReportParseError(Errors.E110.format(value=self.max_chars))
        if self.refresh_every < 0:
            raise ReportParseError(Errors.E113.format(value=self.refresh_every, default=REFRESH_EVERY))


@dataclass
class ExtractSummary:
    """What a run did: report counts per status, grade counts per location (Figure 2b of the paper)."""

    reports: int = 0
    level_rows: int = 0
    evidence_rows: int = 0
    status: Counter = field(default_factory=Counter)
    grades: dict[str, Counter] = field(default_factory=lambda: {loc: Counter() for loc in LOCATIONS})
    duplicates: int = 0
    seconds: float = 0.0

    def add(self, result: "ReportResult") -> None:
        self.reports += 1
        self.status[result.status] += 1
        self.level_rows += len(result.levels)
        self.evidence_rows += len(result.evidence)
        if result.status == "ok":
            for row in result.levels:
                for loc in LOCATIONS:
                    self.grades[loc][row[loc]] += 1


@dataclass
class ReportResult:
    status: str
    levels: list[dict[str, Any]]
    evidence: list[dict[str, Any]]


def parse_row(nlp: Language, item: InputRow, max_chars: int, with_evidence: bool = True) -> ReportResult:
    """Parse one input row into its six level rows and (``with_evidence``) its evidence rows; never raises."""
    reason = item.problem or ""
    status = "error" if item.problem else "ok"
    text = item.text
    grades = None
    evidence: list[dict[str, Any]] = []
    if status == "ok" and not item.report_id:
        status, reason = "error", Warnings.W203
    elif status == "ok" and (text is None or not text.strip()):
        status, reason = "empty", Warnings.W201
    elif status == "ok" and len(text) > max_chars:
        status, reason = "error", Warnings.W202.format(n=len(text), limit=max_chars)
    if status == "ok":
        if "\ufffd" in text:
            reason = Warnings.W205
        try:
            grades = parse_text(text, nlp)
        except Exception as err:  # keep the row: a parser bug must not lose a report
            logger.exception("parser failure on row %s", item.row)
            status, reason = "error", Warnings.W207.format(error=f"{type(err).__name__}: {err}")
    rows = []
    for level in LEVELS:
        row = {"report_id": item.report_id, "level": level, "scs": None, "rfs": None, "lfs": None,
               "status": status, "reason": reason, "flags": "", "row": item.row}
        rows.append(row)
    if grades is not None:
        for row, graded in zip(rows, grades.rows()):
            row.update(graded)
        for ev in grades.evidence if with_evidence else ():
            evidence.append({"report_id": item.report_id, **{name: getattr(ev, name) for name in _EVIDENCE_FIELDS},
                             "flags": ";".join(ev.flags), "row": item.row})
    return ReportResult(status, rows, evidence)


class SeenIds:
    """The report ids met so far, each with the input row of its first occurrence, in about 24 bytes per id.

    The duplicate check (W204) must remember every id of the run; a dict of strings costs about 130 bytes per id
    (130 MiB for a million reports). Recent ids stay in a dict; every ``flush`` ids they move into arrays of their
    128-bit BLAKE2 digests (two ``uint64`` halves, sorted by the first) with their rows. Two different ids collide
    with a probability of about n^2 / 2^129 (1e-27 for a million ids).
    """

    def __init__(self, flush: int = 16_384):
        self.flush = flush
        self.recent: dict[str, int] = {}
        self.high = numpy.empty(0, dtype=numpy.uint64)
        self.low = numpy.empty(0, dtype=numpy.uint64)
        self.rows = numpy.empty(0, dtype=numpy.int64)

    @staticmethod
    def _digest(report_id: str) -> bytes:
        """The id's 16-byte digest: two little-endian ``uint64`` halves."""
        return hashlib.blake2b(report_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def first_row(self, report_id: str, row: int) -> int | None:
        """The row where ``report_id`` was first met, or None when it is new (it is then remembered at ``row``)."""
        first = self.recent.get(report_id)
        if first is not None:
            return first
        if len(self.rows):
            raw = self._digest(report_id)
            high, low = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
            k = int(numpy.searchsorted(self.high, numpy.uint64(high)))
            while k < len(self.high) and int(self.high[k]) == high:
                if int(self.low[k]) == low:
                    return int(self.rows[k])
                k += 1
        self.recent[report_id] = row
        if len(self.recent) >= self.flush:
            self._merge()
        return None

    def _merge(self) -> None:
        # the peak of a long run is a merge's: the arrays, the recent ids and what the merge makes of them. So the
        # digests are read from one bytes object (not a Python int per half), and the new ids go in by insertion, one
        # column at a time (a concatenation and a sort of all the ids held about twice the arrays)
        digests = numpy.frombuffer(b"".join([self._digest(rid) for rid in self.recent]), "<u8").reshape(-1, 2)
        rows = numpy.fromiter(self.recent.values(), numpy.int64, len(self.recent))
        self.recent = {}
        order = numpy.argsort(digests[:, 0])
        high, low, rows = digests[order, 0], digests[order, 1], rows[order]
        at = numpy.searchsorted(self.high, high)
        self.high = numpy.insert(self.high, at, high)
        self.low = numpy.insert(self.low, at, low)
        self.rows = numpy.insert(self.rows, at, rows)


_WORKER: dict[str, Any] = {}


def _init_worker(rules_dir: str | None, refresh_every: int, evidence: bool) -> None:
    _WORKER["pipeline"] = RefreshingPipeline(rules_dir, refresh_every, evidence)
    _WORKER["pipeline"].build()


def _parse_batch(batch: list[InputRow], max_chars: int, with_evidence: bool) -> list[ReportResult]:
    pipeline = _WORKER["pipeline"]
    return [parse_row(pipeline(), item, max_chars, with_evidence) for item in batch]


def _batches(rows: Iterable[InputRow], size: int) -> Iterator[list[InputRow]]:
    batch: list[InputRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_results(rows: Iterable[InputRow], config: ExtractConfig, pipeline: RefreshingPipeline | None = None,
                 with_evidence: bool = True) -> Iterator[ReportResult]:
    """Parse rows in input order, in this process (with ``pipeline``, made from the config when None) or in
    ``config.n_process`` workers (bounded queue); ``with_evidence=False`` leaves the evidence rows out. Each
    process builds a fresh parser every ``config.refresh_every`` reports (:class:`RefreshingPipeline`; nothing
    else may hold on to an old one, or its vocabulary stays in memory); without evidence, one that leaves it out."""
    if pipeline is not None and with_evidence and not pipeline.evidence:
        raise ValueError("iter_results(with_evidence=True) needs a pipeline that keeps the evidence: "
                         "RefreshingPipeline(..., evidence=True)")
    if config.n_process == 1:
        pipeline = pipeline or RefreshingPipeline(config.rules_dir, config.refresh_every, with_evidence)
        for item in rows:
            yield parse_row(pipeline(), item, config.max_chars, with_evidence)
        return
    batches = _batches(rows, config.batch_size)
    ctx = mp.get_context("spawn" if mp.get_start_method(allow_none=True) == "spawn" else "fork")
    with ctx.Pool(config.n_process, initializer=_init_worker,
                  initargs=(config.rules_dir, config.refresh_every, with_evidence)) as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.apply_async(_parse_batch, (batch, config.max_chars, with_evidence)))
            if len(pending) >= 4 * config.n_process:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def extract(input_path: str | Path, output_path: str | Path, evidence_path: str | Path | None = None,
            config: ExtractConfig | None = None,
            progress: Callable[[int], None] | None = None) -> ExtractSummary:
    """Parse every report of ``input_path`` and write the levels table (and evidence) atomically.

    Args:
        input_path: CSV, JSONL or Parquet with one report per row.
        output_path: ``.csv``, ``.jsonl`` or ``.parquet``; six rows per input row.
        evidence_path: optional table of grade decisions, same formats.
        config: columns, rules folder, processes, limits.
        progress: called with the number of reports finished since the last call (every
            :data:`PROGRESS_EVERY` reports, and once at the end).

    Raises:
        ReportParseError: for a missing or unreadable input, missing columns, bad rules or bad options.
    """
    config = config or ExtractConfig()
    config.validate()
    with_evidence = bool(evidence_path)
    # fail fast on bad rules, before any output is opened; with workers, only they need a pipeline
    pipeline = None
    if config.n_process == 1:
        pipeline = RefreshingPipeline(config.rules_dir, config.refresh_every, with_evidence)
        pipeline.build()
    else:
        cached_rules(config.rules_dir)
    reader = ReportReader(input_path, config.id_col, config.text_col)
    logger.info("reading %s (id column %r, text column %r)", input_path, reader.id_col, reader.text_col)
    summary = ExtractSummary()
    seen = SeenIds()
    start = time.perf_counter()
    out = TableWriter(output_path, LEVEL_COLUMNS, int_columns=("scs", "rfs", "lfs", "row"))
    ev_out = TableWriter(evidence_path, EVIDENCE_COLUMNS,
                         int_columns=("grade", "start", "end", "span_start", "span_end", "row"),
                         bool_columns=("used",)) if with_evidence else None
    with out, (ev_out or nullcontext()):
        buffer: list[dict[str, Any]] = []
        ev_buffer: list[dict[str, Any]] = []
        done = 0
        for result in iter_results(reader, config, pipeline, with_evidence):
            rid, row = result.levels[0]["report_id"], result.levels[0]["row"]
            first = seen.first_row(rid, row) if rid else None
            if first is not None:
                summary.duplicates += 1
                note = Warnings.W204.format(row=first)
                for r in result.levels:
                    r["reason"] = f"{r['reason']}; {note}" if r["reason"] else note
            summary.add(result)
            buffer.extend(result.levels)
            ev_buffer.extend(result.evidence)
            if len(buffer) >= 6000:
                out.write(buffer)
                buffer = []
                if ev_out:
                    ev_out.write(ev_buffer)
                    ev_buffer = []
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
        if progress and done % PROGRESS_EVERY:
            progress(done % PROGRESS_EVERY)
        out.write(buffer)
        if ev_out:
            ev_out.write(ev_buffer)
    summary.seconds = time.perf_counter() - start
    logger.info("parsed %d reports in %.1f s", summary.reports, summary.seconds)
    return summary
