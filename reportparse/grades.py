"""Slot resolution (the ``reportparse_grades`` component): one grade per level and location.

Competing statements about one slot are resolved by a documented rule:

1. The highest *rank* with any statement wins: ``explicit`` (a located finding at a named level) over
   ``generic`` (a finding without a location word, or a whole-level "Normal.") over ``remaining`` ("the
   remaining levels are normal", applied only to levels the report never names; "all other foramina are
   patent", applied to every foramen slot nothing else decides) over ``study`` (whole-study
   statements, applied to every slot nothing else decides: "at any level" covers the whole table, a statement
   about the study or the region ("normal lumbar MRI", "no stenosis in the lumbar spine") the levels the study
   covers, ``doc._.rp_coverage``, see :mod:`reportparse.levels`). A report about another region (no table
   level, no lumbar region: a cervical report) covers nothing: only a named table level is graded there.
2. Within that rank a statement about the past ("previously there was severe stenosis") yields to one about
   the present; then the **higher grade** wins (findings versus impression, two sentences about one slot); when
   the graded statements disagree the slot is flagged ``conflict``.
3. When every statement of that rank is ungraded ("foraminal narrowing" without a severity word) the slot stays
   empty and is flagged ``ungraded``.
4. A graded stenosis the report does not place at any level ("moderate foraminal narrowing" in a sentence
   without a level, "severe stenosis in the lumbar spine") could be at any undiscussed level: no
   "remaining" or whole-study statement fills a slot of its location with 0; such slots stay empty and are
   flagged ``unplaced``.

``doc._.rp_result`` receives a :class:`ReportGrades` with the six level rows and one evidence row per
statement considered (``used`` tells which ones decided the slot); with ``evidence = false`` in the component's
config (a run that writes only the levels table) the evidence is left empty and the rows are the same.
"""


from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc

from spinecore.schema import LEVELS, LOCATIONS

from .findings import Finding
from .levels import SentenceInfo, study_coverage
from .rules import Grammar, GrammarStage, cached_rules
from .sentences import doc_attr, doc_text, set_doc_attr

if not Doc.has_extension("rp_result"):
    Doc.set_extension("rp_result", default=None)

RANKS = ("explicit", "generic", "remaining", "study")
#: The place of each rank in :data:`RANKS` (lower wins), looked up once per candidate statement.
RANK_ORDER = {rank: k for k, rank in enumerate(RANKS)}
#: The flags of a deciding statement that its slot keeps.
KEPT_FLAGS = frozenset({"uncertain", "inferred_remaining", "inferred_study", "comparator_minor"})


@dataclass
class Evidence:
    """One grade decision: a statement about one slot, with where it came from."""

    level: str
    location: str
    grade: int | None
    sentence: str
    start: int
    end: int
    span_start: int
    span_end: int
    section: str
    rank: str
    flags: tuple[str, ...]
    used: bool = False


@dataclass
class ReportGrades:
    """The parse of one report: ``grades[level][location]`` is 0-3 or None; ``flags`` per level and location."""

    grades: dict[str, dict[str, int | None]]
    flags: dict[str, dict[str, tuple[str, ...]]]
    evidence: list[Evidence] = field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        """Six rows, one per level: ``level, scs, rfs, lfs, flags``."""
        out: list[dict[str, object]] = []
        for level in LEVELS:
            flags = ";".join(f"{loc}:{flag}" for loc in LOCATIONS for flag in self.flags[level][loc])
            out.append({"level": level, **self.grades[level], "flags": flags})
        return out


