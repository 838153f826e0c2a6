"""``reportparse.review`` without a server: which reports become tasks, the task and prediction shape, the import
file, merging an export file into the gold set (disagreements, backups, malformed exports) and the errors for a
missing or unreachable server, or one whose export is cut off (a small stand-in HTTP server: a real Label Studio
does not send one). The loop against a real Label Studio server is tests/integration."""

import copy
import csv
import http.server
import json
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from reportparse import LEVELS, LOCATIONS, parse_text
from reportparse.cli import app
from reportparse.errors import ReportParseError
from reportparse.gold import CONTROLS, GRADE_CHOICES, GoldReport, choices_result, load_gold, save_gold
from reportparse.review import (MODEL_VERSION, REASON_KEY, build_tasks, export_tasks, pull, push, sidecar_path)

RUNNER = CliRunner()

TEXTS = {
    "AGREE": "FINDINGS:\nL4-5: Moderate canal stenosis.\nL5-S1: Mild left foraminal narrowing.",
    "WRONG": "FINDINGS:\nL3-4: Severe spinal canal stenosis. Mild bilateral neural foraminal narrowing.",
    "NORMAL": "IMPRESSION: Normal MRI of the lumbar spine.",
}


def parser_labels(text):
    return copy.deepcopy(parse_text(text).grades)


def make_gold(wrong=(("WRONG", "L3-L4", "scs", 1),)):
    """Gold reports labelled as the parser reads them, except the ``wrong`` slots (report, level, loc, grade)."""
    reports = []
    for n, (rid, text) in enumerate(TEXTS.items(), start=1):
        labels = parser_labels(text)
        for wrong_id, level, loc, grade in wrong:
            if wrong_id == rid:
                assert labels[level][loc] != grade, "the deliberate error must differ from the parse"
                labels[level][loc] = grade
        reports.append(GoldReport(rid, text, labels, split="tune" if n < 3 else "holdout", task_id=n))
    return reports


def write_gold(path, reports=None):
    save_gold(reports if reports is not None else make_gold(), path)
    return path


def write_reports(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("report_id", "text"))
        writer.writerows(rows)
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------- build_tasks


