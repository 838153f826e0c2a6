"""Result tables of the stenosis grading from trained runs: section 4.2 of the DeepSPINE paper, Tables 1-3.

A *run folder* (one trained model) holds ``config.json`` (top-level ``variant``: ``both``, ``axial`` or
``sagittal``; ``swap_val_test``: bool; optional ``name``, else the folder name) and ``predictions_test.csv``
(one row per disc and task: ``study_id, patient_id, level, task, label, pred, p0, p1, p2, p3``; ``label`` is the
true grade 0-3 or empty when unknown, ``pred`` the argmax of the softmax probabilities p0-p3 of normal, mild,
moderate and severe).

Definitions (rows with an unknown label are left out of every figure):

* Locations: *spinal canal* is the task ``scs``; *foraminal* pools ``rfs`` and ``lfs`` (as the paper's Table 1).
* Per-class accuracy is the recall of a true class; the class average is the mean over the classes present in
  the truth labels. A class absent from the truth labels has accuracy None (Markdown "—").
* 4 grades use ``pred``. The 3 merged grades (normal, mild/moderate, severe) predict the argmax of
  ``(p0, p1 + p2, p3)``: the probabilities are summed, as in the paper, not the argmax labels merged.
* Binary (Table 3): severe against the rest, positive when ``p3 > 0.5`` (P_pos = p3 > P_neg = p0 + p1 + p2);
  overall accuracy per level and over all levels. The AUC is scikit-learn's ``roc_auc_score`` on p3 over the
  rows of the runs pooled (each run's test set is a different split, e.g. with ``swap_val_test``; a disc in two
  runs' test sets counts twice), with a percentile bootstrap 95% confidence interval: ``n_boot`` resamples of
  the rows (disc and task) drawn with replacement by ``numpy.random.default_rng(seed)``, skipping resamples that
  hold one class only (their number is reported). Rows are resampled independently, not by patient. The AUC is
  None when the rows hold one class only.
* Across runs: mean ± sample standard deviation (ddof=1, like the paper's two models with validation and test
  sets swapped) of the runs' figures; with one run the std is None (Markdown "± —"). A run whose figure is None
  is left out of that mean; ``n`` counts the runs it is over.
* Tables 1 and 3 use the runs of variant ``both``. Table 2 gives the class averages of each variant: the 3-grade
  ones (the paper's Table 2 repeats Table 1's merged class averages) and the 4-grade ones.

* Label schemes (``label_scheme`` in ``config.json``, :mod:`grading.labels`): the above is the ``deepspine``
  scheme. Runs of the ``rsna`` scheme have 3 classes (Normal/Mild, Moderate, Severe; ``p0``-``p2``), Table 1 gives
  their per-class accuracy (``rsna_classes``) and no merged row, severe is ``p2 > 0.5``, and the location
  *subarticular* (``rss`` and ``lss`` pooled) appears when the runs have those heads. All runs of a report share
  one scheme.
* The RSNA 2024 score (:func:`grading.rsna.rsna_score`: sample-weighted log loss per condition and the
  any-severe-spinal term) of every run, and its mean over the runs of variant ``both``; a ``deepspine`` run is
  scored with normal and mild summed into Normal/Mild.

:func:`evaluate_runs` writes ``results.json`` (figures as fractions in [0, 1]), ``results.md`` (percentages
with one decimal) and ``confusion_<run>_<location>.png`` (4x4 counts, rows truth), each atomically.
"""

from __future__ import annotations

import io
import json
import logging
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spinecore.io import atomic_path
from spinecore.schema import GRADE_NAMES as CLASSES
from spinecore.schema import LEVELS

from .errors import Errors, GradingError, check_writable
from .labels import SCHEMES, LabelScheme
from .metrics import (bootstrap_auc, class_average, confusion_counts, merge_labels, merged_predictions,
                      per_class_accuracy, severe_predictions)
from .rsna import SCORE_CONDITIONS, rsna_score, summarize_scores

logger = logging.getLogger(__name__)

