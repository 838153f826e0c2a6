"""``reportparse review``: send the doubtful reports to Label Studio, and merge the reviewers' answers into the gold set.

* :func:`build_tasks` picks the reports that need a look and turns each into a Label Studio task: with a gold set,
  the reports where the parser disagrees with the gold labels; with a file of reports, the reports whose parse
  carries a ``conflict``, ``uncertain`` or ``ungraded`` flag. Each task's ``data`` holds ``report_id``, ``text``,
  ``review_reason`` (and ``split`` for gold reports); its one prediction (model version ``reportparse-<version>``)
  pre-fills the 18 grade choices with the parser's grades and highlights the evidence behind them (``SCS``,
  ``RFS``, ``LFS`` spans on the text: the statements that decided each slot, and both sides of a conflict).
* :func:`export_tasks` writes those tasks as a Label Studio import file (for a server this machine cannot reach).
* :func:`push` creates or updates a project with the gold label config and uploads the tasks. Tasks are matched
  on ``data.report_id``: pushing again adds only new reports, and replaces this version's prediction where the
  parse changed (a new toolkit version adds its own prediction next to the old one).
* :func:`pull` exports the project's annotations (or reads an export file) and merges them into the gold set,
  written to a new file or in place after a timestamped backup. Each merged report keeps who annotated it
  (``completed_by`` email) and when. A task whose reviewers disagree (different labels from different users) is
  an *inter-reader disagreement*: it is listed in the result and in a JSON sidecar, and the gold keeps its
  previous labels for that report.

The server address and API key come from ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (or the ``url`` and
``api_key`` arguments); the key is never logged nor put in a message. A server that cannot be reached, a rejected
key or a malformed export raises a coded :class:`ReportParseError` (E4xx) before anything is written.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .errors import Errors, ReportParseError
from .gold import CHOICE_NAMES, CONTROLS, EVIDENCE_NAME, TEXT_NAME, GoldReport, choices_result, label_config, \
    labels_from_result, load_gold, save_gold
from .grades import ReportGrades
from .io import ReportReader, write_text_atomic
from .rules import LEVELS, LOCATIONS

logger = logging.getLogger(__name__)

ENV_URL = "LABEL_STUDIO_URL"
ENV_API_KEY = "LABEL_STUDIO_API_KEY"
#: The model version of the predictions this toolkit version uploads.
MODEL_VERSION = f"reportparse-{__version__}"
#: Flags of a parse that send a report (from a reports file) to review.
REVIEW_FLAGS = ("conflict", "uncertain", "ungraded")
#: Location -> the label of its evidence spans in the label config's ``evidence`` control.
EVIDENCE_LABELS = {"scs": "SCS", "rfs": "RFS", "lfs": "LFS"}
#: ``data`` key of a task that says why the report was sent to review (dropped when merged into the gold set).
REASON_KEY = "review_reason"
PROJECT_DESCRIPTION = ("Lumbar MRI reports for review (deepspine-toolkit). Pre-annotations: the reportparse grades "
                       "and the evidence behind them. Correct every grade the report does not support.")
IMPORT_CHUNK = 500
#: Seconds to wait for a project export (a large project takes a while to serialise).
EXPORT_TIMEOUT_S = 600

Labels = dict[str, dict[str, int | None]]
T = TypeVar("T")


# --------------------------------------------------------------------------------------------------- tasks


def prediction_result(text: str, parse: ReportGrades) -> list[dict[str, Any]]:
    """The result items of a prediction: the 18 grade choices, then one ``labels`` span per evidence statement.

    Evidence spans are the statements that decided a slot (``used`` evidence rows), and every graded statement
    of a slot flagged ``conflict`` (so that the reviewer sees both sides). One span that decides several levels
    is one region; its ``meta`` note lists the levels and grades.
    """
    result = [{**item, "origin": "prediction"} for item in choices_result(parse.grades)]
    spans: dict[tuple[int, int, str], list[str]] = {}
    for ev in parse.evidence:
        if not ev.level or ev.location not in EVIDENCE_LABELS:
            continue
        if not (ev.used or (ev.grade is not None and "conflict" in ev.flags)):
            continue
        start, end = (ev.span_start, ev.span_end) if ev.span_end > ev.span_start else (ev.start, ev.end)
        if not 0 <= start < end <= len(text) or not text[start:end].strip():
            continue
        note = f"{ev.level} {CHOICE_NAMES[ev.grade]}" + (" (not used)" if not ev.used else "")
        notes = spans.setdefault((start, end, EVIDENCE_LABELS[ev.location]), [])
        if note not in notes:
            notes.append(note)
    for n, ((start, end, label), notes) in enumerate(sorted(spans.items()), start=1):
        result.append({"id": f"ev{n}", "from_name": EVIDENCE_NAME, "to_name": TEXT_NAME, "type": "labels",
                       "origin": "prediction", "value": {"start": start, "end": end, "text": text[start:end],
                                                         "labels": [label]},
                       "meta": {"text": ["; ".join(notes)]}})
    return result


def _task(report_id: str, text: str, parse: ReportGrades, reason: str, split: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"report_id": report_id, "text": text}
    if split is not None:
        data["split"] = split
    data[REASON_KEY] = reason
    return {"data": data, "predictions": [{"model_version": MODEL_VERSION, "result": prediction_result(text, parse)}]}


def gold_disagreements(labels: Labels, grades: Labels) -> list[str]:
    """The slots where the parser's ``grades`` differ from the gold ``labels``, e.g. ``L4-L5 scs: parser
    moderate, gold mild``."""
    return [f"{level} {loc}: parser {CHOICE_NAMES[grades[level][loc]]}, gold {CHOICE_NAMES[labels[level][loc]]}"
            for level in LEVELS for loc in LOCATIONS if grades[level][loc] != labels[level][loc]]


def flagged_slots(parse: ReportGrades) -> list[str]:
    """The slots whose parse carries a review flag, e.g. ``L4-L5 scs: conflict``."""
    return [f"{level} {loc}: {flag}" for level in LEVELS for loc in LOCATIONS for flag in parse.flags[level][loc]
            if flag in REVIEW_FLAGS]


def _listing(items: list[str], limit: int = 6) -> str:
    return "; ".join(items[:limit]) + (f"; and {len(items) - limit} more slot(s)" if len(items) > limit else "")


def build_tasks(gold: str | Path | list[GoldReport] | None = None, reports: str | Path | None = None, *,
                split: str | None = None, id_col: str | None = None, text_col: str | None = None,
                rules_dir: str | Path | None = None, max_chars: int = 200_000) -> list[dict[str, Any]]:
    """The Label Studio tasks (import format, with the parser's prediction) of the reports that need a look.

    Args:
        gold: a gold set (Label Studio JSON export, or loaded reports): tasks for the reports where the parser
            disagrees with the gold labels.
        reports: a reports file (.csv, .jsonl, .parquet): tasks for the reports whose parse is flagged
            ``conflict``, ``uncertain`` or ``ungraded``. Rows without an id or text, or longer than ``max_chars``,
            are skipped; a repeated report id keeps its first row.
        split: only the gold reports of this split.

    Returns one task per report id, in input order.

    Raises:
        ReportParseError: (E407) not exactly one of ``gold`` and ``reports``; (E310) an unknown split; a missing or
            malformed gold or reports file; bad rules.
    """
    from .pipeline import default_pipeline, parse_text

    if (gold is None) == (reports is None):
        raise ReportParseError(Errors.E407.format(got="both" if gold is not None else "neither"))
    nlp = default_pipeline(str(Path(rules_dir).resolve()) if rules_dir is not None else None)
    tasks: list[dict[str, Any]] = []
    if gold is not None:
        gold_all = load_gold(gold) if isinstance(gold, (str, Path)) else list(gold)
        selected = [r for r in gold_all if split is None or r.split == split]
        if split is not None and not selected:
            raise ReportParseError(Errors.E310.format(split=split, splits=sorted({str(r.split) for r in gold_all})))
        for report in selected:
            parse = parse_text(report.text, nlp)
            slots = gold_disagreements(report.labels, parse.grades)
            if slots:
                tasks.append(_task(report.report_id, report.text, parse,
                                   "parser disagrees with the gold set at " + _listing(slots), report.split))
        logger.info("%d of %d gold reports disagree with the parser", len(tasks), len(selected))
        return tasks
    if split is not None:
        logger.warning("--split applies to a gold set only; ignored for the reports file %s", reports)
    seen: set[str] = set()
    skipped = duplicates = read = 0
    for row in ReportReader(reports, id_col, text_col):
        read += 1
        if row.problem or not row.report_id or not row.text or not row.text.strip() or len(row.text) > max_chars:
            skipped += 1
            continue
        if row.report_id in seen:
            duplicates += 1
            continue
        seen.add(row.report_id)
        parse = parse_text(row.text, nlp)
        slots = flagged_slots(parse)
        if slots:
            tasks.append(_task(row.report_id, row.text, parse, "parse flagged at " + _listing(slots)))
    if skipped or duplicates:
        logger.warning("%s: %d row(s) without an id or a usable text and %d repeated report id(s) skipped",
                       reports, skipped, duplicates)
    logger.info("%d of %d reports have a flagged parse", len(tasks), read)
    return tasks


def _write_json(path: Path, value: Any) -> None:
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
    _write_json(path, tasks)
    logger.info("wrote %d tasks to %s", len(tasks), path)
    return tasks


# -------------------------------------------------------------------------------------------------- server


class Server:
    """A Label Studio connection whose calls turn network and HTTP failures into coded errors (E402-E404)."""

    def __init__(self, url: str | None = None, api_key: str | None = None, *, command: str = "push",
                 timeout: float = 30.0):
        with warnings.catch_warnings():  # the SDK's pydantic-v1 style models warn on import
            warnings.simplefilter("ignore", DeprecationWarning)
            from label_studio_sdk import LabelStudio

        url = url if url is not None else os.environ.get(ENV_URL, "")
        api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
        if not url.strip():
            raise ReportParseError(Errors.E401.format(name=ENV_URL, what="address", command=command,
                                                      example=f"export {ENV_URL}=http://localhost:8080"))
        if not api_key.strip():
            raise ReportParseError(Errors.E401.format(name=ENV_API_KEY, what="API key (access token)",
                                                      command=command, example=f"export {ENV_API_KEY}=<token>"))
        self.url = url.strip().rstrip("/")
        self.client = self.call("connect", lambda: LabelStudio(base_url=self.url, api_key=api_key.strip(),
                                                                timeout=timeout))
        self.user = self.call("GET /api/current-user/whoami", self.client.users.whoami)

    def call(self, action: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one or more API requests); raise E402 (unreachable), E403 (key rejected), E404 (other)."""
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            return fn()
        except (httpx.TransportError, httpx.InvalidURL) as err:
            raise ReportParseError(Errors.E402.format(url=self.url, error=_short(err) or type(err).__name__)) \
                from None
        except ApiError as err:
            if err.status_code in (401, 403):
                raise ReportParseError(Errors.E403.format(url=self.url, status=err.status_code)) from None
            raise ReportParseError(Errors.E404.format(url=self.url, status=err.status_code, action=action,
                                                      detail=_api_detail(err.body))) from None

    def pages(self, action: str, fetch: Callable[..., Any], page_size: int = 100) -> list[Any]:
        """Every item of a paginated listing, ``fetch(page=, page_size=)``, page by page.

        Label Studio answers 404 past the last page; a short page also ends the listing (so that a server that
        ignores ``page`` cannot keep this looping).
        """
        from label_studio_sdk.core.api_error import ApiError

        items: list[Any] = []
        for page in itertools.count(1):
            def one() -> list[Any]:
                try:
                    return list(fetch(page=page, page_size=page_size).items or [])
                except ApiError as err:
                    if err.status_code == 404 and page > 1:
                        return []
                    raise

            batch = self.call(action, one)
            items.extend(batch)
            if len(batch) < page_size:
                return items
        raise AssertionError("unreachable")  # pragma: no cover

    def project(self, title: str) -> Any | None:
        """The project with exactly this title, or None; E411 when several have it."""
        found = [p for p in self.pages("GET /api/projects", functools.partial(self.client.projects.list, title=title))
                 if p.title == title]
        if len(found) > 1:
            raise ReportParseError(Errors.E411.format(title=title, url=self.url, ids=sorted(p.id for p in found)))
        return found[0] if found else None

    def titles(self) -> list[str]:
        return sorted(p.title or "" for p in self.pages("GET /api/projects", self.client.projects.list))


def _short(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _api_detail(body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(body.get("detail") or "")]
        if body.get("validation_errors"):
            parts.append(json.dumps(body["validation_errors"], ensure_ascii=False))
        text = " ".join(p for p in parts if p) or json.dumps(body, ensure_ascii=False)
    else:
        text = str(body)
    return _short(text) or "no detail"


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """An attribute of an SDK model, or a key of a plain dict."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@dataclass
class PushSummary:
    """What :func:`push` did. ``created``/``updated``/``unchanged`` count tasks; ``stale`` are report ids of tasks in
    the project that this push no longer selects (left in place)."""

    url: str
    project_id: int
    project_title: str
    project_created: bool
    selected: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def push(project: str, gold: str | Path | list[GoldReport] | None = None, reports: str | Path | None = None, *,
         tasks: list[dict[str, Any]] | None = None, url: str | None = None, api_key: str | None = None,
         timeout: float = 30.0, **options: Any) -> PushSummary:
    """Create or update the Label Studio project titled ``project`` and upload the tasks of :func:`build_tasks`.

    ``tasks`` replaces ``gold``/``reports``/``options`` when given. The project gets the gold label config and the
    model version :data:`MODEL_VERSION`. A report id already in the project is not uploaded again: its data is
    updated if it changed, and its prediction of this model version is replaced if the parse changed.

    Raises:
        ReportParseError: (E401) no server address or key; (E402) the server cannot be reached; (E403) the key is
            rejected; (E404) the server refused a request; (E411) several projects with this title; as
            :func:`build_tasks`.
    """
    server = Server(url, api_key, command="push", timeout=timeout)  # fail fast, before parsing
    if tasks is None:
        tasks = build_tasks(gold, reports, **options)
    client = server.client
    config = label_config()
    found = server.project(project)
    if found is None:
        created = server.call("POST /api/projects", lambda: client.projects.create(
            title=project, label_config=config, description=PROJECT_DESCRIPTION, model_version=MODEL_VERSION))
        project_id, project_created = created.id, True
        logger.info("created Label Studio project %r (id %s) at %s", project, project_id, server.url)
    else:
        project_id, project_created = found.id, False
        current = server.call(f"GET /api/projects/{project_id}", lambda: client.projects.get(project_id))
        if (_get(current, "label_config") or "").strip() != config.strip() or \
                _get(current, "model_version") != MODEL_VERSION:
            server.call(f"PATCH /api/projects/{project_id}", lambda: client.projects.update(
                project_id, label_config=config, model_version=MODEL_VERSION))
            logger.info("updated the label config and model version of project %r (id %s)", project, project_id)
    summary = PushSummary(server.url, project_id, project, project_created, len(tasks))
    existing: dict[str, Any] = {}
    for task in server.pages("GET /api/tasks", functools.partial(client.tasks.list, project=project_id, fields="all")):
        report_id = (_get(task, "data") or {}).get("report_id")
        if report_id in existing:
            logger.warning("project %r: report_id %r is in tasks %s and %s; updating the first", project, report_id,
                           _get(existing[report_id], "id"), _get(task, "id"))
        elif report_id is not None:
            existing[str(report_id)] = task
    new: list[dict[str, Any]] = []
    seen: set[str] = set()
    for task in tasks:
        report_id = str(task["data"]["report_id"])
        if report_id in seen:
            logger.warning("report_id %r appears twice in the tasks; the second is not pushed", report_id)
            continue
        seen.add(report_id)
        if report_id not in existing:
            new.append(task)
            summary.created.append(report_id)
        elif _refresh(server, existing[report_id], task):
            summary.updated.append(report_id)
        else:
            summary.unchanged.append(report_id)
    for start in range(0, len(new), IMPORT_CHUNK):
        chunk = new[start:start + IMPORT_CHUNK]
        server.call(f"POST /api/projects/{project_id}/import", lambda: client.projects.import_tasks(
            project_id, request=chunk, commit_to_project=True, return_task_ids=True))
    summary.stale = sorted(set(existing) - seen)
    logger.info("project %r: %d task(s) created, %d updated, %d unchanged, %d in the project not selected now",
                project, len(summary.created), len(summary.updated), len(summary.unchanged), len(summary.stale))
    return summary


def _refresh(server: Server, current: Any, task: dict[str, Any]) -> bool:
    """Bring an existing task's data and its prediction of this model version up to date; True if anything changed."""
    client = server.client
    task_id = _get(current, "id")
    changed = False
    data = dict(_get(current, "data") or {})
    wanted = {**data, **task["data"]}
    if not _same(data, wanted):
        if data.get("text") != wanted.get("text"):
            logger.warning("task %s (report %r): the report text changed; annotations keep their old offsets",
                           task_id, wanted.get("report_id"))
        server.call(f"PATCH /api/tasks/{task_id}", lambda: client.tasks.update(task_id, data=wanted))
        changed = True
    for prediction in task.get("predictions", []):
        version = prediction.get("model_version")
        mine = [p for p in _get(current, "predictions") or [] if _get(p, "model_version") == version]
        if not mine:
            server.call("POST /api/predictions", lambda: client.predictions.create(
                task=task_id, model_version=version, result=prediction["result"]))
            changed = True
        elif not _same(_get(mine[-1], "result"), prediction["result"]):
            pred_id = _get(mine[-1], "id")
            server.call(f"PATCH /api/predictions/{pred_id}", lambda: client.predictions.update(
                pred_id, model_version=version, result=prediction["result"]))
            changed = True
    return changed


# ----------------------------------------------------------------------------------------------------- pull


@dataclass
class Disagreement:
    """An inter-reader disagreement: the reviewers of one report gave different labels."""

    report_id: str
    task_ids: list[int]
    #: one entry per reviewer: ``annotator``, ``annotation_id``, ``created_at``, ``updated_at``, ``labels``
    annotations: list[dict[str, Any]]
    #: the slots they disagree on: ``level``, ``location``, ``answers`` (annotator -> choice)
    slots: list[dict[str, Any]]
    #: ``gold`` when the gold set keeps its previous labels for the report, ``none`` when it had none
    kept: str


@dataclass
class PullSummary:
    """What :func:`pull` did. ``changed``: gold reports whose labels the reviewers changed; ``added``: reports
    new to the gold set; ``confirmed``: reviewed reports whose gold labels stand."""

    source: str
    gold: str
    output: str | None
    backup: str | None
    sidecar: str | None
    tasks: int
    annotated: int
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)


def _bad(source: str, problem: str) -> ReportParseError:
    return ReportParseError(Errors.E406.format(source=source, problem=problem))


def _stamp(value: Any, source: str, where: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(source, f"{where} is {value!r}, not an ISO 8601 timestamp") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _check_export(tasks: Any, source: str) -> list[dict[str, Any]]:
    """Check the structure of a Label Studio JSON export (the fields :func:`pull` reads); E406 otherwise."""
    if not isinstance(tasks, list):
        kind = type(tasks).__name__ + (f" with the keys {list(tasks)[:6]}" if isinstance(tasks, dict) else "")
        raise _bad(source, f"expected a JSON list of tasks, got a JSON {kind}")
    for index, task in enumerate(tasks):
        where = f"task #{index + 1}"
        if not isinstance(task, dict):
            raise _bad(source, f"{where} is {_short(repr(task), 80)}, not a task object")
        where = f"task {task.get('id', '#' + str(index + 1))}"
        data = task.get("data")
        if not isinstance(data, dict):
            raise _bad(source, f"{where} has no 'data' object")
        if not isinstance(data.get("report_id"), (str, int)) or not str(data["report_id"]).strip():
            raise _bad(source, f"{where}: data.report_id is {data.get('report_id')!r}; expected a report id")
        if not isinstance(data.get("text"), str):
            raise _bad(source, f"{where}: data.text is {_short(repr(data.get('text')), 80)}; expected the report text")
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise _bad(source, f"{where}: 'annotations' is {_short(repr(annotations), 80)}; expected a list")
        for n, ann in enumerate(annotations):
            if not isinstance(ann, dict):
                raise _bad(source, f"{where}: annotations[{n}] is {_short(repr(ann), 80)}, not an annotation object")
            result = ann.get("result")
            if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
                raise _bad(source, f"{where}: annotations[{n}].result is {_short(repr(result), 80)}; expected a "
                                   "list of result objects")
            for key in ("created_at", "updated_at"):
                if ann.get(key) is not None:
                    _stamp(ann[key], source, f"{where}: annotations[{n}].{key}")
    return tasks


def _fetch_export(server: Server, title: str) -> tuple[list[dict[str, Any]], dict[int, str], str]:
    project = server.project(title)
    if project is None:
        titles = server.titles()
        raise ReportParseError(Errors.E405.format(title=title, url=server.url, titles=", ".join(
            repr(t) for t in titles[:20]) + (f" and {len(titles) - 20} more" if len(titles) > 20 else "") or "none"))
    source = f"of project {title!r} (id {project.id}) at {server.url}"
    raw = server.call(f"GET /api/projects/{project.id}/export", lambda: b"".join(
        server.client.projects.exports.download_sync(project.id, export_type="JSON", download_all_tasks=False,
                                                     request_options={"timeout_in_seconds": EXPORT_TIMEOUT_S})))
    try:
        tasks = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad(source, f"not valid JSON ({err}); it starts {_short(repr(raw[:80]), 100)}") from None
    try:
        users = {u.id: u.email or u.username or str(u.id)
                 for u in server.call("GET /api/users", lambda: list(server.client.users.list()))}
    except ReportParseError as err:  # an annotator without the right to list users: keep the numeric ids
        logger.warning("could not list the users of %s (%s); annotators are recorded by user id", server.url, err)
        users = {}
    return tasks, users, source


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

    Per report (tasks of one report id taken together), each reviewer's latest annotation counts (skipped ones,
    and ones that set no grade, do not). When they all agree, the labels replace the gold labels (or add the report) with the
    reviewers' emails and the annotation times; when they differ, the gold keeps its previous labels and the
    report is listed in ``disagreements`` and in the sidecar ``<out stem>.disagreements.json``. Nothing is
    written unless the whole export was read and merged.

    Raises:
        ReportParseError: (E408, E409) bad output options; (E401-E405, E411) server problems; (E406) a malformed
            export; (E301-E309) a missing or malformed gold file; (E101) a missing export file.
    """
    gold = Path(gold)
    if in_place == (out is not None):
        raise ReportParseError(Errors.E408.format(gold=gold, got="both" if in_place else "neither"))
    if out is not None and Path(out).resolve() == gold.resolve():
        raise ReportParseError(Errors.E409.format(out=out))
    if (project is None) == (export is None):
        raise ReportParseError(Errors.E412.format(got="both" if project is not None else "neither"))
    target = gold if in_place else Path(out)
    if not target.parent.is_dir():
        raise ReportParseError(Errors.E107.format(path=target.parent))
    reports = load_gold(gold)
    if project is not None:
        raw, users, source = _fetch_export(Server(url, api_key, command="pull", timeout=timeout), project)
    else:
        export = Path(export)
        if not export.is_file():
            raise ReportParseError(Errors.E101.format(path=export, cwd=Path.cwd()))
        source = f"file '{export}'"
        try:
            raw = json.loads(export.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise _bad(source, f"not valid JSON ({err})") from None
        users = {}
    tasks = _check_export(raw, source)
    summary = PullSummary(source, str(gold), None, None, None, len(tasks), 0)
    by_id = {r.report_id: r for r in reports}
    order: list[str] = []
    grouped: dict[str, list[tuple[dict, dict]]] = {}
    for task in tasks:
        report_id = str(task["data"]["report_id"]).strip()
        if report_id not in grouped:
            grouped[report_id] = []
            order.append(report_id)
        grouped[report_id].extend((task, ann) for ann in task.get("annotations", []))
    added: list[GoldReport] = []
    for report_id in order:
        latest: dict[str, tuple[datetime, dict, dict, Labels]] = {}
        for task, ann in grouped[report_id]:
            if ann.get("was_cancelled"):
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
                latest[who] = (when, task, ann, labels)
        if not latest:
            continue
        summary.annotated += 1
        reviewers = sorted(latest)
        first_task = grouped[report_id][0][0]
        previous = by_id.get(report_id)
        answers = [latest[who][3] for who in reviewers]
        if any(labels != answers[0] for labels in answers[1:]):
            slots = [{"level": level, "location": loc,
                      "answers": {who: CHOICE_NAMES[latest[who][3][level][loc]] for who in reviewers}}
                     for level in LEVELS for loc in LOCATIONS
                     if len({latest[who][3][level][loc] for who in reviewers}) > 1]
            summary.disagreements.append(Disagreement(
                report_id, sorted({t["id"] for t, _ in grouped[report_id] if isinstance(t.get("id"), int)}),
                [{"annotator": who, "annotation_id": latest[who][2].get("id"),
                  "created_at": latest[who][2].get("created_at"), "updated_at": latest[who][2].get("updated_at"),
                  "labels": latest[who][3]} for who in reviewers], slots, "gold" if previous else "none"))
            logger.warning("report %r: the reviewers %s disagree on %d slot(s); the gold keeps %s", report_id,
                           ", ".join(reviewers), len(slots), "its labels" if previous else "no labels")
            continue
        labels = answers[0]
        anns = [latest[who][2] for who in reviewers]
        created = min((a.get("created_at") for a in anns if a.get("created_at")), default=None,
                      key=lambda s: _stamp(s, source, "created_at"))
        updated = max((a.get("updated_at") or a.get("created_at") for a in anns
                       if a.get("updated_at") or a.get("created_at")), default=None,
                      key=lambda s: _stamp(s, source, "updated_at"))
        spans = [item for item in latest[reviewers[-1]][2]["result"] if item.get("from_name") not in CONTROLS]
        if previous is not None:
            if previous.text != first_task["data"]["text"]:
                logger.warning("report %r: the text in %s differs from the gold text; the gold text is kept",
                               report_id, source)
            if previous.labels == labels:
                summary.confirmed.append(report_id)
                continue
            previous.labels = labels
            previous.annotator = ", ".join(reviewers)
            previous.created_at, previous.updated_at = created, updated
            previous.extra_result = spans
            summary.changed.append(report_id)
        else:
            data = dict(first_task["data"])
            split = data.pop("split", None)
            new = GoldReport(report_id=report_id, text=data.pop("text"), labels=labels,
                             split=split if isinstance(split, str) else None, annotator=", ".join(reviewers),
                             created_at=created, updated_at=updated,
                             data={k: v for k, v in data.items() if k not in ("report_id", REASON_KEY)},
                             extra_result=spans)
            added.append(new)
            by_id[report_id] = new
            summary.added.append(report_id)
    merged = reports + added
    if in_place and not (summary.changed or summary.added):
        logger.info("no gold label changed; %s left as it is", gold)
    else:
        if in_place:
            backup = _backup_path(gold)
            shutil.copy2(gold, backup)
            summary.backup = str(backup)
        save_gold(merged, target)
        summary.output = str(target)
    sidecar = sidecar_path(target)
    _write_json(sidecar, [asdict(d) for d in summary.disagreements])
    summary.sidecar = str(sidecar)
    logger.info("merged %d annotated report(s) from %s: %d changed, %d added, %d confirmed, %d disagreements",
                summary.annotated, source, len(summary.changed), len(summary.added), len(summary.confirmed),
                len(summary.disagreements))
    return summary
