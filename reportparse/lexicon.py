"""Spelling-tolerant lexicon (the ``reportparse_lexicon`` component), run before the TargetMatcher.

The literal lexicon (``concepts.json``) lists the common spellings of every concept. Real dictation produces
more than a list can hold; this stage covers two open classes with rules from ``grammar.json`` (``lexicon``):

* **Level spellings.** Two vertebrae joined by a separator name the disc levels between them, in any spelling:
  ``L4-5``, ``L4L5``, ``L4 L5``, ``L-1 to L-2``, ``L-1-L-2``, ``T-12 to L1``, ``T-12toL1``, ``L5-SI``, ``L5 on S1``
  ("spondylolisthesis of L4 on L5"), ``L45`` (two neighbouring lumbar numbers run together), and ``L3 4`` when the bare number is the next vertebra and no unit of
  ``measurement_units`` follows ("L4 5 mm" is a measurement, "L2 4" no level). Adjacent vertebrae name one disc; a
  vertebral range ("disc disease from L3-L5") names every disc in it (L3-L4 and L4-L5). A lone vertebra next to a
  listhesis word ("grade 1 L4 anterolisthesis", "retrolisthesis of L3") names the disc below it. Cervical, thoracic
  above T12 and sacral levels (C5-6, T8-T9, L5-L6, S1-S2) are levels outside the table (``other``): their
  statements grade nothing. Spoken dictation spells the numbers out: after a vertebral letter in any of these forms
  ("L four-five", "L four on L five", "L five S one", "L three to L five"), and bare only for two neighbouring
  numbers that a level noun follows ("at the four five level", "the five-one disc") or that "at" precedes with a
  hyphen ("at four-five"); "two to three levels" and "four five times" are counts, not levels. Each mention becomes
  a ``LEVEL`` concept span (``metadata.levels`` when it names several levels).
* **Typos of key words.** A word that no concept or known word spells and that lies within a small
  Damerau-Levenshtein distance of a key word ("foraminl", "nueral", "stenossis", "bilaterral", "sever") gets the
  key word as its ``NORM``; the TargetMatcher matches on ``NORM``, so the corrected word joins every literal,
  multi-word ones included ("upper lumbal levels"). The distance is 1 for key words up to 7 letters and 2 for
  longer ones; the first letter must agree, words shorter than ``typo_min_length`` are left alone and the
  ``typo_protected`` words are real words that are never corrected ("lateral" is no "bilateral", "neutral" no
  "neural").
* **Misheard words.** Speech recognition writes a real word for a key word in a position only the key word can
  take: ``misheard_words`` gives each such word the word meant when it follows one of its ``after`` words ("the
  foramina are patient" is "patent"; "the patient has ..." stays the patient).
"""


import re
from collections.abc import Iterable
from typing import Any

from medspacy.target_matcher import TargetRule
from spacy.language import Language
from spacy.tokens import Doc, Span

from spinecore.schema import LEVELS

from .concepts import set_span_attr
from .levels import CONCEPT_GROUP, doc_text
from .rules import Grammar, cached_rules
from .sentences import token_columns

#: Vertebrae in craniocaudal order; a disc level is a pair of neighbours.
VERTEBRAE: tuple[str, ...] = (tuple(f"C{i}" for i in range(1, 8)) + tuple(f"T{i}" for i in range(1, 13))
                              + tuple(f"L{i}" for i in range(1, 6)) + tuple(f"S{i}" for i in range(1, 6)))
