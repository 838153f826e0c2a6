"""The hand-annotated gold set in Label Studio's JSON export format (``gold/annotations.json``).

One Label Studio task per report: ``data`` holds ``report_id``, ``text``, ``split`` (``tune`` or ``holdout``) and
any other keys (kept on a round trip); each annotation's ``result`` holds one ``choices`` item per slot, from the
control ``{level}_{location}`` (e.g. ``L4-L5_scs``) with one of the values of :data:`GRADE_CHOICES`, and
optionally ``labels`` items (evidence spans on the text, from the ``evidence`` control). The labelling interface
is :func:`label_config` (``rules/labelstudio/label_config.xml``). ``data.reviews`` records who reviewed the report
in Label Studio and when (:attr:`GoldReport.reviews`).

:func:`load_gold` reads an export (the latest annotation of each task is its label) and :func:`save_gold` writes
one; ``load_gold(save_gold(reports))`` gives ``reports`` back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from spinecore.io import write_text_atomic
from spinecore.schema import LEVELS, LOCATIONS

from .errors import Errors, ReportParseError

logger = logging.getLogger(__name__)

#: Choice value of a grade control -> grade (None: the report does not settle the slot).
GRADE_CHOICES: dict[str, int | None] = {"normal": 0, "mild": 1, "moderate": 2, "severe": 3, "not stated": None}
#: Grade -> choice value.
CHOICE_NAMES: dict[int | None, str] = {grade: name for name, grade in GRADE_CHOICES.items()}
#: The names of the 18 grade controls, ``{level}_{location}``, in level then location order.
CONTROLS: tuple[str, ...] = tuple(f"{level}_{loc}" for level in LEVELS for loc in LOCATIONS)
TEXT_NAME = "text"
#: The two labels controls of an evidence region: level and location (``L4-L5 scs``), and grade (``moderate``).
EVIDENCE_NAME = "evidence"
EVIDENCE_GRADE_NAME = "evidence_grade"
#: ``data`` key of the review record of a report (:attr:`GoldReport.reviews`).
REVIEWS_KEY = "reviews"
#: Identity and timestamp written when a report carries none (the gold set was written by hand, not in Label Studio).
DEFAULT_ANNOTATOR = "gold-author@deepspine.local"
DEFAULT_TIMESTAMP = "2026-11-27T12:10:32.000000Z"

_CONTROL_SLOTS = {f"{level}_{loc}": (level, loc) for level in LEVELS for loc in LOCATIONS}


@dataclass
class GoldReport:
    """One gold report: ``labels[level][location]`` is 0-3 or None (not stated) for all 6 x 3 slots."""

    report_id: str
    text: str
    labels: dict[str, dict[str, int | None]]
    split: str | None = None
    annotator: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    task_id: int | None = None
    data: dict = field(default_factory=dict)
    #: result items other than the 18 grade choices (evidence spans), kept verbatim on a round trip
    extra_result: list[dict] = field(default_factory=list)
    #: every review of the report, oldest first: ``reviewers`` (emails), ``reviewed_at`` (ISO time), ``outcome``
    #: (``changed``, ``confirmed`` or ``added``) and ``source`` (the project or export); ``data.reviews`` in the file
    reviews: list[dict] = field(default_factory=list)


def label_config() -> str:
    """The Label Studio labelling interface of the gold set and of review (``rules/labelstudio/label_config.xml``)."""
    return (resources.files("rules") / "labelstudio" / "label_config.xml").read_text(encoding="utf-8")


def empty_labels() -> dict[str, dict[str, int | None]]:
    """All 18 slots not stated."""
    return {level: {loc: None for loc in LOCATIONS} for level in LEVELS}


def check_labels(labels: Any, report_id: str = "?") -> dict[str, dict[str, int | None]]:
    """Return ``labels`` if it has every level and location with a grade 0-3 or None; else raise E308."""
    for level in LEVELS:
        row = labels.get(level) if isinstance(labels, dict) else None
        for loc in LOCATIONS:
            value = row.get(loc, "<missing>") if isinstance(row, dict) else "<missing>"
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3):
                raise ReportParseError(Errors.E308.format(report_id=report_id, level=level, location=loc,
                                                          value=value, levels=list(LEVELS),
                                                          locations=list(LOCATIONS)))
    return labels


def choices_result(labels: dict[str, dict[str, int | None]]) -> list[dict]:
    """Label Studio result items for the 18 grade controls (``not stated`` included), in level/location order.

    Raises:
        ReportParseError: (E308) when a slot is missing or is not 0-3 or None.
    """
    check_labels(labels)
    return [{"id": f"{level}_{loc}", "from_name": f"{level}_{loc}", "to_name": TEXT_NAME, "type": "choices",
             "origin": "manual", "value": {"choices": [CHOICE_NAMES[labels[level][loc]]]}}
            for level in LEVELS for loc in LOCATIONS]


def labels_from_result(result: list[dict], task: Any = None) -> dict[str, dict[str, int | None]]:
    """The 6 x 3 labels of a Label Studio result list (the inverse of :func:`choices_result`).

    A grade control missing from ``result`` is None (not stated); items of other controls (evidence spans) are
    ignored. ``task`` only names the task in error messages.

    Raises:
        ReportParseError: (E305) a choice value not in :data:`GRADE_CHOICES`; (E306) several choices for one
            control, or two items of one control that disagree; (E304) an item that is not a result object.
    """
    labels = empty_labels()
    seen: dict[str, int | None] = {}
    for item in result:
        if not isinstance(item, dict):
            raise ReportParseError(Errors.E304.format(path="<result>", task=task, key="result[]", value=item,
                                                      expected="a result object"))
        control = item.get("from_name")
        if control not in _CONTROL_SLOTS or item.get("type", "choices") != "choices":
            continue
        value = item.get("value")
        chosen = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(chosen, list):
            raise ReportParseError(Errors.E304.format(path="<result>", task=task, key=f"{control}.value.choices",
                                                      value=chosen, expected="a list of one choice"))
        if len(chosen) > 1:
            raise ReportParseError(Errors.E306.format(task=task, control=control, n=len(chosen), values=chosen))
        if not chosen:  # a cleared choice: not stated
            grade = None
        else:
            name = chosen[0].strip().lower() if isinstance(chosen[0], str) else chosen[0]
            if name not in GRADE_CHOICES:
                raise ReportParseError(Errors.E305.format(task=task, control=control, value=chosen[0],
                                                          choices=list(GRADE_CHOICES)))
            grade = GRADE_CHOICES[name]
        if control in seen and seen[control] != grade:
            raise ReportParseError(Errors.E306.format(task=task, control=control, n=2,
                                                      values=[CHOICE_NAMES[seen[control]], CHOICE_NAMES[grade]]))
        seen[control] = grade
        level, loc = _CONTROL_SLOTS[control]
        labels[level][loc] = grade
    return labels


def _timestamp(value: Any, path: Path, task: Any, key: str) -> datetime:
    """Parse an export timestamp; naive times are taken as UTC."""
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReportParseError(Errors.E309.format(task=task, key=key, value=value)) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _annotator(completed_by: Any) -> str | None:
    if isinstance(completed_by, dict):
        for key in ("email", "username", "id"):
            if completed_by.get(key) not in (None, ""):
                return str(completed_by[key])
        return None
    return None if completed_by is None else str(completed_by)


def _latest(annotations: list[Any], path: Path, task: Any) -> dict | None:
    """The annotation with the latest ``updated_at`` (else ``created_at``); cancelled (skipped) ones do not count."""
    best, best_key = None, None
    for index, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            raise ReportParseError(Errors.E304.format(path=path, task=task, key=f"annotations[{index}]", value=ann,
                                                      expected="an annotation object"))
        if ann.get("was_cancelled"):
            continue
        stamp = ann.get("updated_at") or ann.get("created_at")
        key = (_timestamp(stamp, path, task, "updated_at") if stamp
               else datetime.min.replace(tzinfo=timezone.utc), index)
        if best_key is None or key > best_key:
            best, best_key = ann, key
    return best


def load_gold(path: str | Path) -> list[GoldReport]:
    """Read a Label Studio JSON export: one :class:`GoldReport` per annotated task, in file order.

    The latest annotation of a task (by ``updated_at``) is its label; cancelled annotations are ignored and tasks
    without an annotation are skipped with a warning.

    Raises:
        ReportParseError: (E301-E309) a missing or malformed file, a bad choice, a duplicate report id.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportParseError(Errors.E301.format(path=path, cwd=Path.cwd()))
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportParseError(Errors.E302.format(path=path, error=err)) from None
    if not isinstance(tasks, list):
        got = f"a JSON {type(tasks).__name__}"
        if isinstance(tasks, dict):
            got += f" with the keys {list(tasks)[:6]}"
        raise ReportParseError(Errors.E303.format(path=path, got=got))
    reports: list[GoldReport] = []
    first_task: dict[str, Any] = {}
    skipped = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise ReportParseError(Errors.E304.format(path=path, task=f"#{index + 1}", key="task", value=task,
                                                      expected="a task object with 'data' and 'annotations'"))
        task_id = task.get("id")
        name = f"#{index + 1}" if task_id is None else task_id
        data = task.get("data")
        if not isinstance(data, dict):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key="data", value=data,
                                                      expected="an object with 'report_id' and 'text'"))
        for key in ("report_id", "text"):
            if not isinstance(data.get(key), str) or (key == "report_id" and not data[key].strip()):
                raise ReportParseError(Errors.E304.format(path=path, task=name, key=f"data.{key}",
                                                          value=data.get(key), expected="a non-empty string"
                                                          if key == "report_id" else "a string"))
        split = data.get("split")
        if split is not None and not isinstance(split, str):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key="data.split", value=split,
                                                      expected="a string such as 'tune' or 'holdout', or null"))
        if task_id is not None and (isinstance(task_id, bool) or not isinstance(task_id, int)):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key="id", value=task_id,
                                                      expected="an integer task id"))
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key="annotations", value=annotations,
                                                      expected="a list of annotations"))
        report_id = data["report_id"].strip()
        if report_id in first_task:
            raise ReportParseError(Errors.E307.format(path=path, report_id=report_id, first=first_task[report_id],
                                                      second=name))
        first_task[report_id] = name
        ann = _latest(annotations, path, name)
        if ann is None:
            skipped.append(report_id)
            continue
        result = ann.get("result")
        if not isinstance(result, list):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key="annotations[].result", value=result,
                                                      expected="a list of result items"))
        labels = labels_from_result(result, task=name)
        reviews = data.get(REVIEWS_KEY, [])
        if not isinstance(reviews, list) or not all(isinstance(r, dict) for r in reviews):
            raise ReportParseError(Errors.E304.format(path=path, task=name, key=f"data.{REVIEWS_KEY}", value=reviews,
                                                      expected="a list of review records (objects)"))
        extra = [item for item in result if item.get("from_name") not in _CONTROL_SLOTS]
        reports.append(GoldReport(
            report_id=report_id, text=data["text"], labels=labels, split=split,
            annotator=_annotator(ann.get("completed_by")), created_at=ann.get("created_at"),
            updated_at=ann.get("updated_at"), task_id=task_id,
            data={k: v for k, v in data.items() if k not in ("report_id", "text", "split", REVIEWS_KEY)},
            extra_result=extra, reviews=reviews))
    if skipped:
        logger.warning("%s: %d task(s) without an annotation skipped: %s", path, len(skipped),
                       ", ".join(skipped[:10]) + (" ..." if len(skipped) > 10 else ""))
    logger.info("read %d gold reports from %s", len(reports), path)
    return reports