class GradeResolver(GrammarStage):
    """Resolves the findings of a doc into :class:`ReportGrades`. See the module docstring. ``evidence``: keep the
    statements behind the grades (:attr:`ReportGrades.evidence`); without them the grades and flags are the same,
    for about half a per cent less of the parse."""

    def __init__(self, nlp: Language, name: str, grammar: Grammar, evidence: bool = True):
        super().__init__(nlp, name, grammar)
        self.evidence = evidence

    def _discusses(self, info: SentenceInfo) -> bool:
        """Whether a sentence speaks of the discs at the levels it names (a disc finding of this MRI)."""
        g = self.grammar
        words = info.words
        return not g.discussion_words.isdisjoint(words) and g.modality_words.isdisjoint(words)

    def __call__(self, doc: Doc) -> Doc:
        sentences = doc_attr(doc, "rp_sentences") or []
        findings: list[Finding] = doc_attr(doc, "rp_findings") or []
        # levels the report discusses: headings, levels named with a disc finding (``study.discussion_words``:
        # "small bulges at L4-5 and L5-S1", not on another modality: "X-rays: osteophytes T10 to L3"), and any
        # level a statement was placed at ("the conus ends at L1-2" does not discuss L1-2)
        named: set[str] = set()
        for info in sentences:
            if info.groups and not info.excluded and (info.heading or self._discusses(info)):
                named.update(lvl for grp in info.groups if grp.kind == "explicit" for lvl in grp.levels)
        named.update(lvl for f in findings if f.group is not None and f.group.kind == "explicit"
                     for lvl in f.group.levels)
        coverage = study_coverage(doc)
        # slots with a graded statement that no level holds: left-over and study fills would hide it
        unplaced = {f.slot for f in findings if f.rank == "none" and f.grade}
        # per slot, the best order of any statement about it and the statements of that order, as they come; the order
        # is the rank (rule 1), then the present before the past (rule 2: in "previously severe, now mild" the current
        # statement wins; past statements compete only where the rank has no current one)
        # (each statement with its evidence row: None when the evidence is not kept)
        candidates: dict[tuple[str, str], tuple[tuple[int, bool], list[tuple[Finding, Evidence | None]]]] = {}
        evidence: list[Evidence] = []
        keep = self.evidence
        text = doc_text(doc)
        quotes: dict[int, str] = {}  # the text of each sentence with findings
        levels: tuple[str, ...]
        for f in findings:
            info = sentences[f.sentence]
            if not coverage and (f.group is None or f.group.kind != "explicit"):
                levels = ("",)  # a report about another region: its general statements grade no lumbar slot
            elif f.rank == "study" and f.group is not None and not f.group.region:
                levels = f.group.levels  # "at any level": every level of the table
            elif f.rank == "study":
                levels = tuple(lvl for lvl in (f.group.levels if f.group else LEVELS) if lvl in coverage)
            elif f.rank == "none" or f.group is None:
                levels = ("",)
            elif f.rank == "remaining":
                # an exception ("no stenosis except at L3-4") makes a whole-study statement: the levels of the study
                # (decision D13); "elsewhere", "the remaining levels" cover every level
                pool = tuple(lvl for lvl in f.group.levels if lvl in coverage) if f.group.exception else f.group.levels
                if f.located and not f.group.of_levels and not f.group.clause:
                    # "all other foramina are patent": every slot of that location left open; "the remaining levels
                    # show no canal or foraminal stenosis" and "otherwise no canal or foraminal stenosis" are about
                    # the levels the report does not discuss (below, decision D1)
                    levels = pool
                else:
                    levels = tuple(lvl for lvl in pool if lvl not in named) or (pool if f.group.restricted else ())
            else:
                levels = f.group.levels
            sentence = ""
            if keep:  # (the sentence is read for the evidence only)
                quoted = quotes.get(f.sentence)
                if quoted is None:
                    quoted = quotes[f.sentence] = text[info.start_char:info.end_char].strip()
                sentence = quoted
            for level in levels:
                ev = Evidence(level, f.slot, f.grade, sentence, info.start_char, info.end_char, f.start_char,
                              f.end_char, info.section or "", f.rank, f.flags) if keep else None
                if ev is not None:
                    evidence.append(ev)
                if level:
                    order = (RANK_ORDER[f.rank], "historical" in f.flags)
                    held = candidates.get((level, f.slot))
                    if held is None or order < held[0]:
                        candidates[level, f.slot] = (order, [(f, ev)])
                    elif order == held[0]:
                        held[1].append((f, ev))
        grades = {lvl: dict.fromkeys(LOCATIONS) for lvl in LEVELS}
        flags: dict[str, dict[str, tuple[str, ...]]] = {lvl: dict.fromkeys(LOCATIONS, ()) for lvl in LEVELS}
        remaining = RANK_ORDER["remaining"]
        for (level, slot), ((best, _), top) in candidates.items():
            graded = [(f, ev) for f, ev in top if f.grade is not None]
            slot_flags: set[str] = set()
            if slot in unplaced and best >= remaining:
                graded, slot_flags = [], {"unplaced"}
            if graded:
                grade = max([f.grade for f, _ in graded if f.grade is not None])  # (all are)
                for f, ev in graded:
                    if f.grade == grade:
                        slot_flags.update(KEPT_FLAGS.intersection(f.flags))
                        if ev is not None:
                            ev.used = True
                    else:
                        slot_flags.add("conflict")  # the graded statements disagree
                grades[level][slot] = grade
            elif not slot_flags:
                slot_flags.add("ungraded")
                for _, ev in top:
                    if ev is not None:
                        ev.used = True
            if "conflict" in slot_flags and keep:
                for _, ev in graded:
                    if ev is not None:
                        ev.flags = tuple(sorted(set(ev.flags) | {"conflict"}))
            if slot_flags:  # (the table holds no flags already)
                flags[level][slot] = tuple(sorted(slot_flags))
        set_doc_attr(doc, "rp_result", ReportGrades(grades, flags, evidence))
        return doc


@Language.factory("reportparse_grades", default_config={"rules_dir": None, "evidence": True})
def make_grade_resolver(nlp: Language, name: str, rules_dir: str | None, evidence: bool) -> GradeResolver:
    """Create the slot resolution stage (the grammar's ``resolution`` block documents the rule it applies);
    ``evidence=False`` leaves :attr:`ReportGrades.evidence` empty."""
    return GradeResolver(nlp, name, cached_rules(rules_dir).grammar, evidence)
