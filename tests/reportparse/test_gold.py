"""The gold set in Label Studio's JSON export format (``reportparse.gold``) and its labelling interface."""

import copy
import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from reportparse import LEVELS, LOCATIONS, ReportParseError
from reportparse.gold import (CONTROLS, GRADE_CHOICES, GoldReport, choices_result, label_config, labels_from_result,
                              load_gold, save_gold)

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "gold" / "annotations.json"
SHIPPED_CONFIG = ROOT / "rules" / "labelstudio" / "label_config.xml"


def labels(default=0, **changes):
    """6 x 3 labels, all ``default``; ``changes`` like ``L4_L5_scs=2`` (dashes written as underscores)."""
    out = {level: {loc: default for loc in LOCATIONS} for level in LEVELS}
    for key, grade in changes.items():
        level, loc = key.rsplit("_", 1)
        out[level.replace("_", "-")][loc] = grade
    return out


def task(task_id=1, report_id="R1", annotations=None, **data):
    return {"id": task_id, "data": {"report_id": report_id, "text": "L4-5: Moderate canal stenosis.", **data},
            "annotations": annotations if annotations is not None else [
                {"id": task_id, "completed_by": 1, "created_at": "2026-01-01T00:00:00Z",
                 "updated_at": "2026-01-01T00:00:00Z", "result": choices_result(labels())}],
            "predictions": []}


def write(path: Path, content) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def load_error(tmp_path: Path, content, code: str) -> str:
    with pytest.raises(ReportParseError) as info:
        load_gold(write(tmp_path / "export.json", content))
    message = str(info.value)
    assert message.startswith(f"[{code}]"), message
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------------------------ label config


def test_label_config_is_one_file():
    assert label_config() == SHIPPED_CONFIG.read_text(encoding="utf-8")
    assert not list(ROOT.glob("gold/*.xml")), "gold/ points to rules/labelstudio/label_config.xml, keeping no copy"


def test_label_config_has_the_text_the_evidence_labels_and_18_grade_controls():
    root = ET.fromstring(label_config())
    assert root.tag == "View"
    texts = root.findall(".//Text")
    assert [(t.get("name"), t.get("value")) for t in texts] == [("text", "$text")]
    evidence, grade = root.findall(".//Labels")
    assert (evidence.get("name"), grade.get("name")) == ("evidence", "evidence_grade")
    assert {evidence.get("toName"), grade.get("toName")} == {"text"}
    assert [label.get("value") for label in evidence.findall("Label")] == [
        f"{level} {loc}" for level in LEVELS for loc in LOCATIONS]
    assert [label.get("value") for label in grade.findall("Label")] == ["normal", "mild", "moderate", "severe"]
    # why the task is here, and one note per grade cell
    assert [h.get("value") for h in root.iter("Header")].count("$review_reason") == 1
    notes = [h.get("value") for h in root.iter("Header") if h.get("value", "").startswith("$review_marks.")]
    assert notes == [f"$review_marks.{level.replace('-', '_')}_{loc}" for level in LEVELS for loc in LOCATIONS]
    choices = root.findall(".//Choices")
    assert [c.get("name") for c in choices] == [f"{level}_{loc}" for level in LEVELS for loc in LOCATIONS]
    assert list(CONTROLS) == [c.get("name") for c in choices]
    for control in choices:
        assert control.get("toName") == "text"
        assert control.get("layout") == "select" and control.get("choice", "single") == "single"
        assert [c.get("value") for c in control.findall("Choice")] == list(GRADE_CHOICES)


