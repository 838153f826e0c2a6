"""Laterality and grade assembly (the ``reportparse_findings`` component).

Works on the items of each sentence (concept spans and words, see :mod:`reportparse.levels`):

1. **Cores.** A core is a stenosis noun phrase: location and stenosis concepts with the words that link them
   ("foraminal narrowing", "narrowing of the right neural foramen", "canal").
2. **Predicates.** A location without a stenosis word takes a following predicate: "the canal *is moderately
   narrowed*", "the foramina *are patent*", "the foramina *show mild narrowing*", "neural foramina: *mild bilateral
   narrowing*".
3. **Modifiers.** Severity, side and comparator concepts directly before a core ("mild right and moderate left
   foraminal narrowing") or in its predicate ("... which is severe", "moderate on the right and mild on the
   left") are paired: each side takes the severity before it; a lone severity takes the core's own sides.
4. **Coordination.** Cores joined by a conjunction share a head and a severity when one of them lacks its own
   ("mild canal and bilateral foraminal stenosis", "no canal or foraminal stenosis", "the canal and foramina are
   patent"); a severity before a level repeats the phrase around it at that level, with its sides ("mild canal
   stenosis at L3-4, moderate at L4-5"; "mild right foraminal narrowing at L3-4 and moderate at L4-5" is right at
   both; "mild L4-5 and moderate L5-S1 foraminal stenosis"; "moderate stenosis at L4-5 and mild at L5-S1"). A
   clause after a semicolon that only gives a severity repeats the last phrase of the clause before ("no foraminal
   stenosis on the right; moderate on the left"). A coordinated distractor keeps a severity of its own ("severe
   lateral recess and mild canal stenosis"); a location that completes another noun ("no lesions of the central
   canal") says nothing of stenosis.
5. **Context.** medspaCy ConText marks negation (grade 0 unless the core has its own severity), uncertainty
   (flag), hypothetical, other-modality and definition statements (dropped: "foraminal stenosis is a common
   condition", "canal stenosis means that ...").
6. **Slots.** Canal cores give ``scs``; foramen cores give ``rfs``/``lfs`` by side (both when no side is
   stated, except in a sentence that opens with one of ``anaphora_words`` after a sentence naming one side:
   "a small left disc bulge. It narrows the foramen mildly." is the left foramen); a bare stenosis word gives
   the foramina when a side is stated, all three slots when negated, and the ``generic_graded_location``
   otherwise.
7. **Levels.** Each finding goes to the nearest level group of its sentence (the preceding one in a heading
   sentence, else the following one), or to the level in scope. A positive finding "at several levels" or under
   a weak left-over marker ("the other") has no level: it is kept unplaced.

Whole-level statements ("L1-2: Normal.") and whole-study statements ("Normal MRI of the lumbar spine", and in
prose "the lumbar MRI came back essentially negative", "L-spine MRI: unremarkable", "MRIs of the thoracic and
lumbar spine showed nothing significant") give all three slots grade 0 at the levels the study covers
(``doc._.rp_coverage``; T12-L1 also when the statement names the thoracic or whole spine). A prose study
statement needs a study word (MRI, study, exam, scan) or stands alone with no level in scope ("IMPRESSION:
Negative."), a normal word that no qualifier follows ("unremarkable *for* any inflammatory process" is no stenosis
statement), and nothing more specific (no stenosis, level, severity, other modality or anatomy word such as disc,
conus, marrow); "otherwise the exam is unremarkable" covers only the levels the report does not discuss. A
whole-level statement may also close a sentence after a clause break ("... at L3/4 without stenosis, and the rest of
the lumbar spine is unremarkable"); a negative statement in a *loose* sentence (see :mod:`reportparse.levels`) is
study-wide.

Statements about another spine region (a sentence or region paragraph naming only the cervical or thoracic
spine) grade no lumbar slot unless they name a table level; statements about a prior study ("a prior MRI in
2019 showed moderate stenosis at L4-5") grade nothing unless they also describe the present ("now", "again",
"unchanged"). Everything lands in ``doc._.rp_findings`` as :class:`Finding` objects; the grades stage
resolves them into one grade per slot.
"""


import re
from dataclasses import dataclass, field, replace
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from spinecore.schema import LEVELS

from .concepts import span_attr
from .levels import (LEVEL_PREPOSITIONS, T12_REGIONS, WORD, Item, LevelGroup, SentenceInfo, doc_text, item_after,
                     sentence_words, study_coverage)
from .sentences import doc_attr, set_doc_attr, token_columns
from .rules import Grammar, cached_rules

if not Doc.has_extension("rp_findings"):
    Doc.set_extension("rp_findings", default=None)

MODIFIERS = ("SEVERITY", "SIDE", "COMPARATOR")
PUNCT_STOPS = frozenset({".", ";", "?", "!"})
SIDE_SLOTS = {"right": ("rfs",), "left": ("lfs",), "both": ("rfs", "lfs")}
ALL_SLOTS = ("scs", "rfs", "lfs")
#: Articles: between a noun and the location that completes it ("lesions *of the* canal"), and after the
#: conjunction of coordinated locations ("the canal and *the* foramina").
ARTICLES = frozenset({"the", "a", "both"})
#: What ends a lead-in of plain words before a whole-level statement: a colon, a comma or an opening quotation mark.
LEAD_IN_ENDS = frozenset({":", ",", '"', "\u201c"})
#: Prepositions by which a location completes another noun ("lesions *of* the canal", "material *within* it").
COMPLEMENT_PREPOSITIONS = frozenset({"of", "within", "into", "in"})
#: ConText categories that drop a finding, and those that only flag it.
DROP_CONTEXT = {"HYPOTHETICAL": "hypothetical", "OTHER_MODALITY": "other_modality", "DEFINITION": "definition"}
FLAG_CONTEXT = {"POSSIBLE_EXISTENCE": "uncertain", "HISTORICAL": "historical"}
#: Words that end a clause inside a sentence besides ``sentences.clause_punct``: a comma, a closing quotation mark.
CLAUSE_BREAKS = frozenset({",", '"', "\u201d"})
#: Concept kinds that make a statement more specific than a whole-study one ("normal MRI" with a level, a location).
SPECIFIC_KINDS = frozenset({"LOCATION", "STENOSIS", "LEVEL", "DISTRACTOR", "MULTILEVEL", "COMPARATOR"})
#: The kinds of item a whole-level statement ("L1-2: unremarkable", "the remaining levels are normal") is made of.
LEVEL_NORMAL_KINDS = frozenset({WORD, "LEVEL", "SCOPE", "SEVERITY"})
#: The kinds of a sentence of plain words only.
PLAIN_KINDS = frozenset({WORD})
#: Quotation marks that may follow a question mark.
QUOTES = frozenset({'"', "'", "\u201c", "\u201d", "\u2019"})


#: How the cells of a grade table's lines are parted, tried in this order: pipes, tabs, runs of two or more spaces.
CELL_PATTERNS = (("|", re.compile(r"[^|\n]+")), ("\t", re.compile(r"[^\t\n]+")),
                 ("  ", re.compile(r"\S+(?: \S+)*")))


