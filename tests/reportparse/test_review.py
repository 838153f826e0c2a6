"""``reportparse.review`` without a server: which reports become tasks, the task and prediction shape, the import
file, merging an export file into the gold set (disagreements, backups, malformed exports) and the errors for a
missing or unreachable server, or one whose export is cut off (a small stand-in HTTP server: a real Label Studio
does not send one). The loop against a real Label Studio server is tests/integration."""

import copy
import dataclasses
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
from reportparse.gold import label_config
from reportparse.review import (MARKS_KEY, MODEL_VERSION, REASON_KEY, build_tasks, export_tasks, prediction_result,
                                pull, push, sidecar_path)
from reportparse.rules import load_rules

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
    assert data[REASON_KEY] == "parser disagrees with the gold set at 1 slot(s): L3-L4 scs: parser severe, gold mild"
    # one note per grade cell; the disputed one shows the gold value
    assert data[MARKS_KEY] == {f"{lvl.replace('-', '_')}_{loc}": "gold mild" if (lvl, loc) == ("L3-L4", "scs") else ""
                               for lvl in LEVELS for loc in LOCATIONS}
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
    regions = {}
    for span in spans:
        value = span["value"]
        assert span["to_name"] == "text" and len(value["labels"]) == 1
        assert text[value["start"]:value["end"]] == value["text"]
        regions.setdefault(span["id"], {})[span["from_name"]] = value["labels"][0]
    # one region per decision, each with its level and location and its grade (two labels of one region)
    assert all(set(r) == {"evidence", "evidence_grade"} for r in regions.values())
    assert len(spans) == 2 * len(regions)
    decisions = {(r["evidence"], r["evidence_grade"]) for r in regions.values()}
    assert {("L3-L4 scs", "severe"), ("L3-L4 rfs", "mild"), ("L3-L4 lfs", "mild")} <= decisions
    config = label_config()
    assert all(f'<Label value="{label}"' in config for pair in decisions for label in pair)


def test_evidence_from_excluded_sections_is_not_pre_annotated():
    """A statement the parser placed in an excluded section (indication, history, ...) never becomes a region, even
    when it is marked as used (rules that fail to exclude it must not reach the reviewer as evidence)."""
    text = ("INDICATION: Severe canal stenosis at L4-5 on an outside study.\n\n"
            "FINDINGS:\nL4-5: Mild canal stenosis. L5-S1: Moderate right foraminal stenosis.")
    parse = parse_text(text)
    start = text.index("Severe")
    leaked = dataclasses.replace(next(ev for ev in parse.evidence if ev.level == "L4-L5" and ev.location == "scs"),
                                 grade=3, start=start, end=start + 22, span_start=start, span_end=start + 22,
                                 section="indication", used=True)
    parse.evidence.append(leaked)
    excluded = load_rules().grammar.excluded_sections
    assert "indication" in excluded
    spans = [r for r in prediction_result(text, parse, excluded) if r["type"] == "labels"]
    assert spans and all(r["value"]["start"] > text.index("FINDINGS") for r in spans)
    assert {r["value"]["labels"][0] for r in spans if r["from_name"] == "evidence"} == {"L4-L5 scs", "L5-S1 rfs"}
    with_leak = [r for r in prediction_result(text, parse) if r["type"] == "labels"]  # the filter is what drops it
    assert any(r["value"]["start"] == start for r in with_leak)


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
    assert tasks[2]["data"][MARKS_KEY]["L4_L5_scs"] == "conflict"
    # both sides of the conflict are highlighted, each with its grade
    spans = {(r["value"]["text"], r["value"]["labels"][0]) for r in tasks[2]["predictions"][0]["result"]
             if r["from_name"] == "evidence_grade"}
    assert ("Moderate canal stenosis", "moderate") in spans and ("Severe canal stenosis", "severe") in spans


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
    assert (summary.tasks, summary.reports, summary.reviewed, summary.skipped, summary.waiting) == (3, 3, 3, 0, 0)
    assert summary.changed == ["WRONG"] and summary.added == [] and summary.confirmed == ["NORMAL"]
    (dis,) = summary.disagreements
    assert dis.report_id == "AGREE" and dis.task_ids == [by_id["AGREE"]["id"]] and dis.kept == "kept"
    assert dis.slots == [{"level": "L5-S1", "location": "lfs",
                          "answers": {"first@example.org": "mild", "second@example.org": "moderate"}}]
    merged = {r.report_id: r for r in load_gold(out)}
    assert merged["WRONG"].labels == wrong_fixed
    assert merged["WRONG"].annotator == "first@example.org, second@example.org"
    assert merged["WRONG"].created_at == "2026-11-27T13:00:00Z" and merged["WRONG"].updated_at == "2026-11-27T13:30:00Z"
    assert merged["AGREE"].labels == reports[0].labels  # previous gold labels kept
    assert merged["NORMAL"].labels == reports[2].labels
    # who reviewed each report and when, changed or confirmed; a disagreement is not a review of record
    source = f"file '{src}'"
    assert merged["WRONG"].reviews == [{"reviewers": ["first@example.org", "second@example.org"],
                                        "reviewed_at": "2026-11-27T13:30:00Z", "outcome": "changed", "source": source}]
    assert merged["NORMAL"].reviews == [{"reviewers": ["first@example.org"], "outcome": "confirmed", "source": source,
                                         "reviewed_at": "2026-11-27T13:00:00.000000Z"}]
    assert merged["NORMAL"].annotator == "gold-author@deepspine.local" and merged["AGREE"].reviews == []
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


