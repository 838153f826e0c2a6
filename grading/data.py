"""Disc volumes joined with their report labels, patient-level splits and a PyTorch dataset (DeepSPINE, 3.2).

Inputs are the disc manifest of ``imaging extract`` (one row per study x level with the paths of an axial
``(8, H, W)`` and a sagittal ``(D, H, W)`` float16 ``.npy`` array), the levels table of ``reportparse extract``
(one row per report x level with the grades ``scs``, ``rfs``, ``lfs``: 0-3 or empty) and an optional mapping
from ``report_id`` to ``study_id`` (and ``patient_id``). Tables are read with every cell as a string, so ids
such as ``"0012"`` keep their leading zeros.

:func:`join_labels` keeps one row per usable disc with at least one label (a missing label is ``-1``),
:func:`make_splits` assigns whole patients to train/val/test, :func:`load_or_make_splits` saves them once and
reuses them, and :class:`DiscDataset` serves the arrays as tensors, optionally with a left-right flip.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from spinecore.io import read_records, write_text_atomic
from spinecore.schema import (DISC_STATUSES, LEVEL_KEY_COLUMNS, LEVELS, LOCATIONS, MANIFEST_KEY_COLUMNS,
                              STATUS_FAILED)

from .errors import Errors, GradingError
from .labels import SCHEMES, SUBARTICULAR, LabelScheme, mirror_order

logger = logging.getLogger(__name__)

MAPPING_COLUMNS = ("report_id", "study_id")
SPLIT_COLUMNS = ("patient_id", "split")
SPLITS = ("train", "val", "test")
DISC_KEYS = ("study_id", "patient_id", "level", "axial_path", "sagittal_path")
DISC_COLUMNS = (*DISC_KEYS, *LOCATIONS)  # with the default tasks; other tasks follow the keys in their order
MISSING = -1
Shape = Sequence[int | None]


# --------------------------------------------------------------------------------------------- tables


def _cell(value: Any) -> str:
    """A table cell as text: missing values become ``""``, whole floats (ids and grades of a Parquet column with
    gaps) their integer."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _source(df: pd.DataFrame, default: str) -> str:
    return str(df.attrs.get("path", default))


