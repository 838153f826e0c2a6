"""``reportparse evaluate`` (``reportparse.evaluate``): the figures on a tiny gold/prediction pair worked out by
hand, the prediction and evidence tables, the split filter, the parser run and the CLI (files, exit codes)."""

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportparse import LEVELS, LOCATIONS, ReportParseError
from reportparse.cli import app
from reportparse.evaluate import CLASSES, evaluate, read_predictions, score
from reportparse.extract import EVIDENCE_COLUMNS
from reportparse.gold import GoldReport, save_gold
from spinecore.errors import CoreError
from spinecore.io import TableWriter
from spinecore.schema import LEVEL_COLUMNS

RUNNER = CliRunner()


def grid(default=0, **changes):
    """6 x 3 slots, all ``default``; ``changes`` like ``L4_L5_scs=2``."""
    out = {level: {loc: default for loc in LOCATIONS} for level in LEVELS}
    for key, grade in changes.items():
        level, loc = key.rsplit("_", 1)
        out[level.replace("_", "-")][loc] = grade
    return out


# Report A (tune): 13 slots 0/0, one 0 graded 3, 2 graded 1, 1/1, 3 missed, and one open slot graded 0.
GOLD_A = grid(0, L4_L5_scs=2, L4_L5_rfs=1, L5_S1_scs=None, L5_S1_lfs=3)
PRED_A = grid(0, L3_L4_rfs=3, L4_L5_scs=1, L4_L5_rfs=1, L5_S1_scs=0, L5_S1_lfs=None)


def make_gold(path: Path) -> Path:
    save_gold([GoldReport("A", "text of A", GOLD_A, split="tune"),
               GoldReport("B", "text of B", grid(0), split="holdout"),
               GoldReport("C", "text of C", grid(0), split="holdout")], path)
    return path


def write_levels(path: Path, preds: dict) -> Path:
    """A levels table as ``reportparse extract`` writes it (CSV, JSONL or Parquet)."""
    rows = [{"report_id": rid, "level": level, **slots[level], "status": "ok", "reason": "", "flags": "", "row": i}
            for i, (rid, slots) in enumerate(preds.items(), 1) for level in LEVELS]
    with TableWriter(path, LEVEL_COLUMNS, int_columns=("scs", "rfs", "lfs", "row")) as out:
        out.write(rows)
    return path


def write_evidence(path: Path, rows: list[dict]) -> Path:
    base = {"grade": None, "start": 0, "end": 0, "span_start": 0, "span_end": 0, "section": "findings",
            "rank": "explicit", "flags": "", "row": 1}
    with TableWriter(path, EVIDENCE_COLUMNS, int_columns=("grade", "start", "end", "span_start", "span_end", "row"),
                     bool_columns=("used",)) as out:
        out.write([{**base, **row} for row in rows])
    return path


@pytest.fixture
def files(tmp_path):
    gold = make_gold(tmp_path / "gold.json")
    pred = write_levels(tmp_path / "levels.csv", {"A": PRED_A, "B": grid(0), "X": grid(1)})
    return gold, pred


def test_hand_computed_figures(files):
    gold, pred = files
    report = evaluate(gold, pred, split="tune")
    s = report.overall
    assert (s.reports, s.determined, s.open_slots, s.open_graded) == (1, 17, 1, 1)
    assert s.exact == pytest.approx(14 / 17)  # 13 x (0,0) and (1,1)
    assert s.within_one == pytest.approx(15 / 17)  # ... and (2,1); (0,3) and (3,missed) are not
    assert s.open_graded_rate == 1.0
    # quadratic kappa on the ordered classes (not stated, 0, 1, 2, 3) = indices 0..4:
    # observed pairs (gold, pred) 13 x (1,1), (1,4), (3,2), (2,2), (4,0): weighted disagreement 9 + 1 + 16 = 26;
    # gold marginals 14/1/1/1 at 1/2/3/4, prediction marginals 1/13/2/0/1 at 0..4:
    # sum r_i c_j (i-j)^2 = 168 + 21 + 64 + 141 = 394, expected 394/17; kappa = 1 - 26 * 17 / 394 = -24/197
    assert s.kappa == pytest.approx(float(Fraction(-24, 197)))
    # F1 per grade: 0: P 13/13, R 13/14 -> 26/27; 1: P 1/2, R 1 -> 2/3; 2: no prediction -> 0; 3: P 0 -> 0
    assert s.macro_f1 == pytest.approx(float((Fraction(26, 27) + Fraction(2, 3)) / 4))
    # rows gold 0-3 and not stated, columns prediction 0-3 and not stated
    assert report.classes == CLASSES == ("0", "1", "2", "3", "not stated")
    assert report.confusion["scs"] == [[4, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0],
                                       [1, 0, 0, 0, 0]]
    assert report.confusion["rfs"] == [[4, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0] * 5, [0] * 5, [0] * 5]
    assert report.confusion["lfs"] == [[5, 0, 0, 0, 0], [0] * 5, [0] * 5, [0, 0, 0, 0, 1], [0] * 5]
    by_loc = {loc: (x.determined, x.exact) for loc, x in report.by_location.items()}
    assert by_loc == {"scs": (5, 4 / 5), "rfs": (6, 5 / 6), "lfs": (6, 5 / 6)}
    assert [(d["level"], d["location"], d["gold"], d["pred"]) for d in report.disagreements] == [
        ("L3-L4", "rfs", 0, 3), ("L4-L5", "scs", 2, 1), ("L5-S1", "scs", None, 0), ("L5-S1", "lfs", 3, None)]
    assert report.missing_predictions == [] and report.unmatched_predictions == ["X"]
    assert report.by_split == {}


