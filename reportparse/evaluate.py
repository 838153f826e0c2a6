"""``reportparse evaluate``: score per-level grades against the gold set (a Label Studio JSON export).

The predictions come from a levels table written by ``reportparse extract`` (``pred_path``) or, without one,
from running the parser on the gold texts. Every gold slot is paired with its prediction; a missing prediction
(a report or slot absent from the table, or a slot the parser leaves empty) is the class *not stated*.

Figures (computed with scikit-learn):

* **exact** and **within one grade**: over the *determined* slots (gold 0-3); a not-stated prediction is wrong.
* **quadratic-weighted kappa** over the determined slots, on the ordered classes
  ``not stated < 0 < 1 < 2 < 3`` (a missed grade weighs as a grade one below normal).
* **macro-F1** over the determined slots, averaged over the grades 0-3 that occur in gold or prediction; a
  not-stated prediction is a miss for the gold grade (it lowers recall, it is not a class of its own).
* **open slots graded**: the share of slots the gold leaves open (not stated) that were given a grade anyway.
* Per location (scs, rfs, lfs) the same figures and a confusion matrix over *all* slots: rows gold 0-3 and
  not stated, columns prediction 0-3 and not stated.
* Every disagreeing slot with the evidence sentences behind the prediction (the parser's ``used`` evidence, or
  the rows of an ``--evidence`` table), and the reports found only in the gold set or only in the predictions.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spinecore.io import write_text_atomic
from spinecore.schema import LEVELS, LOCATIONS

from .errors import Errors, ReportParseError
from .io import read_grade, read_rows, report_id
from .gold import CHOICE_NAMES, GoldReport, load_gold

logger = logging.getLogger(__name__)

#: The grade classes of the confusion matrices, in row/column order ("not stated" last).
CLASSES: tuple[str, ...] = ("0", "1", "2", "3", "not stated")
_NS = -1  # array code of "not stated": below normal in the kappa's ordering
_MATRIX_LABELS = [0, 1, 2, 3, _NS]
_KAPPA_LABELS = [_NS, 0, 1, 2, 3]

Slots = dict[str, dict[str, int | None]]


@dataclass
class Scores:
    """The figures of one set of slots (all, one split, or one location)."""

    reports: int = 0
    determined: int = 0
    exact: float | None = None
    within_one: float | None = None
    kappa: float | None = None
    macro_f1: float | None = None
    open_slots: int = 0
    open_graded: int = 0
    open_graded_rate: float | None = None


@dataclass
class EvaluationReport:
    """The result of :func:`evaluate`; ``to_json()`` and ``to_markdown()`` give the files the CLI writes."""

    gold_path: str
    pred_path: str | None
    split: str | None
    overall: Scores
    by_location: dict[str, Scores]
    by_split: dict[str, Scores]
    #: location -> 5 x 5 counts, rows gold and columns prediction, both in :data:`CLASSES` order
    confusion: dict[str, list[list[int]]]
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    #: gold reports with no row in the prediction table (scored as all not stated)
    missing_predictions: list[str] = field(default_factory=list)
    #: report ids of the prediction table that are not in the gold file
    unmatched_predictions: list[str] = field(default_factory=list)
    min_accuracy: float | None = None
    classes: tuple[str, ...] = CLASSES

    @property
    def passed(self) -> bool:
        """False when ``min_accuracy`` is set and the exact accuracy is below it (or undefined)."""
        if self.min_accuracy is None:
            return True
        return self.overall.exact is not None and self.overall.exact >= self.min_accuracy

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["classes"] = list(self.classes)
        out["passed"] = self.passed
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        source = f"`{self.pred_path}`" if self.pred_path else "the parser, run on the gold texts"
        lines = ["# reportparse evaluation", "",
                 f"Gold: `{self.gold_path}`, split: {self.split or 'all'}. Predictions: {source}.", ""]
        head = ("| {} | reports | determined slots | exact | within one grade | quadratic kappa | macro-F1 | "
                "open slots | open slots graded |")
        rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        lines += [head.format("split"), rule]
        rows = dict(self.by_split) if len(self.by_split) > 1 else {}
        rows[self.split or "all"] = self.overall
        for name, s in rows.items():
            lines.append(_md_scores(name, s))
        lines += ["", "## Per location", "", head.format("location"), rule]
        for loc, s in self.by_location.items():
            lines.append(_md_scores(loc, s))
        lines += ["", "## Confusion matrices", "", "Rows: gold grade; columns: predicted grade.", ""]
        for loc, matrix in self.confusion.items():
            lines += [f"### {loc}", "", "| gold \\ predicted | " + " | ".join(self.classes) + " |",
                      "|---|" + "---:|" * len(self.classes)]
            for name, row in zip(self.classes, matrix):
                lines.append(f"| {name} | " + " | ".join(str(n) for n in row) + " |")
            lines.append("")
        if self.missing_predictions or self.unmatched_predictions:
            lines += ["## Unmatched reports", ""]
            if self.missing_predictions:
                lines.append(f"* In the gold set but not in the predictions (scored as not stated, "
                             f"{len(self.missing_predictions)}): {', '.join(self.missing_predictions)}")
            if self.unmatched_predictions:
                lines.append(f"* In the predictions but not in the gold set (not scored, "
                             f"{len(self.unmatched_predictions)}): {', '.join(self.unmatched_predictions)}")
            lines.append("")
        lines += [f"## Disagreements ({len(self.disagreements)})", ""]
        if self.disagreements:
            lines += ["| report | split | level | location | gold | predicted | evidence |",
                      "|---|---|---|---|---|---|---|"]
            for d in self.disagreements:
                evidence = "<br>".join(_md_cell(s) for s in d["evidence"])
                lines.append(f"| {d['report_id']} | {d['split'] or ''} | {d['level']} | {d['location']} | "
                             f"{_grade_name(d['gold'])} | {_grade_name(d['pred'])} | {evidence} |")
        else:
            lines.append("None.")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``evaluation.json`` and ``evaluation.md`` into ``out_dir`` (created if missing), atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = out / "evaluation.json", out / "evaluation.md"
        for path, text in zip(paths, (self.to_json(), self.to_markdown())):
            write_text_atomic(path, text)
        return paths


def _grade_name(grade: int | None) -> str:
    return CHOICE_NAMES[grade] if grade is None else str(grade)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _md_scores(name: str, s: Scores) -> str:
    return (f"| {name} | {s.reports} | {s.determined} | {_pct(s.exact)} | {_pct(s.within_one)} | {_num(s.kappa)} | "
            f"{_num(s.macro_f1)} | {s.open_slots} | {_pct(s.open_graded_rate)} |")


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _float(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def score(pairs: list[tuple[int | None, int | None]], reports: int = 0) -> Scores:
    """The figures of a list of (gold, predicted) slot pairs; None is not stated."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    s = Scores(reports=reports)
    det = [(g, _NS if p is None else p) for g, p in pairs if g is not None]
    s.determined = len(det)
    s.open_slots = sum(g is None for g, _ in pairs)
    s.open_graded = sum(g is None and p is not None for g, p in pairs)
    if s.open_slots:
        s.open_graded_rate = s.open_graded / s.open_slots
    if det:
        gold = [g for g, _ in det]
        pred = [p for _, p in det]
        s.exact = sum(g == p for g, p in det) / len(det)
        s.within_one = sum(p != _NS and abs(g - p) <= 1 for g, p in det) / len(det)
        if len(set(gold) | set(pred)) > 1:
            s.kappa = _float(cohen_kappa_score(gold, pred, labels=_KAPPA_LABELS, weights="quadratic"))
        else:  # one class only: kappa is undefined, agreement is perfect
            s.kappa = 1.0
        grades = [g for g in range(4) if g in gold or g in pred]
        s.macro_f1 = _float(f1_score(gold, pred, labels=grades, average="macro", zero_division=0))
    return s


