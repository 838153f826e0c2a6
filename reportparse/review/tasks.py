"""The review tasks: which reports need a look, why, and the pre-annotation a reviewer starts from.

Each task's ``data`` holds ``report_id``, ``text``, ``review_reason`` (one line, shown above the report),
``review_marks`` (one note per grade cell, shown beside its drop-down: empty, or e.g. ``gold mild`` or
``network severe 0.93`` on the disputed cells) and ``split`` for gold reports. Its one prediction (model version
``reportparse-<version>``) pre-fills the 18 grade choices and marks the evidence: one region per decision (a
statement that decided a slot, or either side of a conflict), labelled with its level and location
(``evidence``) and its grade (``evidence_grade``). Statements from excluded sections (indication, history,
technique, comparison) never become evidence.

Three sources: a gold set (the reports where the parser disagrees with the gold labels), a reports file (the
reports whose parse carries a ``conflict``, ``uncertain`` or ``ungraded`` flag), and a reports file with the
grades of ``grading predict`` (the reports where the network, sure of itself, grades a level differently from
the report).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spinecore.io import write_text_atomic
from spinecore.schema import LEVELS, LOCATIONS

from .. import __version__
from ..errors import Errors, ReportParseError
from ..gold import CHOICE_NAMES, EVIDENCE_GRADE_NAME, EVIDENCE_NAME, TEXT_NAME, GoldReport, choices_result, load_gold
from ..grades import ReportGrades
from ..io import ReportReader
from . import MIN_PROBABILITY

logger = logging.getLogger(__name__)

#: The model version of the predictions this toolkit version uploads.
MODEL_VERSION = f"reportparse-{__version__}"
#: Flags of a parse that send a report (from a reports file) to review.
REVIEW_FLAGS = ("conflict", "uncertain", "ungraded")
#: ``data`` keys of a task that only explain the review (dropped when merged into the gold set).
REASON_KEY = "review_reason"
MARKS_KEY = "review_marks"

Labels = dict[str, dict[str, int | None]]


def mark_key(level: str, location: str) -> str:
    """The key of a grade cell in ``data.review_marks`` (the label config reads ``$review_marks.L4_L5_scs``)."""
    return f"{level.replace('-', '_')}_{location}"


def evidence_label(level: str, location: str) -> str:
    """The ``evidence`` label of a statement about ``level`` and ``location``, e.g. ``L4-L5 scs``."""
    return f"{level} {location}"


def prediction_result(text: str, parse: ReportGrades, excluded: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The result items of a prediction: the 18 grade choices, then one region per evidence decision.

    A decision is a statement that decided a slot (``used`` evidence), or a graded statement of a slot flagged
    ``conflict``. Its region carries two labels: ``evidence`` (level and location) and ``evidence_grade``.
    Statements in an ``excluded`` section, or without a level, location or grade, are left out.
    """
    result = [{**item, "origin": "prediction"} for item in choices_result(parse.grades)]
    regions: dict[tuple[int, int, str, str], str] = {}
    for ev in parse.evidence:
        if not ev.level or ev.location not in LOCATIONS or ev.grade is None or ev.section in excluded:
            continue
        if not (ev.used or "conflict" in ev.flags):
            continue
        start, end = (ev.span_start, ev.span_end) if ev.span_end > ev.span_start else (ev.start, ev.end)
        if not 0 <= start < end <= len(text) or not text[start:end].strip():
            continue
        regions.setdefault((start, end, ev.level, ev.location), CHOICE_NAMES[ev.grade])
    for n, ((start, end, level, loc), grade) in enumerate(sorted(regions.items()), start=1):
        value = {"start": start, "end": end, "text": text[start:end]}
        for name, label in ((EVIDENCE_NAME, evidence_label(level, loc)), (EVIDENCE_GRADE_NAME, grade)):
            result.append({"id": f"ev{n}", "from_name": name, "to_name": TEXT_NAME, "type": "labels",
                           "origin": "prediction", "value": {**value, "labels": [label]}})
    return result


@dataclass
class Dispute:
    """One slot to check: ``note`` shows beside its cell, ``reason`` goes into the task's reason line."""

    level: str
    location: str
    note: str
    reason: str


def make_task(report_id: str, text: str, parse: ReportGrades, why: str, disputes: list[Dispute],
              excluded: frozenset[str], split: str | None = None) -> dict[str, Any]:
    """One Label Studio task (import format) with the parser's prediction."""
    marks = {mark_key(level, loc): "" for level in LEVELS for loc in LOCATIONS}
    for d in disputes:
        marks[mark_key(d.level, d.location)] = d.note
    listed = "; ".join(d.reason for d in disputes[:6])
    more = f"; and {len(disputes) - 6} more slot(s)" if len(disputes) > 6 else ""
    data: dict[str, Any] = {"report_id": report_id, "text": text}
    if split is not None:
        data["split"] = split
    data[REASON_KEY] = f"{why} at {len(disputes)} slot(s): {listed}{more}"
    data[MARKS_KEY] = marks
    return {"data": data, "predictions": [{"model_version": MODEL_VERSION,
                                           "result": prediction_result(text, parse, excluded)}]}