MERGED_CLASSES: tuple[str, ...] = ("normal", "mild/moderate", "severe")
#: The levels of the paper's Table 3.
PAPER_LEVELS: tuple[str, ...] = ("L3-L4", "L4-L5", "L5-S1")
#: Location -> the tasks pooled in it.
LOCATIONS: dict[str, tuple[str, ...]] = {"spinal_canal": ("scs",), "foraminal": ("rfs", "lfs"),
                                         "subarticular": ("rss", "lss")}
LOCATION_TITLES: dict[str, str] = {"spinal_canal": "Spinal canal", "foraminal": "Foraminal",
                                   "subarticular": "Subarticular"}
VARIANTS: tuple[str, ...] = ("axial", "sagittal", "both")
VARIANT_TITLES: dict[str, str] = {"axial": "Axial only", "sagittal": "Sagittal only", "both": "Axial + Sagittal"}
PROB_COLUMNS: tuple[str, ...] = ("p0", "p1", "p2", "p3")
COLUMNS: tuple[str, ...] = ("study_id", "patient_id", "level", "task", "label", "pred", *PROB_COLUMNS)
CONFIG_FILE = "config.json"
PREDICTIONS_FILE = "predictions_test.csv"
FORMAT = "grading.evaluate/1"
PROB_SUM_TOL = 0.01  # p0-p3 must sum to 1 within this (CSV rounding)
_ARGMAX_TOL = 1e-6  # pred may be any class whose probability is within this of the largest (ties, rounding)
_UNKNOWN_LABELS = ["", "nan", "NaN", "NA", "null", "None"]

Stat = dict[str, Any]  # {"mean": float | None, "std": float | None, "n": int}


@dataclass
class Run:
    """One trained model: its config keys and test predictions (``label`` nullable Int64, NA when unknown)."""

    name: str
    variant: str
    swap_val_test: bool
    predictions: pd.DataFrame
    path: Path
    scheme: LabelScheme = SCHEMES["deepspine"]

    @property
    def locations(self) -> list[str]:
        """The locations this run predicts (subarticular only with those heads)."""
        return [loc for loc, tasks in LOCATIONS.items() if self.predictions["task"].isin(tasks).any()]


@dataclass
class Report:
    """The figures of a set of runs; every table is a plain dict (see :meth:`to_dict` for the layout)."""

    runs: list[dict[str, Any]]
    table1: dict[str, Any]
    table2: dict[str, Any]
    table3: dict[str, Any]
    rsna: dict[str, Any]
    settings: dict[str, Any]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written to ``results.json``."""
        return {"format": FORMAT, "settings": self.settings, "runs": self.runs, "table1": self.table1,
                "table2": self.table2, "table3": self.table3, "rsna": self.rsna, "notes": self.notes}

    def to_markdown(self) -> str:
        """The tables laid out like the paper's (percentages, mean ± std), the RSNA score, then the notes."""
        scheme = SCHEMES[self.settings["label_scheme"]]
        parts = ["# Stenosis grading results", _runs_markdown(self.runs), _table1_markdown(self.table1, scheme),
                 _table2_markdown(self.table2, scheme), _table3_markdown(self.table3), _rsna_markdown(self.rsna),
                 _confusion_markdown(self.runs),
                 "## Notes\n\n" + "\n".join(f"{i}. {note}" for i, note in enumerate(self.notes, 1))]
        return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------------- loading


