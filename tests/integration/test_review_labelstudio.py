"""The review loop against a real Label Studio server (started by conftest.py): push the reports the parser gets
wrong, push again (no duplicates; a changed prediction is replaced), annotate as two reviewers through the API,
pull into a new gold file and see the evaluation change; a wrong key and a missing project give coded errors and
leave the gold set untouched."""

import copy
import json
import warnings

import pytest
from typer.testing import CliRunner

from reportparse import parse_text
from reportparse.cli import app
from reportparse.errors import ReportParseError
from reportparse.evaluate import evaluate
from reportparse.gold import GoldReport, choices_result, label_config, load_gold, save_gold
from reportparse.review import MODEL_VERSION, pull, push, sidecar_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from label_studio_sdk import LabelStudio

RUNNER = CliRunner()

TEXTS = {
    "R1": "FINDINGS:\nL4-5: Moderate canal stenosis.\nL5-S1: Mild left foraminal narrowing.",
    "R2": "FINDINGS:\nL3-4: Severe spinal canal stenosis. Mild bilateral neural foraminal narrowing.",
    "R3": "L5-S1: Moderate right and mild left neural foraminal stenosis. No canal stenosis.",
    "R4": "IMPRESSION: Normal MRI of the lumbar spine.",
}
#: the deliberate gold errors: report -> (level, location, wrong grade)
WRONG = {"R2": ("L3-L4", "scs", 1), "R3": ("L5-S1", "rfs", 1)}
PROJECT = "review loop test"


def parsed(rid):
    return copy.deepcopy(parse_text(TEXTS[rid]).grades)


@pytest.fixture
def gold(tmp_path):
    reports = []
    for n, rid in enumerate(TEXTS, start=1):
        labels = parsed(rid)
        if rid in WRONG:
            level, loc, grade = WRONG[rid]
            assert labels[level][loc] != grade
            labels[level][loc] = grade
        reports.append(GoldReport(rid, TEXTS[rid], labels, split="tune", task_id=n))
    path = tmp_path / "annotations.json"
    save_gold(reports, path)
    return path


def project_tasks(client, project_id):
    return {t.data["report_id"]: t for t in client.tasks.list(project=project_id, fields="all")}


def exact(path):
    report = evaluate(path)
    return report.overall.exact, sorted({d["report_id"] for d in report.disagreements})