def test_build_tasks_from_gold_selects_disagreements(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    tasks = build_tasks(gold=gold)
    assert [t["data"]["report_id"] for t in tasks] == ["WRONG"]
    data = tasks[0]["data"]
    assert data["text"] == TEXTS["WRONG"] and data["split"] == "tune"
    assert data[REASON_KEY] == "parser disagrees with the gold set at L3-L4 scs: parser severe, gold mild"
    # loaded reports work as well as a file, and the split filter applies
    assert [t["data"]["report_id"] for t in build_tasks(gold=make_gold(), split="tune")] == ["WRONG"]
    assert build_tasks(gold=make_gold(), split="holdout") == []
    with pytest.raises(ReportParseError, match=r"\[E310\]"):
        build_tasks(gold=gold, split="train")


def test_build_tasks_prediction_shape():
    (task,) = build_tasks(gold=make_gold())
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == MODEL_VERSION and MODEL_VERSION.startswith("reportparse-")
    result = prediction["result"]
    choices = [r for r in result if r["type"] == "choices"]
    assert [c["from_name"] for c in choices] == list(CONTROLS)
    assert all(c["to_name"] == "text" and len(c["value"]["choices"]) == 1 for c in choices)
    parse = parse_text(TEXTS["WRONG"])
    by_control = {c["from_name"]: GRADE_CHOICES[c["value"]["choices"][0]] for c in choices}
    assert by_control == {f"{lvl}_{loc}": parse.grades[lvl][loc] for lvl in LEVELS for loc in LOCATIONS}
    assert by_control["L3-L4_scs"] == 3
    spans = [r for r in result if r["type"] == "labels"]
    assert spans, "the evidence behind the grades is highlighted"
    text = task["data"]["text"]
    for span in spans:
        value = span["value"]
        assert span["from_name"] == "evidence" and span["to_name"] == "text"
        assert value["labels"][0] in ("SCS", "RFS", "LFS") and len(value["labels"]) == 1
        assert text[value["start"]:value["end"]] == value["text"]
    assert len({s["id"] for s in result if "id" in s}) == len(result)  # region ids are unique
    scs = [s for s in spans if s["value"]["labels"] == ["SCS"]]
    assert any("canal stenosis" in s["value"]["text"].lower() and "L3-L4 severe" in s["meta"]["text"][0] for s in scs)
    assert {s["value"]["labels"][0] for s in spans} >= {"SCS", "RFS", "LFS"}  # bilateral: both foramina


def test_build_tasks_from_reports_selects_flagged_and_dedupes(tmp_path):
    rows = [("U1", "L4-5: Possible mild left foraminal narrowing."),
            ("G1", "L5-S1: Foraminal narrowing."),
            ("C1", "FINDINGS:\nL4-5: Moderate canal stenosis.\n\nIMPRESSION: Severe canal stenosis at L4-5."),
            ("OK", TEXTS["NORMAL"]),
            ("U1", "L4-5: Severe canal stenosis. Possible moderate right foraminal stenosis."),  # repeated id
            ("E1", ""),
            ("", "L4-5: Possible mild canal stenosis.")]
    src = write_reports(tmp_path / "reports.csv", rows)
    tasks = build_tasks(reports=src)
    assert [t["data"]["report_id"] for t in tasks] == ["U1", "G1", "C1"]
    reasons = {t["data"]["report_id"]: t["data"][REASON_KEY] for t in tasks}
    assert "L4-L5 lfs: uncertain" in reasons["U1"]
    assert "L5-S1 rfs: ungraded" in reasons["G1"] and "L5-S1 lfs: ungraded" in reasons["G1"]
    assert "L4-L5 scs: conflict" in reasons["C1"]
    assert tasks[0]["data"]["text"] == rows[0][1]  # the first row of a repeated id is kept
    assert "split" not in tasks[0]["data"]
    # both sides of the conflict are highlighted
    spans = [r["value"]["text"] for r in tasks[2]["predictions"][0]["result"] if r["type"] == "labels"]
    assert "Moderate canal stenosis" in spans and "Severe canal stenosis" in spans


def test_build_tasks_needs_one_source(tmp_path):
    with pytest.raises(ReportParseError, match=r"\[E407\].*neither"):
        build_tasks()
    with pytest.raises(ReportParseError, match=r"\[E407\].*both"):
        build_tasks(gold=make_gold(), reports=tmp_path / "r.csv")
    with pytest.raises(ReportParseError, match=r"\[E101\]"):
        build_tasks(reports=tmp_path / "missing.csv")


def test_export_tasks_writes_import_file(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    out = tmp_path / "tasks.json"
    tasks = export_tasks(out, gold=gold)
    assert json.loads(out.read_text(encoding="utf-8")) == tasks == build_tasks(gold=gold)
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ReportParseError, match=r"\[E410\]"):
        export_tasks(tmp_path / "tasks.csv", gold=gold)
    with pytest.raises(ReportParseError, match=r"\[E107\]"):
        export_tasks(tmp_path / "nowhere" / "tasks.json", gold=gold)


def test_export_command(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    src = write_reports(tmp_path / "reports.csv", [("U1", "L4-5: Possible mild left foraminal narrowing.")])
    result = RUNNER.invoke(app, ["review", "export", str(tmp_path / "t1.json"), "--gold", str(gold)])
    assert result.exit_code == 0, result.output
    assert "wrote 1 task(s)" in result.output
    result = RUNNER.invoke(app, ["review", "export", str(tmp_path / "t2.json"), "--reports", str(src)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "t2.json").read_text())[0]["data"]["report_id"] == "U1"
    result = RUNNER.invoke(app, ["review", "export", str(tmp_path / "t3.txt"), "--gold", str(gold)])
    assert result.exit_code == 2 and "[E410]" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------------------------------ pull (from a file)


def annotation(ann_id, user, labels, when="2026-11-27T13:00:00.000000Z", cancelled=False):
    return {"id": ann_id, "completed_by": user, "result": choices_result(labels), "was_cancelled": cancelled,
            "ground_truth": False, "created_at": when, "updated_at": when, "lead_time": 12.5}


def export_file(path, tasks):
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def review_export(gold_reports):
    """A Label Studio JSON export of the review tasks of ``gold_reports`` (ids as Label Studio gives them)."""
    tasks = build_tasks(gold=gold_reports)
    tasks.append(build_tasks(reports=None, gold=make_gold(wrong=(("NORMAL", "L1-L2", "scs", 2),)))[0])
    for n, task in enumerate(tasks, start=101):
        task.update(id=n, annotations=[], drafts=[], project=7)
    return tasks


def test_pull_merges_agreeing_and_lists_disagreements(tmp_path):
    reports = make_gold(wrong=(("WRONG", "L3-L4", "scs", 1), ("AGREE", "L4-L5", "scs", 3)))
    gold = write_gold(tmp_path / "gold.json", reports)
    before = gold.read_bytes()
    tasks = review_export(reports)
    by_id = {t["data"]["report_id"]: t for t in tasks}
    assert set(by_id) == {"WRONG", "AGREE", "NORMAL"}
    wrong_fixed = parser_labels(TEXTS["WRONG"])
    # WRONG: two reviewers agree with the parser (one annotated twice: the latest counts)
    stale = copy.deepcopy(wrong_fixed)
    stale["L1-L2"]["scs"] = 3
    by_id["WRONG"]["annotations"] = [
        annotation(1, {"id": 1, "email": "first@example.org"}, stale, "2026-11-27T12:00:00Z"),
        annotation(2, {"id": 1, "email": "first@example.org"}, wrong_fixed, "2026-11-27T13:00:00Z"),
        annotation(3, {"id": 2, "email": "second@example.org"}, wrong_fixed, "2026-11-27T13:30:00Z"),
        annotation(4, {"id": 3, "email": "skipper@example.org"}, stale, cancelled=True)]
    # AGREE: two reviewers disagree on one slot
    other = parser_labels(TEXTS["AGREE"])
    other["L5-S1"]["lfs"] = 2
    by_id["AGREE"]["annotations"] = [annotation(5, {"email": "first@example.org"}, parser_labels(TEXTS["AGREE"])),
                                     annotation(6, {"email": "second@example.org"}, other)]
    # NORMAL: reviewed, gold labels confirmed
    by_id["NORMAL"]["annotations"] = [annotation(7, {"email": "first@example.org"}, parser_labels(TEXTS["NORMAL"]))]
    src = export_file(tmp_path / "export.json", tasks)
    out = tmp_path / "new.json"
    summary = pull(gold, export=src, out=out)
    assert gold.read_bytes() == before
    assert (summary.tasks, summary.annotated) == (3, 3)
    assert summary.changed == ["WRONG"] and summary.added == [] and summary.confirmed == ["NORMAL"]
    (dis,) = summary.disagreements
    assert dis.report_id == "AGREE" and dis.task_ids == [by_id["AGREE"]["id"]] and dis.kept == "gold"
    assert dis.slots == [{"level": "L5-S1", "location": "lfs",
                          "answers": {"first@example.org": "mild", "second@example.org": "moderate"}}]
    merged = {r.report_id: r for r in load_gold(out)}
    assert merged["WRONG"].labels == wrong_fixed
    assert merged["WRONG"].annotator == "first@example.org, second@example.org"
    assert merged["WRONG"].created_at == "2026-11-27T13:00:00Z" and merged["WRONG"].updated_at == "2026-11-27T13:30:00Z"
    assert merged["AGREE"].labels == reports[0].labels  # previous gold labels kept
    assert merged["NORMAL"].labels == reports[2].labels
    side = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    assert summary.sidecar == str(tmp_path / "new.disagreements.json")
    assert [d["report_id"] for d in side] == ["AGREE"] and side[0]["annotations"][1]["labels"]["L5-S1"]["lfs"] == 2


def test_pull_adds_new_reports_with_numeric_users(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    text = "L4-5: Possible mild left foraminal narrowing."
    labels = parser_labels(text)
    task = {"id": 9, "data": {"report_id": "NEW", "text": text, REASON_KEY: "parse flagged", "site": "b"},
            "annotations": [annotation(1, 4, labels)], "predictions": []}
    spans_only = annotation(2, 5, labels)  # a second reader who only highlighted evidence: no answer
    spans_only["result"] = [{"id": "e1", "from_name": "evidence", "to_name": "text", "type": "labels",
                             "value": {"start": 0, "end": 4, "text": "L4-5", "labels": ["LFS"]}}]
    task["annotations"].append(spans_only)
    summary = pull(gold, export=export_file(tmp_path / "e.json", [task]), out=tmp_path / "g2.json")
    assert summary.added == ["NEW"] and summary.disagreements == []
    new = [r for r in load_gold(tmp_path / "g2.json") if r.report_id == "NEW"][0]
    assert new.labels == labels and new.annotator == "4" and new.data == {"site": "b"} and new.split is None


def test_pull_in_place_keeps_backup(tmp_path):
    reports = make_gold()
    gold = write_gold(tmp_path / "gold.json", reports)
    before = gold.read_bytes()
    tasks = review_export(reports)
    tasks[0]["annotations"] = [annotation(1, {"email": "r@example.org"}, parser_labels(TEXTS["WRONG"]))]
    src = export_file(tmp_path / "export.json", tasks)
    summary = pull(gold, export=src, in_place=True)
    backup = Path(summary.backup)
    assert backup.parent == tmp_path and backup.name.startswith("gold.") and backup.name.endswith(".bak.json")
    assert backup.read_bytes() == before
    assert summary.output == str(gold)
    assert {r.report_id: r.labels for r in load_gold(gold)}["WRONG"] == parser_labels(TEXTS["WRONG"])
    # nothing new: the file is left alone, no second backup
    again = pull(gold, export=src, in_place=True)
    assert again.output is None and again.backup is None and again.confirmed == ["WRONG"]
    assert len(list(tmp_path.glob("*.bak.json"))) == 1


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"tasks": []}', "expected a JSON list of tasks"),
    ('[{"id": 1, "annotations": []}]', "has no 'data' object"),
    ('[{"id": 1, "data": {"text": "x"}}]', "data.report_id"),
    ('[{"id": 1, "data": {"report_id": "A", "text": "x"}, "annotations": [{"result": "moderate"}]}]',
     "annotations[0].result"),
    ('[{"id": 1, "data": {"report_id": "A", "text": "x"}, "annotations": [{"result": [], "updated_at": "soon"}]}]',
     "not an ISO 8601 timestamp"),
])
def test_pull_malformed_export_leaves_gold_untouched(tmp_path, content, problem):
    gold = write_gold(tmp_path / "gold.json")
    before = gold.read_bytes()
    src = tmp_path / "export.json"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(ReportParseError, match=r"\[E406\]") as err:
        pull(gold, export=src, in_place=True)
    assert problem in str(err.value)
    assert gold.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "gold.json"]
    result = RUNNER.invoke(app, ["review", "pull", "--export", str(src), "--gold", str(gold), "--in-place"])
    assert result.exit_code == 2 and "[E406]" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line