def load_run(run_dir: str | Path) -> Run:
    """Read and check one run folder.

    Raises:
        GradingError: G200-G210 for a missing folder or file, a bad config value, missing columns, bad values
            or no labelled row.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GradingError(Errors.G200.format(path=run_dir))
    config = _read_config(run_dir)
    scheme = SCHEMES[config.get("label_scheme", "deepspine")]
    predictions = _read_predictions(run_dir, scheme)
    return Run(name=config.get("name", run_dir.name), variant=config["variant"],
               swap_val_test=config["swap_val_test"], predictions=predictions, path=run_dir, scheme=scheme)


def _existing(run_dir: Path, file: str) -> Path:
    path = run_dir / file
    if not path.is_file():
        raise GradingError(Errors.G201.format(folder=run_dir, file=file))
    return path


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = _existing(run_dir, CONFIG_FILE)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GradingError(Errors.G202.format(path=path, error=err)) from err
    if not isinstance(config, dict):
        raise GradingError(Errors.G202.format(path=path, error=f"the top level is a JSON {type(config).__name__}"))
    _check_key(path, config, "variant", config.get("variant") in VARIANTS, f"one of {list(VARIANTS)}")
    _check_key(path, config, "swap_val_test", isinstance(config.get("swap_val_test"), bool), "true or false")
    _check_key(path, config, "label_scheme", config.get("label_scheme", "deepspine") in SCHEMES,
               f"one of {sorted(SCHEMES)}")
    if "name" in config:
        name = config["name"]
        _check_key(path, config, "name", isinstance(name, str) and bool(name.strip()), "a non-empty string")
    return config


def _check_key(path: Path, config: dict[str, Any], key: str, ok: bool, expected: str) -> None:
    if not ok:
        value = repr(config[key]) if key in config else "missing"
        raise GradingError(Errors.G203.format(path=path, key=key, value=value, expected=expected))


def _read_predictions(run_dir: Path, scheme: LabelScheme) -> pd.DataFrame:
    path = _existing(run_dir, PREDICTIONS_FILE)
    prob_columns = list(scheme.prob_columns)
    columns = [*COLUMNS[:-len(PROB_COLUMNS)], *prob_columns]
    classes = range(scheme.n_classes)
    tasks = [*scheme.tasks, *scheme.optional_tasks]
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values={"label": _UNKNOWN_LABELS})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise GradingError(Errors.G204.format(path=path, error=err)) from err
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise GradingError(Errors.G205.format(path=path, missing=missing, columns=list(raw.columns),
                                              expected=columns))
    df = raw[columns].reset_index(drop=True)
    for column in ("study_id", "patient_id"):
        _require(path, df[column], df[column].str.strip() != "", "a non-empty identifier")
    _require(path, df["level"], df["level"].isin(LEVELS), f"one of {list(LEVELS)}")
    _require(path, df["task"], df["task"].isin(tasks), f"one of {tasks}")
    label = pd.to_numeric(df["label"], errors="coerce")
    last = scheme.n_classes - 1
    _require(path, df["label"], df["label"].isna() | label.isin(classes), f"empty (unknown) or a grade 0-{last}")
    pred = pd.to_numeric(df["pred"], errors="coerce")
    _require(path, df["pred"], pred.isin(classes), f"a grade 0-{last}")
    probs = {c: pd.to_numeric(df[c], errors="coerce") for c in prob_columns}
    for column, p in probs.items():
        _require(path, df[column], p.between(0.0, 1.0), "a probability between 0 and 1")
    out = df.assign(label=label.astype("Int64"), pred=pred.astype(int), **probs)
    _check_probabilities(path, out, prob_columns)
    _check_unique(path, out)
    if out["label"].isna().all():
        raise GradingError(Errors.G210.format(path=path, rows=len(out)))
    return out


def _require(path: Path, values: pd.Series, ok: pd.Series, expected: str) -> None:
    """Raise G206 naming the first value where ``ok`` is False (line numbers count the header as line 1)."""
    bad = np.flatnonzero(~ok.to_numpy(dtype=bool))
    if bad.size:
        raise GradingError(Errors.G206.format(path=path, column=values.name, line=int(bad[0]) + 2,
                                              value=values.iloc[bad[0]], expected=expected, n_bad=bad.size))


def _check_probabilities(path: Path, df: pd.DataFrame, prob_columns: Sequence[str]) -> None:
    probs = df[list(prob_columns)].to_numpy(float)
    total = probs.sum(axis=1)
    bad = np.flatnonzero(np.abs(total - 1.0) > PROB_SUM_TOL)
    if bad.size:
        i = int(bad[0])
        raise GradingError(Errors.G207.format(path=path, line=i + 2, total=total[i], tol=PROB_SUM_TOL))
    pred = df["pred"].to_numpy(int)
    chosen = probs[np.arange(len(df)), pred]
    bad = np.flatnonzero(chosen < probs.max(axis=1) - _ARGMAX_TOL)
    if bad.size:
        i = int(bad[0])
        raise GradingError(Errors.G208.format(path=path, line=i + 2, pred=pred[i], best=int(probs[i].argmax()),
                                              probs=probs[i].round(4).tolist()))


def _check_unique(path: Path, df: pd.DataFrame) -> None:
    duplicated = np.flatnonzero(df.duplicated(["study_id", "level", "task"]).to_numpy())
    if duplicated.size:
        row = df.iloc[duplicated[0]]
        raise GradingError(Errors.G209.format(path=path, line=int(duplicated[0]) + 2, study=row["study_id"],
                                              level=row["level"], task=row["task"]))


# ---------------------------------------------------------------------------------------------------- metrics


def location_rows(predictions: pd.DataFrame, location: str) -> pd.DataFrame:
    """The labelled rows of a location (its tasks pooled)."""
    return predictions[predictions["task"].isin(LOCATIONS[location]) & predictions["label"].notna()]


def binary_accuracy_by_level(rows: pd.DataFrame, scheme: LabelScheme = SCHEMES["deepspine"]
                             ) -> dict[str, float | None]:
    """Severe-vs-rest accuracy of labelled rows at each level and over all (``"all"``); None without rows."""
    correct = pd.Series(severe_predictions(rows[list(scheme.prob_columns)].to_numpy(float), scheme.severe)
                        == (rows["label"].to_numpy(int) == scheme.severe), index=rows.index)
    by_level = {level: correct[rows["level"] == level] for level in LEVELS}
    return {key: (float(v.mean()) if len(v) else None) for key, v in {**by_level, "all": correct}.items()}


def _grading(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    accuracies = per_class_accuracy(y_true, y_pred, len(names))
    return {"per_class": dict(zip(names, accuracies, strict=True)), "class_average": class_average(accuracies),
            "support": {name: int(np.sum(y_true == c)) for c, name in enumerate(names)}}


def gradings(scheme: LabelScheme) -> list[tuple[str, tuple[str, ...], str]]:
    """The per-class gradings of a scheme's tables: ``(key, class names, label)``; ``deepspine``: the 4 grades and
    the paper's 3 merged ones, ``rsna``: its 3 classes."""
    if scheme.merged is None:
        return [("rsna_classes", scheme.classes, "3 (RSNA)")]
    return [("four_class", scheme.classes, "4"), ("merged", MERGED_CLASSES, "3 (mild + moderate)")]


