"""Loading and validating the rule files that drive the report parser.

A rules folder holds four JSON files:

* ``concepts.json``: medspaCy ``target_rules``; the lexicon (levels, severities, locations, stenosis words,
  laterality, distractors, scope markers). Each category has its own metadata keys, checked here.
* ``context.json``: medspaCy ``context_rules``; negation, uncertainty, hypothetical, historical and
  other-modality modifiers.
* ``sections.json``: medspaCy ``section_rules``; radiology report section headers.
* ``grammar.json``: this package's own small format; word lists for sentence splitting, level scoping and
  grade assembly.

Every entry is validated before any component sees it; an error names the file, the entry, the key and the fix
(see :mod:`reportparse.errors`).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from medspacy.context import ConTextRule
from medspacy.section_detection import SectionRule
from medspacy.target_matcher import TargetRule
from spacy.matcher import Matcher
from spacy.vocab import Vocab

from spinecore.schema import LEVELS

from .errors import Errors, ReportParseError

RULE_FILES: tuple[str, ...] = ("concepts.json", "context.json", "sections.json", "grammar.json")

_GRADE = ("an integer 0-3", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3)
_BOOL = ("true or false", lambda v: isinstance(v, bool))
_LEVEL_LIST = (f"a list of levels from {list(LEVELS)}", lambda v: isinstance(v, list) and all(x in LEVELS for x in v))

#: Metadata keys allowed per concept category: key -> (description, check, required).
CONCEPT_METADATA: dict[str, dict[str, tuple[str, Any, bool]]] = {
    "LEVEL": {"level": (f"one of {list(LEVELS)} or 'other' (a level outside the table, e.g. L5-L6)",
                        lambda v: v in LEVELS or v == "other", True),
              "levels": (*_LEVEL_LIST, False)},
    "SEVERITY": {"grade": (*_GRADE, True), "low": (*_GRADE, False), "high": (*_GRADE, False),
                 "standalone": (*_BOOL, False)},
    "LOCATION": {"location": ("'canal' or 'foramen'", lambda v: v in ("canal", "foramen"), True),
                 "requires_stenosis": (*_BOOL, False), "plural": (*_BOOL, False), "implies_stenosis": (*_BOOL, False)},
    "STENOSIS": {"negated_generic": (*_BOOL, False)},
    "SIDE": {"side": ("'right', 'left' or 'both'", lambda v: v in ("right", "left", "both"), True)},
    "COMPARATOR": {"major": ("'right' or 'left'", lambda v: v in ("right", "left"), True)},
    "DISTRACTOR": {"coordinates": (*_BOOL, False)},
    "SCOPE": {"scope": ("'remaining', 'all' or 'unspecified'", lambda v: v in ("remaining", "all", "unspecified"),
                        True),
              "levels": (*_LEVEL_LIST, False), "weak": (*_BOOL, False), "region": (*_BOOL, False),
              "exception": (*_BOOL, False), "clause": (*_BOOL, False),
              "normal": (*_BOOL, False)},
    "STUDY_NORMAL": {"grade": ("0", lambda v: v == 0, True)},
    "MULTILEVEL": {},
}

CONTEXT_CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "OTHER_MODALITY",
                      "DEFINITION", "PSEUDO", "TERMINATE")

_STR_LIST = ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v))
#: The spine regions a study statement can name (grammar.json ``study.regions``).
REGIONS = ("lumbar", "thoracolumbar", "thoracic", "whole", "cervical", "other")
_REGIONS = (f"an object mapping each of {list(REGIONS)} to a list of words",
            lambda v: isinstance(v, dict) and set(v) == set(REGIONS)
            and all(isinstance(x, list) and all(isinstance(w, str) for w in x) for x in v.values()))

_MISHEARD = ("an object mapping each word to {'means': a word, 'after': a list of words}",
             lambda v: isinstance(v, dict) and all(
                 isinstance(x, dict) and set(x) == {"means", "after"} and isinstance(x["means"], str)
                 and _STR_LIST[1](x["after"]) for x in v.values()))

#: The schema of grammar.json: section -> key -> (description, check).
GRAMMAR_SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "sentences": {"terminal_punct": _STR_LIST, "abbreviations": _STR_LIST, "clause_punct": _STR_LIST,
                  "question_punct": _STR_LIST},
    "sections": {"excluded": _STR_LIST, "title_sections": _STR_LIST},
    "levels": {"order": (f"exactly {list(LEVELS)}", lambda v: v == list(LEVELS)), "range_connectors": _STR_LIST,
               "list_connectors": _STR_LIST, "heading_lead": _STR_LIST, "above_words": _STR_LIST,
               "below_words": _STR_LIST, "level_quantifiers": _STR_LIST,
               "surgery_words": _STR_LIST, "relative_words": _STR_LIST, "attaching_words": _STR_LIST,
               "same_level_words": _STR_LIST},
    "assembly": {"conjunctions": _STR_LIST, "left_fillers": _STR_LIST, "coordinated_structures": _STR_LIST,
                 "link_words": _STR_LIST,
                 "predicate_fillers": _STR_LIST, "level_normal_fillers": _STR_LIST, "elliptical_verbs": _STR_LIST,
                 "change_to": _STR_LIST, "past_markers": _STR_LIST, "exclusion_words": _STR_LIST,
                 "anaphora_words": _STR_LIST, "respective_words": _STR_LIST, "predicate_ends": _STR_LIST,
                 "reporting_verbs": _STR_LIST,
                 "generic_graded_location": ("'canal' or 'foramen'", lambda v: v in ("canal", "foramen"))},
    "lexicon": {"level_separators": _STR_LIST, "sacral_one_spellings": _STR_LIST,
                "fifth_lumbar_spellings": _STR_LIST, "listhesis_words": _STR_LIST,
                "typo_targets": _STR_LIST, "typo_protected": _STR_LIST,
                "spoken_numbers": ("the number words of one to twelve, in order",
                                   lambda v: isinstance(v, list) and len(v) == 12
                                   and all(isinstance(x, str) for x in v)),
                "spoken_level_nouns": _STR_LIST, "measurement_units": _STR_LIST,
                "misheard_words": _MISHEARD,
                "typo_min_length": ("an integer of at least 4", lambda v: isinstance(v, int)
                                    and not isinstance(v, bool) and v >= 4)},
    "study": {"study_words": _STR_LIST, "normal_words": _STR_LIST, "qualifiers": _STR_LIST,
              "blocking_words": _STR_LIST, "modality_words": _STR_LIST, "clinical_words": _STR_LIST,
              "prior_words": _STR_LIST,
              "past_verbs": _STR_LIST, "exception_words": _STR_LIST, "normal_tails": _STR_LIST,
              "note_headings": _STR_LIST,
              "current_markers": _STR_LIST, "discussion_words": _STR_LIST, "regions": _REGIONS},
    "resolution": {"rank_order": ("['explicit', 'generic', 'remaining', 'study']",
                                  lambda v: v == ["explicit", "generic", "remaining", "study"]),
                   "combine": ("'max' (the higher grade wins)", lambda v: v == "max")},
}


@dataclass(frozen=True)
class Grammar:
    """The word lists of ``grammar.json``, as lower-cased frozensets for fast membership tests."""

    terminal_punct: frozenset[str]
    question_punct: frozenset[str]
    abbreviations: frozenset[str]
    clause_punct: frozenset[str]
    excluded_sections: frozenset[str]
    title_sections: frozenset[str]  # excluded sections whose sentences stating a finding are read
    range_connectors: frozenset[str]
    list_connectors: frozenset[str]
    heading_lead: frozenset[str]
    above_words: frozenset[str]
    below_words: frozenset[str]
    level_quantifiers: frozenset[str]
    surgery_words: frozenset[str]
    relative_words: frozenset[str]
    attaching_words: frozenset[str]
    same_level_words: frozenset[str]
    conjunctions: frozenset[str]
    left_fillers: frozenset[str]
    coordinated_structures: frozenset[str]
    link_words: frozenset[str]
    predicate_fillers: frozenset[str]
    level_normal_fillers: frozenset[str]
    elliptical_verbs: frozenset[str]
    change_to: frozenset[str]
    past_markers: frozenset[str]
    anaphora_words: frozenset[str]
    respective_words: frozenset[str]
    predicate_ends: frozenset[str]
    reporting_verbs: frozenset[str]
    exclusion_words: frozenset[str]
    generic_graded_location: str
    level_separators: tuple[str, ...]
    sacral_one_spellings: frozenset[str]
    fifth_lumbar_spellings: frozenset[str]
    listhesis_words: frozenset[str]
    typo_targets: tuple[str, ...]
    typo_protected: frozenset[str]
    typo_min_length: int
    spoken_numbers: tuple[str, ...]
    spoken_level_nouns: frozenset[str]
    measurement_units: tuple[str, ...]
    misheard_words: dict[str, tuple[str, frozenset[str]]]  # word -> (the word meant, the words it must follow)
    study_words: frozenset[str]
    normal_words: tuple[str, ...]
    qualifiers: frozenset[str]
    blocking_words: frozenset[str]
    modality_words: frozenset[str]
    clinical_words: frozenset[str]
    prior_words: frozenset[str]
    past_verbs: frozenset[str]
    exception_words: frozenset[str]
    normal_tails: frozenset[str]
    note_headings: frozenset[str]
    current_markers: frozenset[str]
    discussion_words: frozenset[str]
    regions: dict[str, tuple[str, ...]]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Grammar":
        def words(section: str, key: str) -> frozenset[str]:
            return frozenset(w.lower() for w in data[section][key])

        return cls(
            terminal_punct=words("sentences", "terminal_punct"),
            question_punct=words("sentences", "question_punct"),
            abbreviations=words("sentences", "abbreviations"),
            clause_punct=words("sentences", "clause_punct"),
            excluded_sections=words("sections", "excluded"),
            title_sections=words("sections", "title_sections"),
            range_connectors=words("levels", "range_connectors"),
            list_connectors=words("levels", "list_connectors"),
            heading_lead=words("levels", "heading_lead"),
            above_words=words("levels", "above_words"),
            below_words=words("levels", "below_words"),
            level_quantifiers=words("levels", "level_quantifiers"),
            surgery_words=words("levels", "surgery_words"),
            relative_words=words("levels", "relative_words"),
            attaching_words=words("levels", "attaching_words"),
            same_level_words=words("levels", "same_level_words"),
            conjunctions=words("assembly", "conjunctions"),
            left_fillers=words("assembly", "left_fillers"),
            coordinated_structures=words("assembly", "coordinated_structures"),
            link_words=words("assembly", "link_words"),
            predicate_fillers=words("assembly", "predicate_fillers"),
            level_normal_fillers=words("assembly", "level_normal_fillers"),
            elliptical_verbs=words("assembly", "elliptical_verbs"),
            change_to=words("assembly", "change_to"),
            past_markers=words("assembly", "past_markers"),
            anaphora_words=words("assembly", "anaphora_words"),
            respective_words=words("assembly", "respective_words"),
            predicate_ends=words("assembly", "predicate_ends"),
            reporting_verbs=words("assembly", "reporting_verbs"),
            generic_graded_location=data["assembly"]["generic_graded_location"],
            level_separators=tuple(w.lower() for w in data["lexicon"]["level_separators"]),
            sacral_one_spellings=words("lexicon", "sacral_one_spellings"),
            fifth_lumbar_spellings=words("lexicon", "fifth_lumbar_spellings"),
            exclusion_words=words("assembly", "exclusion_words"),
            listhesis_words=words("lexicon", "listhesis_words"),
            typo_targets=tuple(w.lower() for w in data["lexicon"]["typo_targets"]),
            typo_protected=words("lexicon", "typo_protected"),
            typo_min_length=data["lexicon"]["typo_min_length"],
            spoken_numbers=tuple(w.lower() for w in data["lexicon"]["spoken_numbers"]),
            spoken_level_nouns=words("lexicon", "spoken_level_nouns"),
            measurement_units=tuple(w.lower() for w in data["lexicon"]["measurement_units"]),
            misheard_words={w.lower(): (x["means"].lower(), frozenset(a.lower() for a in x["after"]))
                            for w, x in data["lexicon"]["misheard_words"].items()},
            study_words=words("study", "study_words"),
            normal_words=tuple(w.lower() for w in data["study"]["normal_words"]),
            qualifiers=words("study", "qualifiers"),
            blocking_words=words("study", "blocking_words"),
            modality_words=words("study", "modality_words"),
            clinical_words=words("study", "clinical_words"),
            prior_words=words("study", "prior_words"),
            past_verbs=words("study", "past_verbs"),
            exception_words=words("study", "exception_words"),
            normal_tails=words("study", "normal_tails"),
            note_headings=words("study", "note_headings"),
            current_markers=words("study", "current_markers"),
            discussion_words=words("study", "discussion_words"),
            regions={name: tuple(w.lower() for w in ws) for name, ws in data["study"]["regions"].items()},
        )


@dataclass
class RuleSet:
    """All rules of one rules folder, validated. ``raw`` keeps the file contents for :meth:`to_disk`."""

    concepts: list[TargetRule]
    context: list[ConTextRule]
    sections: list[SectionRule]
    grammar: Grammar
    source: str
    raw: dict[str, Any] = field(repr=False)

    def to_disk(self, path: str | Path) -> None:
        """Write the four rule files to ``path`` (created if needed); ``load_rules(path)`` reads them back."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for name in RULE_FILES:
            (out / name).write_text(json.dumps(self.raw[name], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def default_rules_dir() -> Path:
    """The rules folder shipped in the wheel (``rules/reportparse``)."""
    return Path(str(resources.files("rules"))) / "reportparse"


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ReportParseError(Errors.E002.format(path=path, files=", ".join(RULE_FILES)))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportParseError(Errors.E003.format(path=path, error=err)) from None


def _entries(path: Path, data: Any, key: str) -> list[dict[str, Any]]:
    example = '{"%s": [ {...}, ... ]}' % key
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        got = type(data).__name__ if not isinstance(data, dict) else data.get(key, "<missing>")
        raise ReportParseError(Errors.E007.format(path=path, key=key, expected="a list of rule objects",
                                                  value=got, example=example))
    extra = set(data) - {key}
    if extra:
        raise ReportParseError(Errors.E007.format(path=path, key=sorted(extra)[0], expected="no such key",
                                                  value=data[sorted(extra)[0]], example=example))
    return data[key]


def _check_entry(path: Path, index: int, entry: Any, allowed: set[str], required: dict[str, str]) -> str:
    if not isinstance(entry, dict):
        raise ReportParseError(Errors.E005.format(path=path, index=index, literal=None, key="<entry>",
                                                  value=entry, expected="a JSON object"))
    literal = entry.get("literal")
    for key in entry:
        if key not in allowed:
            raise ReportParseError(Errors.E004.format(path=path, index=index, literal=literal, key=key,
                                                      allowed=sorted(allowed)))
    for key, expected in required.items():
        if key not in entry:
            raise ReportParseError(Errors.E006.format(path=path, index=index, literal=literal, key=key,
                                                      expected=expected))
    if not isinstance(literal, str) or not literal:
        raise ReportParseError(Errors.E005.format(path=path, index=index, literal=literal, key="literal",
                                                  value=literal, expected="a non-empty string"))
    return literal


def _check_pattern(path: Path, index: int, literal: str, pattern: Any, matcher: Matcher) -> None:
    if pattern is None:
        return
    try:
        if isinstance(pattern, str):
            re.compile(pattern)
        elif isinstance(pattern, list) and all(isinstance(t, dict) for t in pattern):
            matcher.add(f"check-{index}", [pattern])
        else:
            raise TypeError("expected a list of token dicts or a regex string")
    except Exception as err:  # spaCy raises several error types for bad patterns
        raise ReportParseError(Errors.E008.format(path=path, index=index, literal=literal,
                                                  error=str(err).splitlines()[0])) from None


def _load_concepts(path: Path, data: Any, matcher: Matcher) -> list[TargetRule]:
    rules = []
    for i, entry in enumerate(_entries(path, data, "target_rules")):
        literal = _check_entry(path, i, entry, set(TargetRule._ALLOWED_KEYS) - {"attributes"},
                               {"category": f"one of {sorted(CONCEPT_METADATA)}"})
        category = entry["category"]
        if category not in CONCEPT_METADATA:
            raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key="category",
                                                      value=category, expected=f"one of {sorted(CONCEPT_METADATA)}"))
        meta = entry.get("metadata") or {}
        spec = CONCEPT_METADATA[category]
        if not isinstance(meta, dict):
            raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key="metadata",
                                                      value=meta, expected="a JSON object"))
        for key, value in meta.items():
            if key not in spec:
                raise ReportParseError(Errors.E004.format(path=path, index=i, literal=literal,
                                                          key=f"metadata.{key}", allowed=sorted(spec) or "none"))
            description, check, _ = spec[key]
            if not check(value):
                raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal,
                                                          key=f"metadata.{key}", value=value, expected=description))
        for key, (description, _, required) in spec.items():
            if required and key not in meta:
                raise ReportParseError(Errors.E006.format(path=path, index=i, literal=literal,
                                                          key=f"metadata.{key}", expected=description))
        _check_pattern(path, i, literal, entry.get("pattern"), matcher)
        rules.append(TargetRule(literal=literal, category=category, pattern=entry.get("pattern"), metadata=meta))
    return rules