def test_label_config_is_read_by_the_label_studio_sdk():
    interface = LabelInterface(label_config())
    assert [o.name for o in interface.objects] == ["text"]
    assert interface.get_control("evidence").labels[:3] == ["T12-L1 scs", "T12-L1 rfs", "T12-L1 lfs"]
    for name in CONTROLS:
        control = interface.get_control(name)
        assert control.tag == "Choices"
        assert control.labels == list(GRADE_CHOICES)
    # the results written by choices_result are valid annotations for this interface, evidence spans too
    result = choices_result(labels(None, L4_L5_scs=2, L5_S1_lfs=3))
    span = {"id": "e1", "from_name": "evidence", "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 4, "text": "L4-5", "labels": ["L4-L5 scs"]}}
    grade = {**span, "from_name": "evidence_grade", "value": {**span["value"], "labels": ["moderate"]}}
    assert interface.validate_annotation({"result": result + [span, grade]})
    assert not interface.validate_annotation({"result": [dict(result[0], value={"choices": ["huge"]})]})


# ------------------------------------------------------------------------------------------------ results


def test_choices_result_has_one_item_per_slot_and_inverts():
    grades = labels(0, L4_L5_scs=2, L4_L5_rfs=1, L4_L5_lfs=3, T12_L1_scs=None)
    result = choices_result(grades)
    assert len(result) == 18
    by_control = {item["from_name"]: item for item in result}
    assert by_control["L4-L5_scs"]["value"] == {"choices": ["moderate"]}
    assert by_control["L4-L5_lfs"]["value"] == {"choices": ["severe"]}
    assert by_control["T12-L1_scs"]["value"] == {"choices": ["not stated"]}
    assert {item["to_name"] for item in result} == {"text"}
    assert {item["type"] for item in result} == {"choices"}
    assert len({item["id"] for item in result}) == 18
    assert labels_from_result(result) == grades


def test_labels_from_result_missing_controls_are_not_stated_and_spans_are_ignored():
    result = [{"from_name": "L5-S1_rfs", "to_name": "text", "type": "choices", "value": {"choices": ["mild"]}},
              {"from_name": "evidence", "to_name": "text", "type": "labels",
               "value": {"start": 0, "end": 3, "labels": ["RFS"]}}]
    assert labels_from_result(result) == labels(None, L5_S1_rfs=1)
    assert labels_from_result([]) == labels(None)


def test_labels_from_result_names_the_task_control_and_value_of_an_unknown_choice():
    result = [{"from_name": "L4-L5_lfs", "type": "choices", "value": {"choices": ["huge"]}}]
    with pytest.raises(ReportParseError, match=r"^\[E305\] Gold task 17, control 'L4-L5_lfs': unknown choice "
                                               r"'huge'"):
        labels_from_result(result, task=17)
    with pytest.raises(ReportParseError, match=r"^\[E306\].*'L4-L5_lfs'"):
        labels_from_result([{"from_name": "L4-L5_lfs", "type": "choices",
                             "value": {"choices": ["mild", "severe"]}}], task=17)


def test_choices_result_rejects_incomplete_or_bad_labels():
    incomplete = labels()
    del incomplete["L5-S1"]["lfs"]
    with pytest.raises(ReportParseError, match=r"^\[E308\].*'L5-S1'.*'lfs'"):
        choices_result(incomplete)
    with pytest.raises(ReportParseError, match=r"^\[E308\].*'L4-L5'.*'scs'.*4"):
        choices_result(labels(0, L4_L5_scs=4))


# ------------------------------------------------------------------------------------------------ files


def test_save_and_load_round_trip(tmp_path):
    span = {"id": "e1", "from_name": "evidence", "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 4, "text": "L4-5", "labels": ["SCS"]}}
    reports = [
        GoldReport("A", "L4-5: Moderate canal stenosis.", labels(None, L4_L5_scs=2), split="tune",
                   annotator="someone@example.org", created_at="2026-02-01T10:00:00.000000Z",
                   updated_at="2026-02-02T10:00:00.000000Z", task_id=7, data={"style": "terse", "site": 3},
                   extra_result=[span]),
        GoldReport("B", "Normal MRI of the lumbar spine.\nNo stenosis.", labels(0), split="holdout",
                   annotator="gold-author@deepspine.local", created_at="2026-02-01T10:00:00.000000Z",
                   updated_at="2026-02-01T10:00:00.000000Z", task_id=8,
                   reviews=[{"reviewers": ["rad@example.org"], "reviewed_at": "2026-03-01T09:00:00Z",
                             "outcome": "confirmed", "source": "project 'p'"}]),
    ]
    path = tmp_path / "gold.json"
    save_gold(reports, path)
    assert load_gold(path) == reports
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [t["id"] for t in tasks] == [7, 8]
    assert tasks[0]["data"] == {"report_id": "A", "text": "L4-5: Moderate canal stenosis.", "split": "tune",
                                "style": "terse", "site": 3}
    assert tasks[0]["predictions"] == []
    assert tasks[1]["data"]["reviews"][0]["outcome"] == "confirmed" and "reviews" not in tasks[0]["data"]
    (annotation,) = tasks[0]["annotations"]
    assert annotation["completed_by"] == {"email": "someone@example.org"}
    assert len(annotation["result"]) == 19
    assert not list(tmp_path.glob("*.tmp"))


def test_save_fills_in_task_ids_identity_and_timestamps(tmp_path):
    path = tmp_path / "gold.json"
    save_gold([GoldReport("A", "x", labels(0), task_id=5), GoldReport("B", "y", labels(1)),
               GoldReport("C", "z", labels(2), task_id=5)], path)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [t["id"] for t in tasks] == [5, 6, 7]
    back = load_gold(path)
    assert [r.annotator for r in back] == ["gold-author@deepspine.local"] * 3
    assert back[1].created_at == back[1].updated_at and back[1].created_at.startswith("20")
    assert "split" not in tasks[0]["data"] and back[0].split is None


def test_save_into_a_missing_folder_is_a_coded_error(tmp_path):
    with pytest.raises(ReportParseError, match=r"^\[E107\]"):
        save_gold([GoldReport("A", "x", labels(0))], tmp_path / "nope" / "gold.json")


def test_the_shipped_gold_set_is_a_canonical_export(tmp_path):
    reports = load_gold(GOLD)
    assert len(reports) == 104
    assert [r.report_id for r in reports] == [f"G{i:03d}" for i in range(1, 105)]
    assert sum(r.split == "tune" for r in reports) == 62 and sum(r.split == "holdout" for r in reports) == 42
    labelled = {split: sum(g is not None for r in reports if r.split == split
                           for level in LEVELS for g in r.labels[level].values()) for split in ("tune", "holdout")}
    assert labelled == {"tune": 1014, "holdout": 695}  # the counts in gold/README.md
    assert all(r.annotator == "gold-author@deepspine.local" and r.data.get("style") for r in reports)
    # the file is exactly what save_gold writes (so edits in Label Studio and by hand stay diff-friendly)
    save_gold(reports, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == GOLD.read_bytes()


def test_latest_annotation_wins_and_cancelled_ones_do_not_count(tmp_path):
    old = {"id": 1, "completed_by": {"email": "first@x.org"}, "created_at": "2026-01-01T00:00:00Z",
           "updated_at": "2026-01-01T00:00:00Z", "result": choices_result(labels(1))}
    new = {"id": 2, "completed_by": {"email": "second@x.org"}, "created_at": "2025-12-01T00:00:00Z",
           "updated_at": "2026-03-01T09:30:00+01:00", "result": choices_result(labels(2))}
    cancelled = {"id": 3, "completed_by": 9, "created_at": "2026-05-01T00:00:00Z",
                 "updated_at": "2026-05-01T00:00:00Z", "was_cancelled": True, "result": []}
    path = write(tmp_path / "export.json", [task(1, "A", [new, old, cancelled]), task(2, "B", [old, new])])
    reports = load_gold(path)
    assert [(r.report_id, r.annotator, r.labels["L4-L5"]["scs"]) for r in reports] == [
        ("A", "second@x.org", 2), ("B", "second@x.org", 2)]
    assert reports[0].updated_at == "2026-03-01T09:30:00+01:00"


def test_tasks_without_annotations_are_skipped_with_a_warning(tmp_path, caplog):
    path = write(tmp_path / "export.json", [task(1, "A"), task(2, "B", []),
                                            {"id": 3, "data": {"report_id": "C", "text": "x"}}])
    with caplog.at_level(logging.WARNING, logger="reportparse.gold"):
        reports = load_gold(path)
    assert [r.report_id for r in reports] == ["A"]
    assert "2 task(s) without an annotation skipped: B, C" in caplog.text


def test_integer_annotator_ids_are_kept_as_text(tmp_path):
    (report,) = load_gold(write(tmp_path / "export.json", [task(1, "A")]))
    assert report.annotator == "1" and report.task_id == 1


@pytest.mark.parametrize("content, code, needle", [
    ("[{\"id\": 1,", "E302", "not valid JSON"),
    ({"tasks": []}, "E303", "got a JSON dict with the keys ['tasks']"),
    ([["not", "a", "task"]], "E304", "task #1"),
    ([{"id": 1, "annotations": []}], "E304", "'data' is None"),
    ([{"id": 1, "data": {"text": "x"}, "annotations": []}], "E304", "'data.report_id' is None"),
    ([{"id": 1, "data": {"report_id": "A", "text": 5}, "annotations": []}], "E304", "'data.text' is 5"),
    ([{"id": 1, "data": {"report_id": "A", "text": "x"}, "annotations": {}}], "E304", "'annotations' is {}"),
    ([{"id": "one", "data": {"report_id": "A", "text": "x"}}], "E304", "'id' is 'one'"),
    ([task(1, "A", [{"id": 1, "result": "moderate"}])], "E304", "'annotations[].result' is 'moderate'"),
    ([task(1, "A"), task(2, "A")], "E307", "report_id 'A' appears in task 1 and task 2"),
    ([task(1, "A", reviews="confirmed")], "E304", "'data.reviews' is 'confirmed'"),
    ([task(1, "A", [{"id": 1, "updated_at": "yesterday", "result": []}])], "E309", "'yesterday'"),
])
def test_malformed_exports_give_coded_one_line_errors(tmp_path, content, code, needle):
    assert needle in load_error(tmp_path, content, code)


def test_an_unknown_choice_in_an_export_names_task_control_and_value(tmp_path):
    bad = copy.deepcopy(task(42, "A"))
    bad["annotations"][0]["result"][13]["value"]["choices"] = ["moderately severe"]
    message = load_error(tmp_path, [bad], "E305")
    assert "task 42" in message and "'L4-L5_rfs'" in message and "'moderately severe'" in message


def test_a_missing_gold_file_is_a_coded_error(tmp_path):
    with pytest.raises(ReportParseError, match=r"^\[E301\] Gold file '.*nope.json' does not exist"):
        load_gold(tmp_path / "nope.json")