def location_metrics(rows: pd.DataFrame, scheme: LabelScheme = SCHEMES["deepspine"]) -> dict[str, Any]:
    """Per-class accuracies of the scheme's gradings (:func:`gradings`), binary accuracy per level and the
    confusion matrix."""
    y = rows["label"].to_numpy(int)
    pred = rows["pred"].to_numpy(int)
    out: dict[str, Any] = {"rows": len(rows)}
    for key, names, _ in gradings(scheme):
        if key == "merged":
            probs = rows[list(scheme.prob_columns)].to_numpy(float)
            out[key] = _grading(merge_labels(y), merged_predictions(probs), names)
        else:
            out[key] = _grading(y, pred, names)
    out["binary_accuracy"] = binary_accuracy_by_level(rows, scheme)
    out["confusion"] = confusion_counts(y, pred, scheme.n_classes).tolist()
    return out


def summarize(values: Sequence[float | None]) -> Stat:
    """Mean and sample std (ddof=1; None for fewer than two values) of the values that are not None."""
    present = [v for v in values if v is not None]
    return {"mean": float(np.mean(present)) if present else None,
            "std": float(np.std(present, ddof=1)) if len(present) > 1 else None, "n": len(present)}


# ---------------------------------------------------------------------------------------------------- tables


def build_report(runs: Sequence[Run], n_boot: int = 2000, seed: int = 0) -> Report:
    """The per-run figures and Tables 1-3 of ``runs`` (no files written).

    Raises:
        GradingError: G211 without runs, G212 for two runs with the same (file) name, G213 for a bad n_boot,
            G214 for runs of different label schemes.
    """
    if not runs:
        raise GradingError(Errors.G211)
    schemes = sorted({run.scheme.name for run in runs})
    if len(schemes) > 1:
        raise GradingError(Errors.G214.format(schemes=", ".join(f"{r.name}: {r.scheme.name}" for r in runs)))
    scheme = runs[0].scheme
    locations = [loc for loc in LOCATIONS if loc != "subarticular" or any(loc in run.locations for run in runs)]
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise GradingError(Errors.G213.format(value=n_boot))
    n_boot, seed = int(n_boot), int(seed)
    _check_names(runs)
    per_run = [_run_summary(run, locations) for run in runs]
    both = [r for r in per_run if r["variant"] == "both"]
    both_runs = [run.predictions for run in runs if run.variant == "both"]
    pooled = pd.concat(both_runs, ignore_index=True) if both_runs else runs[0].predictions.iloc[:0]
    settings = {"n_boot": n_boot, "seed": seed, "ci": 0.95, "binary_threshold": 0.5,
                "std": "sample standard deviation over runs (ddof=1); null with fewer than two runs",
                "values": "fractions in [0, 1]", "label_scheme": scheme.name, "locations": locations}
    scores = {run.name: rsna_score(run.predictions, scheme) for run in runs}
    rsna = {"runs": scores, "both": summarize_scores([scores[r["name"]] for r in both]),
            "definition": "RSNA 2024 metric: mean of the sample-weighted log losses (weights 1/2/4) of spinal, "
                          "foraminal, subarticular and any_severe_spinal; lower is better"}
    return Report(runs=per_run, table1=_table1(both, scheme, locations), table2=_table2(per_run, scheme, locations),
                  table3=_table3(both, pooled, n_boot, seed, scheme, locations), rsna=rsna, settings=settings,
                  notes=_notes(per_run, n_boot, scheme))


