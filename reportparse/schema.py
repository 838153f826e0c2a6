"""The levels-table vocabulary shared by every stage (light: no spaCy import).

A levels table has one row per report (or study) and disc level, with one grade 0-3 per location.
"""

LEVELS: tuple[str, ...] = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
LOCATIONS: tuple[str, ...] = ("scs", "rfs", "lfs")  # spinal canal, right foramen, left foramen
GRADE_NAMES: tuple[str, ...] = ("normal", "mild", "moderate", "severe")