def _load_context(path: Path, data: Any, matcher: Matcher) -> list[ConTextRule]:
    rules = []
    for i, entry in enumerate(_entries(path, data, "context_rules")):
        literal = _check_entry(path, i, entry, set(ConTextRule._ALLOWED_KEYS),
                               {"category": f"one of {list(CONTEXT_CATEGORIES)}"})
        if entry["category"] not in CONTEXT_CATEGORIES:
            raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key="category",
                                                      value=entry["category"],
                                                      expected=f"one of {list(CONTEXT_CATEGORIES)}"))
        direction = entry.get("direction", "BIDIRECTIONAL")
        if direction not in ConTextRule._ALLOWED_DIRECTIONS:
            raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key="direction",
                                                      value=direction,
                                                      expected=f"one of {list(ConTextRule._ALLOWED_DIRECTIONS)}"))
        for key in ("max_scope", "max_targets"):
            if key in entry and not (isinstance(entry[key], int) and not isinstance(entry[key], bool)
                                     and entry[key] > 0):
                raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key=key,
                                                          value=entry[key], expected="a positive integer"))
        _check_pattern(path, i, literal, entry.get("pattern"), matcher)
        rules.append(ConTextRule.from_dict(entry))
    return rules


def _load_sections(path: Path, data: Any, matcher: Matcher) -> list[SectionRule]:
    rules = []
    for i, entry in enumerate(_entries(path, data, "section_rules")):
        literal = _check_entry(path, i, entry, set(SectionRule._ALLOWED_KEYS), {"category": "a section name"})
        if not isinstance(entry["category"], str) or not entry["category"]:
            raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal, key="category",
                                                      value=entry["category"], expected="a non-empty string"))
        meta = entry.get("metadata") or {}
        for key, value in (meta.items() if isinstance(meta, dict) else [("<metadata>", meta)]):
            if key != "line_start":
                raise ReportParseError(Errors.E004.format(path=path, index=i, literal=literal,
                                                          key=f"metadata.{key}", allowed=["line_start"]))
            if not isinstance(value, bool):
                raise ReportParseError(Errors.E005.format(path=path, index=i, literal=literal,
                                                          key="metadata.line_start", value=value,
                                                          expected="true or false"))
        _check_pattern(path, i, literal, entry.get("pattern"), matcher)
        rules.append(SectionRule.from_dict(entry))
    return rules


