"""Level scoping (the ``reportparse_levels`` component).

For every sentence this stage decides which disc levels its statements are about:

* level mentions (``LEVEL`` concepts) joined by list words ("L3-4, L4-5 and L5-S1") form one group; a range word
  between two levels ("T12-L1 through L2-L3", "L1-2 to L3-4") expands to every level in between; a direction
  word turns a level into the levels beside it ("the levels above L3-4": T12-L1 to L2-L3; "L4-5 and below":
  L4-L5 and L5-S1);
* scope markers (``SCOPE`` concepts: "the remaining levels", "at any level", "at several levels") form groups
  of their own; weak markers ("otherwise") count only where no level is in scope; a finding "at several levels"
  is at levels the report does not name, so it stays unplaced;
* a sentence that opens with a group ("L4-5: ...", "At L4-5, ...") is a *heading*: its last group stays in
  scope for the following sentences until the next level, a blank line or a new section; so does a sentence
  that names a level and ends with a colon ("Near the 4th and 5th lumbar vertebrae the report said:"), whose
  scope also crosses the blank line right after it;
* a sentence that names a level later on ("... at L4-5.") keeps it in scope until the end of its line; after a
  line of prose has named several levels with findings, a statement with no level of its own is *loose*
  (``SentenceInfo.loose``: the findings stage reads a negative one as study-wide); a numbered item ("3. ...")
  does not inherit the heading of the item before;
* sentences in excluded sections (history, indication, technique, comparison, exam title) are marked excluded,
  except a sentence of a title section (``title_sections``) that states a graded finding at a level ("MRI: L4-5
  moderate stenosis" in a clinical note);
* the spine regions a sentence names ("MRI of the cervical spine", "thoracic and lumbar") are kept with it, and
  a region heading ("THORACIC SPINE:") lends its region to the sentences after it until the next region
  heading or section, so a thoracic paragraph's "no canal narrowing" is not read as lumbar;
* the document's *study coverage* (``doc._.rp_coverage``) is the levels a whole-study statement covers:
  L1-L2 to L5-S1, and T12-L1 when the text names T12-L1, the thoracolumbar junction, the thoracic or the whole
  spine, or is a radiology report (a FINDINGS, IMPRESSION or TECHNIQUE section, or an MRI title on its first
  line in a text without note headings); a clinical note that says "the lumbar MRI was normal" does not settle
  T12-L1. A text that names no table level and no lumbar region but names other levels or regions (a cervical
  report) covers nothing.

The result is ``doc._.rp_sentences``: one :class:`SentenceInfo` per sentence, with the sentence's tokens
already grouped into :class:`Item` objects (a concept span or a single word) for the findings stage.
"""


import re
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from spinecore.schema import LEVELS

from .concepts import CONCEPT_GROUP, concept_spans
from .rules import Grammar, cached_rules
from .sentences import (doc_attr, doc_text, sentence_bounds, set_doc_attr,  # noqa: F401  (doc_text re-exported)
                        token_columns)

WORD = "WORD"

if not Doc.has_extension("rp_sentences"):
    Doc.set_extension("rp_sentences", default=None)
if not Doc.has_extension("rp_coverage"):
    Doc.set_extension("rp_coverage", default=LEVELS)


def study_coverage(doc: Doc) -> tuple[str, ...]:
    """``doc._.rp_coverage``: :data:`LEVELS` for a doc this stage did not see (read past the ``Underscore`` object,
    see :func:`reportparse.sentences.doc_attr`)."""
    return doc_attr(doc, "rp_coverage", LEVELS)


#: Regions whose statements concern the lumbar table, and those that also reach T12-L1.
LUMBAR_REGIONS = frozenset({"lumbar", "thoracolumbar", "whole"})
T12_REGIONS = frozenset({"thoracolumbar", "thoracic", "whole"})
#: Section categories that only radiology reports have (an impression heading also opens clinicians' notes).
REPORT_SECTIONS = frozenset({"findings", "technique"})
#: Verbs that make a first line a sentence rather than an MRI title ("Imaging of the spine has been benign.").
TITLE_VERBS = frozenset({"has", "have", "is", "are"})
#: What may stand between a regional scope word and the levels in apposition to it ("the upper levels, L1-L2 ...").
APPOSITION_MARKS = frozenset({",", ":", "(", "-", "–", "—"})
#: Words before a level that make it the place of what precedes it ("moderate at L4-5"), or before "that level".
LEVEL_PREPOSITIONS = frozenset({"at", "of", "in", "on", "from", "to", "through", "the"})


