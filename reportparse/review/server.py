"""The Label Studio server: a connection whose failures are coded errors, and ``push`` (create or update a project
and upload the review tasks).

The server address and API key come from ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (or the ``url`` and
``api_key`` arguments); the key is never logged nor put in a message. A server that cannot be reached, a rejected
key or a refused request raises a coded :class:`ReportParseError` (E402-E405, E411) before anything is written.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Errors, ReportParseError
from ..gold import GoldReport, label_config
from .tasks import MODEL_VERSION, build_tasks

logger = logging.getLogger(__name__)

ENV_URL = "LABEL_STUDIO_URL"
ENV_API_KEY = "LABEL_STUDIO_API_KEY"
PROJECT_DESCRIPTION = ("Lumbar MRI reports for review (deepspine-toolkit). The line above each report says why it is "
                       "here; the notes beside the grades mark the slots to check. Pre-annotations: the report's "
                       "grades and the evidence behind them. Correct every grade the report does not support.")
IMPORT_CHUNK = 500
#: Seconds to wait for a project export (a large project takes a while to serialise).
EXPORT_TIMEOUT_S = 600

T = TypeVar("T")


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
            raise ReportParseError(Errors.E402.format(url=self.url, error=shorten(err) or type(err).__name__)) \
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


def shorten(err: BaseException, limit: int = 300) -> str:
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
    return shorten(text) or "no detail"


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




def export_error(source: str, problem: str) -> ReportParseError:
    """E406: a malformed export."""
    return ReportParseError(Errors.E406.format(source=source, problem=problem))


def fetch_export(server: Server, title: str) -> tuple[Any, dict[int, str], str]:
    """The JSON export of project ``title`` (parsed, not yet checked), user id -> email, and a name for messages.

    Raises:
        ReportParseError: (E405) no such project; (E406) an export that is not JSON; as :meth:`Server.call`.
    """
    project = server.project(title)
    if project is None:
        titles = server.titles()
        raise ReportParseError(Errors.E405.format(title=title, url=server.url, titles=", ".join(
            repr(t) for t in titles[:20]) + (f" and {len(titles) - 20} more" if len(titles) > 20 else "") or "none"))
    source = f"of project {title!r} (id {project.id}) at {server.url}"
    raw = server.call(f"GET /api/projects/{project.id}/export", lambda: b"".join(
        server.client.projects.exports.download_sync(project.id, export_type="JSON", download_all_tasks=True,
                                                     request_options={"timeout_in_seconds": EXPORT_TIMEOUT_S})))
    try:
        tasks = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise export_error(source, f"not valid JSON ({err}); it starts {shorten(repr(raw[:80]), 100)}") from None
    try:
        users = {u.id: u.email or u.username or str(u.id)
                 for u in server.call("GET /api/users", lambda: list(server.client.users.list()))}
    except ReportParseError as err:  # an annotator without the right to list users: keep the numeric ids
        logger.warning("could not list the users of %s (%s); annotators are recorded by user id", server.url, err)
        users = {}
    return tasks, users, source

