"""reportparse: per-level lumbar stenosis grades (0-3) from free-text MRI reports, with evidence.

The public names are imported lazily (PEP 562), so that light modules such as ``reportparse.errors`` or
``reportparse.io`` do not load spaCy and medspaCy. The extraction function is
``reportparse.extract.extract`` (``reportparse.extract`` is its module).

Importing the package keeps torch and nltk, which spaCy and medspaCy import but the parser never uses, out of
the process (see :mod:`reportparse.lightimport`); it also decides whether the stages that the install compiled run
compiled or from their sources (see :mod:`reportparse.native`).
"""

from . import lightimport, native

lightimport.install()
native.install()

_EXPORTS = {"ReportParseError": ".errors", "ExtractConfig": ".extract", "ExtractSummary": ".extract",
            "Evidence": ".grades", "ReportGrades": ".grades", "build_pipeline": ".pipeline",
            "parse_text": ".pipeline", "LEVELS": "spinecore.schema", "LOCATIONS": "spinecore.schema",
            "RuleSet": ".rules", "load_rules": ".rules"}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"
__getattr__ = lightimport.lazy_exports(__name__, _EXPORTS)