def _check_names(runs: Sequence[Run]) -> None:
    seen: dict[str, Run] = {}
    for run in runs:
        key = _file_safe(run.name)
        if key in seen:
            first = seen[key]
            raise GradingError(Errors.G212.format(first=first.name, first_path=first.path, second=run.name,
                                                  second_path=run.path, name=key))
        seen[key] = run


def _run_summary(run: Run, locations: Sequence[str]) -> dict[str, Any]:
    unknown = int(run.predictions["label"].isna().sum())
    return {"name": run.name, "variant": run.variant, "swap_val_test": run.swap_val_test, "path": str(run.path),
            "rows": len(run.predictions), "unknown_labels": unknown, "label_scheme": run.scheme.name,
            "metrics": {loc: location_metrics(location_rows(run.predictions, loc), run.scheme) for loc in locations}}


def _table1(both: list[dict[str, Any]], scheme: LabelScheme, locations: Sequence[str]) -> dict[str, Any]:
    """Per location and grading (:func:`gradings`): each class's accuracy and the class average over runs."""
    table: dict[str, Any] = {"runs": [r["name"] for r in both]}
    for loc in locations:
        table[loc] = {}
        for grading, names, _ in gradings(scheme):
            cells = [r["metrics"][loc][grading] for r in both]
            row = {name: summarize([c["per_class"][name] for c in cells]) for name in names}
            table[loc][grading] = {**row, "class_average": summarize([c["class_average"] for c in cells])}
    return table


def _table2(per_run: list[dict[str, Any]], scheme: LabelScheme, locations: Sequence[str]) -> dict[str, Any]:
    """Per location and variant: the class averages of the scheme's gradings over the variant's runs."""
    table: dict[str, Any] = {"runs": {v: [r["name"] for r in per_run if r["variant"] == v] for v in VARIANTS}}
    for loc in locations:
        table[loc] = {}
        for variant in VARIANTS:
            metrics = [r["metrics"][loc] for r in per_run if r["variant"] == variant]
            table[loc][variant] = {g: summarize([m[g]["class_average"] for m in metrics])
                                   for g, _, _ in gradings(scheme)}
    return table