def test_score_edge_cases():
    perfect = score([(0, 0), (0, 0), (None, None)])
    assert (perfect.exact, perfect.within_one, perfect.kappa, perfect.macro_f1) == (1.0, 1.0, 1.0, 1.0)
    assert perfect.open_graded_rate == 0.0
    nothing = score([(None, None)])
    assert (nothing.determined, nothing.exact, nothing.kappa, nothing.macro_f1) == (0, None, None, None)
    assert score([]).open_graded_rate is None


def test_split_filter_and_unmatched_reports(files):
    gold, pred = files
    report = evaluate(gold, pred, split="holdout")
    # B is all right; C has no prediction rows and is scored as 18 not-stated predictions
    assert (report.overall.reports, report.overall.determined, report.overall.exact) == (2, 36, 0.5)
    assert report.missing_predictions == ["C"]
    assert report.unmatched_predictions == ["X"]  # A is in the gold set (another split): not unmatched
    everything = evaluate(gold, pred)
    assert everything.overall.determined == 17 + 36
    assert {name: s.determined for name, s in everything.by_split.items()} == {"tune": 17, "holdout": 36}
    with pytest.raises(ReportParseError, match=r"^\[E310\] --split 'test' .*\['holdout', 'tune'\]"):
        evaluate(gold, pred, split="test")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_prediction_tables_in_every_format(tmp_path, suffix):
    path = write_levels(tmp_path / f"levels{suffix}", {"A": PRED_A, "7": grid(None)})
    preds = read_predictions(path)
    assert preds == {"A": PRED_A, "7": grid(None)}


def test_bad_prediction_tables_are_coded_errors(tmp_path, files):
    gold, _ = files
    no_lfs = tmp_path / "no_lfs.csv"
    no_lfs.write_text("report_id,level,scs,rfs\nA,L4-L5,1,1\n", encoding="utf-8")
    with pytest.raises(CoreError, match=r"^\[C004\] Prediction table .*lacks the column\(s\) \['lfs'\]"):
        evaluate(gold, no_lfs)
    bad = tmp_path / "bad.csv"
    bad.write_text("report_id,level,scs,rfs,lfs\nA,L4-L5,1,1,1\nA,L5-S1,2,moderate,1\n", encoding="utf-8")
    with pytest.raises(ReportParseError, match=r"^\[E312\] .*row 2: rfs is 'moderate'"):
        evaluate(gold, bad)
    level = tmp_path / "level.csv"
    level.write_text("report_id,level,scs,rfs,lfs\nA,L5-L6,1,1,1\n", encoding="utf-8")
    with pytest.raises(ReportParseError, match=r"^\[E312\] .*level is 'L5-L6'"):
        evaluate(gold, level)
    with pytest.raises(CoreError, match=r"^\[C001\]"):
        evaluate(gold, tmp_path / "missing.csv")
    with pytest.raises(ReportParseError, match=r"^\[E313\]"):
        evaluate(gold, level, min_accuracy=90)


def test_evidence_table_for_a_prediction_file(tmp_path, files):
    gold, pred = files
    evidence = write_evidence(tmp_path / "evidence.csv", [
        {"report_id": "A", "level": "L4-L5", "location": "scs", "grade": 1, "used": True,
         "sentence": "L4-5: mild canal stenosis."},
        {"report_id": "A", "level": "L4-L5", "location": "scs", "grade": 0, "used": False,
         "sentence": "No stenosis at any level."}])
    report = evaluate(gold, pred, split="tune", evidence_path=evidence)
    by_slot = {(d["level"], d["location"]): d["evidence"] for d in report.disagreements}
    assert by_slot[("L4-L5", "scs")] == ["L4-5: mild canal stenosis."]
    assert by_slot[("L3-L4", "rfs")] == []
    assert all(d["evidence"] == [] for d in evaluate(gold, pred, split="tune").disagreements)


