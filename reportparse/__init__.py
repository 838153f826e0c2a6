"""reportparse: per-level lumbar stenosis grades (0-3) from free-text MRI reports, with evidence."""

from .errors import ReportParseError
from .extract import ExtractConfig, ExtractSummary, extract  # noqa: F401  (the function shadows the module name)
from .grades import Evidence, ReportGrades
from .pipeline import build_pipeline, parse_text
from .rules import LEVELS, LOCATIONS, RuleSet, load_rules

__all__ = ["LEVELS", "LOCATIONS", "Evidence", "ExtractConfig", "ExtractSummary", "ReportGrades", "ReportParseError",
           "RuleSet", "build_pipeline", "extract", "load_rules", "parse_text"]
__version__ = "0.1.0"