def confusion(pairs: list[tuple[int | None, int | None]]) -> list[list[int]]:
    """5 x 5 counts: rows gold 0-3 and not stated, columns prediction 0-3 and not stated."""
    from sklearn.metrics import confusion_matrix

    if not pairs:
        return [[0] * len(CLASSES) for _ in CLASSES]
    gold = [_NS if g is None else g for g, _ in pairs]
    pred = [_NS if p is None else p for _, p in pairs]
    return confusion_matrix(gold, pred, labels=_MATRIX_LABELS).tolist()


# ---------------------------------------------------------------------------------------------------- inputs


def read_predictions(path: str | Path) -> dict[str, Slots]:
    """report_id -> level -> location -> grade from a levels table (``reportparse extract`` output).

    Rows without a report id are skipped; of two rows for one report and level the first one counts.
    """
    path = Path(path)
    preds: dict[str, Slots] = {}
    duplicates = 0
    for row, rec in read_rows(path, ("report_id", "level", *LOCATIONS), role="Prediction"):
        rid = report_id(rec["report_id"])
        if not rid:
            continue
        level = str(rec["level"]).strip()
        if level not in LEVELS:
            raise ReportParseError(Errors.E312.format(path=path, row=row, column="level", value=rec["level"],
                                                      expected=f"one of {list(LEVELS)}"))
        slots = preds.setdefault(rid, {})
        if level in slots:
            duplicates += 1
            continue
        slots[level] = {loc: read_grade(rec[loc], path, row, loc) for loc in LOCATIONS}
    if duplicates:
        logger.warning("%s: %d duplicate (report_id, level) rows; the first of each was used", path, duplicates)
    return preds


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def read_evidence(path: str | Path) -> dict[tuple[str, str, str], list[str]]:
    """(report_id, level, location) -> the sentences of the ``used`` rows of an evidence table (``--evidence``)."""
    path = Path(path)
    out: dict[tuple[str, str, str], list[str]] = {}
    for _, rec in read_rows(path, ("report_id", "level", "location", "sentence", "used"), role="Evidence",
                             producer="'reportparse extract --evidence'"):
        if _truthy(rec["used"]):
            key = (report_id(rec["report_id"]), str(rec["level"]), str(rec["location"]))
            sentences = out.setdefault(key, [])
            if rec["sentence"] not in sentences:
                sentences.append(str(rec["sentence"]))
    return out