@dataclass(slots=True)
class Item:
    """A concept span or one plain word of a sentence. ``kind`` is the concept category or ``WORD``."""

    kind: str
    start: int
    end: int
    text: str
    meta: dict[str, Any]
    span: Span | None = None


@dataclass(frozen=True)
class LevelGroup:
    """Levels that one phrase names. ``kind``: ``explicit`` (level names), ``remaining``, ``all`` or
    ``unspecified`` (markers; "at several levels" names none)."""

    levels: tuple[str, ...]
    kind: str
    start: int
    end: int
    restricted: bool = False  # a marker limited to some levels ("upper lumbar levels")
    region: bool = False  # a region word ("in the lumbar spine"): carries whole-study negatives only
    weak: bool = False  # a weak marker ("otherwise", "other"): carries negatives only
    exception: bool = False  # "except (for)", "other than": scopes what comes before it, not the exception after it
    surgical: bool = False  # levels naming an operation ("the prior L5-S1 fusion"), not where a finding is
    of_levels: bool = False  # a left-over marker that names levels ("the remaining levels"), not locations
    clause: bool = False  # a marker of the whole clause ("otherwise no canal or foraminal stenosis"), not of a noun


def sentence_words(items: list[Item]) -> list[str]:
    """The words of a sentence's items; after the parts of a hyphenated word that the tokenizer split, the word
    itself ("x", "-", "ray", "x-ray"), as the grammar's word lists spell it."""
    # a plain word is one token, with no whitespace in it (spaCy splits at every str.isspace character): one split of
    # the joined texts costs less than a loop over the items
    return join_hyphenated(" ".join([item.text for item in items]).split())


def join_hyphenated(words: list[str]) -> list[str]:
    """``words`` (changed in place) with each hyphenated word the tokenizer split added after its parts (see
    :func:`sentence_words`); only the hyphens are visited, left to right."""
    k = 0
    while "-" in words[k + 1:-1]:  # a hyphen with a word before it and one after it
        k = words.index("-", k + 1)
        # the word before may be one joined at the hyphen before ("a - b - c" gives "a-b", not "a-b-c")
        if words[k - 1].isalnum() and words[k + 1].isalnum():
            words.insert(k + 2, f"{words[k - 1]}-{words[k + 1]}")
    return words


#: An item's kind (``map`` with it makes a sentence's kinds for less than a comprehension does).
ITEM_KIND = attrgetter("kind")


@dataclass(slots=True)
class SentenceInfo:
    """One sentence with its level scope. Token indices are into the doc; an excluded sentence has no items."""

    start: int
    end: int
    start_char: int
    end_char: int
    section: str | None
    excluded: bool
    items: list[Item]
    groups: list[LevelGroup] = field(default_factory=list)
    inherited: LevelGroup | None = None
    heading: bool = False
    regions: frozenset[str] = frozenset()  # spine regions named here or by the region heading in force
    loose: bool = False  # the level in scope is the last of several a line named in prose (see LevelScoper)

    #: The kinds of the items (``WORD`` and concept categories), made with the sentence (``replace`` with other items
    #: makes them anew): the stages test them a dozen times per sentence before they look for an item of one kind
    kinds: frozenset[str] = field(init=False, repr=False, compare=False)
    _words: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.kinds = frozenset(map(ITEM_KIND, self.items))

    @property
    def words(self) -> list[str]:
        """The sentence's words (:func:`sentence_words` of its items), made on first use (``replace`` with other
        items makes them anew; ``functools.cached_property`` takes a lock on every first access in Python 3.11)."""
        if self._words is None:
            self._words = sentence_words(self.items)
        return self._words

    @property
    def other_region(self) -> bool:
        """True when the sentence is about a region other than the lumbar spine only (cervical, thoracic)."""
        return bool(self.regions) and not (self.regions & LUMBAR_REGIONS)