def _load_grammar(path: Path, data: Any) -> Grammar:
    if not isinstance(data, dict):
        raise ReportParseError(Errors.E007.format(path=path, key="<root>", expected="a JSON object", value=data,
                                                  example='{"sentences": {...}, "levels": {...}, ...}'))
    for section, keys in GRAMMAR_SCHEMA.items():
        block = data.get(section)
        if not isinstance(block, dict):
            raise ReportParseError(Errors.E006.format(path=path, index=section, literal=section, key=section,
                                                      expected=f"an object with keys {sorted(keys)}"))
        for key in block:
            if key not in keys:
                raise ReportParseError(Errors.E004.format(path=path, index=section, literal=section, key=key,
                                                          allowed=sorted(keys)))
        for key, (description, check) in keys.items():
            if key not in block:
                raise ReportParseError(Errors.E006.format(path=path, index=section, literal=section, key=key,
                                                          expected=description))
            if not check(block[key]):
                raise ReportParseError(Errors.E005.format(path=path, index=section, literal=section, key=key,
                                                          value=block[key], expected=description))
    for section in data:
        if section not in GRAMMAR_SCHEMA:
            raise ReportParseError(Errors.E004.format(path=path, index="<root>", literal=None, key=section,
                                                      allowed=sorted(GRAMMAR_SCHEMA)))
    return Grammar.from_dict(data)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load and validate a rules folder; ``None`` loads the shipped rules.

    Raises:
        ReportParseError: naming the file, entry and key of the first problem found.
    """
    folder = Path(path) if path is not None else default_rules_dir()
    if not folder.is_dir():
        raise ReportParseError(Errors.E001.format(path=folder, files=", ".join(RULE_FILES)))
    raw = {name: _read_json(folder / name) for name in RULE_FILES}
    matcher = Matcher(Vocab(), validate=True)
    return RuleSet(
        concepts=_load_concepts(folder / "concepts.json", raw["concepts.json"], matcher),
        context=_load_context(folder / "context.json", raw["context.json"], matcher),
        sections=_load_sections(folder / "sections.json", raw["sections.json"], matcher),
        grammar=_load_grammar(folder / "grammar.json", raw["grammar.json"]),
        source=str(folder),
        raw=raw,
    )


@lru_cache(maxsize=8)
def _cached(folder: str, stamp: tuple[float, ...]) -> RuleSet:
    return load_rules(folder)


def rules_stamp(path: str | Path | None = None) -> tuple[float, ...]:
    """The modification times of a rules folder's files (-1 for a missing one): a change means other rules."""
    folder = Path(path) if path is not None else default_rules_dir()
    return tuple((folder / name).stat().st_mtime if (folder / name).exists() else -1.0 for name in RULE_FILES)


def cached_rules(path: str | Path | None = None) -> RuleSet:
    """:func:`load_rules`, memoised per folder and file modification times (each component reads the same set)."""
    folder = Path(path) if path is not None else default_rules_dir()
    return _cached(str(folder), rules_stamp(folder))


class GrammarStage:
    """Base of the pipeline stages that work from the grammar rules (:class:`Grammar`): spaCy builds each with the
    pipeline, its component name and the validated grammar of the rules folder."""

    def __init__(self, nlp: Any, name: str, grammar: Grammar):
        self.name = name
        self.grammar = grammar