_INDEX = {v: i for i, v in enumerate(VERTEBRAE)}
_TABLE = {f"{VERTEBRAE[i]}-{VERTEBRAE[i + 1]}": i for i in range(len(VERTEBRAE) - 1)}
_DISC_LEVELS = {i: level for level, i in _TABLE.items() if level in LEVELS}
_UNSEEN: Any = object()  # a word the typo memo has not met
#: Words the typo memo and the set of words that keep their norm hold before they are emptied (a stream of new words,
#: such as an archive's dates and names, must not make them grow).
WORDS_KEPT = 100_000
_ORDINALS = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "first": 1, "second": 2, "third": 3, "fourth": 4,
             "fifth": 5}


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), capped at
    ``limit + 1``.

    Only the cells of the table within ``limit`` of its diagonal are computed: a cell further off holds at least
    its distance from the diagonal, more than the limit, and counts as ``limit + 1`` (the cells within the band
    keep their value up to the limit, and stay over it otherwise). The scan stops once a row exceeds the limit.
    This is half the work of the whole table for the lexicon's limits of 1 and 2.
    """
    over = limit + 1
    if abs(len(a) - len(b)) > limit:
        return over
    prev2: list[int] = []
    prev = [min(j, over) for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        cur = [over] * (len(b) + 1)
        cur[0] = min(i, over)
        x = a[i - 1]
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            y = b[j - 1]
            d = prev[j - 1] + (x != y)
            e = prev[j] + 1  # (comparisons instead of min(): this loop is the typo check's cost)
            if e < d:
                d = e
            e = cur[j - 1] + 1
            if e < d:
                d = e
            if x != y and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                e = prev2[j - 2] + 1
                if e < d:
                    d = e
            cur[j] = d
        if min(cur) > limit:
            return over
        prev2, prev = prev, cur
    return min(prev[-1], over)


def disc_levels(first: str, last: str) -> tuple[str, ...] | None:
    """The table levels between two vertebrae ("L3", "L5" -> L3-L4, L4-L5); ``()`` when every disc between them
    lies outside the table (C5-C6, L5-L6); None when ``last`` is not below ``first``."""
    a, b = _INDEX.get(first), _INDEX.get(last)
    if a is None or b is None or b <= a:
        return None
    return tuple(_DISC_LEVELS[i] for i in range(a, b) if i in _DISC_LEVELS)


def _region(letters: str) -> str:
    """The region letter of a vertebra as written: "Th" and "D" (dorsal) are thoracic."""
    return "T" if letters.upper() in ("TH", "D") else letters.upper()


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the characters ``start:end`` overlap a span already taken."""
    return any(s < end and start < e for s, e in taken)