def to_tasks(reports: list[GoldReport]) -> list[dict]:
    """Label Studio tasks (JSON export format) for ``reports``; reports without a ``task_id`` get the next free id.

    Raises:
        ReportParseError: (E308) labels that are not 6 x 3 grades 0-3 or None; (E307) a duplicate report id.
    """
    used = {r.task_id for r in reports if r.task_id is not None}
    next_id = max(used, default=0) + 1
    seen: dict[str, int] = {}
    tasks = []
    for report in reports:
        check_labels(report.labels, report.report_id)
        task_id = report.task_id
        if task_id is None or task_id in seen.values():
            task_id, next_id = next_id, next_id + 1
        if report.report_id in seen:
            raise ReportParseError(Errors.E307.format(path="<save>", report_id=report.report_id,
                                                      first=seen[report.report_id], second=task_id))
        seen[report.report_id] = task_id
        data = {"report_id": report.report_id, "text": report.text}
        if report.split is not None:
            data["split"] = report.split
        data.update((k, v) for k, v in report.data.items() if k not in ("report_id", "text", "split", REVIEWS_KEY))
        if report.reviews:
            data[REVIEWS_KEY] = report.reviews
        created = report.created_at or DEFAULT_TIMESTAMP
        annotation = {"id": task_id, "completed_by": {"email": report.annotator or DEFAULT_ANNOTATOR},
                      "created_at": created, "updated_at": report.updated_at or created, "lead_time": None,
                      "was_cancelled": False, "task": task_id,
                      "result": choices_result(report.labels) + list(report.extra_result)}
        tasks.append({"id": task_id, "data": data, "annotations": [annotation], "predictions": []})
    return tasks


def save_gold(reports: list[GoldReport], path: str | Path) -> None:
    """Write ``reports`` as a Label Studio JSON export (one task and one annotation per report), atomically.

    Raises:
        ReportParseError: (E107) a missing output folder; (E308, E307) bad labels or duplicate report ids.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ReportParseError(Errors.E107.format(path=path.parent))
    write_text_atomic(path, json.dumps(to_tasks(reports), indent=1, ensure_ascii=False) + "\n")
    logger.info("wrote %d gold reports to %s", len(reports), path)