def _cells(text: str, start: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    """The character spans (document offsets) of the cells of one table line: the non-empty ones, and between pipes
    the empty ones too ("L4-5 |  | mild |": a column left blank keeps the next cells in their columns)."""
    found = [(start + m.start(), start + m.end(), bool(m.group().strip())) for m in pattern.finditer(text)]
    if pattern is not CELL_PATTERNS[0][1]:
        return [(a, b) for a, b, filled in found if filled]
    while found and not found[-1][2]:
        found.pop()
    while found and not found[0][2]:
        found.pop(0)
    return [(a, b) for a, b, _ in found]


@dataclass
class GradeTable:
    """A table of grades with one column per location, from its header line ("Level | Canal | R foramen |
    L foramen", "LEVEL    CANAL    RIGHT NF    LEFT NF"): the pattern of its cells and the slots of each column
    (none for a column of something else, such as the disc)."""

    pattern: re.Pattern
    columns: list[tuple[str, ...]]

    @classmethod
    def header(cls, info: SentenceInfo, text: str, idx: list[int]) -> "GradeTable | None":
        """The table a header line opens, or None: two or more cells, at least one naming a location, and no
        level or severity (a row, or a sentence)."""
        kinds = info.kinds
        if "LOCATION" not in kinds or not kinds.isdisjoint(("LEVEL", "SEVERITY", "STENOSIS")):
            return None  # (a column names its location)
        line = text[info.start_char:info.end_char]
        for separator, pattern in CELL_PATTERNS:
            if separator not in line:
                continue
            cells = _cells(line, info.start_char, pattern)
            if len(cells) < 2:
                continue
            columns = [cls._slots([i for i in info.items if a <= idx[i.start] < b]) for a, b in cells]
            if any(columns):
                return cls(pattern, columns)
        return None

    @staticmethod
    def _slots(items: list[Item]) -> tuple[str, ...]:
        locations = {i.meta["location"] for i in items if i.kind == "LOCATION"}
        sides = {i.meta["side"] for i in items if i.kind == "SIDE"}
        if locations == {"canal"}:
            return ("scs",)
        if locations == {"foramen"}:
            return tuple(slot for side, slot in (("right", "rfs"), ("left", "lfs")) if side in sides or not sides)
        return ()

    def row(self, info: SentenceInfo, index: int, text: str, idx: list[int]) -> "list[Finding] | None":
        """The findings of a row of this table ("L4-5 | severe | moderate | moderate-severe"), or None when the
        line is no row (another number of cells, or no level): the table has ended. A location cell grades its
        slots with its highest severity; a cell without one ("n/a", "not assessed") grades nothing."""
        cells = _cells(text[info.start_char:info.end_char], info.start_char, self.pattern)
        group = info.groups[0] if info.groups and info.groups[0].kind == "explicit" else None
        # a row may leave the last columns empty when they hold no grade ("L1-L2 | normal | normal | normal |" under
        # "... | Left NF | Comment")
        if len(cells) > len(self.columns) or any(self.columns[len(cells):]) or group is None:
            return None
        out = []
        for (a, b), slots in zip(cells, self.columns):
            grades = [i.meta["grade"] for i in info.items if i.kind == "SEVERITY" and a <= idx[i.start] < b]
            for slot in slots if grades else ():
                out.append(Finding(slot, max(grades), "explicit", group, index, a, b, ("table",), located=True))
        return out


@dataclass
class Finding:
    """One grade decision for one slot, before levels are resolved.

    ``rank`` orders competing statements: ``explicit`` (a located finding at a named level), ``generic`` (no
    location word, or a whole-level statement), ``remaining`` ("the remaining levels ..."), ``study``
    (whole-study statements), ``none`` (a positive finding with no level; kept as evidence only).
    """

    slot: str
    grade: int | None
    rank: str
    group: LevelGroup | None
    sentence: int
    start_char: int
    end_char: int
    flags: tuple[str, ...] = ()
    located: bool = False  # names its location ("all other foramina are patent"), not just "the other levels"


@dataclass(slots=True)
class Core:
    """A stenosis noun phrase and what the assembly learns about it."""

    first: int  # index of the first item of the core in the sentence's items
    last: int  # index of the last item
    location: str | None = None
    has_stenosis: bool = False
    requires_stenosis: bool = False
    plural: bool = False
    sides: list[str] = field(default_factory=list)
    left: list[Item] = field(default_factory=list)
    left_first: int = -1
    predicate: list[Item] = field(default_factory=list)
    pred_last: int = -1
    spans: list[Item] = field(default_factory=list)  # concept items whose context counts
    shared: bool = False
    distracted: bool = False  # the stenosis word is about a distractor ("narrowing of the lateral recess")
    respective: bool = False  # "respectively" ends the predicate: sides and severities pair in order

    def severities(self) -> list[Item]:
        return [i for i in self.left + self.predicate if i.kind == "SEVERITY"]


class FindingAssembler:
    """Turns each sentence's items into :class:`Finding` objects. See the module docstring."""

    def __init__(self, nlp: Language, name: str, grammar: Grammar):
        self.name = name
        self.g = grammar
        self.normal_words = re.compile(r"(?<![a-z])(?:" + "|".join(
            re.escape(w) for w in sorted(grammar.normal_words, key=len, reverse=True)) + r")(?![a-z])")

    # -- 1. cores ---------------------------------------------------------------------------------------
    def _cores(self, items: list[Item], prev_location: str | None) -> list[Core]:
        g = self.g
        cores: list[Core] = []
        n = len(items)
        i = 0
        while i < n:
            item = items[i]
            if item.kind == "SIDE":
                located = [c.location for c in cores if c.location is not None]
                if self._elliptical_side(items, i, located[-1] if located else prev_location):
                    # "the right foramen is mildly narrowed and the left is patent": "the left" is a foramen
                    cores.append(Core(first=i, last=i, location="foramen", sides=[item.meta["side"]]))
                    i += 1
                    continue
            if item.kind not in ("LOCATION", "STENOSIS"):
                i += 1
                continue
            core = Core(first=i, last=i)
            self._absorb(core, item)
            j = i + 1
            while j < n:
                nxt = items[j]
                if nxt.kind == WORD and nxt.text == "(" and j + 2 < n and items[j + 2].text == ")" \
                        and items[j + 1].kind == "LOCATION" and items[j + 1].meta["location"] == core.location:
                    j += 3  # "neural foraminal (NF) narrowing": the abbreviation names the location again
                    continue
                if nxt.kind == "STENOSIS" and not core.has_stenosis:
                    self._absorb(core, nxt)
                elif nxt.kind == "LOCATION" and core.location is None:
                    self._absorb(core, nxt)
                elif nxt.kind == "LOCATION" and nxt.meta.get("requires_stenosis") and not core.has_stenosis \
                        and j + 1 < n and items[j + 1].kind == "STENOSIS":
                    pass  # "foraminal spinal stenosis": "spinal stenosis" names the disease, the foramen is the place
                elif nxt.kind == "SIDE" and core.location is not None:
                    core.sides.append(nxt.meta["side"])
                elif core.location is None and (nxt.kind == "SIDE" or (nxt.kind == WORD and nxt.text in g.link_words)):
                    k = j
                    while k < n and (items[k].kind in ("SIDE", "DISTRACTOR", "LEVEL")
                                     or (items[k].kind == WORD and items[k].text in g.link_words)):
                        k += 1
                    # a location with its own head ("... and left foraminal narrowing") or its own verb ("... and
                    # the left foramen is patent") starts a new phrase
                    joined = any(x.kind == WORD and x.text in g.conjunctions for x in items[j:k])
                    own_head = k + 1 < n and (items[k + 1].kind == "STENOSIS" or (
                        joined and items[k + 1].kind == WORD and items[k + 1].text in g.elliptical_verbs))
                    if k < n and items[k].kind == "LOCATION" and not own_head:
                        # "narrowing of the right (subarticular recess and) neural foramen"
                        core.sides.extend(x.meta["side"] for x in items[j:k] if x.kind == "SIDE")
                        self._absorb(core, items[k])
                        j = k
                    else:
                        # "mild narrowing of the left lateral recess": the phrase is about a distractor
                        core.distracted = any(x.kind == "DISTRACTOR" for x in items[j:k])
                        break
                else:
                    break
                core.last = j
                j += 1
            cores.append(core)
            i = core.last + 1
        return cores

    def _elliptical_side(self, items: list[Item], i: int, last_location: str | None) -> bool:
        """A side word standing for a foramen named just before: "(and) the left is ..."."""
        return (last_location == "foramen" and items[i].kind == "SIDE" and i + 1 < len(items)
                and items[i + 1].kind == WORD and items[i + 1].text in self.g.elliptical_verbs
                and (i == 0 or (items[i - 1].kind == WORD and items[i - 1].text == "the")))

    @staticmethod
    def _absorb(core: Core, item: Item) -> None:
        core.spans.append(item)
        if item.kind == "STENOSIS":
            core.has_stenosis = True
            return
        core.location = item.meta["location"]
        core.requires_stenosis = bool(item.meta.get("requires_stenosis"))
        core.plural = bool(item.meta.get("plural"))
        if item.meta.get("implies_stenosis"):
            core.has_stenosis = True

    # -- 2./3. modifiers and predicates ------------------------------------------------------------------
    def _left(self, core: Core, items: list[Item], taken: set[int]) -> None:
        g = self.g
        k = core.first - 1
        core.left_first = core.first
        while k >= 0 and k not in taken:
            item = items[k]
            if item.kind == "SIDE" and self._prepositional(item) and any(i.kind == "SEVERITY" for i in core.left) \
                    and not any(i.kind == "SIDE" and self._prepositional(i) for i in core.left):
                break  # "foraminal narrowing, moderate on the left, and mild canal stenosis": the phrase before's
            if item.kind == "SEVERITY" and k + 2 < len(items) and items[k + 1].text in ("degree", "extent") \
                    and items[k + 2].kind == WORD and items[k + 2].text != "of":
                break  # "... narrow the canal to a moderate degree, and both foramina": the phrase before's predicate
            if item.kind in MODIFIERS:
                # the word before, past an "otherwise" ("the sac is otherwise of normal size and the foramina ...")
                j = k - 2 if k > 1 and items[k - 1].kind == "SCOPE" and items[k - 1].meta.get("weak") else k - 1
                if item.kind == "SEVERITY" and j >= 0 and items[j].kind == WORD \
                        and items[j].text in g.elliptical_verbs and not self._opens(items[k + 1:core.left_first]):
                    break  # "the right foramen is patent and the canal ...": the predicate of the phrase before
                if not self._superseded(items, k):
                    core.left.insert(0, item)
                core.left_first = k
            elif item.kind == "LEVEL" and not any(i.kind == "SEVERITY" for i in core.left):
                if k > 0 and items[k - 1].kind == WORD and items[k - 1].text in LEVEL_PREPOSITIONS:
                    break  # "moderate at L4-5, with foraminal narrowing": the level ends the phrase before
                # "mild right L5-S1 foraminal narrowing", "moderate L5-S1 bilateral foraminal stenosis"
            elif item.kind == "DISTRACTOR" and item.meta.get("coordinates"):
                if any(i.kind == "SEVERITY" for i in core.left):
                    break  # "severe lateral recess and mild canal stenosis": the severity before is the recess's
                # "moderate right subarticular and foraminal stenosis"
            elif item.kind == WORD and item.text == "the" and any(i.kind == "SIDE" for i in core.left):
                break  # "a bulge to the left, and the right foramen ...": the article opens this phrase
            elif item.kind == WORD and item.text in ("a", "an"):
                break  # "... mild on the left plus a mild central stenosis": so does an indefinite one
            elif item.kind == WORD and item.text == "," and k >= 2 and items[k - 1].kind == "SEVERITY" \
                    and k - 2 in taken:
                break  # "left foraminal narrowing moderate, right foramen normal": the severity ends the phrase before
            elif item.kind == WORD and item.text == "," and k >= 1 and items[k - 1].kind == "COMPARATOR":
                break  # "... at L4-5, right greater than left, mild canal stenosis": the comparator ends the one before
            elif item.kind == WORD and item.text in g.coordinated_structures and k + 1 < core.first \
                    and items[k + 1].kind == WORD and items[k + 1].text in g.conjunctions:
                pass  # "normal discs, canal and foramina": a structure coordinated before the location
            elif not (item.kind == WORD and (item.text in g.conjunctions or item.text in g.left_fillers)):
                break
            k -= 1
        if core.location is None and 0 < k < core.left_first and items[k].kind == WORD \
                and items[k].text in g.elliptical_verbs and items[k - 1].kind == "DISTRACTOR":
            core.distracted = True  # "the left subarticular recess is severely narrowed": the recess's predicate
        # a conjunction or filler at the far left is not part of the phrase
        if core.left_first < core.first:
            for k in range(core.left_first, core.first):
                taken.add(k)

    def _opens(self, between: list[Item]) -> bool:
        """Whether the words between a severity and its phrase make it the phrase's own pre-posed severity:
        fillers ("is patent and the canal" does not; "L2-3: normal canal" does) and structures coordinated
        before the location ("L1-2: normal discs, canal and foramina")."""
        g = self.g
        return all(x.kind == WORD and (x.text in g.left_fillers or x.text in g.coordinated_structures or (
            x.text in g.conjunctions and k > 0 and between[k - 1].text in g.coordinated_structures))
            for k, x in enumerate(between))

    @staticmethod
    def _prepositional(side: Item) -> bool:
        """A side phrase that follows what it qualifies ("on the left", "to the right"), unlike "left"."""
        return side.text.split()[0] in LEVEL_PREPOSITIONS

    def _superseded(self, items: list[Item], k: int) -> bool:
        """True for a severity that grades nothing itself: the first of a change ("from severe to mild") or of a
        range the matcher did not join ("mild  to moderate": the upper end grades), or a past one ("moderate
        stenosis, previously mild")."""
        g = self.g
        if items[k].kind != "SEVERITY":
            return False
        if k + 2 < len(items) and items[k + 1].kind == WORD and items[k + 1].text in g.change_to \
                and items[k + 2].kind == "SEVERITY":
            return True
        return k > 0 and items[k - 1].kind == WORD and items[k - 1].text in g.past_markers

    def _predicate_ok(self, items: list[Item], k: int, cores_by_first: dict[int, Core]) -> bool:
        """A predicate severity must not modify a following noun ("moderate facet arthropathy"). ``cores_by_first``
        is that of :meth:`_predicate`: it holds every core after the one whose predicate this is."""
        g = self.g
        for j in range(k + 1, len(items)):
            item = items[j]
            if item.kind in ("SIDE", "COMPARATOR", "SEVERITY"):
                continue
            if j in cores_by_first:
                return False
            if item.kind == WORD:
                # "patent following decompression", "narrowed by a bulge": a preposition ends the predicate
                return item.text in g.predicate_fillers or item.text in g.conjunctions or item.text in g.predicate_ends \
                    or item.text in g.respective_words or not item.text.isalnum()
            return item.kind in ("LEVEL", "SCOPE")
        return True

    def _predicate(self, core: Core, cores_by_first: dict[int, Core], items: list[Item], owned: dict[int, Core]
                   ) -> Core | None:
        """Scan the predicate after a core. Returns a stenosis-only core absorbed as the predicate head.
        ``cores_by_first`` holds the cores not absorbed so far by their first item; only those after ``core`` are
        looked up (the scan starts after it)."""
        g = self.g
        k = core.last + 1
        found: list[Item] = []
        head: Core | None = None
        placed = False  # a level or scope marker was passed
        core.pred_last = core.last
        while k < len(items):
            item = items[k]
            if k in cores_by_first:
                other = cores_by_first[k]
                if core.location is not None and not core.has_stenosis and other.location is None \
                        and not other.distracted:
                    head = other  # "the canal is moderately narrowed"
                    found.extend(other.left)
                    core.has_stenosis = True
                    core.spans.extend(other.spans)
                    core.sides.extend(other.sides)
                    core.pred_last = other.last
                    k = other.last + 1
                    # keep scanning: "... narrowed, worse on the right"
                    continue
                break
            if k in owned and owned[k].first in cores_by_first:
                owner = owned[k]
                if core.location is not None and not core.has_stenosis and owner.location is None \
                        and not owner.distracted:
                    k = owner.first  # its modifiers join the head: "is moderately narrowed"
                    continue
                break
            if item.kind == "SEVERITY":
                if not self._predicate_ok(items, k, cores_by_first):
                    break
                if not self._superseded(items, k):
                    found.append(item)
                core.pred_last = k
            elif item.kind in ("SIDE", "COMPARATOR"):
                found.append(item)
                core.pred_last = k
            elif item.kind in ("LEVEL", "SCOPE"):
                if found and item.kind == "LEVEL" and items[k - 1].kind == WORD \
                        and items[k - 1].text in g.conjunctions and k + 1 < len(items) \
                        and items[k + 1].kind == "SEVERITY":
                    break  # "canal stenosis: L2-3 mild, L3-4 moderate": the next list item begins
                placed = True
            elif item.kind == WORD and item.text in g.respective_words:
                core.respective = True
                core.pred_last = k
            elif item.kind == WORD and item.text in PUNCT_STOPS:
                if k + 1 < len(items) and items[k + 1].kind == WORD and items[k + 1].text in g.respective_words:
                    core.respective = True  # "... narrowed, respectively"
                    core.pred_last = k + 1
                break
            elif item.kind == WORD and item.text == "(" and (close := self._aside_end(items, k)) is not None:
                k = close + 1  # "narrowed at L4-5 (AP diameter 8 mm), severe"
                continue
            elif placed and item.kind == WORD and item.text in g.conjunctions and k + 1 < len(items) \
                    and items[k + 1].kind == "SEVERITY" and self._level_after(items, k + 2)[1]:
                break  # "... at L3-4 and moderate at L4-5": a new statement begins
            elif not (item.kind == WORD and (item.text in g.predicate_fillers or item.text in g.conjunctions)):
                break
            k += 1
        core.predicate = found
        return head

    def _complement(self, core: Core, items: list[Item]) -> bool:
        """True for a location that completes another noun: "no lesions *of the central canal*", "no disc material
        *within the canal*" say nothing of stenosis."""
        k = core.left_first - 1
        while k >= 0 and items[k].kind == WORD and items[k].text in ARTICLES:
            k -= 1
        return (k >= 1 and items[k].kind == WORD and items[k].text in COMPLEMENT_PREPOSITIONS
                and items[k - 1].kind == WORD and items[k - 1].text.isalpha())

    @staticmethod
    def _aside_end(items: list[Item], k: int, to_end: bool = False) -> int | None:
        """The index of the ")" closing a parenthesis opened at ``k`` that holds no concept of its own (a
        measurement, an image number), or None. With ``to_end``, a parenthesis the sentence ends inside (the
        sentence splitter cut "(Ex. 7F/22)" after "Ex.") is an aside to the sentence's last item."""
        for j in range(k + 1, len(items)):
            if items[j].kind != WORD:
                return None
            if items[j].text == ")":
                return j
            if items[j].text in PUNCT_STOPS and not to_end:
                return None
        return len(items) - 1 if to_end else None

    # -- pairing of severities with sides ----------------------------------------------------------------
    @staticmethod
    def _pair(seq: list[Item], default_sides: list[str]) -> tuple[list[tuple[Item | None, str]], str | None]:
        """Pair severities with sides; returns (severity item or None, side) pairs and the comparator's major side.

        Severity-first phrases ("moderate right and mild left", "moderate on the right and mild on the left")
        give each side the severity before it; side-first phrases ("the right ... is severely narrowed and the
        left is patent") give each severity the sides before it. A severity with no side of its own takes
        ``default_sides``.
        """
        # one pass for the comparator and the severities and sides (a comprehension per question cost more)
        major: str | None = None
        graded = False
        kept: list[Item] = []
        for i in seq:
            if i.kind == "SEVERITY":
                kept.append(i)
                graded = True
            elif i.kind == "SIDE":
                kept.append(i)
            elif i.kind == "COMPARATOR" and major is None:
                major = i.meta["major"]
        seq = kept
        if not graded:
            return [(None, i.meta["side"]) for i in seq] or [(None, s) for s in default_sides], major
        pairs: list[tuple[Item | None, str]] = []
        if seq[0].kind == "SIDE" and seq[-1].kind == "SEVERITY":
            pending: list[str] = []
            for item in seq:
                if item.kind == "SIDE":
                    pending.append(item.meta["side"])
                else:
                    pairs.extend((item, s) for s in (pending or default_sides))
                    pending = []
            return pairs, major
        lead = 0
        while seq[lead].kind == "SIDE":
            lead += 1
        defaults = [i.meta["side"] for i in seq[:lead]] or default_sides
        current: Item | None = None
        bound = True
        for item in seq[lead:]:
            if item.kind == "SEVERITY":
                if current is not None and not bound:
                    pairs.extend((current, s) for s in defaults)
                current, bound = item, False
            else:
                pairs.append((current, item.meta["side"]))
                bound = True
        if current is not None and not bound:
            pairs.extend((current, s) for s in defaults)
        return pairs, major

    # -- 4.-7. ------------------------------------------------------------------------------------------
    def _context(self, core: Core) -> tuple[bool, set[str], bool]:
        """(negated, flags, dropped) from the ConText modifiers of the core's concept spans."""
        negated = False
        flags: set[str] = set()
        dropped = False
        for item in core.spans:
            span = item.span
            if span is None:
                continue
            for mod in span_attr(span, "modifiers", ()):
                category = mod.category
                if category == "NEGATED_EXISTENCE":
                    negated = True
                elif category in DROP_CONTEXT:
                    flags.add(DROP_CONTEXT[category])
                    dropped = True
                elif category in FLAG_CONTEXT:
                    flags.add(FLAG_CONTEXT[category])
        return negated, flags, dropped

    def _negates_severity(self, core: Core, sev: Item) -> bool:
        """True for "no severe stenosis": a negation cue touching the severity word itself, or an exclusion after
        it (``assembly.exclusion_words``: "severe narrowing was ruled out" denies that grade, not every grade)."""
        for mod in self._negations(core):
            start, end = mod.modifier_span
            if start <= sev.start <= end or (start > sev.start and self._excludes(mod)):
                return True
        return False

    def _negation_follows(self, core: Core, sev: Item) -> bool:
        """True for "the mild narrowing is no longer seen": a negation cue after the severity word."""
        return any(mod.modifier_span[0] > sev.start and not self._excludes(mod) for mod in self._negations(core))

    @staticmethod
    def _negations(core: Core) -> list[Any]:
        """The negation cues (medspaCy ConText modifiers) of the phrase's concept spans."""
        return [mod for item in core.spans if item.span is not None for mod in span_attr(item.span, "modifiers", ())
                if mod.category == "NEGATED_EXISTENCE"]

    def _excludes(self, mod: Any) -> bool:
        """Whether a negation cue is an exclusion ("ruled out", "excluded")."""
        return any(w in self.g.exclusion_words for w in mod.rule.literal.lower().split())

    def _slots(self, core: Core, negated: bool) -> list[tuple[str, Item | None, bool]]:
        """(slot, severity item, comparator-minor) triples for a core."""
        seq = core.left + core.predicate
        location = core.location
        if location is None:
            if core.sides or any(i.kind == "SIDE" for i in seq):
                location = "foramen"
            elif negated and not core.severities():
                if not any(i.meta.get("negated_generic", True) for i in core.spans if i.kind == "STENOSIS"):
                    return []  # "without nerve root impingement" says nothing about the canal
                return [(s, None, False) for s in ALL_SLOTS]
            elif core.severities() and core.severities()[0].meta["grade"] == 0:
                return [(s, core.severities()[0], False) for s in ALL_SLOTS]
            else:
                location = self.g.generic_graded_location
        if location == "canal":
            sevs = core.severities()
            return [("scs", sevs[0] if sevs else None, False)]
        default_sides = core.sides or ["both"]
        pairs, major = self._pair(seq, default_sides)
        if core.respective:
            # "the left and right foramina are mildly and severely narrowed, respectively"
            named = [w for i in seq if i.kind == "SIDE" for w in i.text.split() if w in ("right", "left")]
            sevs = core.severities()
            if len(named) == len(sevs) >= 2:
                pairs = list(zip(sevs, named))
        out: list[tuple[str, Item | None, bool]] = []
        for sev, side in pairs:
            for slot in SIDE_SLOTS[side]:
                minor = major is not None and slot != SIDE_SLOTS[major][0]
                out.append((slot, sev, minor))
        return out

    def _place(self, info: SentenceInfo, position: int, left: int) -> LevelGroup | None:
        """The level group of a phrase whose core starts at token ``position`` and its modifiers at ``left``."""
        groups = info.groups
        if not groups:
            return info.inherited
        if any(grp.surgical for grp in groups) and any(grp.kind == "explicit" and not grp.surgical for grp in groups):
            groups = [grp for grp in groups if not grp.surgical]  # "at L4-5 ... following the prior L5-S1 fusion"
        ended = [grp for grp in groups if grp.end <= position]
        if ended and ended[-1].kind == "explicit" and self._opens_relative(info, ended[-1], position):
            return ended[-1]  # "largest at L4-5, where there is moderate stenosis, and smaller at L5-S1"
        # a level inside the phrase, between its modifiers and its noun: "severe L4-5 stenosis and a listhesis at
        # L3-4" is about L4-5 whatever the sentence names after it
        inside = [grp for grp in groups if grp.kind == "explicit" and left <= grp.start and grp.end <= position]
        if inside:
            return inside[-1]
        # a level after an article, right before the phrase: "characterized the L4-L5 canal stenosis as moderate"
        adjacent = next((grp for grp in groups if grp.kind == "explicit" and grp.end == left
                         and self._after_article(info.items, grp)), None)
        if adjacent is not None:
            return adjacent
        if info.heading:
            before = [grp for grp in groups if grp.start <= position and not grp.exception]
            return before[-1] if before else groups[0]
        # a list item that opens with its level: "MRI 2021: L4-5 moderate stenosis, L5-S1 mild foraminal narrowing"
        opener = next((grp for grp in groups if grp.kind == "explicit" and grp.end == left
                       and self._item_opener(info.items, grp)), None)
        if opener is not None:
            return opener
        after = [grp for grp in groups if grp.start >= position]
        before = [grp for grp in ended if grp.end <= left and grp.kind == "explicit"]
        if after and before and (self._attached(info.items, before[-1], left, position, after[0])
                                 or (after[0].kind != "explicit" and self._break_before(info.items, position, after[0]))):
            # "... at L4-5, with mild foraminal narrowing, but no canal stenosis at any level": a scope marker
            # after a clause break belongs to its own clause
            return before[-1]
        if after:
            return after[0]
        # nothing named after it: the level named before, but never an "except (for)" marker, which scopes the
        # statement before it ("L2-3 is normal except for mild left foraminal narrowing" is about L2-3)
        before = [grp for grp in groups if not grp.exception]
        return before[-1] if before else info.inherited

    @staticmethod
    def _position(items: list[Item], group: LevelGroup) -> int:
        """The index of the item that opens ``group``."""
        return next(i for i, item in enumerate(items) if item.start == group.start)

    def _word_before(self, items: list[Item], group: LevelGroup, back: int = 1) -> str | None:
        """The word ``back`` items before ``group`` (None: the sentence starts sooner, or a concept stands there)."""
        k = self._position(items, group) - back
        return items[k].text if k >= 0 and items[k].kind == WORD else None

    def _after_article(self, items: list[Item], group: LevelGroup) -> bool:
        """Whether an article opens ``group`` ("the L4-L5 canal stenosis")."""
        return self._word_before(items, group) in ARTICLES

    def _opens_relative(self, info: SentenceInfo, group: LevelGroup, position: int) -> bool:
        """Whether a relative word (``levels.relative_words``: "where") follows the group, before ``position``."""
        if self.g.relative_words.isdisjoint(info.words):
            return False  # (a relative word is a word of the sentence: no need to look for it after the group)
        nxt = item_after(info.items, group.end, {","})
        return nxt is not None and nxt.start < position and nxt.kind == WORD and nxt.text in self.g.relative_words

    def _breaks(self, item: Item) -> bool:
        """Whether an item ends a clause inside its sentence: a comma, a semicolon, a closing quotation mark."""
        return item.kind == WORD and (item.text in CLAUSE_BREAKS or item.text in self.g.clause_punct)

    def _break_before(self, items: list[Item], position: int, later: LevelGroup) -> bool:
        """Whether a clause break lies between the core at ``position`` and the ``later`` group."""
        return any(self._breaks(item) for item in items if position <= item.start < later.start)

    def _attached(self, items: list[Item], group: LevelGroup, left: int, position: int, later: LevelGroup) -> bool:
        """Whether the phrase whose modifiers start at token ``left`` and core at ``position`` hangs on ``group``
        and a clause break after its core (a comma, a semicolon, a closing quotation mark) parts it from the
        ``later`` level ("..., an L4-5 disc bulge", "..., the L3-4 level shows").
        It hangs on ``group`` by attaching words only (``levels.attaching_words``: "at L1-2 and L2-3 with mild
        canal narrowing", "at L4-5 causing ..."), or as the next member of a list that started after ``group``
        with no clause break ("severe canal stenosis at L4-5 and moderate foraminal narrowing, ...", "at L5-S1
        resulting in moderate left foraminal narrowing and mild canal stenosis, and ...")."""
        g = self.g
        between = [item for item in items if group.end <= item.start < left]
        if not between:
            return False
        # "at L4-S1 with a patent canal, but ... at L3-4", "an L5-S1 disc herniation with moderate right foraminal
        # narrowing ..., as well as L3-4 and L4-5 disc bulges"
        attaching = any(item.text in g.attaching_words for item in between) and all(
            item.kind == WORD and (item.text in g.attaching_words or item.text in ARTICLES
                                   or item.text in g.discussion_words) for item in between)
        listed = between[-1].kind == WORD and between[-1].text in g.conjunctions and between[-1].text != "," and \
            not any(item.kind == "LEVEL" or self._breaks(item) for item in between)
        return (attaching or listed) and (self._break_before(items, position, later) or (
            attaching and self._introduced(items, later)))

    def _introduced(self, items: list[Item], group: LevelGroup) -> bool:
        """Whether a conjunction and a preposition of its own introduce ``group`` ("... with moderate canal
        stenosis and at L5-S1 with ..."): a new member of a list of levels, not the level of the phrase before."""
        return self._word_before(items, group) in LEVEL_PREPOSITIONS \
            and self._word_before(items, group, 2) in self.g.conjunctions

    def _item_opener(self, items: list[Item], group: LevelGroup) -> bool:
        """True for a level group at the start of a list item or a clause: first in the sentence, or after a
        colon, a semicolon, a conjunction or a verb ("shows L4-5 severe stenosis"), not after a preposition
        ("at L4-5") or a concept."""
        k = self._position(items, group)
        if k == 0:
            return True
        prev = items[k - 1]
        return prev.kind == WORD and (prev.text in (":", ";", '"', "\u201c") or prev.text in self.g.conjunctions or (
            prev.text.isalpha() and prev.text not in self.g.heading_lead))

    @staticmethod
    def _rank(group: LevelGroup | None, located: bool, grade: int | None) -> str:
        if group is None:
            return "study" if grade == 0 else "none"
        if group.kind == "unspecified":
            return "none"  # "moderate foraminal narrowing at several levels": which levels, the report does not say
        if group.kind == "remaining":
            # "no other stenosis" fills the levels left over; "slid forward on the other" places no severity
            return "none" if group.weak and grade != 0 else "remaining"
        if group.kind == "all":
            # "high-grade stenosis in the lumbar spine" places nothing; "no stenosis in the lumbar spine" covers all
            return "none" if group.region and grade != 0 else "study"
        return "explicit" if located else "generic"

    def _whole(self, info: SentenceInfo, index: int, words: list[str], out: list[Finding]) -> bool:
        """Whole-level and whole-study normal statements. Returns True when the sentence was one."""
        g = self.g
        kinds = info.kinds
        if "STUDY_NORMAL" in kinds and not self._clinical(words) and g.modality_words.isdisjoint(words):
            for slot in ALL_SLOTS:
                out.append(Finding(slot, 0, "study", None, index, info.start_char, info.end_char, ("study_normal",)))
            return True
        if "SEVERITY" not in kinds and "SCOPE" not in kinds:
            return False  # no standalone severity ("unremarkable") or normal marker ("no other abnormality")
        if not kinds <= LEVEL_NORMAL_KINDS:
            return False  # a concept of another kind (a location, a distractor): the scan below would stop there too
        group = info.groups[-1] if info.groups else info.inherited
        if group is None:
            return False  # no level for the statement to be about (the scan below cannot give one)
        standalone = False
        items = info.items
        # a lead-in of plain words ended by a colon, a comma, a quotation mark or a reporting verb before the levels
        # ("Short version: L3-L4 is normal", "Per the outside report, ...", 'the report says "L1-L2 through L3-L4
        # are normal"', "the radiologist states the rest of the lumbar spine is unremarkable")
        first = next((k for k, i in enumerate(items) if i.kind in ("LEVEL", "SCOPE")), 0)
        colon = next((k for k in range(first - 1, -1, -1) if items[k].kind == WORD and (
            items[k].text in LEAD_IN_ENDS or items[k].text in g.reporting_verbs or (
                items[k].text in g.past_verbs and any(w in g.study_words for w in sentence_words(items[:k]))))),
            None)  # ... or a study's verb: "The MRI report of June 2011 showed no abnormality at L1-L2 or L2-L3"
        # (a normal word may lead in too: 'everything above is fine ("L1/2 to L3/4 appear normal")')
        if colon is not None and all(i.kind == WORD or (i.kind == "SEVERITY" and i.meta["grade"] == 0)
                                     for i in items[:colon]):
            if any(w in g.blocking_words or w in g.modality_words for w in sentence_words(items[:colon])):
                return False  # about something else: "Lumbar x-ray: a transitional segment, otherwise normal"
            items = items[colon + 1:]
            if items and items[0].kind == WORD and items[0].text == "that":
                items = items[1:]  # "the assessor remarked that the other levels were unremarkable"
        k = 0
        while k < len(items):
            item = items[k]
            k += 1
            if item.kind == WORD and item.text == "(" and (close := self._aside_end(items, k - 1, True)) is not None:
                k = close + 1  # "The remaining levels are unremarkable (image 12)", "(Ex. 7F/22)"
            elif (item.kind == "SEVERITY" and item.meta.get("standalone")) or (
                    item.kind == "SCOPE" and item.meta.get("normal")):
                standalone = True  # "L1-2: unremarkable", "No other significant abnormality."
            elif item.kind in ("LEVEL", "SCOPE"):
                continue
            elif item.kind == WORD and (item.text in g.level_normal_fillers or item.text in g.list_connectors
                                        or item.text in g.range_connectors or item.text in g.above_words
                                        or item.text in g.below_words or not item.text.isalpha()):
                continue
            else:
                return False
        if not standalone:
            return False
        if info.groups and all(grp.weak for grp in info.groups) and any(
                w in g.blocking_words for w in sentence_words(items)):
            return False  # "Discs otherwise normal", "conus otherwise unremarkable": about that, not the levels
        grade = 0
        for grp in (info.groups or [group]):
            rank = self._rank(grp, False, grade)
            for slot in ALL_SLOTS:
                out.append(Finding(slot, grade, rank, grp, index, info.start_char, info.end_char, ("level_normal",)))
        return True

    def sentence(self, info: SentenceInfo, index: int, doc: Doc, prev_location: str | None = None,
                 prev_side: str | None = None, clause_model: Core | None = None
                 ) -> tuple[list[Finding], Core | None]:
        """The findings of one sentence (not an excluded one), and its last stenosis phrase (for the next clause).
        ``prev_side`` is the one side of the sentence before, for a foramen this sentence names without a side when
        it opens with a pronoun ("a small left disc bulge. It narrows the foramen mildly."); ``clause_model`` the
        last phrase of the clause before when that one ended with a semicolon ("... on the right; moderate on the
        left")."""
        out: list[Finding] = []
        words = info.words
        if self._plain(info, words) or self._about_prior_study(words) or self._question(info):
            return out, None
        if self._study_except(info, index, doc, out):
            # "the MRI was unremarkable apart from a bulge at L4-5 with mild canal stenosis": the whole study is
            # normal, and what the exception grades is explicit (which beats it)
            located, last = self._located(info, index, doc, prev_location, None, clause_model)
            return self._in_region(info, out + located), last
        if self._whole(info, index, words, out) or self._study(info, index, doc, words, out):
            return self._in_region(info, out), None
        head = self._leftover_clause(info, index, words, out)
        if head is not None:
            # "... at L3/4 and L5/S1 without stenosis, and the rest of the lumbar spine is unremarkable"
            located, last = self._located(head, index, doc, prev_location, None, clause_model)
            return self._in_region(info, out + located), last
        items = info.items
        # "this level shows ..." is about the level, not the finding before
        opens_anaphoric = bool(items) and items[0].kind == WORD and items[0].text in self.g.anaphora_words and not (
            len(items) > 1 and items[1].text in self.g.spoken_level_nouns)
        out, last = self._located(info, index, doc, prev_location, prev_side if opens_anaphoric else None,
                                  clause_model)
        return self._in_region(info, out), last

    def _leftover_clause(self, info: SentenceInfo, index: int, words: list[str], out: list[Finding]
                         ) -> SentenceInfo | None:
        """A whole-level statement in the last clause of a sentence, after a clause break: about named levels ("...,
        and the levels above L3/4 are unremarkable") or about the levels left over ("..., and the rest of the lumbar
        spine is unremarkable", decision D1; "an MRI showed a bulge at L4-5 ..., and was otherwise normal": a weak
        marker such as "otherwise" only where the sentence names a study, see :meth:`LevelScoper.level_scoped`).
        Its findings go to ``out``; returns the sentence before the clause, or None when the last clause is no such
        statement."""
        if not info.groups and "SCOPE" not in info.kinds:
            return None  # no level for a clause to be about (tested first: no look through the words)
        if CLAUSE_BREAKS.isdisjoint(words) and self.g.clause_punct.isdisjoint(words):
            return None  # no clause break (a break is a word of the sentence)
        items = info.items
        # the last clause break, or one of the two before it when quotation marks end the sentence ('..., and
        # everything else is "unremarkable".')
        breaks: list[int] = []
        for k in range(len(items) - 1, 0, -1):
            if self._breaks(items[k]):
                breaks.append(k)
                if len(breaks) == 3:
                    break
        for k in breaks:
            tail = items[k + 1:]
            if tail and tail[0].kind == WORD and tail[0].text in self.g.conjunctions:
                tail = tail[1:]
            if not tail:
                continue
            groups = [grp for grp in info.groups if grp.kind == "explicit" and grp.levels
                      and grp.start >= tail[0].start]
            marker = next((i for i in tail if i.kind == "SCOPE" and i.meta["scope"] == "remaining"
                           and not i.meta.get("exception")), None)
            if not groups and marker is not None and not (
                    marker.meta.get("weak") and self.g.study_words.isdisjoint(words)):
                groups = [LevelGroup(tuple(marker.meta.get("levels", LEVELS)), "remaining", marker.start,
                                     marker.end, "levels" in marker.meta, weak=bool(marker.meta.get("weak")),
                                     clause=True)]
            if not groups:
                continue
            clause = replace(info, items=tail, groups=groups, inherited=None)
            if self._whole(clause, index, sentence_words(tail), out):
                return replace(info, items=items[:k],
                               groups=[grp for grp in info.groups if grp.end <= items[k].start])
        return None

    def _plain(self, info: SentenceInfo, words: list[str]) -> bool:
        """True for a sentence of plain words (no concept) that names no study and no exception: it grades nothing
        and leaves no phrase to the next sentence. Of the statements below only a whole-study one (:meth:`_study`,
        also before an exception) may be made of plain words, and that needs a study word, or an exception word to
        part it, unless the sentence is a bare line of punctuation with no level in scope."""
        g = self.g
        return info.kinds == PLAIN_KINDS and g.study_words.isdisjoint(words) and g.exception_words.isdisjoint(words) \
            and (info.inherited is not None or bool(info.groups) or any(i.text.isalnum() for i in info.items))

    def _about_prior_study(self, words: list[str]) -> bool:
        """True for a sentence that reports a prior study ("prior MRI (2019) showed ...") and says nothing of
        the present ("now", "again", "unchanged")."""
        g = self.g
        if g.prior_words.isdisjoint(words):
            return False
        for k, word in enumerate(words):
            if word in g.prior_words and not g.study_words.isdisjoint(words[k + 1:k + 4]):
                rest = words[k + 1:]
                return not g.past_verbs.isdisjoint(rest) and g.current_markers.isdisjoint(words)
        return False

    @staticmethod
    def _in_region(info: SentenceInfo, out: list[Finding]) -> list[Finding]:
        """Drop the findings of a sentence about another spine region, unless placed at a named table level."""
        if not info.other_region:
            return out
        return [f for f in out if f.group is not None and f.group.kind == "explicit" and f.group.levels]

    def _study(self, info: SentenceInfo, index: int, doc: Doc, words: list[str], out: list[Finding]) -> bool:
        """A whole-study statement in prose (see the module docstring). Returns True when the sentence was one."""
        g = self.g
        if not info.kinds.isdisjoint(SPECIFIC_KINDS):
            return False  # something more specific: a stenosis, a level, a location, ...
        bare = info.inherited is None and not info.groups and all(
            (i.kind == "SEVERITY" and i.meta.get("standalone") and i.meta["grade"] == 0)
            or (i.kind == WORD and not i.text.isalnum()) for i in info.items)
        if not bare and g.study_words.isdisjoint(words):
            return False
        if not (g.blocking_words.isdisjoint(words) and g.modality_words.isdisjoint(words)
                and g.prior_words.isdisjoint(words)) or self._clinical(words):
            return False
        if any(item.kind == "SEVERITY" and item.meta["grade"] > 0 for item in info.items):
            return False
        text = doc_text(doc)[info.start_char:info.end_char].lower()
        if info.other_region or not any(self._unqualified(text, m) for m in self.normal_words.finditer(text)):
            return False
        remaining = any(item.kind == "SCOPE" and item.meta["scope"] == "remaining" for item in info.items)
        if remaining:
            group = LevelGroup(LEVELS, "remaining", info.start, info.end)
        else:
            levels = LEVELS if info.regions & T12_REGIONS else study_coverage(doc)
            group = LevelGroup(tuple(levels), "all", info.start, info.end, region=True)
        rank = "remaining" if remaining else "study"
        for slot in ALL_SLOTS:
            out.append(Finding(slot, 0, rank, group, index, info.start_char, info.end_char,
                               ("study_normal", f"inferred_{rank}")))
        return True

    def _study_except(self, info: SentenceInfo, index: int, doc: Doc, out: list[Finding]) -> bool:
        """A whole-study statement before an exception ("unremarkable apart from / except for ..."): the part
        before the exception (a word of ``study.exception_words`` or an exception scope marker such as "except
        for", "other than") read as :meth:`_study` reads a sentence. So is the part before a comma that follows a
        normal word and opens a tail of ``study.normal_tails`` ("... was read as normal, with no disc herniation
        and no spinal stenosis"): the tail's own statements are read as usual."""
        items, words, kinds = info.items, info.words, info.kinds
        if self.g.exception_words.isdisjoint(words) and not (
                "SCOPE" in kinds and any(i.kind == "SCOPE" and i.meta.get("exception") for i in items)) and (
                "SEVERITY" not in kinds or "," not in words or self.g.normal_tails.isdisjoint(words)):
            return False  # no exception word or marker, and no tail (a comma, a normal word and a tail word)
        k = next((k for k, i in enumerate(items) if (i.kind == WORD and i.text in self.g.exception_words)
                  or (i.kind == "SCOPE" and i.meta.get("exception"))), None)
        if k is None:
            k = next((k for k in range(1, len(items) - 1) if items[k].text == "," and items[k - 1].kind == "SEVERITY"
                      and items[k - 1].meta["grade"] == 0 and items[k + 1].kind == WORD
                      and items[k + 1].text in self.g.normal_tails), None)
        if not k:
            return False
        head = replace(info, items=items[:k], groups=[], end_char=token_columns(doc)[3][items[k].start])
        return self._study(head, index, doc, sentence_words(head.items), out)

    def _question(self, info: SentenceInfo) -> bool:
        """A question that names neither a level nor a location ("Is moderate stenosis something that needs
        surgery?", "has anyone had a laminectomy for severe stenosis?"): a reader asking, not a report stating, so
        it grades nothing even where the sentence before named a level. A question naming a location may state
        the findings ("... and mild left foraminal stenosis?" retyped by a patient) and is read as usual."""
        if info.groups or "LOCATION" in info.kinds or self.g.question_punct.isdisjoint(info.words):
            return False  # (a question mark is a word of the sentence)
        last = next((i for i in reversed(info.items) if not (i.kind == WORD and i.text in QUOTES)), None)
        return last is not None and last.kind == WORD and last.text in self.g.question_punct

    def _clinical(self, words: list[str]) -> bool:
        """Whether a sentence (its ``words``) is about a clinical examination or test (``study.clinical_words``:
        "normal sensory examination", "her neurological exam was normal"), not the MRI."""
        return not self.g.clinical_words.isdisjoint(words)

    def _unqualified(self, text: str, match: re.Match) -> bool:
        """A normal word neither negated ("not normal") nor qualified ("negative for radiculopathy")."""
        after = text[match.end():].split()[:1]
        before = text[:match.start()].split()[-1:]
        qualified = bool(after) and after[0].strip(",.;:") in self.g.qualifiers
        return not qualified and not (before and before[0] in ("not", "no"))

    def _located(self, info: SentenceInfo, index: int, doc: Doc, prev_location: str | None,
                 carried_side: str | None = None, clause_model: Core | None = None
                 ) -> tuple[list[Finding], Core | None]:
        """The stenosis phrases of one sentence as findings (steps 1-7 of the module docstring), and its last
        phrase. ``clause_model`` is the last phrase of the clause before when that clause ended with a semicolon."""
        out: list[Finding] = []
        items = info.items
        # a core starts at a location or stenosis word, or at a side that stands for a foramen
        cores = [] if info.kinds.isdisjoint(("LOCATION", "STENOSIS", "SIDE")) else self._cores(items, prev_location)
        if not cores and clause_model is not None:
            cores = self._continued(clause_model, items)
            for core in cores:
                out.extend(self._findings(core, info, index, doc))
            return out, cores[-1] if cores else None
        if not cores:
            return out, None
        taken: set[int] = set()
        for core in cores:
            taken.update(range(core.first, core.last + 1))
        for core in cores:
            self._left(core, items, taken)
        owned = {k: core for core in cores for k in range(core.left_first, core.first)}
        # the cores not absorbed as a predicate head, by first item: a predicate looks up only cores after its own
        by_first = {c.first: c for c in cores}
        for core in cores:
            if core.first not in by_first:
                continue
            head = self._predicate(core, by_first, items, owned)
            if head is not None:
                del by_first[head.first]
        cores = list(by_first.values())
        self._coordinate(cores, items)
        # (cores are in item order; a severity that repeats a phrase is one more: it names a level or follows one)
        copies = self._elliptical_severities(cores, items) if "SEVERITY" in info.kinds and "LEVEL" in info.kinds else []
        if copies:
            cores = sorted(cores + copies, key=lambda c: c.first)
        for core in cores:
            if carried_side and core.location == "foramen" and not core.sides and \
                    not any(i.kind == "SIDE" for i in core.left + core.predicate):
                core.sides = [carried_side]
            out.extend(self._findings(core, info, index, doc))
        return out, cores[-1]

    def _elliptical_severities(self, cores: list[Core], items: list[Item]) -> list[Core]:
        """Severities that repeat a phrase at another level: "mild canal stenosis at L3-4, moderate at L4-5 and
        severe at L5-S1" and "canal stenosis: L2-3 mild, L3-4 moderate" (the preceding phrase) and "mild L4-5 and
        moderate L5-S1 foraminal stenosis" (the following one, reached through a conjunction). Each becomes a copy
        of that phrase."""
        g = self.g
        # a severity is taken when a phrase holds it (a modifier, a predicate) or it lies between a core's first item
        # and the end of its predicate (a test by index: cheaper than a set of the ids of all those items)
        used = {id(i) for c in cores for i in c.left + c.predicate}
        spans = [(c.first, max(c.last, c.pred_last)) for c in cores]
        out: list[Core] = []
        for k, item in enumerate(items):
            if item.kind != "SEVERITY" or id(item) in used or any(a <= k <= b for a, b in spans):
                continue
            sides, at_level = self._level_after(items, k + 1)
            # "foraminal narrowing: L3-4 mild, L4-5 moderate right"; not "L3-4 mild facet hypertrophy"
            led = k > 0 and items[k - 1].kind == "LEVEL" and self._lone_severity(items, k)[1]
            if not (at_level and not self._names_noun(items, k + 1 + len(sides)) or led):
                continue
            phrases = [c for c in cores if c.location is not None or c.has_stenosis]  # "moderate stenosis at L4-5"
            before = [c for c in phrases if max(c.last, c.pred_last) < k]
            after = [c for c in phrases if c.left_first > k]
            if before and (led or (items[k - 1].kind == WORD and items[k - 1].text in g.conjunctions)):
                model = before[-1]
            elif after and self._joined(items[k + 1:after[0].left_first]):
                model = after[0]
            else:
                continue
            out.append(self._copy(model, item, sides, k))
        return out

    def _names_noun(self, items: list[Item], j: int) -> bool:
        """Whether the level from ``j`` on (after a severity and its sides) modifies a noun of its own: "mild left
        L4-5 disc herniation" grades the herniation, not a stenosis."""
        g = self.g
        j = next((i for i in range(j, len(items)) if items[i].kind == "LEVEL"), len(items))
        while j < len(items) and (items[j].kind == "LEVEL" or items[j].kind == WORD and (
                items[j].text in g.range_connectors or items[j].text in g.list_connectors)):
            j += 1  # "mild at L4-5 through L5-S1", "moderate L3-4 and L4-5"
        nxt = items[j] if j < len(items) else None
        return nxt is not None and nxt.kind == WORD and nxt.text.isalpha() and not (
            nxt.text in g.conjunctions or nxt.text in g.link_words or nxt.text in g.attaching_words)

    def _joined(self, gap: list[Item]) -> bool:
        """True for the words between "mild L4-5" and "moderate L5-S1 foraminal stenosis": levels, severities,
        sides and link words with a conjunction among them."""
        g = self.g
        words = [i.text for i in gap if i.kind == WORD]
        return (any(w in g.conjunctions for w in words)
                and all(i.kind in ("LEVEL", "SEVERITY", "SIDE") or (i.kind == WORD and (i.text in g.conjunctions
                                                                           or i.text in g.link_words)) for i in gap))

    def _level_after(self, items: list[Item], j: int) -> tuple[list[Item], bool]:
        """The side words from ``j`` on, and whether a level follows them ("moderate (on the left) at L4-5")."""
        sides, j = self._sides_after(items, j)
        return sides, j < len(items) and items[j].kind == "LEVEL"

    def _sides_after(self, items: list[Item], j: int) -> tuple[list[Item], int]:
        """The side words from ``j`` on (with the link words between them) and the index of the item after them."""
        sides = []
        link = self.g.link_words
        while j < len(items) and (items[j].kind == "SIDE" or (items[j].kind == WORD and items[j].text in link)):
            if items[j].kind == "SIDE":
                sides.append(items[j])
            j += 1
        return sides, j

    def _lone_severity(self, items: list[Item], k: int) -> tuple[list[Item], bool]:
        """The sides of the severity at ``k`` and whether the severity stands alone: its sides are followed by
        the end of the clause, a conjunction or a level ("L4-5 moderate right,", "moderate on the left."), not by a
        noun it modifies ("mild facet hypertrophy")."""
        sides, j = self._sides_after(items, k + 1)
        g = self.g
        return sides, j == len(items) or items[j].kind == "LEVEL" or (
            items[j].kind == WORD and (items[j].text in PUNCT_STOPS or items[j].text in g.conjunctions))

    def _copy(self, model: Core, item: Item, sides: list[Item], k: int) -> Core:
        """A severity at ``k`` repeating the phrase ``model`` with its sides unless it names its own ("mild right
        foraminal narrowing at L3-4, moderate at L4-5" is right at both); a side repeating a canal phrase is a
        foramen ("the canal is patent; severe on the left")."""
        model_sides = model.sides + [i.meta["side"] for i in model.left + model.predicate if i.kind == "SIDE"]
        location = None if sides and model.location == "canal" else model.location
        return Core(first=k, last=k, location=location, has_stenosis=True,
                    sides=[] if sides else model_sides, left=[item] + sides, left_first=k, pred_last=k)

    def _continued(self, model: Core, items: list[Item]) -> list[Core]:
        """The lone severities of a clause after a semicolon that has no stenosis phrase of its own, as copies of
        the last phrase of the clause before ("no foraminal stenosis on the right; moderate on the left",
        "foraminal narrowing: L3-4 mild; L4-5 moderate right"); a side may also head the severity, set off by
        punctuation ("foramina: right - moderate; left - mild")."""
        out = []
        for k, item in enumerate(items):
            if item.kind == "SEVERITY":
                sides, alone = self._lone_severity(items, k)
                if not alone:
                    continue
                if not sides:  # a side before it, past punctuation only: "left - mild"
                    j = k - 1
                    while j >= 0 and items[j].kind == WORD and not items[j].text.isalnum():
                        j -= 1
                    if 0 <= j < k - 1 and items[j].kind == "SIDE":
                        sides = [items[j]]
                out.append(self._copy(model, item, sides, k))
        return out

    def _coordinate(self, cores: list[Core], items: list[Item]) -> None:
        g = self.g
        for a, b in zip(cores, cores[1:]):
            gap = items[max(a.last, a.pred_last) + 1:b.left_first]
            # "the canal and (the) foramina": articles may follow the conjunction, and a weak left-over marker ("the
            # spinal canal and remaining neural foramina are patent")
            if not gap or not all((i.kind == WORD and (i.text in g.conjunctions or i.text in ARTICLES))
                                  or (i.kind == "SCOPE" and i.meta.get("weak")) for i in gap) \
                    or not any(i.text in g.conjunctions for i in gap):
                continue
            if a.predicate and not a.has_stenosis and b.has_stenosis:
                continue  # "the canal is patent, bilateral foraminal narrowing": a finished clause, then a new phrase
            if a.distracted or b.distracted:
                continue  # "compression of the thecal sac and severe narrowing of the lateral recess": nothing shared
            if a.has_stenosis != b.has_stenosis:
                # a shared head ("moderate central and bilateral foraminal stenosis") also satisfies the weak
                # location words that need a stenosis word of their own
                for c in (a, b):
                    c.has_stenosis = True
                    c.shared = True
            if a.shared or b.shared or (not a.has_stenosis or not b.has_stenosis):
                if not a.severities() and b.severities():
                    a.predicate = [i for i in b.left + b.predicate if i.kind == "SEVERITY"] + \
                                  [i for i in b.predicate if i.kind == "COMPARATOR"]
                elif not b.severities() and a.severities():
                    b.left = [i for i in a.left + a.predicate if i.kind == "SEVERITY"] + b.left

    def _findings(self, core: Core, info: SentenceInfo, index: int, doc: Doc) -> list[Finding]:
        negated, flags, dropped = self._context(core)
        if dropped or (core.distracted and core.location is None):
            return []
        if not core.has_stenosis and (core.location is None or core.requires_stenosis
                                      or not (negated or core.severities()) or self._complement(core, info.items)):
            return []
        first = min(core.left_first, core.first)
        last = max(core.last, core.pred_last)
        texts, _, _, idx = token_columns(doc)
        start_char = idx[info.items[first].start]
        end = info.items[last].end - 1
        end_char = idx[end] + len(texts[end])
        group = self._place(info, info.items[core.first].start, info.items[first].start)
        located = core.location is not None or bool(core.sides)
        out = []
        if core.shared:
            flags.add("coordinated")
        for slot, sev, minor in self._slots(core, negated):
            f = set(flags)
            if sev is not None:
                if negated and self._negation_follows(core, sev):
                    grade = 0
                    f.add("negated")
                elif negated and self._negates_severity(core, sev):
                    grade, f = None, f | {"negated_severity"}
                else:
                    grade = sev.meta["grade"]
                    if minor and "low" in sev.meta:
                        grade = max(sev.meta["low"], 1)
                        f.add("comparator_minor")
            elif negated:
                grade = 0
                f.add("negated")
            else:
                grade = None
                f.add("ungraded")
            # a negative statement with no level of its own after a line naming several levels covers the study
            place = None if grade == 0 and info.loose and group is info.inherited else group
            rank = self._rank(place, located, grade)
            if rank == "remaining":
                f.add("inferred_remaining")
            elif rank == "study":
                f.add("inferred_study")
            elif rank == "none":
                f.add("no_level")
            out.append(Finding(slot, grade, rank, place, index, start_char, end_char, tuple(sorted(f)), located))
        return out

    def __call__(self, doc: Doc) -> Doc:
        findings: list[Finding] = []
        last: Core | None = None
        clause_model: Core | None = None
        side: str | None = None
        table: GradeTable | None = None
        text, idx = doc_text(doc), token_columns(doc)[3]
        for index, info in enumerate(doc_attr(doc, "rp_sentences") or ()):
            if info.excluded:
                # no items: it grades nothing, ends a table and leaves nothing to the next sentence
                table = last = clause_model = side = None
                continue
            rows = table.row(info, index, text, idx) if table is not None else None
            if rows is not None:
                findings.extend(rows)
                continue
            table = GradeTable.header(info, text, idx)
            if table is not None:
                continue
            found, last = self.sentence(info, index, doc, last.location if last else None, side, clause_model)
            clause_model = last if info.items and info.items[-1].text in self.g.clause_punct else None
            findings.extend(found)
            sides = {i.meta["side"] for i in info.items if i.kind == "SIDE"} if "SIDE" in info.kinds else set()
            side = sides.pop() if len(sides) == 1 and sides <= {"left", "right"} else None
        set_doc_attr(doc, "rp_findings", findings)
        return doc


@Language.factory("reportparse_findings", default_config={"rules_dir": None})
def make_finding_assembler(nlp: Language, name: str, rules_dir: str | None) -> FindingAssembler:
    """Create the laterality and grade assembly stage from the ``grammar.json`` of ``rules_dir``."""
    return FindingAssembler(nlp, name, cached_rules(rules_dir).grammar)