class Lexicon:
    """Adds level spans and typo norms to a doc. See the module docstring."""

    def __init__(self, nlp: Language, name: str, grammar: Grammar, known_words: frozenset[str],
                 level_literals: frozenset[str] = frozenset()):
        self.name = name
        self.level_literals = level_literals  # spellings the literal lexicon matches itself
        g = grammar
        self.grammar = g
        self.known = known_words | g.typo_protected | frozenset(g.typo_targets)
        # words ("to", "relative to") need spaces around them, symbols ("-", "/") do not
        wordy = [s for s in g.level_separators if s.replace(" ", "").isalpha()]
        symbols = "|".join(re.escape(s) for s in g.level_separators if s not in wordy)
        words = "|".join(re.escape(s) for s in wordy)
        sacral = "|".join(re.escape(s) for s in g.sacral_one_spellings)
        # "Th12/L1", "D12-L1": the thoracic (dorsal) vertebrae as European and Indian reports spell them
        full = r"(?P<r2>Th|D|[CTLS])(?:-|\s)?(?P<n2>\d{1,2})"
        glued = r"(?P<r3>[CTLS])-?(?P<n3>\d{1,2})"  # "L3L4", "L4 L5": the second vertebra in full
        second = rf"(?:{full}|(?P<s1>{sacral})(?![a-z])|(?P<b2>\d{{1,2}}))"
        # "L3 4", "l5 1": a bare number after a space is a level only for the next vertebra and not before a unit
        # ("L4 5 mm" is a measurement); a word separator glued to both vertebrae ("T-12toL1") needs the letters
        units = "|".join(re.escape(u) for u in g.measurement_units)
        spaced = rf"\s+(?P<b3>\d{{1,2}})(?![0-9]|[.,]\d|\s*(?:{units})(?![a-z]))"
        # The pair (a scan of every report) and the lettered spoken levels are compiled case-sensitive and open with a
        # plain class of their first letter as IGNORECASE matches it ("\u017f", the long s, is an s to it), the rest
        # in (?i:...): re then scans for that letter in one loop instead of trying the pattern at each position of
        # the text (an opening look-behind or case-insensitive letter keeps it from that); the word-start test
        # follows the letter as a look-behind over two characters. The same matches in two thirds of the time.
        self.pair = re.compile(
            r"(?P<r1>[CDLSTcdlst\u017f](?<!(?i:[A-Za-z0-9]).)(?:(?<=[Tt])(?i:h))?)"  # Th|D|[CTLS] at a word start
            rf"(?i:-?(?P<n1>\d{{1,2}})(?:(?:\s*(?:{symbols})\s*|\s+(?:{words})\s+){second}"
            rf"|(?:{words})(?P<r4>[CTLS])-?(?P<n4>\d{{1,2}})|{spaced}"
            rf"|\s?(?:{glued}|(?P<s1b>{sacral})(?![a-z])))(?![0-9])(?![a-z]{{2}}))")
        # "the 4th and 5th lumbar vertebrae", "between the fourth and fifth lumbar": a pair of ordinals
        ordinal = r"(?:1st|2nd|3rd|[45]th|first|second|third|fourth|fifth)"
        # each pattern below opens with a look-ahead for the characters its matches can start with: the scan then
        # rejects most positions of the text in one test (the matches are the same)
        self.ordinals = re.compile(rf"(?=[1-5fst])\b(?P<o1>{ordinal})\s+(?:and|&|to|-)\s+(?P<o2>{ordinal})\s+lumbar\b",
                                   re.IGNORECASE)
        listhesis = "|".join(re.escape(w) for w in g.listhesis_words)
        firsts = re.escape("".join(sorted({w[0] for w in g.listhesis_words})))
        self.listhesis = re.compile(
            rf"(?=[{firsts}CTLS])"
            rf"(?:(?:\b(?:{listhesis})\s+of\s+(?:the\s+)?(?P<a>[CTLS]-?\d{{1,2}})\b"
            rf"(?!\s*(?:{symbols}|{words})\s*[CTLS]?\d))"
            rf"|(?:(?<![A-Za-z0-9])(?P<b>[CTLS]-?\d{{1,2}})\s+(?:[a-z]+\s+)?(?:{listhesis})\b))", re.IGNORECASE)
        number = "|".join(g.spoken_numbers)
        self.spoken_lettered = re.compile(  # (opening as the pair's above)
            rf"(?P<r1>[CLSTclst\u017f])(?<!(?i:[A-Za-z0-9']).)(?i:[- ]?(?P<w1>{number})"
            rf"(?:\s*(?:{symbols})\s*|\s+(?:{words})\s+|\s+)(?:(?P<r2>[CTLS])[- ]?)?(?P<w2>{number})(?![a-z]))")
        nouns = "|".join(re.escape(w) for w in g.spoken_level_nouns)
        self.spoken_bare = re.compile(
            rf"(?<![a-z])(?:(?P<w1>{number})[ -](?P<w2>{number})(?=\s+(?:{nouns})(?![a-z]))"
            rf"|(?<=at )(?:the )?(?P<w3>{number})-(?P<w4>{number})(?![a-z]))", re.IGNORECASE)
        # "LS-S1", "LS/SI": a fifth lumbar vertebra misread as letters, a level only before S1
        fifth = "|".join(re.escape(s) for s in g.fifth_lumbar_spellings)
        self.fifth_lumbar = re.compile(
            rf"(?=[Ll])(?<![A-Za-z0-9])(?:{fifth})\s*(?:{symbols})\s*(?:S-?1|{sacral})(?![A-Za-z0-9])", re.IGNORECASE)
        # "L45", "L34": two lumbar numbers run together, a level only for neighbouring vertebrae
        self.compact = re.compile(r"(?=[Ll])(?<![A-Za-z0-9])[Ll](?P<c1>[1-4])(?P<c2>[2-5])(?![A-Za-z0-9])")
        # Rarely met spellings are first looked for in a cheaper form, a guard: every match of the pattern matches
        # its guard in the lower-cased text (for ASCII text, whose case folds as str.lower folds it; other text
        # skips the guards), and a guard opens with a literal or a short alternation that ``re`` scans for fast
        # (a guard costs 1-13 us per report, its pattern 12-42 us; tests/reportparse/test_lexicon.py checks that
        # no match escapes its guard)
        symbols_lower = "|".join(re.escape(s.lower()) for s in g.level_separators if s not in wordy)
        fifth_lower = "|".join(re.escape(s.lower()) for s in g.fifth_lumbar_spellings)
        number_lower = "|".join(re.escape(s.lower()) for s in g.spoken_numbers)
        self.guards = {self.compact: re.compile(r"l[1-4][2-5]"),
                       self.fifth_lumbar: re.compile(rf"(?:{fifth_lower})\s*(?:{symbols_lower})"),
                       self.spoken_bare: re.compile(rf"(?:{number_lower})[ -](?:{number_lower})")}
        # the key words by first letter (a typo keeps it), each with its distance limit and its letters, in the
        # grammar's order
        self._typo_targets: dict[str, list[tuple[str, int, frozenset[str]]]] = {}
        for target in g.typo_targets:
            self._typo_targets.setdefault(target[0], []).append((target, 1 if len(target) <= 7 else 2,
                                                                 frozenset(target)))
        self._rules: dict[tuple[str, ...], TargetRule] = {}
        self._fixes: dict[str, str | None] = {}
        self._plain: set[str] = set()  # token texts met before that keep their norm (see __call__)

    # -- levels -----------------------------------------------------------------------------------------
    def _rule(self, levels: tuple[str, ...]) -> TargetRule:
        rule = self._rules.get(levels)
        if rule is None:
            meta = {"level": levels[0]} if len(levels) == 1 else (
                {"level": levels[0], "levels": list(levels)} if levels else {"level": "other"})
            rule = self._rules[levels] = TargetRule(literal="<level spelling>", category="LEVEL", metadata=meta)
        return rule

    def _pair_levels(self, m: re.Match) -> tuple[str, ...] | None:
        r1, n1 = _region(m.group("r1")), int(m.group("n1"))
        first = f"{r1}{n1}"
        if m.group("s1") or m.group("s1b"):
            last = "S1"
        elif m.group("r2") or m.group("r3") or m.group("r4"):
            r2, n2 = next((m.group(f"r{k}"), m.group(f"n{k}")) for k in (2, 3, 4) if m.group(f"r{k}"))
            last = f"{_region(r2)}{int(n2)}"
        else:
            n2 = int(m.group("b2") or m.group("b3"))
            if m.group("b3") and not (n2 == n1 + 1 or (r1, n1, n2) in (("L", 5, 1), ("T", 12, 1))):
                return None  # "L3 5": not the next vertebra, so no level
            if r1 == "L" and n1 == 5 and n2 == 1:
                last = "S1"  # L5-1 is read as L5-S1
            elif r1 == "T" and n1 == 12 and n2 == 1:
                last = "L1"
            else:
                last = f"{r1}{n2}"
        if first not in _INDEX or last not in _INDEX:
            return ()  # L6, S6 ...: transitional or invalid numbering, outside the table
        return disc_levels(first, last)

    def _finditer(self, pattern: re.Pattern, text: str, lower: str | None) -> Iterable[re.Match]:
        """The matches of ``pattern`` in ``text``, none without looking when its guard is not in ``lower`` (the
        lower-cased text; None: not ASCII, no guard applies)."""
        guard = self.guards.get(pattern)
        if guard is not None and lower is not None and guard.search(lower) is None:
            return ()
        return pattern.finditer(text)

    def _add_levels(self, doc: Doc, spans: list[Span]) -> None:
        text = doc_text(doc)
        lower = text.lower()
        guarded = lower if text.isascii() else None
        taken: list[tuple[int, int]] = []
        for m in self.pair.finditer(text):
            if m.group(0).lower() in self.level_literals:
                continue
            levels = self._pair_levels(m)
            if levels is None:
                continue
            span = doc.char_span(m.start(), m.end())
            if span is None:
                continue  # inside a token ("5,L5"): leave it to the literal lexicon
            taken.append((m.start(), m.end()))
            spans.append(self._span(span, levels))
        for m in self._finditer(self.compact, text, guarded):
            first, second = int(m.group("c1")), int(m.group("c2"))
            span = doc.char_span(m.start(), m.end())
            if second == first + 1 and span is not None and not _overlaps(taken, m.start(), m.end()):
                taken.append((m.start(), m.end()))
                spans.append(self._span(span, disc_levels(f"L{first}", f"L{second}") or ()))
        for m in self._finditer(self.fifth_lumbar, text, guarded):
            span = doc.char_span(m.start(), m.end())
            if span is not None:
                taken.append((m.start(), m.end()))
                spans.append(self._span(span, disc_levels("L5", "S1") or ()))
        if any(w in lower for w in self.grammar.spoken_numbers[:5]):
            self._add_spoken(doc, text, guarded, taken, spans)
        ordinals = "lumbar" in lower and (guarded is None or any(o in lower for o in _ORDINALS))
        for m in (self.ordinals.finditer(text) if ordinals else ()):
            first, last = (_ORDINALS[m.group(k).lower()] for k in ("o1", "o2"))
            span = doc.char_span(m.start(), m.end())
            if span is not None and first < last:
                taken.append((m.start(), m.end()))
                spans.append(self._span(span, disc_levels(f"L{first}", f"L{last}") or ()))
        listhesis = any(word in lower for word in self.grammar.listhesis_words)
        for m in (self.listhesis.finditer(text) if listhesis else ()):
            key = "a" if m.group("a") else "b"
            start, end = m.span(key)
            if _overlaps(taken, start, end):
                continue
            name = m.group(key).replace("-", "").upper()
            if name not in _INDEX or _INDEX[name] + 1 >= len(VERTEBRAE):
                continue
            span = doc.char_span(start, end)
            if span is not None:
                spans.append(self._span(span, disc_levels(name, VERTEBRAE[_INDEX[name] + 1]) or ()))

    def _add_spoken(self, doc: Doc, text: str, guarded: str | None, taken: list[tuple[int, int]],
                    spans: list[Span]) -> None:
        """Levels with spelt-out numbers (see the module docstring); ``guarded`` as in :meth:`_finditer`."""
        value = {w: i + 1 for i, w in enumerate(self.grammar.spoken_numbers)}
        found: list[tuple[int, int, tuple[str, ...] | None]] = []
        for m in self.spoken_lettered.finditer(text):
            r1, n1, n2 = m.group("r1").upper(), value[m.group("w1").lower()], value[m.group("w2").lower()]
            r2 = (m.group("r2") or "").upper() or ("S" if (r1, n1, n2) == ("L", 5, 1) else
                                                   "L" if (r1, n1, n2) == ("T", 12, 1) else r1)
            first, last = f"{r1}{n1}", f"{r2}{n2}"
            found.append((m.start(), m.end(), disc_levels(first, last) if first in _INDEX and last in _INDEX else ()))
        for m in self._finditer(self.spoken_bare, text, guarded):
            a, b = (m.group("w1"), m.group("w2")) if m.group("w1") else (m.group("w3"), m.group("w4"))
            n1, n2 = value[a.lower()], value[b.lower()]
            pair = {(5, 1): ("L5", "S1"), (12, 1): ("T12", "L1")}.get((n1, n2))
            if pair is None and n2 == n1 + 1 and n2 <= 5:
                pair = (f"L{n1}", f"L{n2}")
            if pair is not None:
                start = m.start("w1") if m.group("w1") else m.start("w3")
                found.append((start, m.end(), disc_levels(*pair)))
        for start, end, levels in found:
            if levels is None or _overlaps(taken, start, end):
                continue
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None:
                taken.append((start, end))
                spans.append(self._span(span, levels))

    def _span(self, span: Span, levels: tuple[str, ...]) -> Span:
        out = Span(span.doc, span.start, span.end, label="LEVEL")
        set_span_attr(out, "target_rule", self._rule(levels))
        return out

    # -- typos ------------------------------------------------------------------------------------------
    def correction(self, word: str) -> str | None:
        """The key word that ``word`` (lower case) misspells, or None (memoised per word)."""
        fixed = self._fixes.get(word, _UNSEEN)  # (one look-up: another thread may empty the memo meanwhile)
        if fixed is _UNSEEN:
            fixed = self._closest(word)
            if len(self._fixes) > WORDS_KEPT:
                self._fixes.clear()
            self._fixes[word] = fixed
        return fixed

    def _closest(self, word: str) -> str | None:
        g = self.grammar
        if len(word) < g.typo_min_length or word in self.known or not word.isalpha():
            return None
        best, best_d = None, 3
        letters = set(word)
        for target, limit, target_letters in self._typo_targets.get(word[0], ()):
            # each letter of one word that the other lacks takes an edit of its own (a transposition moves letters
            # only): more of them than the limit rule the key word out at a fraction of the distance table's cost
            if len(letters - target_letters) > limit or len(target_letters - letters) > limit:
                continue
            d = osa_distance(word, target, limit)
            if d <= limit and d < best_d:
                best, best_d = target, d
        return best

    def __call__(self, doc: Doc) -> Doc:
        # the token columns instead of a Token object per word (spaCy's IS_ALPHA and LENGTH are str.isalpha and
        # len of the text); corrections memoised per word, and the words that keep their norm whatever comes before
        # them (no typo, not misheard) skipped in one pass
        texts, lowers, _, _ = token_columns(doc)
        min_length = self.grammar.typo_min_length
        misheard = self.grammar.misheard_words
        plain = self._plain
        if len(plain) > WORDS_KEPT:
            plain.clear()
        for i in [i for i, text in enumerate(texts) if text not in plain]:
            text = texts[i]
            if len(text) >= min_length and text.isalpha():
                meant = misheard.get(lowers[i])
                if meant is not None and i > 0 and lowers[i - 1] in meant[1]:
                    doc[i].norm_ = meant[0]  # "the foramina are patient": dictation's "patent"
                    continue
                fixed = self.correction(lowers[i])
                if fixed is not None:
                    doc[i].norm_ = fixed
                elif meant is None:
                    plain.add(text)
            else:
                plain.add(text)
        spans: list[Span] = []
        self._add_levels(doc, spans)
        if spans:
            if CONCEPT_GROUP in doc.spans:
                doc.spans[CONCEPT_GROUP] += spans
            else:
                doc.spans[CONCEPT_GROUP] = spans
        return doc


@Language.factory("reportparse_lexicon", default_config={"rules_dir": None})
def make_lexicon(nlp: Language, name: str, rules_dir: str | None) -> Lexicon:
    """Create the spelling-tolerant lexicon from the ``grammar.json`` and ``concepts.json`` of ``rules_dir``."""
    rules = cached_rules(rules_dir)
    known = frozenset(w for rule in rules.concepts if rule.literal for w in rule.literal.lower().split())
    levels = frozenset(rule.literal.lower() for rule in rules.concepts if rule.category == "LEVEL" and rule.literal)
    return Lexicon(nlp, name, rules.grammar, known, levels)