def test_without_predictions_the_parser_runs_and_gives_its_evidence(tmp_path):
    text = "FINDINGS:\nL4-5: Moderate canal stenosis.\nL5-S1: Mild left foraminal narrowing."
    gold = tmp_path / "gold.json"
    save_gold([GoldReport("P1", text, grid(None, L4_L5_scs=3, L5_S1_lfs=1), split="tune")], gold)
    report = evaluate(gold)
    assert report.pred_path is None and report.overall.determined == 2
    miss = [d for d in report.disagreements if (d["level"], d["location"]) == ("L4-L5", "scs")]
    assert [(d["gold"], d["pred"]) for d in miss] == [(3, 2)]
    assert any("Moderate canal stenosis" in s for s in miss[0]["evidence"])
    assert not any(d["location"] == "lfs" and d["level"] == "L5-S1" for d in report.disagreements)


def invoke(*args):
    return RUNNER.invoke(app, ["evaluate", *(str(a) for a in args)])


def test_cli_writes_json_and_markdown_and_applies_min_accuracy(tmp_path, files):
    gold, pred = files
    out = tmp_path / "out"
    result = invoke("--gold", gold, "--pred", pred, "--split", "tune", "-o", out, "--min-accuracy", "0.8")
    assert result.exit_code == 0, result.output
    assert "82.4%" in result.output  # 14/17
    data = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert data["overall"]["determined"] == 17 and data["passed"] is True and data["split"] == "tune"
    assert data["confusion"]["lfs"][3] == [0, 0, 0, 0, 1]
    assert data["unmatched_predictions"] == ["X"]
    markdown = (out / "evaluation.md").read_text(encoding="utf-8")
    assert "| tune | 1 | 17 | 82.4% | 88.2% |" in markdown
    assert "| A | tune | L5-S1 | lfs | 3 | not stated |" in markdown
    assert "In the predictions but not in the gold set" in markdown

    result = invoke("--gold", gold, "--pred", pred, "--split", "tune", "-o", out, "--min-accuracy", "0.9")
    assert result.exit_code == 1, result.output
    assert "below --min-accuracy" in result.output
    assert json.loads((out / "evaluation.json").read_text(encoding="utf-8"))["passed"] is False


@pytest.mark.parametrize("args, code", [
    (("--split", "test"), "E310"),
    (("--min-accuracy", "95"), "E313"),
    (("--gold", "nope.json"), "E301"),
])
def test_cli_errors_exit_2_with_the_code(tmp_path, files, args, code):
    gold, pred = files
    result = invoke("--gold", gold, "--pred", pred, "-o", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert f"[{code}]" in result.output and "Traceback" not in result.output


def test_cli_bad_rules_folder_for_the_parser(tmp_path, files):
    gold, _ = files
    result = invoke("--gold", gold, "--rules", tmp_path / "no-rules", "-o", tmp_path)
    assert result.exit_code == 2 and "[E001]" in result.output


def test_gold_without_texts_is_joined_with_a_texts_file(tmp_path):
    """Labels kept apart from texts that may not be copied: the texts come from a reports file at run time."""
    gold = tmp_path / "gold.json"
    labels = grid(None, L4_L5_scs=2, L4_L5_lfs=1)
    save_gold([GoldReport("n1", "", labels, split="real"), GoldReport("n2", "", grid(None), split="real")], gold)
    texts = tmp_path / "texts.jsonl"
    texts.write_text(json.dumps({"id": "n1", "text": "L4-5: moderate canal stenosis, mild left foraminal "
                                 "narrowing.", "other": "ignored"}) + "\n"
                     + json.dumps({"id": "n2", "text": "Knee pain."}) + "\n", encoding="utf-8")
    report = evaluate(gold, texts_path=texts)
    assert report.overall.determined == 2 and report.overall.exact == 1.0
    assert report.overall.open_graded == 0
    with pytest.raises(ReportParseError, match=r"E314.*--texts"):
        evaluate(gold)
    texts.write_text(json.dumps({"id": "n1", "text": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ReportParseError, match=r"E315.*n2"):
        evaluate(gold, texts_path=texts)
    result = RUNNER.invoke(app, ["evaluate", "--gold", str(gold), "--texts", str(tmp_path / "absent.jsonl"),
                                 "-o", str(tmp_path)])
    assert result.exit_code == 2 and "E101" in result.output



REAL_NOTES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "reports-real" / "notes.jsonl"


@pytest.mark.skipif(not REAL_NOTES.is_file(), reason="../shared/data/reports-real/notes.jsonl is absent (the real "
                    "notes stay outside the repository)")
def test_real_notes_gold_scores_against_the_shared_texts():
    gold = Path(__file__).resolve().parents[2] / "gold" / "real_notes.json"
    report = evaluate(gold, texts_path=REAL_NOTES)
    assert report.overall.reports == 15
    assert report.overall.determined == 16
    assert report.overall.exact >= 0.9 and report.overall.open_graded_rate <= 0.03