def _require(df: pd.DataFrame, columns: Sequence[str], role: str, producer: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise GradingError(Errors.G303.format(role=role, path=_source(df, f"<{role.lower()}>"), missing=missing,
                                              columns=list(df.columns), producer=producer))


def read_table(path: str | Path, required: Sequence[str] = (), role: str = "Input",
               producer: str = "see the docs") -> pd.DataFrame:
    """Read a CSV, JSONL or Parquet table (:func:`spinecore.io.read_records`) with every cell as a string (``""``
    when missing).

    The path is kept in ``df.attrs["path"]`` for error messages and for resolving relative paths.

    Raises:
        CoreError: missing file (C001), unknown suffix (C002), unreadable file (C003), missing columns (C004).
    """
    columns, records = read_records(path, required, role=role, producer=producer)
    df = pd.DataFrame([{c: _cell(r.get(c)) for c in columns} for r in records], columns=columns, dtype=str)
    df.attrs["path"] = str(path)
    return df


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read the disc manifest of ``imaging extract``: the file, or the folder holding ``manifest.parquet``/``.csv``.

    Raises:
        GradingError: G315 when a folder holds no manifest, else as :func:`read_table`.
    """
    path = Path(path)
    if path.is_dir():
        found = [p for p in (path / "manifest.parquet", path / "manifest.csv") if p.is_file()]
        if not found:
            raise GradingError(Errors.G315.format(path=path))
        path = found[0]
    return read_table(path, MANIFEST_KEY_COLUMNS, role="Manifest", producer="imaging extract")


def read_levels(path: str | Path) -> pd.DataFrame:
    """Read a levels table (see :func:`read_table`): the table of ``reportparse extract`` (grades of the
    ``deepspine`` scheme), or the RSNA competition's ``train.csv``, turned into a levels table of the ``rsna``
    scheme by :func:`grading.rsna.read_train_csv`. ``attrs["label_scheme"]`` says which."""
    from .rsna import is_train_csv, read_train_csv

    df = read_table(path, role="Levels")
    if is_train_csv(df):
        return read_train_csv(df)
    _require(df, LEVEL_KEY_COLUMNS, "Levels", "reportparse extract, or the RSNA competition's train.csv")
    df.attrs["label_scheme"] = "deepspine"
    return df


def read_mapping(path: str | Path) -> pd.DataFrame:
    """Read a ``report_id, study_id[, patient_id]`` mapping (see :func:`read_table`)."""
    return read_table(path, MAPPING_COLUMNS, role="Mapping", producer="a csv with report_id,study_id")


# --------------------------------------------------------------------------------------------- join


@dataclass
class JoinSummary:
    """What :func:`join_labels` kept and dropped; ``labels[task][grade]`` counts the kept labels."""

    manifest_rows: int = 0
    failed: int = 0
    no_report: int = 0
    no_label: int = 0
    duplicate_labels: int = 0
    kept: int = 0
    labels: dict[str, dict[int, int]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip()


def _check_levels(df: pd.DataFrame, role: str) -> None:
    bad = ~df["level"].isin(LEVELS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise GradingError(Errors.G305.format(role=role, path=_source(df, f"<{role.lower()}>"), row=row + 1,
                                              value=df["level"].iat[row], levels=list(LEVELS)))


def _check_unique(df: pd.DataFrame, key: Sequence[str], role: str, source: str) -> None:
    dup = df.duplicated(list(key), keep="first")
    if dup.any():
        examples = df.loc[dup, list(key)].head(3).to_dict("records")
        raise GradingError(Errors.G307.format(role=role, path=source, n=int(dup.sum()), key="/".join(key),
                                              examples=examples))


def _grades(levels: pd.DataFrame, column: str, source: LabelScheme) -> pd.Series:
    """Parse one grade column written in the ``source`` scheme: ``""`` -> -1, ``"2"`` or ``"2.0"`` -> 2; anything
    else is an error (G304)."""
    text = _text(levels[column])
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & ~values.isin(range(source.n_classes))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise GradingError(Errors.G304.format(path=_source(levels, "<levels>"), row=row + 1, column=column,
                                              report_id=levels["report_id"].iat[row],
                                              level=levels["level"].iat[row], value=levels[column].iat[row],
                                              expected=f"a class 0-{source.n_classes - 1} of the {source.name} "
                                                       "label scheme"))
    return values.fillna(MISSING).astype(np.int64)


def _manifest_rows(manifest: pd.DataFrame, manifest_dir: str | Path | None) -> tuple[pd.DataFrame, int]:
    """Usable manifest rows with absolute array paths and a patient id, and the number of failed rows."""
    _require(manifest, MANIFEST_KEY_COLUMNS, "Manifest", "imaging extract")
    source = _source(manifest, "<manifest>")
    if manifest_dir is None:
        if "path" not in manifest.attrs:
            raise GradingError(Errors.G309)
        manifest_dir = Path(manifest.attrs["path"]).parent
    df = pd.DataFrame({c: _text(manifest[c]) for c in MANIFEST_KEY_COLUMNS})
    df.attrs["path"] = source
    df["status"] = df["status"].str.lower()
    unknown = ~df["status"].isin(DISC_STATUSES)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise GradingError(Errors.G306.format(path=source, row=row + 1, study_id=df["study_id"].iat[row],
                                              value=df["status"].iat[row], allowed=list(DISC_STATUSES)))
    _check_levels(df, "Manifest")
    _check_unique(df, ("study_id", "level"), "Manifest", source)
    patient = _text(manifest["patient_id"]) if "patient_id" in manifest.columns else df["study_id"]
    df["patient_id"] = patient.where(patient != "", df["study_id"])
    failed = df["status"] == STATUS_FAILED
    if failed.any():
        reasons = _text(manifest.loc[failed, "reason"]) if "reason" in manifest.columns else pd.Series(dtype=str)
        logger.warning("%d of %d manifest discs failed in imaging extract and are left out; top reasons: %s",
                       int(failed.sum()), len(df), reasons.value_counts().head(3).to_dict())
    root = str(manifest_dir)
    usable = df[~failed].copy()
    for column in ("axial_path", "sagittal_path"):
        usable[column] = [os.path.abspath(os.path.join(root, p)) if p else "" for p in usable[column]]
    return usable, int(failed.sum())


def _label_rows(levels: pd.DataFrame, mapping: pd.DataFrame | None, tasks: Sequence[str],
                scheme: LabelScheme) -> tuple[pd.DataFrame, int]:
    """Label rows keyed by study_id and level (plus a mapped patient_id) with ``tasks`` as ``scheme`` classes, and
    the number of duplicates dropped. The subarticular tasks, which reports do not grade, are missing for every
    disc of a table without them (with a warning); any other task the table lacks is G303."""
    source = SCHEMES[levels.attrs.get("label_scheme", "deepspine")]
    _require(levels, ("report_id", "level", *(t for t in tasks if t not in SUBARTICULAR)), "Levels",
             "reportparse extract, or the RSNA competition's train.csv")
    df = pd.DataFrame({"report_id": _text(levels["report_id"]), "level": _text(levels["level"])})
    df.attrs["path"] = _source(levels, "<levels>")
    _check_levels(df, "Levels")
    for task in tasks:
        if task in levels.columns:
            df[task] = scheme.convert(_grades(levels, task, source).to_numpy(), source)
        else:
            logger.warning("the levels table %s has no %s column; every %s label is missing", df.attrs["path"],
                           task, task)
            df[task] = MISSING
    df = df[df["report_id"] != ""]
    if mapping is None:
        df = df.assign(study_id=df["report_id"])
    else:
        mapped = df.merge(_mapping_rows(mapping), on="report_id", how="inner")
        unmapped = sorted(set(df["report_id"]) - set(mapped["report_id"]))
        if unmapped:
            logger.warning("%d reports are not in the mapping and are left out, e.g. %s", len(unmapped),
                           unmapped[:3])
        df = mapped
    n_labels = (df[list(tasks)] != MISSING).sum(axis=1)
    ordered = df.assign(_n=n_labels).sort_values("_n", ascending=False, kind="stable")
    dup = ordered.duplicated(["study_id", "level"], keep="first")
    if dup.any():
        logger.warning("%d label rows repeat a study and level (duplicate report ids or several reports per "
                       "study); kept the first one with the most labels", int(dup.sum()))
    return ordered[~dup].drop(columns="_n"), int(dup.sum())


def _mapping_rows(mapping: pd.DataFrame) -> pd.DataFrame:
    _require(mapping, MAPPING_COLUMNS, "Mapping", "a csv with report_id,study_id")
    columns = [c for c in (*MAPPING_COLUMNS, "patient_id") if c in mapping.columns]
    df = pd.DataFrame({c: _text(mapping[c]) for c in columns}).rename(columns={"patient_id": "mapped_patient"})
    df = df[(df["report_id"] != "") & (df["study_id"] != "")]
    _check_unique(df, ("report_id",), "Mapping", _source(mapping, "<mapping>"))
    return df


def _count_labels(discs: pd.DataFrame, tasks: Sequence[str], n_classes: int
                  ) -> tuple[dict[str, dict[int, int]], dict[str, int]]:
    labels = {t: {g: int((discs[t] == g).sum()) for g in range(n_classes)} for t in tasks}
    missing = {t: int((discs[t] == MISSING).sum()) for t in tasks}
    return labels, missing


def join_labels(manifest: pd.DataFrame, levels: pd.DataFrame, mapping: pd.DataFrame | None = None,
                manifest_dir: str | Path | None = None, *, tasks: Sequence[str] = LOCATIONS,
                label_scheme: str = "deepspine") -> tuple[pd.DataFrame, JoinSummary]:
    """One row per usable disc with at least one label: :data:`DISC_KEYS` and the ``tasks`` (default
    :data:`DISC_COLUMNS`), labels as class indices of ``label_scheme`` (-1 = missing; grades of a table written in
    another scheme are converted, :meth:`grading.labels.LabelScheme.convert`).

    Array paths are made absolute against ``manifest_dir`` (default: the folder of ``manifest.attrs["path"]``,
    set by :func:`read_table`). Without ``mapping`` a report's ``report_id`` is its ``study_id``; a mapping's
    non-empty ``patient_id`` overrides the manifest's. Failed discs, discs without a report and discs without
    any label are dropped, counted in the summary and logged.

    Raises:
        GradingError: missing columns (G303), bad grade (G304), unknown level (G305) or status (G306),
            duplicate keys (G307), nothing kept (G308), unknown manifest folder (G309).
    """
    scheme = SCHEMES[label_scheme]
    tasks = list(tasks)
    discs, failed = _manifest_rows(manifest, manifest_dir)
    labels, duplicates = _label_rows(levels, mapping, tasks, scheme)
    merged = discs.merge(labels.drop(columns="report_id"), on=["study_id", "level"], how="left", indicator=True)
    no_report = (merged["_merge"] == "left_only").to_numpy()
    merged[tasks] = merged[tasks].fillna(MISSING).astype(np.int64)
    no_label = ~no_report & (merged[tasks] == MISSING).all(axis=1).to_numpy()
    if "mapped_patient" in merged.columns:
        mapped = merged["mapped_patient"].fillna("")
        merged["patient_id"] = mapped.where(mapped != "", merged["patient_id"])
    kept = merged.loc[~no_report & ~no_label, [*DISC_KEYS, *tasks]].reset_index(drop=True)
    if kept.empty:
        raise GradingError(Errors.G308.format(studies=discs["study_id"].drop_duplicates().head(3).tolist(),
                                              labels=labels["study_id"].drop_duplicates().head(3).tolist()))
    counts, missing = _count_labels(kept, tasks, scheme.n_classes)
    summary = JoinSummary(manifest_rows=len(manifest), failed=failed, no_report=int(no_report.sum()),
                          no_label=int(no_label.sum()), duplicate_labels=duplicates, kept=len(kept),
                          labels=counts, missing=missing)
    logger.info("joined labels: %d manifest discs, %d failed, %d without a report (e.g. %s), %d without any "
                "label; kept %d discs of %d patients", summary.manifest_rows, failed, summary.no_report,
                merged.loc[no_report, "study_id"].drop_duplicates().head(3).tolist(), summary.no_label,
                summary.kept, kept["patient_id"].nunique())
    return kept, summary


def labels_array(discs: pd.DataFrame, tasks: Sequence[str] = LOCATIONS) -> np.ndarray:
    """The labels as an ``(N, T)`` int64 array in ``tasks`` order, -1 where missing (for class weights)."""
    return discs[list(tasks)].to_numpy(dtype=np.int64)


# --------------------------------------------------------------------------------------------- splits


def _split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Patients per split; with >= 3 patients every split with a fraction > 0 gets at least one."""
    val, test = (round(n * f) for f in fractions[1:])
    if n >= 3:
        val, test = (max(size, 1) if f > 0 else size for size, f in zip((val, test), fractions[1:]))
    val = min(val, n)
    test = min(test, n - val)
    return [n - val - test, val, test]


def _check_fractions(fractions: Sequence[float]) -> None:
    values = list(fractions)
    if len(values) != 3 or any(not np.isfinite(f) or f < 0 for f in values) or abs(sum(values) - 1) > 1e-6:
        raise GradingError(Errors.G310.format(value=tuple(fractions)))


def make_splits(discs: pd.DataFrame, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0) -> pd.DataFrame:
    """Assign every patient of ``discs`` to train, val or test (columns ``patient_id, split``).

    The sorted patients are shuffled with ``seed``, so the result depends only on the patients and the seed.

    Raises:
        GradingError: G310 for invalid fractions.
    """
    _check_fractions(fractions)
    patients = np.array(sorted(discs["patient_id"].unique()), dtype=object)
    order = np.random.default_rng(seed).permutation(len(patients))
    names = np.repeat(np.array(SPLITS, dtype=object), _split_sizes(len(patients), fractions))
    splits = pd.DataFrame({"patient_id": patients[order], "split": names})
    return splits.sort_values("patient_id", kind="stable").reset_index(drop=True)


def _check_saved_splits(splits: pd.DataFrame, path: Path, discs: pd.DataFrame) -> None:
    unknown = sorted(set(splits["split"]) - set(SPLITS))
    if unknown:
        raise GradingError(Errors.G311.format(path=path, problem=f"unknown split name(s) {unknown}"))
    dup = splits["patient_id"].duplicated()
    if dup.any():
        raise GradingError(Errors.G311.format(
            path=path, problem=f"patient(s) in several rows, e.g. {splits.loc[dup, 'patient_id'].head(3).tolist()}"))
    absent = sorted(set(discs["patient_id"]) - set(splits["patient_id"]))
    if absent:
        raise GradingError(Errors.G312.format(path=path, n=len(absent), examples=absent[:5]))


def load_or_make_splits(path: str | Path, discs: pd.DataFrame, fractions: Sequence[float] = (0.7, 0.15, 0.15),
                        seed: int = 0) -> pd.DataFrame:
    """Reuse the splits saved at ``path`` (a ``.csv``), or make them and save them atomically.

    Reusing saved splits keeps runs comparable; ``fractions`` and ``seed`` only apply to new splits.

    Raises:
        GradingError: G301 for a suffix other than .csv, G311 for an invalid file, G312 when a patient of
            ``discs`` has no saved split, else as :func:`read_table` and :func:`make_splits`.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise GradingError(Errors.G301.format(role="Splits", path=path, suffix=path.suffix or "<none>",
                                              formats=".csv"))
    if path.exists():
        splits = read_table(path, SPLIT_COLUMNS, role="Splits", producer="load_or_make_splits")
        splits = splits[list(SPLIT_COLUMNS)]
        _check_saved_splits(splits, path, discs)
        logger.info("reusing the splits in %s (%s)", path, splits["split"].value_counts().to_dict())
        return splits
    splits = make_splits(discs, fractions, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, splits.to_csv(index=False))
    logger.info("saved new splits to %s (%s, seed %d)", path, splits["split"].value_counts().to_dict(), seed)
    return splits


def swap_val_test(splits: pd.DataFrame) -> pd.DataFrame:
    """The splits with val and test exchanged (the paper's second model)."""
    return splits.assign(split=splits["split"].replace({"val": "test", "test": "val"}))


def select_split(discs: pd.DataFrame, splits: pd.DataFrame, name: str) -> pd.DataFrame:
    """The discs whose patient is in split ``name`` (patients absent from ``splits`` are left out)."""
    patients = splits.loc[splits["split"] == name, "patient_id"]
    return discs[discs["patient_id"].isin(patients)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------- dataset


def _shape_matches(shape: tuple[int, ...], expected: Shape | None) -> bool:
    if expected is None:
        return len(shape) == 3
    return len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))


def load_array(path: str, branch: str, expected: Shape | None = None) -> np.ndarray:
    """A 3-D volume from an ``.npy`` file as float32, checked against ``expected`` (None entries = any size).

    Raises:
        GradingError: G313 when the file is missing or unreadable, G314 for a wrong shape.
    """
    try:
        if not path:
            raise FileNotFoundError("no path in the manifest")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise GradingError(Errors.G313.format(branch=branch.capitalize(), path=path,
                                              error=f"{type(err).__name__}: {err}")) from err
    if not _shape_matches(array.shape, expected):
        raise GradingError(Errors.G314.format(branch=branch.capitalize(), path=path, shape=tuple(array.shape),
                                              expected=tuple(expected) if expected else "(D, H, W)",
                                              branch_key=branch))
    return np.array(array, dtype=np.float32)


class DiscDataset(Dataset):
    """Discs of one split as tensors: ``{"axial": (8, H, W), "sagittal": (1, D, H, W), "labels": (T,), "index"}``
    with the labels of ``tasks``.

    A switched-off branch is neither read nor returned. With ``augment`` each disc is mirrored left-right with
    probability 1/2 (``rfs`` and ``lfs`` swapped, and ``rss`` and ``lss``), decided by ``(seed, epoch, index)`` so that it is the same in
    any worker; call :meth:`set_epoch` before each epoch (with ``persistent_workers=False``, the default).
    The default ``collate_fn`` of :class:`torch.utils.data.DataLoader` stacks the items.
    """

    def __init__(self, discs: pd.DataFrame, use_axial: bool = True, use_sagittal: bool = True,
                 expected_axial: Shape | None = None, expected_sagittal: Shape | None = None,
                 augment: bool = False, seed: int = 0, tasks: Sequence[str] = LOCATIONS) -> None:
        self.discs = discs.reset_index(drop=True)
        self.use_axial = use_axial
        self.use_sagittal = use_sagittal
        self.expected_axial = expected_axial
        self.expected_sagittal = expected_sagittal
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._axial = self.discs["axial_path"].tolist()
        self._sagittal = self.discs["sagittal_path"].tolist()
        self._labels = torch.from_numpy(labels_array(self.discs, tasks))
        self._mirrored = mirror_order(tuple(tasks))

    def __len__(self) -> int:
        return len(self.discs)

    def set_epoch(self, epoch: int) -> None:
        """Choose the flips of this epoch."""
        self.epoch = epoch

    def flipped(self, index: int) -> bool:
        """Whether disc ``index`` is mirrored left-right in the current epoch."""
        return self.augment and bool(np.random.default_rng((self.seed, self.epoch, index)).random() < 0.5)

    def __getitem__(self, index: int) -> dict[str, Any]:
        flip = self.flipped(index)
        item: dict[str, Any] = {"index": index}
        if self.use_axial:
            axial = torch.from_numpy(load_array(self._axial[index], "axial", self.expected_axial))
            item["axial"] = axial.flip(-1) if flip else axial  # columns run patient right -> left
        if self.use_sagittal:
            sagittal = torch.from_numpy(load_array(self._sagittal[index], "sagittal", self.expected_sagittal))
            item["sagittal"] = (sagittal.flip(0) if flip else sagittal).unsqueeze(0)  # slices run right -> left
        labels = self._labels[index]
        item["labels"] = labels[self._mirrored] if flip else labels.clone()
        return item
