"""The tables that pass between the packages: their vocabulary, columns and statuses (one place for all).

* The **levels table** (``reportparse extract``; ``grading predict`` writes it too, for studies): one row per
  report (or study) and disc level, a grade 0-3 or empty per location, a report status.
* The **manifest** (``imaging extract``): one row per study and disc level, with the paths of its volumes and a
  disc status.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
LOCATIONS: tuple[str, ...] = ("scs", "rfs", "lfs")  # spinal canal, right foramen, left foramen
GRADE_NAMES: tuple[str, ...] = ("normal", "mild", "moderate", "severe")

#: The levels table, in column order.
LEVEL_COLUMNS: tuple[str, ...] = ("report_id", "level", *LOCATIONS, "status", "reason", "flags", "row")
#: The columns a reader of a levels table needs (grading trains on tables that carry only these).
LEVEL_KEY_COLUMNS: tuple[str, ...] = ("report_id", "level", *LOCATIONS)
#: A report's status in the levels table: parsed, no text, or not parsable (``reason`` says why).
REPORT_STATUSES: tuple[str, ...] = ("ok", "empty", "error")

#: The manifest of disc volumes, in column order.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "study_id", "patient_id", "level", "status", "reason", "axial_path", "sagittal_path", "centre_x", "centre_y",
    "centre_z", "normal_x", "normal_y", "normal_z", "method", "method_note", "axial_source", "axial_series",
    "sagittal_series", "axial_coverage", "sagittal_coverage", "axial_mean", "sagittal_mean", "study_path",
    "reference_offset_mm", "reference_points", "reference_level")
#: The columns a reader of a manifest needs.
MANIFEST_KEY_COLUMNS: tuple[str, ...] = ("study_id", "level", "status", "axial_path", "sagittal_path")
#: A disc level's status: extracted, extracted with a flag (``reason``), or not extracted.
STATUS_OK, STATUS_FLAGGED, STATUS_FAILED = "ok", "flagged", "failed"
DISC_STATUSES: tuple[str, ...] = (STATUS_OK, STATUS_FLAGGED, STATUS_FAILED)
#: The disc statuses whose volumes can be graded.
USABLE_STATUSES: tuple[str, ...] = (STATUS_OK, STATUS_FLAGGED)