def gold_disputes(labels: Labels, grades: Labels) -> list[Dispute]:
    """The slots where the parser's ``grades`` differ from the gold ``labels``; the note shows the gold value."""
    return [Dispute(level, loc, f"gold {CHOICE_NAMES[labels[level][loc]]}",
                    f"{level} {loc}: parser {CHOICE_NAMES[grades[level][loc]]}, "
                    f"gold {CHOICE_NAMES[labels[level][loc]]}")
            for level in LEVELS for loc in LOCATIONS if grades[level][loc] != labels[level][loc]]


def flag_disputes(parse: ReportGrades) -> list[Dispute]:
    """The slots whose parse carries a review flag, e.g. ``L4-L5 scs: conflict``."""
    out = []
    for level in LEVELS:
        for loc in LOCATIONS:
            flags = [f for f in parse.flags[level][loc] if f in REVIEW_FLAGS]
            if flags:
                out.append(Dispute(level, loc, ", ".join(flags), f"{level} {loc}: {', '.join(flags)}"))
    return out


@dataclass
class NetworkGrade:
    """The network's grade of one slot and its probability."""

    grade: int
    probability: float


def read_network_grades(path: str | Path) -> dict[str, dict[tuple[str, str], NetworkGrade]]:
    """report_id -> (level, location) -> the network's grade, from a table written by ``grading predict``.

    Levels that could not be graded (status ``failed``, or an empty grade) are left out.

    Raises:
        ReportParseError: (E101, E102, E105) a missing or unreadable file; (E413) a column of ``grading predict``
            missing; (E312) a grade or probability out of range.
    """
    from ..io import read_grade, read_rows, report_id

    path = Path(path)
    probs = [f"{loc}_p{g}" for loc in LOCATIONS for g in range(4)]
    rows = read_rows(path, (), role="Predictions", producer="'grading predict'")
    columns = list(rows[0][1]) if rows else []
    missing = [c for c in ("report_id", "level", "status", *LOCATIONS, *probs) if c not in columns]
    if missing:
        raise ReportParseError(Errors.E413.format(path=path, missing=missing[0], columns=columns))
    out: dict[str, dict[tuple[str, str], NetworkGrade]] = {}
    for row, rec in rows:
        rid, level = report_id(rec["report_id"]), str(rec["level"]).strip()
        if not rid or str(rec["status"]).strip() == "failed":
            continue
        if level not in LEVELS:
            raise ReportParseError(Errors.E312.format(path=path, row=row, column="level", value=rec["level"],
                                                      expected=f"one of {list(LEVELS)}"))
        for loc in LOCATIONS:
            grade = read_grade(rec[loc], path, row, loc)
            if grade is None:
                continue
            p = rec[f"{loc}_p{grade}"]
            try:
                p = float(p)
            except (TypeError, ValueError):
                p = math.nan
            if not 0 <= p <= 1:
                raise ReportParseError(Errors.E312.format(path=path, row=row, column=f"{loc}_p{grade}", value=rec[
                    f"{loc}_p{grade}"], expected="a probability between 0 and 1"))
            out.setdefault(rid, {})[(level, loc)] = NetworkGrade(grade, p)
    return out


def network_disputes(grades: Labels, network: dict[tuple[str, str], NetworkGrade],
                     min_probability: float) -> list[Dispute]:
    """The slots the report grades and the network grades differently with at least ``min_probability``."""
    out = []
    for level in LEVELS:
        for loc in LOCATIONS:
            net, label = network.get((level, loc)), grades[level][loc]
            if net is None or label is None or net.grade == label or net.probability < min_probability:
                continue
            out.append(Dispute(level, loc, f"network {CHOICE_NAMES[net.grade]} {net.probability:.2f}",
                               f"{level} {loc}: report {CHOICE_NAMES[label]}, network {CHOICE_NAMES[net.grade]} "
                               f"(p {net.probability:.2f})"))
    return out


def _unique_rows(reports: str | Path, id_col: str | None, text_col: str | None, max_chars: int
                 ) -> Iterator[tuple[str, str]]:
    """(report id, text) of the usable rows of a reports file, first row of each id; logs what it skipped."""
    seen: set[str] = set()
    skipped = duplicates = 0
    for row in ReportReader(reports, id_col, text_col):
        if row.problem or not row.report_id or not row.text or not row.text.strip() or len(row.text) > max_chars:
            skipped += 1
        elif row.report_id in seen:
            duplicates += 1
        else:
            seen.add(row.report_id)
            yield row.report_id, row.text
    if skipped or duplicates:
        logger.warning("%s: %d row(s) without an id or a usable text and %d repeated report id(s) skipped",
                       reports, skipped, duplicates)