@dataclass
class ConceptSpans:
    """The doc's concept spans, sorted, as parallel lists (read once; span attributes are slow to reach)."""

    starts: list[int]
    ends: list[int]
    labels: list[str]
    metas: list[dict[str, Any]]
    spans: list[Span]

    @classmethod
    def of(cls, doc: Doc) -> "ConceptSpans":
        spans, rules = concept_spans(doc)
        columns = cls([span.start for span in spans], [span.end for span in spans], [rule.category for rule in rules],
                      [rule.metadata or NO_META for rule in rules], list(spans))
        # the order by start, then longest first, as one int per span (a tuple per span cost more to make and compare);
        # the matcher's order is mostly that already, and then the columns stay as read
        width = len(doc) + 1
        keys = [start * width - end for start, end in zip(columns.starts, columns.ends)]
        if keys != sorted(keys):
            order = sorted(range(len(keys)), key=keys.__getitem__)
            every: tuple[list[Any], ...] = (columns.starts, columns.ends, columns.labels, columns.metas, columns.spans)
            for column in every:
                column[:] = [column[k] for k in order]
        return columns


NO_META: dict[str, Any] = {}
NO_REGIONS: frozenset[str] = frozenset()


def item_after(items: list[Item], token: int, skip: frozenset[str] | set[str] = frozenset()) -> Item | None:
    """The first item starting at doc token ``token`` or later that is not a word in ``skip`` (None: none left)."""
    return next((i for i in items if i.start >= token and not (i.kind == WORD and i.text in skip)), None)


def sentence_items(start: int, end: int, concepts: ConceptSpans, lowers: list[str], spaces: list[bool],
                   first_span: int = 0) -> tuple[list[Item], list[str], int]:
    """The sentence's tokens as items: each concept span is one item, every other non-space token a ``WORD``.

    ``lowers`` and ``spaces`` are the doc's lower-cased token texts and space flags; the scan of the concept
    spans starts at ``first_span``. Returns the items, their words (:func:`sentence_words`) and the index of the
    first span after the sentence (the next sentence's ``first_span``).
    """
    starts, ends = concepts.starts, concepts.ends
    n = len(starts)
    last = end - 1
    while last > start and spaces[last]:
        last -= 1
    items: list[Item] = []
    k = start
    dropped = False  # a token that is no item and no space: an abbreviation's period
    # one walk over the tokens (a comprehension per stretch between spans cost more), with the start of the next span
    # that can be an item: the first (the longest, by the spans' order) that starts at or after the walk's token and
    # ends within the sentence; the spans that start inside an item or reach past the sentence are skipped. It is
    # looked for at the walk's start and after each item (next_start below the walk's token), not at every word
    j = first_span
    next_start = -1
    while k < end:
        if next_start < k:
            while j < n and starts[j] < end and (starts[j] < k or ends[j] > end):
                j += 1
            next_start = starts[j] if j < n and starts[j] < end else end
        if k == next_start:
            s1 = ends[j]
            items.append(Item(concepts.labels[j], k, s1, " ".join(lowers[k:s1]), concepts.metas[j], concepts.spans[j]))
            k = s1
            j += 1
            next_start = -1
            continue
        if not spaces[k]:
            # a word, but not the period of an abbreviation inside the sentence ("mild Rt. foraminal narrowing")
            if lowers[k] == "." and start < k < last and lowers[k - 1].isalpha():
                dropped = True
            else:
                items.append(Item(WORD, k, k + 1, lowers[k], NO_META))
        k += 1
    # the items hold every token of the sentence but its spaces (no words) and dropped periods: without the latter,
    # the words are those of the tokens' texts, split in one go (no loop over the items)
    words = sentence_words(items) if dropped else join_hyphenated(" ".join(lowers[start:end]).split())
    return items, words, bisect_left(starts, end, j)


@dataclass
class TokenView:
    """Plain lists of the token attributes the stages read, taken once per doc (``doc[i]`` is slow)."""

    texts: list[str]
    lowers: list[str]
    spaces: list[bool]
    idx: list[int]
    sent_starts: set[int]

    @classmethod
    def of(cls, doc: Doc, bounds: list[tuple[int, int]]) -> "TokenView":
        texts, lowers, spaces, idx = token_columns(doc)
        return cls(texts, lowers, spaces, idx, {start for start, _ in bounds})

    def starts_line(self, i: int) -> bool:
        # a line break is a space token's: spaCy's trailing whitespace of a token is one space at most
        return i == 0 or "\n" in self.texts[i - 1]