def _table3(both: list[dict[str, Any]], pooled: pd.DataFrame, n_boot: int, seed: int, scheme: LabelScheme,
            locations: Sequence[str]) -> dict[str, Any]:
    """Binary accuracy per level over runs and the AUC with its bootstrap CI on the pooled predictions."""
    accuracy = {loc: {key: summarize([r["metrics"][loc]["binary_accuracy"][key] for r in both])
                      for key in (*LEVELS, "all")} for loc in locations}
    auc = {}
    severe = scheme.prob_columns[scheme.severe]
    for loc in locations:
        rows = location_rows(pooled, loc)
        auc[loc] = bootstrap_auc(rows["label"].to_numpy(float) == scheme.severe, rows[severe].to_numpy(float),
                                 n_boot, seed)
    return {"runs": [r["name"] for r in both], "accuracy": accuracy, "auc": auc}


def _notes(per_run: list[dict[str, Any]], n_boot: int, scheme: LabelScheme) -> list[str]:
    notes = [("Percentages, mean ± sample standard deviation (ddof=1) over runs; '± —' with one run; '—' with no "
              "run or no disc. Tables 1 and 3 use the runs of variant 'both'."),
             ("Merged grades: the prediction is the argmax of (p0, p1 + p2, p3); probabilities are summed, labels "
              "are not merged after the argmax." if scheme.merged else
              "Label scheme 'rsna': 3 classes Normal/Mild, Moderate, Severe (the RSNA 2024 labels); no merged "
              "grading."),
             (f"Binary: severe vs the rest, positive when p{scheme.severe} > 0.5. The AUC is computed on the predictions of the "
              "'both' runs pooled (each run's test set is a different split), with a percentile bootstrap 95% CI "
              f"over {n_boot} resamples of the rows, skipping resamples with one class only.")]
    if not any(r["variant"] == "both" for r in per_run):
        notes.append("No run of variant 'both': Tables 1 and 3 are empty.")
    for r in per_run:
        if r["unknown_labels"]:
            notes.append(f"Run '{r['name']}': {r['unknown_labels']} of {r['rows']} rows have an unknown label and "
                         "are left out.")
        for loc in r["metrics"]:
            where = f"Run '{r['name']}', {LOCATION_TITLES[loc].lower()}"
            absent = [name for name, n in r["metrics"][loc][gradings(scheme)[0][0]]["support"].items() if n == 0]
            if len(absent) == scheme.n_classes:
                notes.append(f"{where}: no labelled disc; its figures are '—' (null) and left out of the means.")
            elif absent:
                notes.append(f"{where}: no disc with the true grade(s) {', '.join(absent)}; their accuracy is '—' "
                             "(null) and the class averages are over the grades present.")
    return notes


# ---------------------------------------------------------------------------------------------------- Markdown


def format_stat(stat: Stat) -> str:
    """``"78.7 ± 5.4"`` (percent, one decimal); ``"78.7 ± —"`` without a std; ``"—"`` without a mean."""
    if stat["mean"] is None:
        return "—"
    std = "—" if stat["std"] is None else f"{100 * stat['std']:.1f}"
    return f"{100 * stat['mean']:.1f} ± {std}"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def _runs_markdown(runs: list[dict[str, Any]]) -> str:
    rows = [[r["name"], r["variant"], str(r["swap_val_test"]).lower(), str(r["rows"] - r["unknown_labels"]),
             str(r["unknown_labels"])] for r in runs]
    return _md_table(["Run", "Variant", "swap_val_test", "Labelled rows", "Unknown labels"], rows)