def build_tasks(gold: str | Path | list[GoldReport] | None = None, reports: str | Path | None = None, *,
                predictions: str | Path | None = None, min_probability: float = MIN_PROBABILITY,
                split: str | None = None, id_col: str | None = None, text_col: str | None = None,
                rules_dir: str | Path | None = None, max_chars: int = 200_000) -> list[dict[str, Any]]:
    """The Label Studio tasks (import format, with the parser's prediction) of the reports that need a look.

    Args:
        gold: a gold set (Label Studio JSON export, or loaded reports): tasks for the reports where the parser
            disagrees with the gold labels.
        reports: a reports file (.csv, .jsonl, .parquet): tasks for the reports whose parse is flagged
            ``conflict``, ``uncertain`` or ``ungraded``; with ``predictions``, the report texts. Rows without an
            id or text, or longer than ``max_chars``, are skipped; a repeated report id keeps its first row.
        predictions: the table of ``grading predict`` (its ``report_id`` is the report id): tasks for the
            reports where the network's grade, with a probability of at least ``min_probability``, differs from
            the report's stated grade. The pre-annotation holds the report's grades; the notes the network's.
        split: only the gold reports of this split.

    Returns one task per report id, in input order.

    Raises:
        ReportParseError: (E407) not exactly one of ``gold`` and ``reports``, or ``predictions`` without
            ``reports``; (E414) ``min_probability`` outside 0-1; (E310) an unknown split; a missing or malformed
            gold, reports or predictions file; bad rules.
    """
    from ..pipeline import default_pipeline, parse_text
    from ..rules import load_rules

    if predictions is not None and (gold is not None or reports is None):
        raise ReportParseError(Errors.E407.format(got="--predictions, which needs --reports (the report texts) "
                                                      "and no --gold"))
    if (gold is None) == (reports is None):
        raise ReportParseError(Errors.E407.format(got="both" if gold is not None else "neither"))
    if not 0 <= min_probability <= 1:
        raise ReportParseError(Errors.E414.format(value=min_probability))
    network = read_network_grades(predictions) if predictions is not None else None
    rules = str(Path(rules_dir).resolve()) if rules_dir is not None else None
    nlp = default_pipeline(rules)
    excluded = load_rules(rules).grammar.excluded_sections
    tasks: list[dict[str, Any]] = []
    if gold is not None:
        gold_all = load_gold(gold) if isinstance(gold, (str, Path)) else list(gold)
        selected = [r for r in gold_all if split is None or r.split == split]
        if split is not None and not selected:
            raise ReportParseError(Errors.E310.format(split=split, splits=sorted({str(r.split) for r in gold_all})))
        for report in selected:
            parse = parse_text(report.text, nlp)
            disputes = gold_disputes(report.labels, parse.grades)
            if disputes:
                tasks.append(make_task(report.report_id, report.text, parse, "parser disagrees with the gold set",
                                       disputes, excluded, report.split))
        logger.info("%d of %d gold reports disagree with the parser", len(tasks), len(selected))
        return tasks
    if split is not None:
        logger.warning("--split applies to a gold set only; ignored for the reports file %s", reports)
    texts_seen: list[str] = []
    for report_id, text in _unique_rows(reports, id_col, text_col, max_chars):
        texts_seen.append(report_id)
        if network is not None and report_id not in network:
            continue
        parse = parse_text(text, nlp)
        if network is None:
            disputes, why = flag_disputes(parse), "parse flagged"
        else:
            disputes = network_disputes(parse.grades, network[report_id], min_probability)
            why = f"network (p >= {min_probability:.2f}) disagrees with the report"
        if disputes:
            tasks.append(make_task(report_id, text, parse, why, disputes, excluded))
    if network is not None:
        logger.info("%d of %d graded studies disagree with their report (p >= %.2f); %d have no report in %s",
                    len(tasks), len(network), min_probability, len(set(network) - set(texts_seen)), reports)
    else:
        logger.info("%d of %d reports have a flagged parse", len(tasks), len(texts_seen))
    return tasks


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def export_tasks(path: str | Path, gold: str | Path | list[GoldReport] | None = None,
                 reports: str | Path | None = None, **options: Any) -> list[dict[str, Any]]:
    """Write the tasks of :func:`build_tasks` (same arguments) as a Label Studio JSON import file; return them.

    Import it in Label Studio (project > Import) into a project set up with ``reportparse.gold.label_config()``.

    Raises:
        ReportParseError: (E410) a path not ending in .json; (E107) a missing output folder; as :func:`build_tasks`.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise ReportParseError(Errors.E410.format(path=path))
    if not path.parent.is_dir():
        raise ReportParseError(Errors.E107.format(path=path.parent))
    tasks = build_tasks(gold, reports, **options)
    write_json(path, tasks)
    logger.info("wrote %d tasks to %s", len(tasks), path)
    return tasks