def token_sections(doc: Doc, excluded: frozenset[str], tokens: TokenView) -> list[str | None]:
    """The section category of every token (None before the first header or without headers).

    Section rules with ``"metadata": {"line_start": true}`` count only at the start of a line ("MRI:" inside
    a sentence is no header). An excluded section (history, indication, ...) whose text starts on the header's
    line ends with that line; one whose header stands alone ends at the next blank line. The text after it
    belongs to no section, so a report without a FINDINGS header is not lost to its INDICATION line. An inline
    excluded section ends with its first sentence: a report flattened onto one line, a note's "History: back pain.
    MRI showed ..." or a procedure note's "Indication: sciatica. MRI demonstrates ..." goes on after it (an older
    study quoted on a report's HISTORY line is a prior study, see the findings stage).
    """
    n = len(doc)
    texts = tokens.texts
    cats: list[str | None] = [None] * n
    kept = []
    # medspaCy's doc._.sections has no getter; unset, user_data holds None where doc._ gives its default []
    for section in doc_attr(doc, "sections") or ():
        if section.category is None or section.title_start is None:
            continue
        meta = (section.rule.metadata or {}) if section.rule is not None else {}
        if meta.get("line_start") and not tokens.starts_line(section.title_start):
            continue
        kept.append(section)
    for k, section in enumerate(kept):
        end = kept[k + 1].title_start if k + 1 < len(kept) else n
        if section.category in excluded:
            inline = section.title_end < n and not any("\n" in texts[i] for i in range(
                section.title_end, min(section.title_end + 2, n)))
            for i in range(section.title_end, end):
                text = texts[i]
                sent_start = i in tokens.sent_starts
                if ("\n" in text and inline and i + 1 < n and not texts[i + 1][:1].islower()) or \
                        text.count("\n") >= 2 or (inline and i > section.body_start and sent_start
                                                    and not tokens.starts_line(i)):
                    end = i + (0 if sent_start and not tokens.spaces[i] else 1)
                    break
        cats[section.title_start:end] = [section.category] * (end - section.title_start)
    return cats