def test_review_loop(labelstudio, gold, tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", labelstudio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", labelstudio.api_key)
    client = LabelStudio(base_url=labelstudio.url, api_key=labelstudio.api_key)
    gold_bytes = gold.read_bytes()
    before, wrong_before = exact(gold)
    assert wrong_before == ["R2", "R3"] and before < 1

    # push: a project with the gold label config and one task per disagreeing report
    first = push(PROJECT, gold=gold)
    assert first.project_created and first.created == ["R2", "R3"] and first.selected == 2
    project = client.projects.get(first.project_id)
    assert project.title == PROJECT and project.label_config.strip() == label_config().strip()
    tasks = project_tasks(client, first.project_id)
    assert sorted(tasks) == ["R2", "R3"]
    pred = tasks["R2"].predictions[0]
    assert pred.model_version == MODEL_VERSION
    assert [r for r in pred.result if r["type"] == "choices"] == [
        {**r, "origin": "prediction"} for r in choices_result(parsed("R2"))]
    assert any(r["type"] == "labels" and r["value"]["labels"] == ["L3-L4 scs"] for r in pred.result)
    assert "L3-L4 scs: parser severe, gold mild" in tasks["R2"].data["review_reason"]

    # push again: no duplicate task; a prediction that no longer matches the parse is replaced
    client.predictions.update(pred.id, result=choices_result(parsed("R1")), model_version=MODEL_VERSION)
    second = push(PROJECT, gold=gold)
    assert second.project_id == first.project_id and not second.project_created
    assert second.created == [] and second.updated == ["R2"] and second.unchanged == ["R3"]
    tasks = project_tasks(client, first.project_id)
    assert sorted(tasks) == ["R2", "R3"] and len(tasks["R2"].predictions) == 1
    assert tasks["R2"].predictions[0].result == pred.result
    third = RUNNER.invoke(app, ["review", "push", "--gold", str(gold), "--project", PROJECT])
    assert third.exit_code == 0, third.output
    assert "0 task(s) added, 0 updated, 2 unchanged" in third.output.replace("\n", " ")
    assert labelstudio.api_key not in third.output

    # reviewers: R2 accepted as parsed by the admin; R3 annotated by the admin and a second reader who disagree
    admin = client.users.whoami()
    reader = client.users.create(email="reader2@review.test", username="reader2", first_name="Second",
                                 last_name="Reader")
    client.annotations.create(tasks["R2"].id, result=tasks["R2"].predictions[0].result, lead_time=30.0)
    client.annotations.create(tasks["R3"].id, result=choices_result(parsed("R3")), lead_time=20.0)
    other = parsed("R3")
    other["L5-S1"]["lfs"] = 2
    reread = client.annotations.create(tasks["R3"].id, result=choices_result(other), completed_by=reader.id)
    assert reread.completed_by == reader.id

    # pull into a new file: R2 is corrected with who and when; R3 is a disagreement and keeps its gold labels
    out = tmp_path / "annotations.new.json"
    summary = pull(gold, PROJECT, out=out)
    assert gold.read_bytes() == gold_bytes
    assert (summary.tasks, summary.reviewed, summary.changed, summary.added) == (2, 2, ["R2"], [])
    (dis,) = summary.disagreements
    assert dis.report_id == "R3" and dis.task_ids == [tasks["R3"].id] and dis.kept == "kept"
    assert [a["annotator"] for a in dis.annotations] == sorted([admin.email, "reader2@review.test"])
    assert dis.slots == [{"level": "L5-S1", "location": "lfs",
                          "answers": {admin.email: "mild", "reader2@review.test": "moderate"}}]
    assert [d["report_id"] for d in json.loads(sidecar_path(out).read_text(encoding="utf-8"))] == ["R3"]
    merged = {r.report_id: r for r in load_gold(out)}
    assert merged["R2"].labels == parsed("R2") and merged["R2"].annotator == admin.email
    assert merged["R2"].created_at.startswith("20") and merged["R2"].updated_at.startswith("20")
    assert any(item["type"] == "labels" for item in merged["R2"].extra_result)  # the accepted evidence spans
    assert merged["R3"].labels == {r.report_id: r for r in load_gold(gold)}["R3"].labels

    # the evaluation: before, R2 and R3 disagree with the parser; after, only R3 (its reviewers disagree)
    after, wrong_after = exact(out)
    assert wrong_after == ["R3"] and after > before

    # the CLI lists the disagreement; --in-place keeps a backup
    result = RUNNER.invoke(app, ["review", "pull", "--project", PROJECT, "--gold", str(gold), "--in-place"])
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", " ")
    assert "1 inter-reader disagreement(s)" in text and "R3" in text and "reader2@review.test: moderate" in text
    backups = list(tmp_path.glob("annotations.*.bak.json"))
    assert len(backups) == 1 and backups[0].read_bytes() == gold_bytes
    assert {r.report_id: r.labels for r in load_gold(gold)} == {r.report_id: r.labels for r in load_gold(out)}


def test_wrong_key_and_missing_project(labelstudio, gold, tmp_path):
    before = gold.read_bytes()
    wrong = "wrong-key-" + "7" * 12
    with pytest.raises(ReportParseError, match=r"\[E403\].*rejected the API key \(HTTP 401\)") as err:
        push(PROJECT, gold=gold, url=labelstudio.url, api_key=wrong)
    assert wrong not in str(err.value)
    with pytest.raises(ReportParseError, match=r"\[E403\]"):
        pull(gold, PROJECT, in_place=True, url=labelstudio.url, api_key=wrong)
    env = {"LABEL_STUDIO_URL": labelstudio.url, "LABEL_STUDIO_API_KEY": wrong}
    result = RUNNER.invoke(app, ["review", "pull", "--project", PROJECT, "--gold", str(gold), "--in-place"], env=env)
    assert result.exit_code == 2 and "[E403]" in result.output and wrong not in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(ReportParseError, match=r"\[E405\] No Label Studio project titled 'no such project'"):
        pull(gold, "no such project", out=tmp_path / "x.json", url=labelstudio.url, api_key=labelstudio.api_key)
    assert gold.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["annotations.json"]