def join_texts(reports: list[GoldReport], gold_path: str | Path, texts_path: str | Path | None
               ) -> list[GoldReport]:
    """Fill the empty texts of ``reports`` from the reports file ``texts_path`` (matched by report id).

    Raises:
        ReportParseError: (E314) empty texts and no ``texts_path``; (E315) a report the file does not hold; the
            reader's E101-E105 for a missing or unreadable file.
    """
    empty = [r for r in reports if not r.text.strip()]
    if not empty:
        return reports
    if texts_path is None:
        ids = ", ".join(r.report_id for r in empty[:5]) + (" ..." if len(empty) > 5 else "")
        raise ReportParseError(Errors.E314.format(path=gold_path, n=len(empty), ids=ids))
    from .io import ReportReader

    wanted = {r.report_id for r in empty}
    texts = {row.report_id: row.text for row in ReportReader(texts_path) if row.report_id in wanted and row.text}
    absent = [r.report_id for r in empty if r.report_id not in texts]
    if absent:
        raise ReportParseError(Errors.E315.format(texts=texts_path, ids=", ".join(absent[:10])))
    for report in empty:
        report.text = texts[report.report_id]
    logger.info("joined %d gold texts from %s", len(empty), texts_path)
    return reports


def _run_parser(reports: list[GoldReport], rules_dir: str | Path | None
                ) -> tuple[dict[str, Slots], dict[tuple[str, str, str], list[str]]]:
    from .pipeline import default_pipeline, parse_text

    nlp = default_pipeline(None if rules_dir is None else str(Path(rules_dir).resolve()))
    preds: dict[str, Slots] = {}
    evidence: dict[tuple[str, str, str], list[str]] = {}
    for report in reports:
        result = parse_text(report.text, nlp)
        preds[report.report_id] = {level: dict(result.grades[level]) for level in LEVELS}
        for ev in result.evidence:
            if ev.used and ev.level:
                sentences = evidence.setdefault((report.report_id, ev.level, ev.location), [])
                if ev.sentence not in sentences:
                    sentences.append(ev.sentence)
    return preds, evidence


# ---------------------------------------------------------------------------------------------------- evaluate