class LevelScoper:
    """Finds level groups and scope markers per sentence and carries level scope across sentences."""

    def __init__(self, nlp: Language, name: str, grammar: Grammar):
        self.name = name
        self.grammar = grammar
        self.order = {level: i for i, level in enumerate(LEVELS)}
        self.listed_marks = grammar.list_connectors | {":"}  # between "at multiple levels" and the levels it names
        # the words that change a group of levels beside them (see _directed and _surgical)
        self.group_modifiers = grammar.above_words | grammar.below_words | grammar.surgery_words
        # the region words in the order they are tried (the regions', each region's longest first), each with its
        # region (the first that lists it), and one branch per first letter that opens with that letter: at a word
        # start the pattern checks one letter per branch instead of entering a group per region. The pattern opens
        # with the character before the word (see region_mentions), not with a look-behind: a pattern that opens
        # with a character set is searched for that set first, not tried at every position
        self.region_of: dict[str, str] = {}
        by_first: dict[str, list[str]] = {}
        for name, words in grammar.regions.items():
            for w in sorted(words, key=len, reverse=True):
                self.region_of.setdefault(w, name)
                by_first.setdefault(w[0], []).append(w)
        self.region_pattern = re.compile(r"[^a-z0-9](" + "|".join(
            re.escape(first) + "(?:" + "|".join(re.escape(w[1:]) for w in words) + ")"
            for first, words in by_first.items()) + r")(?![a-z0-9])")
        study = "|".join(re.escape(w) for w in sorted(grammar.study_words, key=len, reverse=True))
        lumbar = "|".join(re.escape(w) for w in sorted(grammar.regions["lumbar"], key=len, reverse=True))
        headings = "|".join(re.escape(w) for w in sorted(grammar.note_headings, key=len, reverse=True))
        # a heading at the start of a line, searched for in the text after a line break: a pattern that opens with a
        # literal is searched for that character first, not tried at every position as "(?:^|\n)" is
        self.note_heading = re.compile(rf"\n[ \t]*(?:{headings})[ \t]*:", re.IGNORECASE)
        self.title = re.compile(rf"^\W*(?:[a-z ]{{0,20}}:\s*)?(?:{study})\b[^\n]{{0,40}}(?:{lumbar})", re.IGNORECASE)

    def region_mentions(self, text: str) -> list[tuple[int, str]]:
        """The offset and region of every region word in ``text`` (lower case)."""
        # the space put before the text stands for its start; a match's start, the character before the word in
        # that string, is the word's offset in the text
        return [(m.start(), self.region_of[m[1]]) for m in self.region_pattern.finditer(" " + text)]

    def regions(self, text: str) -> frozenset[str]:
        """The spine regions ``text`` (lower case) names."""
        return frozenset([name for _, name in self.region_mentions(text)])

    def region_heading(self, text: str) -> frozenset[str]:
        """The regions of a region heading ("LUMBAR SPINE:", "Thoracic:"), or an empty set."""
        head, colon, _ = text.partition(":")
        if not colon or len(head.split()) > 4:
            return frozenset()
        return self.regions(head)

    def coverage(self, doc: Doc, concepts: "ConceptSpans", sections: list[str | None],
                 regions: frozenset[str]) -> tuple[str, ...]:
        """The levels a whole-study statement of this document covers (see the module docstring); ``regions``
        are the regions the document names."""
        named = {m["level"] for m, label in zip(concepts.metas, concepts.labels) if label == "LEVEL"}
        if not named & set(LEVELS) and ("other" in named or regions) and not regions & LUMBAR_REGIONS:
            return ()  # a cervical or thoracic report: "the rest of the study is unremarkable" is not lumbar
        found = set(sections)
        # T12-L1 named, a radiology report's sections, the thoracic or whole spine named: the text is searched
        # further only when these do not settle T12-L1
        if "T12-L1" in named or REPORT_SECTIONS & found or regions & T12_REGIONS:
            return LEVELS
        text = doc_text(doc)
        # an "Impression:" heading makes a radiology report unless the text is a clinical note ("Plan:", "HPI:")
        note = self.note_heading.search("\n" + text) is not None
        # an MRI title on the first line makes a report, not a note's "Imaging: MRI lumbar spine - unremarkable ..."
        # (a title states nothing: "Imaging of the lumbar spine has been largely benign." is a sentence)
        first_line = text.lstrip().split("\n", 1)[0]
        title = self.title.search(first_line) and not any(
            w in self.grammar.past_verbs or w in TITLE_VERBS for w in first_line.lower().split())
        if ("impression" in found or title) and not note:
            return LEVELS
        return LEVELS[1:]

    def quantifiers_to_words(self, items: list[Item]) -> None:
        """A side word that counts levels is no side: "both" in "at both L3-4 and L4-5", "at both the L3-4 and
        L4-5 levels" or "both levels" (``levels.level_quantifiers``) becomes a plain word, in place."""
        quantifiers = self.grammar.level_quantifiers
        for k, item in enumerate(items):
            if item.kind != "SIDE" or item.text not in quantifiers:
                continue
            nxt = item_after(items, item.end, {"the"})
            if nxt is not None and (nxt.kind == "LEVEL" or nxt.text in ("level", "levels")):
                items[k] = Item(WORD, item.start, item.end, item.text, NO_META)

    def groups(self, items: list[Item], words: list[str], heading_scope: bool) -> list[LevelGroup]:
        """Level groups and scope markers of one sentence, in text order; ``words`` are the sentence's
        (:func:`sentence_words`)."""
        g = self.grammar
        groups: list[LevelGroup] = []
        current: list[str] = []
        cur_start = cur_end = -1
        pending_range = False
        gap_ok = True
        markers: list[Item] = []  # the SCOPE items, read after the levels
        for item in items:
            kind = item.kind
            if kind == WORD:
                if current:  # (gap_ok is read only while a group is open)
                    if item.text in g.range_connectors:
                        pending_range = True
                    elif item.text not in g.list_connectors:
                        gap_ok = False
            elif kind != "LEVEL":
                if kind == "SCOPE":
                    markers.append(item)
                gap_ok = False
            elif item.meta["level"] == "other":
                # a level outside the table (L5-L6 with six lumbar vertebrae, T11-T12): it takes statements
                # away from the levels around it, and they grade nothing
                if current:
                    groups.append(LevelGroup(tuple(current), "explicit", cur_start, cur_end))
                    current = []
                groups.append(LevelGroup((), "explicit", item.start, item.end))
                pending_range, gap_ok = False, True
            else:
                named = item.meta.get("levels") or [item.meta["level"]]  # a vertebral range names several
                if current and gap_ok:
                    if pending_range and self.order[named[0]] > self.order[current[-1]]:
                        current.extend(LEVELS[self.order[current[-1]] + 1:self.order[named[0]]])
                    current.extend(lvl for lvl in named if lvl not in current)
                    cur_end = item.end
                else:
                    if current:
                        groups.append(LevelGroup(tuple(current), "explicit", cur_start, cur_end))
                    current, cur_start, cur_end = list(named), item.start, item.end
                pending_range, gap_ok = False, True
        if current:
            groups.append(LevelGroup(tuple(current), "explicit", cur_start, cur_end))
        if groups and not self.group_modifiers.isdisjoint(words):  # (else no word beside a group changes it)
            starts = [item.start for item in items]
            groups = [self._surgical(self._directed(grp, items, starts), items, starts) for grp in groups]
        has_levels = bool(groups)
        every = False  # a marker of every level among them
        for item in markers:
            if item.meta.get("weak") and (has_levels or heading_scope):
                continue
            if item.meta["scope"] == "unspecified" and self._named_next(items, item, self.listed_marks):
                continue  # "at multiple levels from L3-4 to L5-S1": the levels it names come right after it
            if "levels" in item.meta and self._named_next(items, item, APPOSITION_MARKS):
                continue  # "the upper levels, L1-L2 through L3-L4, were unremarkable": the levels named win
            restricted = "levels" in item.meta
            # "at several levels" names no level: what it holds stays unplaced
            levels = () if item.meta["scope"] == "unspecified" else tuple(item.meta.get("levels", LEVELS))
            every = every or item.meta["scope"] == "all"
            groups.append(LevelGroup(levels, item.meta["scope"], item.start, item.end, restricted,
                                     bool(item.meta.get("region")), bool(item.meta.get("weak")),
                                     bool(item.meta.get("exception")),
                                     of_levels=any(w.rstrip("s") in g.spoken_level_nouns for w in item.text.split()),
                                     clause=bool(item.meta.get("clause"))))
        if every:
            # "the foramina are otherwise patent at all levels": a location at every level (D2), not a clause
            groups = [replace(grp, clause=False) if grp.clause else grp for grp in groups]
        if markers:  # (the groups of levels come in text order)
            groups.sort(key=lambda grp: grp.start)
        return groups

    def same_level(self, items: list[Item]) -> tuple[int, int] | None:
        """The token span of a phrase naming the level in scope again ("at that level", "at the same level", "of
        this segment": ``levels.same_level_words`` after a preposition), or None."""
        g = self.grammar
        for k in range(len(items) - 2):
            a, b, c = items[k], items[k + 1], items[k + 2]
            if a.kind == b.kind == c.kind == WORD and a.text in LEVEL_PREPOSITIONS and b.text in g.same_level_words \
                    and c.text in g.spoken_level_nouns:
                return a.start, c.end
        return None

    @staticmethod
    def _named_next(items: list[Item], marker: Item, between: frozenset[str]) -> bool:
        """Whether a level follows ``marker`` with only words of ``between`` before it: ``listed_marks`` after "at
        multiple levels", :data:`APPOSITION_MARKS` after a regional scope word."""
        nxt = item_after(items, marker.end, between)
        return nxt is not None and nxt.kind == "LEVEL"

    def _surgical(self, group: LevelGroup, items: list[Item], starts: list[int]) -> LevelGroup:
        """Mark levels followed by an operation (``levels.surgery_words``: "following her prior L5-S1 fusion",
        "above the L4-5 laminectomy"): a finding goes to another level of its sentence when there is one.
        ``starts`` are the items' first tokens."""
        k = bisect_left(starts, group.end)
        nxt = items[k] if k < len(items) else None
        if group.levels and nxt is not None and nxt.kind == WORD and nxt.text in self.grammar.surgery_words:
            return replace(group, surgical=True)
        return group

    def _directed(self, group: LevelGroup, items: list[Item], starts: list[int]) -> LevelGroup:
        """The levels above or below a named group: "levels above L3-4" (exclusive), "L4-5 and below"
        (inclusive). ``starts`` are the items' first tokens (items do not overlap: the words within three tokens
        before the group are among the three items before it, those within two tokens after it the two after)."""
        if not group.levels:
            return group
        g = self.grammar
        k, j = bisect_left(starts, group.start), bisect_left(starts, group.end)
        before = [i.text for i in items[max(0, k - 3):k] if i.kind == WORD and group.start - 3 <= i.start]
        after = [i.text for i in items[j:j + 2] if i.kind == WORD and i.end <= group.end + 2]
        first, last = self.order[group.levels[0]], self.order[group.levels[-1]]
        if before and before[-1] in g.above_words:
            levels = LEVELS[:first]
        elif before and before[-1] in g.below_words:
            levels = LEVELS[last + 1:]
        elif len(after) == 2 and after[0] in ("and", "or") and after[1] in g.above_words:
            levels = LEVELS[:last + 1]
        elif len(after) == 2 and after[0] in ("and", "or") and after[1] in g.below_words:
            levels = LEVELS[first:]
        else:
            return group
        return LevelGroup(tuple(levels), group.kind, group.start, group.end)

    @staticmethod
    def states_finding(items: list[Item]) -> bool:
        """True when the items name a table level and a graded stenosis (a stenosis word and a severity)."""
        kinds = {i.kind for i in items if i.kind != "LEVEL" or i.meta["level"] != "other"}
        return {"LEVEL", "STENOSIS", "SEVERITY"} <= kinds

    def level_scoped(self, words: list[str], line_groups: int) -> bool:
        """Whether a left-over word with no level of its own ("otherwise", "other") under a heading is about the
        heading's level: "L3-4: mild bulge. Otherwise normal." is (the heading's line); not "Otherwise no stenosis."
        on a line of its own, nor "... at L4-5 ...; at L5-S1 ... Otherwise no stenosis." (a line that has named more
        than one level), nor "The study is otherwise negative." (one of ``study.study_words``); ``words`` are the
        sentence's (:func:`sentence_words`)."""
        return line_groups == 1 and self.grammar.study_words.isdisjoint(words)

    def opens_with_group(self, items: list[Item], groups: list[LevelGroup]) -> bool:
        """True when the first content item of the sentence starts a group of named levels (a heading).

        A sentence led by a scope marker ("Except for mild stenosis at L4-5, ...") is no heading: its
        statements go to the group that follows them."""
        if not groups or groups[0].kind != "explicit":
            return False
        first = groups[0].start
        for item in items:
            if item.start >= first:
                return True
            if item.kind == WORD and (item.text in self.grammar.heading_lead or not item.text.isalpha()):
                continue
            return False
        return False

    def __call__(self, doc: Doc) -> Doc:
        concepts = ConceptSpans.of(doc)
        bounds = sentence_bounds(doc)
        tokens = TokenView.of(doc, bounds)
        excluded = self.grammar.excluded_sections
        sections = token_sections(doc, excluded, tokens)
        texts = tokens.texts
        out: list[SentenceInfo] = []
        heading: LevelGroup | None = None
        narrative: LevelGroup | None = None
        last_section: str | None = None
        region_scope: frozenset[str] = frozenset()
        lead_in = False
        line_groups = 0  # explicit level groups named on the current line so far
        line_levels: set[str] = set()  # and the levels they name
        clause_continues = False  # the sentence before ended with clause punctuation (";")
        next_span = 0
        text = doc_text(doc)
        regions = self.region_mentions(text.lower())
        region_starts = [start for start, _ in regions]
        items: list[Item]
        for start, end in bounds:
            section = sections[end - 1]
            if section != last_section:
                heading = narrative = None
                region_scope = frozenset()
                last_section = section
            gap = texts[start - 1] if start > 0 and tokens.spaces[start - 1] else ""
            if gap.count("\n") >= 2 and not lead_in:
                heading = None
            if "\n" in gap:
                narrative = None
                line_groups = 0
                line_levels.clear()
                if texts[start].isdigit() and start + 1 < end and texts[start + 1] in (".", ")"):
                    heading = None  # a numbered item ("3. Otherwise no significant stenosis.") stands on its own
            skipped = section in excluded
            first_span = next_span
            if skipped and section not in self.grammar.title_sections:  # nothing reads an excluded sentence
                items, next_span = [], bisect_left(concepts.starts, end, next_span)
            else:
                items, words, next_span = sentence_items(start, end, concepts, tokens.lowers, tokens.spaces, next_span)
                if "SIDE" in concepts.labels[first_span:next_span]:
                    self.quantifiers_to_words(items)
                # "MRI: L4-5 moderate stenosis" in a note: a title line that states a finding is read
                skipped = skipped and not self.states_finding(items)
                items = [] if skipped else items
            info = SentenceInfo(start, end, tokens.idx[start], tokens.idx[end - 1] + len(texts[end - 1]), section,
                                skipped, items)
            if items:
                info._words = words  # (what the words property would make of them)
            out.append(info)
            first_region = bisect_left(region_starts, info.start_char)
            last_region = bisect_left(region_starts, info.end_char, first_region)
            named = frozenset([name for _, name in regions[first_region:last_region]]) if last_region > first_region \
                else NO_REGIONS
            if named:
                region_scope = self.region_heading(text[info.start_char:info.end_char].lower()) or region_scope
            info.regions = named or region_scope
            if info.excluded:
                continue
            words, kinds = info.words, info.kinds
            if "LEVEL" in kinds or "SCOPE" in kinds:  # (else the sentence has no group)
                info.groups = self.groups(items, words, heading is not None and self.level_scoped(words, line_groups))
            info.inherited = narrative or heading
            # the last of several levels a line has named in prose ("... at L4/5 ... L5/S1 shows ... No central
            # stenosis is reported."): a negative statement after them that names no level ("at both levels") and
            # does not continue a clause (after a semicolon) is about the study, not that level
            info.loose = narrative is not None and len(line_levels) > 1 and not clause_continues and not any(
                w.rstrip("s") in self.grammar.spoken_level_nouns for w in words)
            if info.groups:  # (most sentences name no level: their bookkeeping is skipped)
                line_groups += sum(grp.kind == "explicit" for grp in info.groups)
                if not (kinds.isdisjoint(("STENOSIS", "LOCATION")) and self.grammar.discussion_words.isdisjoint(words)):
                    # levels named with a finding, not for numbering ("the L5/S1 level is on image 36")
                    line_levels.update(lvl for grp in info.groups if grp.kind == "explicit" for lvl in grp.levels)
            clause_continues = bool(items) and items[-1].text in self.grammar.clause_punct
            same = None if self.grammar.same_level_words.isdisjoint(words) else self.same_level(items)
            if same is not None:
                # "... and the foramina are patent at that level": the level named last, in this sentence or in
                # scope from the sentences before, named again
                before = [grp for grp in info.groups if grp.kind == "explicit" and grp.levels and grp.end <= same[0]]
                if before:
                    referent = before[-1]
                elif any(grp.kind == "explicit" for grp in info.groups):
                    referent = None  # only levels after it: "at that level" has nothing to name again
                elif info.inherited is not None and info.inherited.kind == "explicit":
                    referent = info.inherited
                else:
                    referent = None  # "Otherwise no significant stenosis. I'm tired of this disc.": no level named
                if referent is not None:  # a place, even when the level was named with its operation
                    again = replace(referent, kind="explicit", start=same[0], end=same[1], surgical=False)
                    info.groups = sorted([again, *(grp for grp in info.groups if not grp.weak)],
                                         key=lambda grp: grp.start)
            lead_in = False
            if info.groups:  # (the same-level phrase may have made the first)
                info.heading = self.opens_with_group(items, info.groups)
                # "At L4-5, the report said:" introduces the paragraph after it, across the blank line
                lead_in = items[-1].text == ":" and info.groups[-1].kind == "explicit"
                if info.heading or lead_in:
                    heading, narrative = info.groups[-1], None
                else:
                    narrative = info.groups[-1]
        set_doc_attr(doc, "rp_sentences", out)
        set_doc_attr(doc, "rp_coverage", self.coverage(doc, concepts, sections, frozenset(name for _, name in regions)))
        return doc


@Language.factory("reportparse_levels", default_config={"rules_dir": None})
def make_level_scoper(nlp: Language, name: str, rules_dir: str | None) -> LevelScoper:
    """Create the level scoping stage from the ``grammar.json`` of ``rules_dir`` (None: shipped rules)."""
    return LevelScoper(nlp, name, cached_rules(rules_dir).grammar)
