"""Label schemes: what the grade columns of a levels table mean, and which heads the network has.

* ``deepspine`` (the paper, labels from ``reportparse extract``): 4 grades normal, mild, moderate, severe for the
  tasks ``scs`` (spinal canal), ``rfs`` / ``lfs`` (right / left neural foramen).
* ``rsna`` (the RSNA 2024 Lumbar Spine Degenerative Classification labels): 3 classes Normal/Mild, Moderate,
  Severe for the same tasks, plus the optional subarticular heads ``rss`` / ``lss`` (right / left subarticular
  stenosis; ``TrainConfig.subarticular``).

A levels table holds grades in the class indices of the scheme it was written in (``source``): ``reportparse
extract`` writes ``deepspine`` grades, :func:`grading.rsna.read_train_csv` writes ``rsna`` classes.
:meth:`LabelScheme.convert` maps one into the other where that is defined: DeepSPINE's normal and mild are
RSNA's Normal/Mild, moderate is Moderate, severe is Severe; RSNA's Normal/Mild cannot be split into two grades,
so RSNA labels never train a 4-grade model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinecore.schema import GRADE_NAMES, LOCATIONS

from .errors import Errors, GradingError

__all__ = ["LabelScheme", "SCHEMES", "scheme", "SUBARTICULAR", "ALL_TASKS", "MIRRORED", "mirror_order"]

SUBARTICULAR: tuple[str, ...] = ("rss", "lss")  # right / left subarticular stenosis (RSNA only)
ALL_TASKS: tuple[str, ...] = (*LOCATIONS, *SUBARTICULAR)
#: The task a left-right flip turns each task into.
MIRRORED: dict[str, str] = {"scs": "scs", "rfs": "lfs", "lfs": "rfs", "rss": "lss", "lss": "rss"}


@dataclass(frozen=True)
class LabelScheme:
    """One labelling convention.

    Attributes:
        name: ``deepspine`` or ``rsna``.
        classes: class names in index order.
        tasks: the heads always present.
        optional_tasks: heads added on request (``TrainConfig.subarticular``).
        merged: index map to the paper's 3 merged grades (normal, mild/moderate, severe), or None.
        rsna: index map to RSNA's 3 classes (Normal/Mild, Moderate, Severe).
    """

    name: str
    classes: tuple[str, ...]
    tasks: tuple[str, ...]
    optional_tasks: tuple[str, ...]
    merged: tuple[int, ...] | None
    rsna: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def severe(self) -> int:
        """The index of the severe class (the last one)."""
        return self.n_classes - 1

    @property
    def prob_columns(self) -> tuple[str, ...]:
        return tuple(f"p{c}" for c in range(self.n_classes))

    def task_list(self, subarticular: bool = False) -> tuple[str, ...]:
        """The heads of a model: the scheme's tasks, plus the optional ones when asked for."""
        if subarticular and not self.optional_tasks:
            raise GradingError(Errors.G011.format(scheme=self.name))
        return (*self.tasks, *(self.optional_tasks if subarticular else ()))

    def convert(self, grades: np.ndarray, source: "LabelScheme") -> np.ndarray:
        """Grades written in ``source``'s class indices (-1 missing) as this scheme's class indices.

        Raises:
            GradingError: G012 when ``source`` has fewer classes than this scheme (RSNA -> DeepSPINE).
        """
        grades = np.asarray(grades, dtype=np.int64)
        if source.name == self.name:
            return grades
        if self.name != "rsna":
            raise GradingError(Errors.G012.format(source=source.name, target=self.name))
        table = np.asarray(source.rsna, dtype=np.int64)
        return np.where(grades < 0, grades, table[np.clip(grades, 0, None)])


SCHEMES: dict[str, LabelScheme] = {
    "deepspine": LabelScheme("deepspine", GRADE_NAMES, LOCATIONS, (), (0, 1, 1, 2), (0, 0, 1, 2)),
    "rsna": LabelScheme("rsna", ("normal/mild", "moderate", "severe"), LOCATIONS, SUBARTICULAR, None, (0, 1, 2)),
}


def scheme(name: str) -> LabelScheme:
    """The label scheme called ``name`` (G001 for an unknown name)."""
    if name not in SCHEMES:
        raise GradingError(Errors.G001.format(name="label_scheme", value=name, expected=f"one of {sorted(SCHEMES)}"))
    return SCHEMES[name]


def mirror_order(tasks: tuple[str, ...] | list[str]) -> list[int]:
    """For labels in ``tasks`` order, the column indices that give the labels of the left-right mirrored disc."""
    tasks = list(tasks)
    return [tasks.index(MIRRORED[t]) if MIRRORED.get(t) in tasks else i for i, t in enumerate(tasks)]