def _table1_markdown(table: dict[str, Any], scheme: LabelScheme) -> str:
    if scheme.merged is None:
        return _classes_table1_markdown(table, scheme)
    header = ["Location", "Grades", "Normal", "Mild", "Moderate", "Mild / Moderate", "Severe", "Class avg."]
    rows = []
    for loc in _locations(table):
        four, merged = table[loc]["four_class"], table[loc]["merged"]
        rows.append([f"{LOCATION_TITLES[loc]} stenosis", "4", *(format_stat(four[c]) for c in CLASSES[:3]), "",
                     format_stat(four["severe"]), format_stat(four["class_average"])])
        rows.append([f"{LOCATION_TITLES[loc]} stenosis", "3 (mild + moderate)", format_stat(merged["normal"]), "",
                     "", format_stat(merged["mild/moderate"]), format_stat(merged["severe"]),
                     format_stat(merged["class_average"])])
    title = (f"## Table 1: Class accuracy for stenosis grading (%, mean ± std over {len(table['runs'])} run(s) "
             "of variant 'both')")
    return f"{title}\n\n{_md_table(header, rows)}"


def _classes_table1_markdown(table: dict[str, Any], scheme: LabelScheme) -> str:
    """Table 1 of a scheme without merged grades: one row per location with each class's accuracy."""
    key, names, label = gradings(scheme)[0]
    header = ["Location", "Classes", *(n.capitalize() for n in names), "Class avg."]
    rows = [[f"{LOCATION_TITLES[loc]} stenosis", label, *(format_stat(table[loc][key][n]) for n in names),
             format_stat(table[loc][key]["class_average"])] for loc in _locations(table)]
    title = (f"## Table 1: Class accuracy for stenosis grading (%, mean ± std over {len(table['runs'])} run(s) "
             f"of variant 'both'; label scheme '{scheme.name}')")
    return f"{title}\n\n{_md_table(header, rows)}"


def _locations(table: dict[str, Any]) -> list[str]:
    """The locations a table holds, in :data:`LOCATIONS` order."""
    return [loc for loc in LOCATIONS if loc in table]


def _table2_markdown(table: dict[str, Any], scheme: LabelScheme) -> str:
    header = ["Location", "Grades", *(f"{VARIANT_TITLES[v]} ({len(table['runs'][v])} run(s))" for v in VARIANTS)]
    order = sorted(gradings(scheme), key=lambda g: g[0] != "merged")  # the paper's merged grades first
    rows = [[f"{LOCATION_TITLES[loc]} stenosis", "3 (as the paper)" if grading == "merged" else label,
             *(format_stat(table[loc][v][grading]) for v in VARIANTS)]
            for loc in _locations(table) for grading, _, label in order]
    title = "## Table 2: Class average accuracy by input (%, mean ± std)"
    return f"{title}\n\n{_md_table(header, rows)}"


def _table3_markdown(table: dict[str, Any]) -> str:
    keys = [*PAPER_LEVELS, *(lv for lv in LEVELS if lv not in PAPER_LEVELS), "all"]
    locations = _locations(table["accuracy"])
    rows = [["All levels" if key == "all" else key, *(format_stat(table["accuracy"][loc][key]) for loc in locations)]
            for key in keys]
    title = (f"## Table 3: Binary classification, severe vs the rest: overall accuracy (%, mean ± std over "
             f"{len(table['runs'])} run(s) of variant 'both'; the paper reports {', '.join(PAPER_LEVELS)})")
    aucs = "\n".join(f"- {LOCATION_TITLES[loc]} stenosis: {_format_auc(table['auc'][loc])}" for loc in locations)
    return (f"{title}\n\n{_md_table(['Level', *(f'{LOCATION_TITLES[loc]} stenosis' for loc in locations)], rows)}"
            f"\n\nAUC, severe vs the rest, on the pooled predictions of the runs above:\n\n{aucs}")


def _format_auc(auc: dict[str, Any]) -> str:
    if auc["auc"] is None:
        return f"— (one class only: {auc['positives']} severe, {auc['negatives']} other)"
    ci = "—" if auc["ci_low"] is None else f"{auc['ci_low']:.3f}-{auc['ci_high']:.3f}"
    return (f"{auc['auc']:.3f} (95% CI, {ci}; {auc['n_used']} of {auc['n_boot']} resamples; "
            f"{auc['positives']} severe, {auc['negatives']} other)")


