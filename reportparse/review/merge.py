"""Merge the reviewers' answers: into the gold set (:func:`pull`) or into a levels table (:func:`pull_levels`).

Per report (the tasks of one report id taken together), each reviewer's latest submitted annotation counts
(skipped ones, and ones that set no grade, do not). When the reviewers agree, their labels are the report's
reviewed labels; when they differ, the report is an *inter-reader disagreement*: listed in the summary and in a
JSON sidecar ``<output stem>.disagreements.json``, and its previous labels are kept.

The gold set records every review of a report (:attr:`GoldReport.reviews`: who, when, ``changed``, ``confirmed``
or ``added``), so a report confirmed without a change is on record as reviewed. A levels table (the labels
``grading train`` reads, e.g. after a model-versus-report review) gets the reviewed grades in the rows of the
report, with status ``reviewed`` and who and when in ``reason``.

Nothing is written unless the whole export was read and merged; outputs are written atomically, and an in-place
update first copies the file to ``<stem>.<UTC time>.bak<suffix>``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spinecore.schema import LEVEL_COLUMNS, LEVELS, LOCATIONS

from ..errors import Errors, ReportParseError
from ..gold import CHOICE_NAMES, CONTROLS, GoldReport, labels_from_result, load_gold, save_gold
from .server import Server, export_error, fetch_export, shorten
from .tasks import MARKS_KEY, REASON_KEY, Labels, write_json

logger = logging.getLogger(__name__)


@dataclass
class Disagreement:
    """An inter-reader disagreement: the reviewers of one report gave different labels."""

    report_id: str
    task_ids: list[int]
    #: one entry per reviewer: ``annotator``, ``annotation_id``, ``created_at``, ``updated_at``, ``labels``
    annotations: list[dict[str, Any]]
    #: the slots they disagree on: ``level``, ``location``, ``answers`` (annotator -> choice)
    slots: list[dict[str, Any]]
    #: ``kept`` when the output keeps the report's previous labels, ``none`` when it had none
    kept: str


@dataclass
class Review:
    """The agreed answer of the reviewers of one report."""

    report_id: str
    data: dict[str, Any]
    labels: Labels
    reviewers: list[str]
    created_at: str | None
    updated_at: str | None
    #: the latest reviewer's result items other than the grades (evidence regions)
    spans: list[dict[str, Any]]


@dataclass
class PullSummary:
    """What :func:`pull` or :func:`pull_levels` did.

    Counts of the export: ``tasks`` (every task of the project), ``reports`` (distinct report ids), ``reviewed``
    (reports with a submitted annotation that sets grades), ``skipped`` (reports whose reviewers only skipped) and
    :attr:`waiting` (reports nobody has answered yet). Of the reviewed reports: ``changed`` (labels the reviewers
    changed), ``added`` (reports new to the output), ``confirmed`` (labels the reviewers left as they were),
    ``disagreements`` (reviewers who disagree; previous labels kept). ``recorded`` counts the reviews new to the
    gold record (a review already recorded by an earlier pull is not recorded twice).
    """

    source: str
    target: str
    output: str | None
    backup: str | None
    sidecar: str | None
    tasks: int = 0
    reports: int = 0
    reviewed: int = 0
    skipped: int = 0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    recorded: int = 0

    @property
    def waiting(self) -> int:
        return self.reports - self.reviewed - self.skipped


def _stamp(value: Any, source: str, where: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise export_error(source, f"{where} is {value!r}, not an ISO 8601 timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _check_export(tasks: Any, source: str) -> list[dict[str, Any]]:
    """Check the structure of a Label Studio JSON export (the fields :func:`pull` reads); E406 otherwise."""
    if not isinstance(tasks, list):
        kind = type(tasks).__name__ + (f" with the keys {list(tasks)[:6]}" if isinstance(tasks, dict) else "")
        raise export_error(source, f"expected a JSON list of tasks, got a JSON {kind}")
    for index, task in enumerate(tasks):
        where = f"task #{index + 1}"
        if not isinstance(task, dict):
            raise export_error(source, f"{where} is {shorten(repr(task), 80)}, not a task object")
        where = f"task {task.get('id', '#' + str(index + 1))}"
        data = task.get("data")
        if not isinstance(data, dict):
            raise export_error(source, f"{where} has no 'data' object")
        if not isinstance(data.get("report_id"), (str, int)) or not str(data["report_id"]).strip():
            raise export_error(source, f"{where}: data.report_id is {data.get('report_id')!r}; expected a report id")
        if not isinstance(data.get("text"), str):
            raise export_error(source, f"{where}: data.text is {shorten(repr(data.get('text')), 80)}; expected the "
                                       "report text")
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise export_error(source, f"{where}: 'annotations' is {shorten(repr(annotations), 80)}; expected a list")
        for n, ann in enumerate(annotations):
            if not isinstance(ann, dict):
                raise export_error(source, f"{where}: annotations[{n}] is {shorten(repr(ann), 80)}, not an "
                                           "annotation object")
            result = ann.get("result")
            if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
                raise export_error(source, f"{where}: annotations[{n}].result is {shorten(repr(result), 80)}; "
                                           "expected a list of result objects")
            for key in ("created_at", "updated_at"):
                if ann.get(key) is not None:
                    _stamp(ann[key], source, f"{where}: annotations[{n}].{key}")
    return tasks


def _annotator(completed_by: Any, users: dict[int, str]) -> str:
    if isinstance(completed_by, dict):
        for key in ("email", "username", "id"):
            if completed_by.get(key) not in (None, ""):
                value = completed_by[key]
                return users.get(value, str(value)) if key == "id" else str(value)
        return "unknown"
    if isinstance(completed_by, int) and not isinstance(completed_by, bool):
        return users.get(completed_by, str(completed_by))
    return "unknown" if completed_by in (None, "") else str(completed_by)


def _backup_path(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.stem}.{stamp}.bak{path.suffix}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.stem}.{stamp}-{n}.bak{path.suffix}")
        n += 1
    return backup


def sidecar_path(gold_out: str | Path) -> Path:
    """Where :func:`pull` lists the disagreements for the gold file ``gold_out``: ``<stem>.disagreements.json``."""
    gold_out = Path(gold_out)
    return gold_out.with_name(f"{gold_out.stem}.disagreements.json")


def _read_export(project: str | None, export: str | Path | None, url: str | None, api_key: str | None,
                 timeout: float) -> tuple[list[dict[str, Any]], dict[int, str], str]:
    """The checked tasks of a project's export (or of an export file), user id -> email, and the source's name."""
    if (project is None) == (export is None):
        raise ReportParseError(Errors.E412.format(got="both" if project is not None else "neither"))
    if project is not None:
        raw, users, source = fetch_export(Server(url, api_key, command="pull", timeout=timeout), project)
        return _check_export(raw, source), users, source
    export = Path(export)
    if not export.is_file():
        raise ReportParseError(Errors.E101.format(path=export, cwd=Path.cwd()))
    source = f"file '{export}'"
    try:
        raw = json.loads(export.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise export_error(source, f"not valid JSON ({err})") from None
    return _check_export(raw, source), {}, source


def collect_reviews(tasks: list[dict[str, Any]], users: dict[int, str], source: str, summary: PullSummary,
                    known: set[str]) -> list[Review]:
    """The agreed reviews of a checked export, in task order; counts and disagreements go into ``summary``.

    ``known`` are the report ids the output already has labels for (a disagreement keeps them).
    """
    order: list[str] = []
    grouped: dict[str, list[tuple[dict, dict]]] = {}
    first: dict[str, dict] = {}
    for task in tasks:
        report_id = str(task["data"]["report_id"]).strip()
        if report_id not in first:
            first[report_id] = task
            grouped[report_id] = []
            order.append(report_id)
        grouped[report_id].extend((task, ann) for ann in task.get("annotations", []))
    summary.tasks, summary.reports = len(tasks), len(order)
    reviews = []
    for report_id in order:
        latest: dict[str, tuple[datetime, dict, Labels]] = {}
        cancelled = False
        for task, ann in grouped[report_id]:
            if ann.get("was_cancelled"):
                cancelled = True
                continue
            if not any(item.get("from_name") in CONTROLS for item in ann["result"]):
                logger.warning("report %r: annotation %s of task %s sets no grade; not counted", report_id,
                               ann.get("id"), task.get("id"))
                continue
            who = _annotator(ann.get("completed_by"), users)
            stamp = ann.get("updated_at") or ann.get("created_at")
            when = _stamp(stamp, source, "updated_at") if stamp else datetime.min.replace(tzinfo=timezone.utc)
            labels = labels_from_result(ann["result"], task=task.get("id"))
            if who not in latest or when >= latest[who][0]:
                latest[who] = (when, ann, labels)
        if not latest:
            summary.skipped += cancelled
            continue
        summary.reviewed += 1
        reviewers = sorted(latest)
        answers = [latest[who][2] for who in reviewers]
        if any(labels != answers[0] for labels in answers[1:]):
            slots = [{"level": level, "location": loc,
                      "answers": {who: CHOICE_NAMES[latest[who][2][level][loc]] for who in reviewers}}
                     for level in LEVELS for loc in LOCATIONS
                     if len({latest[who][2][level][loc] for who in reviewers}) > 1]
            summary.disagreements.append(Disagreement(
                report_id, sorted({t["id"] for t, _ in grouped[report_id] if isinstance(t.get("id"), int)}),
                [{"annotator": who, "annotation_id": latest[who][1].get("id"),
                  "created_at": latest[who][1].get("created_at"), "updated_at": latest[who][1].get("updated_at"),
                  "labels": latest[who][2]} for who in reviewers], slots,
                "kept" if report_id in known else "none"))
            logger.warning("report %r: the reviewers %s disagree on %d slot(s); %s", report_id, ", ".join(reviewers),
                           len(slots), "its labels are kept" if report_id in known else "it gets no labels")
            continue
        anns = [latest[who][1] for who in reviewers]
        created = min((a.get("created_at") for a in anns if a.get("created_at")), default=None,
                      key=lambda s: _stamp(s, source, "created_at"))
        updated = max((a.get("updated_at") or a.get("created_at") for a in anns
                       if a.get("updated_at") or a.get("created_at")), default=None,
                      key=lambda s: _stamp(s, source, "updated_at"))
        spans = [item for item in anns[-1]["result"] if item.get("from_name") not in CONTROLS]
        reviews.append(Review(report_id, first[report_id]["data"], answers[0], reviewers, created, updated, spans))
    return reviews


def _target(path: Path, out: str | Path | None, in_place: bool) -> Path:
    """The file a pull writes (``out`` or ``path`` itself); E408, E409, E107 on bad options."""
    if in_place == (out is not None):
        raise ReportParseError(Errors.E408.format(gold=path, got="both" if in_place else "neither"))
    if out is not None and Path(out).resolve() == path.resolve():
        raise ReportParseError(Errors.E409.format(out=out))
    target = path if in_place else Path(out)
    if not target.parent.is_dir():
        raise ReportParseError(Errors.E107.format(path=target.parent))
    return target


def _finish(summary: PullSummary, path: Path, target: Path, in_place: bool, write: bool,
            save: Callable[[Path], None]) -> PullSummary:
    """Back up and write (``save(target)``) when there is something to write, then the disagreements sidecar."""
    if write:
        if in_place:
            backup = _backup_path(path)
            shutil.copy2(path, backup)
            summary.backup = str(backup)
        save(target)
        summary.output = str(target)
    else:
        logger.info("nothing new to record; %s left as it is", path)
    sidecar = sidecar_path(target)
    write_json(sidecar, [asdict(d) for d in summary.disagreements])
    summary.sidecar = str(sidecar)
    logger.info("%d task(s) of %d report(s) %s: %d reviewed (%d changed, %d added, %d confirmed, %d disagreements), "
                "%d skipped, %d not answered yet", summary.tasks, summary.reports, summary.source, summary.reviewed,
                len(summary.changed), len(summary.added), len(summary.confirmed), len(summary.disagreements),
                summary.skipped, summary.waiting)
    return summary


def pull(gold: str | Path, project: str | None = None, *, export: str | Path | None = None,
         out: str | Path | None = None, in_place: bool = False, url: str | None = None, api_key: str | None = None,
         timeout: float = 30.0) -> PullSummary:
    """Merge the reviewers' annotations of a Label Studio project (or of an export file) into the gold set.

    Args:
        gold: the gold set (Label Studio JSON export, ``gold/annotations.json``).
        project: the title of the project (server from ``url``/``LABEL_STUDIO_URL``); or
        export: a JSON export of the project saved by hand.
        out: write the merged gold set here (a new file); or
        in_place: replace ``gold``, after copying it to ``<stem>.<UTC time>.bak.json`` beside it.

    Agreed labels replace the gold labels (``changed``; annotator and times from the reviewers) or add the report
    (``added``); labels equal to the gold ones are ``confirmed``. Each is recorded in the report's ``reviews``.
    With ``in_place``, the file is rewritten only when there is a new review to record.

    Raises:
        ReportParseError: (E408, E409) bad output options; (E401-E405, E411, E412) server or source problems;
            (E406) a malformed export; (E301-E309) a missing or malformed gold file; (E101) a missing export file.
    """
    gold = Path(gold)
    target = _target(gold, out, in_place)
    reports = load_gold(gold)
    tasks, users, source = _read_export(project, export, url, api_key, timeout)
    summary = PullSummary(source, str(gold), None, None, None)
    by_id = {r.report_id: r for r in reports}
    added: list[GoldReport] = []
    for review in collect_reviews(tasks, users, source, summary, set(by_id)):
        previous = by_id.get(review.report_id)
        if previous is None:
            data = dict(review.data)
            split = data.pop("split", None)
            previous = GoldReport(report_id=review.report_id, text=data.pop("text"), labels=review.labels,
                                  split=split if isinstance(split, str) else None,
                                  annotator=", ".join(review.reviewers), created_at=review.created_at,
                                  updated_at=review.updated_at, extra_result=review.spans,
                                  data={k: v for k, v in data.items() if k not in ("report_id", REASON_KEY, MARKS_KEY)})
            added.append(previous)
            by_id[review.report_id] = previous
            outcome, listed = "added", summary.added
        elif previous.labels == review.labels:
            outcome, listed = "confirmed", summary.confirmed
        else:
            previous.labels = review.labels
            previous.annotator = ", ".join(review.reviewers)
            previous.created_at, previous.updated_at = review.created_at, review.updated_at
            previous.extra_result = review.spans
            outcome, listed = "changed", summary.changed
        if outcome != "added" and previous.text != review.data["text"]:
            logger.warning("report %r: the text in %s differs from the gold text; the gold text is kept",
                           review.report_id, source)
        listed.append(review.report_id)
        record = {"reviewers": review.reviewers, "reviewed_at": review.updated_at, "outcome": outcome,
                  "source": source}
        if not any(r.get("reviewers") == record["reviewers"] and r.get("reviewed_at") == record["reviewed_at"]
                   for r in previous.reviews):
            previous.reviews.append(record)
            summary.recorded += 1
    return _finish(summary, gold, target, in_place, bool(summary.recorded) or not in_place,
                   lambda path: save_gold(reports + added, path))


def pull_levels(levels: str | Path, project: str | None = None, *, export: str | Path | None = None,
                out: str | Path | None = None, in_place: bool = False, url: str | None = None,
                api_key: str | None = None, timeout: float = 30.0) -> PullSummary:
    """Merge the reviewers' annotations into a levels table (``report_id, level, scs, rfs, lfs, ...``: the labels
    ``grading train`` reads), e.g. after a model-versus-report review pushed with ``--predictions``.

    The six rows of each reviewed report get the reviewed grades (not stated: empty), status ``reviewed`` and
    ``reason`` ``reviewed by <reviewers> at <time>``; a reviewed report missing from the table gets six new rows.
    Other rows and columns are kept as they are; the output has the input's format (by ``out``'s suffix).

    Raises:
        ReportParseError: as :func:`pull`; (E312) a bad grade in the levels table. CoreError: (C001-C004) a
            missing or unreadable levels table.
    """
    from spinecore.io import TableWriter

    from ..io import read_rows, report_id

    levels = Path(levels)
    target = _target(levels, out, in_place)
    rows = [rec for _, rec in read_rows(levels, ("report_id", "level", *LOCATIONS), role="Levels")]
    columns = list(dict.fromkeys([*LEVEL_COLUMNS, *(c for r in rows for c in r)]))
    known = {report_id(r["report_id"]) for r in rows}
    tasks, users, source = _read_export(project, export, url, api_key, timeout)
    summary = PullSummary(source, str(levels), None, None, None)
    reviews = {r.report_id: r for r in collect_reviews(tasks, users, source, summary, known)}
    done: set[str] = set()
    for rec in rows:
        review = reviews.get(report_id(rec["report_id"]))
        level = str(rec["level"]).strip()
        if review is None or level not in LEVELS:
            continue
        before = {loc: _int(rec[loc]) for loc in LOCATIONS}
        rec.update(review.labels[level], status="reviewed", flags="",
                   reason=f"reviewed by {', '.join(review.reviewers)} at {review.updated_at}")
        if before != review.labels[level] and review.report_id not in summary.changed:
            summary.changed.append(review.report_id)
        done.add(review.report_id)
    for rid, review in reviews.items():
        if rid not in known:
            rows.extend({"report_id": rid, "level": level, **review.labels[level], "status": "reviewed",
                         "reason": f"reviewed by {', '.join(review.reviewers)} at {review.updated_at}", "flags": ""}
                        for level in LEVELS)
            summary.added.append(rid)
        elif rid not in summary.changed:
            summary.confirmed.append(rid)
    ints = [c for c in (*LOCATIONS, "row") if c in columns]

    def save(path: Path) -> None:
        with TableWriter(path, columns, int_columns=ints) as writer:
            writer.write([{**r, **{c: _int(r.get(c)) for c in ints}} for r in rows])

    return _finish(summary, levels, target, in_place, bool(reviews) or not in_place, save)


def _int(value: Any) -> int | None:
    """A grade or row number as read from a table (int, float or text) as an int, or None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()) or value != value:
        return None
    return int(float(value))