def test_pull_bad_choice_is_coded(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    ann = annotation(1, 1, parser_labels(TEXTS["WRONG"]))
    ann["result"][0]["value"]["choices"] = ["tight"]
    task = {"id": 1, "data": {"report_id": "WRONG", "text": TEXTS["WRONG"]}, "annotations": [ann]}
    with pytest.raises(ReportParseError, match=r"\[E305\].*'tight'"):
        pull(gold, export=export_file(tmp_path / "e.json", [task]), out=tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()


def test_pull_options(tmp_path):
    gold = write_gold(tmp_path / "gold.json")
    src = export_file(tmp_path / "e.json", [])
    with pytest.raises(ReportParseError, match=r"\[E408\].*neither"):
        pull(gold, export=src)
    with pytest.raises(ReportParseError, match=r"\[E408\].*both"):
        pull(gold, export=src, out=tmp_path / "o.json", in_place=True)
    with pytest.raises(ReportParseError, match=r"\[E409\]"):
        pull(gold, export=src, out=gold)
    with pytest.raises(ReportParseError, match=r"\[E412\]"):
        pull(gold, out=tmp_path / "o.json")
    with pytest.raises(ReportParseError, match=r"\[E101\]"):
        pull(gold, export=tmp_path / "none.json", out=tmp_path / "o.json")
    with pytest.raises(ReportParseError, match=r"\[E301\]"):
        pull(tmp_path / "nogold.json", export=src, out=tmp_path / "o.json")


# ------------------------------------------------------------------------------------ server settings and down


def test_missing_server_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ReportParseError, match=r"\[E401\] LABEL_STUDIO_URL is not set"):
        push("p", tasks=[])
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    with pytest.raises(ReportParseError, match=r"\[E401\] LABEL_STUDIO_API_KEY is not set"):
        push("p", tasks=[])


def test_server_down_is_coded_and_leaves_gold(tmp_path, monkeypatch):
    gold = write_gold(tmp_path / "gold.json")
    before = gold.read_bytes()
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    secret = "not-a-real-key-8c1f"
    with pytest.raises(ReportParseError, match=r"\[E402\] Cannot reach a Label Studio server at http://127") as err:
        push("p", gold=gold, url=url, api_key=secret)
    assert secret not in str(err.value)
    with pytest.raises(ReportParseError, match=r"\[E402\]"):
        pull(gold, "p", in_place=True, url=url, api_key=secret)
    with pytest.raises(ReportParseError, match=r"\[E402\]"):
        push("p", gold=gold, url="localhost:8080", api_key=secret)  # no scheme
    assert gold.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["gold.json"]
    env = {"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": secret}
    for args in (["push", "--gold", str(gold)], ["pull", "--project", "p", "--gold", str(gold), "--in-place"]):
        result = RUNNER.invoke(app, ["review", *args], env=env)
        assert result.exit_code == 2, result.output
        assert "[E402]" in result.output and secret not in result.output and "Traceback" not in result.output
    assert gold.read_bytes() == before


class _StandIn(http.server.BaseHTTPRequestHandler):
    """Answers like a Label Studio server with one project 'p' whose export is cut off (a malformed export)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/api/current-user/whoami":
            body = json.dumps({"id": 1, "email": "admin@example.org", "username": "admin"}).encode()
        elif path == "/api/projects/":
            body = json.dumps({"count": 1, "next": None, "previous": None,
                               "results": [{"id": 5, "title": "p"}]}).encode()
        elif path == "/api/projects/5/export":
            body = b'[{"id": 1, "data": {"report_id": "WRONG", "te'
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def stand_in_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_malformed_server_export_is_coded(tmp_path, stand_in_server):
    gold = write_gold(tmp_path / "gold.json")
    before = gold.read_bytes()
    with pytest.raises(ReportParseError, match=r"\[E406\] Label Studio export of project 'p' \(id 5\) at http") as err:
        pull(gold, "p", in_place=True, url=stand_in_server, api_key="k" * 8)
    assert "not valid JSON" in str(err.value)
    with pytest.raises(ReportParseError, match=r"\[E404\] The server at .* answered HTTP 404 to GET /api/current-user"):
        push("p", tasks=[], url=stand_in_server + "/not-label-studio", api_key="k" * 8)
    assert gold.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["gold.json"]