def _rsna_markdown(rsna: dict[str, Any]) -> str:
    """The RSNA 2024 score per run and its mean over the runs of variant 'both'."""
    keys = [*SCORE_CONDITIONS, "any_severe_spinal"]

    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.4f}"

    def score(s: dict[str, Any]) -> str:
        return cell(s["score"]) + ("" if s["complete"] or s["score"] is None else " (incomplete)")

    rows = [[name, *(cell(s["terms"][k]) for k in keys), score(s)] for name, s in rsna["runs"].items()]
    rows.append(["mean of the 'both' runs", *(cell(rsna["both"]["terms"][k]) for k in keys), score(rsna["both"])])
    note = ("Sample-weighted log loss (weights 1, 2, 4 for Normal/Mild, Moderate, Severe) per condition and for any "
            "severe spinal canal stenosis per study; the score is their mean (lower is better). 'Incomplete': a "
            "condition without predictions (no subarticular heads) is left out of the mean, which is then not "
            "comparable with the competition's leaderboard. Scored on each run's test split, not the competition's "
            "hidden test set.")
    return (f"## RSNA 2024 score (test split)\n\n{_md_table(['Run', *keys, 'score'], rows)}\n\n{note}")


def _confusion_markdown(runs: list[dict[str, Any]]) -> str:
    images = [f"![{r['name']}, {LOCATION_TITLES[loc].lower()}]({confusion_filename(r['name'], loc)})"
              for r in runs for loc in r["metrics"]]
    return "## Confusion matrices (counts, rows = truth)\n\n" + "\n".join(images)


# ---------------------------------------------------------------------------------------------------- files


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def confusion_filename(run_name: str, location: str) -> str:
    """``confusion_<run>_<location>.png`` with the run name made safe for a file name."""
    return f"confusion_{_file_safe(run_name)}_{location}.png"


def confusion_png(matrix: Sequence[Sequence[int]], title: str, classes: Sequence[str] = CLASSES) -> bytes:
    """A confusion matrix of ``classes`` (rows truth, columns prediction) as an annotated PNG image."""
    counts = np.asarray(matrix)
    fig = Figure(figsize=(5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(classes)), labels=classes)
    ax.set_yticks(range(len(classes)), labels=classes)
    ax.set_xlabel("Predicted grade")
    ax.set_ylabel("True grade")
    ax.set_title(title)
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > counts.max() / 2 else "black")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write the confusion PNGs, ``results.json`` and ``results.md`` into ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[Path, bytes] = {}
    classes = SCHEMES[report.settings["label_scheme"]].classes
    for run in report.runs:
        for loc in run["metrics"]:
            title = f"{run['name']}: {LOCATION_TITLES[loc].lower()}"
            files[out_dir / confusion_filename(run["name"], loc)] = confusion_png(run["metrics"][loc]["confusion"],
                                                                                  title, classes)
    files[out_dir / "results.json"] = json.dumps(report.to_dict(), indent=2, allow_nan=False).encode("utf-8")
    files[out_dir / "results.md"] = report.to_markdown().encode("utf-8")
    for path, data in files.items():
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        logger.info("wrote %s", path)
    return list(files)


def evaluate_runs(run_dirs: Sequence[str | Path], out_dir: str | Path, n_boot: int = 2000, seed: int = 0) -> Report:
    """Load the runs, compute Tables 1-3 and the confusion matrices, and write them into ``out_dir``.

    Raises:
        GradingError: G200-G214 (see :func:`load_run` and :func:`build_report`).
    """
    check_writable(Path(out_dir), folder=True)
    runs = [load_run(d) for d in run_dirs]
    logger.info("evaluating %d run(s): %s", len(runs), ", ".join(r.name for r in runs))
    report = build_report(runs, n_boot=n_boot, seed=seed)
    write_report(report, out_dir)
    return report