def evaluate(gold_path: str | Path, pred_path: str | Path | None = None, split: str | None = None,
             rules_dir: str | Path | None = None, *, evidence_path: str | Path | None = None,
             min_accuracy: float | None = None, out_dir: str | Path | None = None,
             texts_path: str | Path | None = None) -> EvaluationReport:
    """Score predictions (a levels table, or the parser run on the gold texts) against the gold set.

    Args:
        gold_path: Label Studio JSON export (``gold/annotations.json``).
        pred_path: levels table from ``reportparse extract`` (.csv, .jsonl, .parquet); None runs the parser.
        split: score only the gold reports of this split (``tune``, ``holdout``); None scores all.
        rules_dir: rules folder for the parser (when ``pred_path`` is None).
        evidence_path: evidence table from ``reportparse extract --evidence`` for the disagreement list
            (when ``pred_path`` is given).
        min_accuracy: the exact accuracy (0-1) that ``report.passed`` requires.
        out_dir: when given, write ``evaluation.json`` and ``evaluation.md`` there.
        texts_path: a reports file (.csv, .jsonl, .parquet with id and text columns) giving the texts of gold
            reports stored without one (``gold/real_notes.json``: labels of texts that may not be copied into the
            project); gold texts present in the gold file are kept.

    Raises:
        ReportParseError: a missing or malformed gold or prediction file, an unknown split, a bad
            ``min_accuracy``, bad rules.
    """
    if min_accuracy is not None and not (0 <= min_accuracy <= 1):
        raise ReportParseError(Errors.E313.format(value=min_accuracy))
    gold_all = join_texts(load_gold(gold_path), gold_path, texts_path)
    gold = [r for r in gold_all if split is None or r.split == split]
    if split is not None and not gold:
        splits = sorted({str(r.split) for r in gold_all})
        raise ReportParseError(Errors.E310.format(split=split, splits=splits))
    if pred_path is None:
        preds, evidence = _run_parser(gold, rules_dir)
    else:
        preds = read_predictions(pred_path)
        evidence = read_evidence(evidence_path) if evidence_path is not None else {}
    all_ids = {r.report_id for r in gold_all}
    missing = [r.report_id for r in gold if r.report_id not in preds]
    unmatched = [rid for rid in preds if rid not in all_ids]
    if missing:
        logger.warning("%d gold report(s) have no prediction and are scored as not stated", len(missing))
    if unmatched:
        logger.warning("%d predicted report(s) are not in the gold set and are not scored", len(unmatched))

    pairs: list[tuple[GoldReport, str, str, int | None, int | None]] = []
    for report in gold:
        slots = preds.get(report.report_id, {})
        for level in LEVELS:
            for loc in LOCATIONS:
                pred = slots.get(level, {}).get(loc)
                pairs.append((report, level, loc, report.labels[level][loc], pred))

    def figures(keep) -> Scores:
        chosen = [p for p in pairs if keep(p)]
        return score([(g, p) for _, _, _, g, p in chosen], reports=len({r.report_id for r, *_ in chosen}))

    by_split = {}
    if split is None:
        for name in dict.fromkeys(r.split for r in gold):
            by_split[str(name)] = figures(lambda p, name=name: p[0].split == name)
    disagreements = [
        {"report_id": r.report_id, "split": r.split, "level": level, "location": loc, "gold": g, "pred": p,
         "evidence": evidence.get((r.report_id, level, loc), [])}
        for r, level, loc, g, p in pairs if g != p]
    report = EvaluationReport(
        gold_path=str(gold_path), pred_path=None if pred_path is None else str(pred_path), split=split,
        overall=figures(lambda p: True),
        by_location={loc: figures(lambda p, loc=loc: p[2] == loc) for loc in LOCATIONS},
        by_split=by_split,
        confusion={loc: confusion([(g, p) for _, _, lc, g, p in pairs if lc == loc]) for loc in LOCATIONS},
        disagreements=disagreements, missing_predictions=missing, unmatched_predictions=unmatched,
        min_accuracy=min_accuracy)
    logger.info("scored %d reports: exact %s", report.overall.reports, _pct(report.overall.exact))
    if out_dir is not None:
        report.write(out_dir)
    return report