def test_pull_counts_say_what_they_count_and_a_confirmation_alone_is_recorded(tmp_path):
    reports = make_gold()
    gold = write_gold(tmp_path / "gold.json", reports)
    tasks = [{"id": n, "data": {"report_id": r.report_id, "text": r.text}, "annotations": []}
             for n, r in enumerate(reports, start=1)]
    tasks.append({"id": 4, "data": {"report_id": "WAITING", "text": "L4-5: disc bulge."}, "annotations": []})
    # AGREE confirmed as it is; NORMAL skipped; WRONG and WAITING not answered yet
    tasks[0]["annotations"] = [annotation(1, {"email": "r@example.org"}, reports[0].labels)]
    tasks[2]["annotations"] = [annotation(2, {"email": "r@example.org"}, reports[2].labels, cancelled=True)]
    src = export_file(tmp_path / "export.json", tasks)
    result = RUNNER.invoke(app, ["review", "pull", "--export", str(src), "--gold", str(gold), "--in-place"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("4 task(s) of 4 report(s) file" in text and "1 reviewed, 1 skipped, 2 not answered yet" in text and
            "0 with gold labels changed, 1 confirmed unchanged, 0 added, 0 inter-reader disagreement(s); 1 new "
            "review(s) recorded" in text)
    # the labels did not change, but the file now says who confirmed AGREE and when (a backup was kept)
    merged = {r.report_id: r for r in load_gold(gold)}
    assert {k: r.labels for k, r in merged.items()} == {r.report_id: r.labels for r in reports}
    assert merged["AGREE"].reviews[0]["outcome"] == "confirmed" and merged["AGREE"].reviews[0]["reviewers"] == [
        "r@example.org"]
    assert len(list(tmp_path.glob("gold.*.bak.json"))) == 1
    # pulling the same answers again records nothing new and leaves the file alone
    again = pull(gold, export=src, in_place=True)
    assert again.recorded == 0 and again.output is None and again.confirmed == ["AGREE"]


# ------------------------------------------------------------------------------------ model versus report


def write_network_grades(path, grades):
    """A table in the format of ``grading predict``: ``grades`` maps (study, level) to {location: (grade, p)}."""
    from grading.predict import PREDICT_COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, PREDICT_COLUMNS)
        writer.writeheader()
        for n, ((study, level), slots) in enumerate(grades.items(), start=1):
            row = {"report_id": study, "level": level, "status": "ok", "reason": "", "flags": "", "row": n}
            if slots is None:
                row.update(status="failed", reason="no disc found")
            else:
                for loc, (grade, p) in slots.items():
                    rest = (1 - p) / 3
                    row.update({loc: grade, **{f"{loc}_p{g}": round(p if g == grade else rest, 4) for g in range(4)}})
            writer.writerow(row)
    return path


def test_model_versus_report_review_end_to_end(tmp_path):
    """push --predictions picks the levels the network grades differently (and surely) from the report; the
    answers pulled into the levels table give labels that grading train reads."""
    from grading.data import _label_rows, read_levels
    from grading.labels import SCHEMES

    texts = {"S1": "FINDINGS:\nL4-5: Mild canal stenosis. No foraminal narrowing.\nL5-S1: Normal.",
             "S2": "FINDINGS:\nL3-4: Moderate canal stenosis.\nL4-5: Mild right foraminal narrowing.",
             "S3": "IMPRESSION: Normal MRI of the lumbar spine."}
    reports = write_reports(tmp_path / "reports.csv", list(texts.items()))
    ok = {"scs": (0, 0.9), "rfs": (0, 0.9), "lfs": (0, 0.9)}
    grades = {(s, lvl): dict(ok) for s in texts for lvl in LEVELS}
    grades[("S1", "L4-L5")] = {**ok, "scs": (3, 0.93)}      # sure, and the report says mild: reviewed
    grades[("S2", "L3-L4")] = {**ok, "scs": (1, 0.55)}      # differs, but unsure: not reviewed
    grades[("S2", "L4-L5")] = {**ok, "rfs": (1, 0.95)}      # agrees with the report
    grades[("S3", "L5-S1")] = None                           # could not be graded
    predictions = write_network_grades(tmp_path / "grades.csv", grades)
    tasks_file = tmp_path / "tasks.json"
    result = RUNNER.invoke(app, ["review", "export", str(tasks_file), "--reports", str(reports), "--predictions",
                                 str(predictions), "--min-probability", "0.8"])
    assert result.exit_code == 0, result.output
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    assert [t["data"]["report_id"] for t in tasks] == ["S1"]
    data = tasks[0]["data"]
    assert data[REASON_KEY] == ("network (p >= 0.80) disagrees with the report at 1 slot(s): L4-L5 scs: report mild, "
                                "network severe (p 0.93)")
    assert data[MARKS_KEY]["L4_L5_scs"] == "network severe 0.93"
    assert sum(bool(v) for v in data[MARKS_KEY].values()) == 1
    choices = {r["from_name"]: r["value"]["choices"][0] for r in tasks[0]["predictions"][0]["result"]
               if r["type"] == "choices"}
    assert choices["L4-L5_scs"] == "mild"  # the pre-annotation is the report's grade; the note the network's
    # a lower threshold also sends S2
    low = build_tasks(reports=reports, predictions=predictions, min_probability=0.5)
    assert [t["data"]["report_id"] for t in low] == ["S1", "S2"]

    # the reviewer looks at the images and agrees with the network; pull into the levels table of the cohort
    levels = tmp_path / "levels.csv"
    assert RUNNER.invoke(app, ["extract", str(reports), "--output", str(levels)]).exit_code == 0
    answer = parser_labels(texts["S1"])
    answer["L4-L5"]["scs"] = 3
    tasks[0].update(id=31, annotations=[annotation(1, {"email": "rad@example.org"}, answer)])
    export = export_file(tmp_path / "export.json", tasks)
    out = tmp_path / "levels.reviewed.csv"
    result = RUNNER.invoke(app, ["review", "pull", "--export", str(export), "--levels", str(levels), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 with levels changed" in " ".join(result.output.split())
    before = read_levels(levels)
    after = read_levels(out)
    assert len(after) == len(before) and list(after.columns) == list(before.columns)
    row = after[(after["report_id"] == "S1") & (after["level"] == "L4-L5")].iloc[0]
    assert (row["scs"], row["status"]) == ("3", "reviewed") and "rad@example.org" in row["reason"]
    untouched = after[after["report_id"] != "S1"].reset_index(drop=True)
    assert untouched.equals(before[before["report_id"] != "S1"].reset_index(drop=True))
    # what grading train joins with the disc volumes
    labels, _ = _label_rows(after, None, ("scs", "rfs", "lfs"), SCHEMES["deepspine"])
    assert labels[(labels["study_id"] == "S1") & (labels["level"] == "L4-L5")]["scs"].iloc[0] == 3


def test_predictions_input_errors(tmp_path):
    reports = write_reports(tmp_path / "reports.csv", [("S1", "L4-5: Mild canal stenosis.")])
    bad = tmp_path / "levels.csv"
    bad.write_text("report_id,level,scs,rfs,lfs\nS1,L4-L5,1,0,0\n", encoding="utf-8")
    with pytest.raises(ReportParseError, match=r"\[E413\].*no column 'status'.*grading predict"):
        build_tasks(reports=reports, predictions=bad)
    good = write_network_grades(tmp_path / "grades.csv", {("S1", "L4-L5"): {"scs": (3, 0.9)}})
    with pytest.raises(ReportParseError, match=r"\[E414\].*got 1.5"):
        build_tasks(reports=reports, predictions=good, min_probability=1.5)
    with pytest.raises(ReportParseError, match=r"\[E407\].*--predictions, which needs --reports"):
        build_tasks(gold=write_gold(tmp_path / "gold.json"), predictions=good)
    result = RUNNER.invoke(app, ["review", "export", str(tmp_path / "t.json"), "--predictions", str(good)])
    assert result.exit_code == 2 and "[E407]" in result.output and "needs --reports" in result.output


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
