"""Concept matching (the ``reportparse_concepts`` component): medspaCy's TargetMatcher with a linear overlap pruning.

medspaCy's ``TargetMatcher`` matches the concept rules (``concepts.json``) and keeps the longest of overlapping
matches with ``prune_overlapping_matches``, which pops from the front of a list and calls itself again after
every pass; on a report with a hundred matches that pruning costs more than the matching. This subclass runs the
same matcher with :func:`prune_overlaps`, the same algorithm as a loop (identical result, tested against
medspaCy's), writes the same spans to ``doc.spans["reportparse_concepts"]`` with ``span._.target_rule``, and also
keeps them as a plain list with their rules in ``doc._.rp_concepts`` (a ``SpanGroup`` builds a new ``Span``
object on every access, and ``span._`` look-ups are slow). Its token patterns run through :class:`RuleMatcher`
(also used by the ConText stage): split into patterns that open with a plain test, and matched only where one
can start, by the patterns that open there.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import compress
from operator import itemgetter
from typing import Any

import numpy

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.target_matcher import TargetMatcher, TargetRule
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from .rules import cached_rules
from .sentences import doc_attr, set_doc_attr

#: The span group that holds the concept spans.
CONCEPT_GROUP = "reportparse_concepts"
if not Doc.has_extension("rp_concepts"):
    Doc.set_extension("rp_concepts", default=None)

Match = tuple[int, int, int]
#: The token after a match's first token as the plan of its starts tests it: (column, value hashes it may have), or
#: None (any token, or none).
Follow = tuple[int, frozenset[int]] | None
#: How far a match can reach: (most tokens that cannot repeat, repeatable (column, hash) pairs, bounded).
Reach = tuple[int, set[tuple[int, int]], bool]
#: Token attributes that the text of a token decides, and NORM, which the window memo of :class:`RuleMatcher` keys
#: on: when every token pattern tests only these, the matches in a window of tokens depend on nothing else.
WINDOW_ATTRS = frozenset({"ORTH", "TEXT", "LOWER", "NORM", "LENGTH", "SHAPE", "PREFIX", "SUFFIX", "IS_ALPHA",
                          "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT", "IS_SPACE",
                          "LIKE_NUM", "OP"})
#: Windows the memo of one :class:`RuleMatcher` holds before it is emptied.
WINDOWS_KEPT = 50_000


def span_attr(span: Span, name: str, default: Any = None) -> Any:
    """``span._.<name>`` for an extension registered with a plain default (no getter, setter or method).

    spaCy keeps such a value in ``doc.user_data`` under ``("._.", name, start_char, end_char)``; reading it there
    skips the ``Underscore`` object that every ``span._`` access builds (a tenth of the parse time). The default
    is that of the extension (the mutable-default copy that ``span._`` makes is left out: no stage here mutates
    one); ``tests/reportparse/test_concepts.py`` checks that this stays what ``span._`` returns.
    """
    return span.doc.user_data.get(("._.", name, span.start_char, span.end_char), default)


def set_span_attr(span: Span, name: str, value: Any) -> None:
    """``span._.<name> = value`` for an extension with a plain default (see :func:`span_attr`)."""
    span.doc.user_data[("._.", name, span.start_char, span.end_char)] = value


_span_key = itemgetter(1, 2)  # (start, end) of a match


@contextmanager
def validating(matcher: Matcher, validate: bool) -> Iterator[None]:
    """spaCy's token ``matcher`` with its pattern validation switched to ``validate`` for the block, then back."""
    was, matcher.validate = matcher.validate, validate
    try:
        yield
    finally:
        matcher.validate = was


def prune_overlaps(matches: list[Match]) -> list[Match]:
    """medspaCy's ``prune_overlapping_matches(matches, strategy="longest")``: the same result, for matches whose
    start is not after their end (spaCy's; medspaCy's overlap test assumes it too).

    medspaCy's passes: in (start, end) order, of two neighbours that overlap the longer one is kept (the first on a
    tie) and the scan goes on after them; passes repeat until one removes nothing. A pass keeps matches in the
    order it met them, so the list stays sorted. Here the first pass also checks the order as it goes (most
    matcher outputs come sorted; a stable sort leaves those as they are) and sorts only when it meets a pair out
    of order. A later pass only compares each match kept by a merge of the pass before with the match after it:
    every pair without one was a neighbour pair then, found apart; and a kept match is apart from the match before
    it, for that one was apart from the merged pair's first match (or was kept by a merge itself: the pair is
    compared as that one's), and the first match was kept, or the second, which is longer, so not empty, and does
    not start before the first. So the pass steps over the rest and copies those stretches whole.
    """
    if len(matches) < 2:
        return list(matches)
    ordered = matches
    while True:  # the first pass: over ``matches`` itself, or over a sorted copy when they are out of order
        pruned: list[Match] = []
        merged: list[int] = []  # the positions in ``pruned`` of the matches kept by a merge
        rest = iter(ordered)
        current = next(rest)
        _, cs, ce = current
        for following in rest:
            _, fs, fe = following
            if fs >= ce:  # in order (fs >= ce >= cs); apart unless following is empty at current's (non-empty) end
                if fe != ce or cs == ce:
                    pruned.append(current)
                    current, cs, ce = following, fs, fe
                    continue
                merged.append(len(pruned))
                pruned.append(current)
            elif fs > cs or fs == cs and fe >= ce:  # in order, starts inside current: they overlap
                merged.append(len(pruned))
                pruned.append(following if fe - fs > ce - cs else current)
            else:
                break  # out of order
            current = next(rest, None)
            if current is None:
                break
            _, cs, ce = current
            if cs < fs or cs == fs and ce < fe:
                break  # out of order
        else:
            pruned.append(current)
            current = None
        if current is None:
            break
        ordered = sorted(matches, key=_span_key)
    while merged:  # the later passes
        ordered = pruned
        last = len(ordered) - 1
        overlapping: list[int] = []  # the neighbour pairs (by their first position) that overlap
        for k in merged:
            if k < last:
                current, following = ordered[k], ordered[k + 1]
                if current[1] <= following[1] < current[2] or current[1] < following[2] <= current[2]:
                    overlapping.append(k)
        if not overlapping:
            break
        pruned = []
        merged = []
        i = 0  # the scan's position: it reaches each overlapping pair whose first match a merge did not take
        for k in overlapping:
            if k >= i:
                pruned += ordered[i:k]
                current, following = ordered[k], ordered[k + 1]
                merged.append(len(pruned))
                pruned.append(following if following[2] - following[1] > current[2] - current[1] else current)
                i = k + 2
        pruned += ordered[i:]
    return pruned


def split_leading_predicates(pattern: list[dict[str, Any]], limit: int = 64) -> list[list[dict[str, Any]]]:
    """Patterns that match what ``pattern`` matches and open with a plain attribute test.

    spaCy's Matcher starts every pattern at every token, and a set predicate (``{"NORM": {"IN": [...]}}``) is a
    Python call per token where an equality test runs in C: with ten such rules the predicates were a third of
    the parse. A leading optional token (``"OP": "?"``) becomes a pattern with the token and one without it; a
    leading ``IN`` test on one attribute becomes one pattern per value. The matcher removes duplicate matches of
    one key, so the matches are the same (tested). ``pattern`` itself is returned when the split would exceed
    ``limit`` patterns or the first token is anything else.
    """
    if not pattern:
        return [pattern]
    first, rest = pattern[0], pattern[1:]
    if first.get("OP") == "?" and rest:
        plain = {k: v for k, v in first.items() if k != "OP"}
        out = split_leading_predicates([plain, *rest], limit) + split_leading_predicates(rest, limit)
    elif len(first) == 1 and isinstance(value := next(iter(first.values())), dict) and list(value) == ["IN"] \
            and all(isinstance(v, str) for v in value["IN"]):
        attr = next(iter(first))
        out = [[{attr: v}, *rest] for v in dict.fromkeys(value["IN"])]
    else:
        return [pattern]
    return out if len(out) <= limit else [pattern]


def _reach(token: dict[str, Any]) -> int | None:
    """The most tokens one token pattern consumes (None: no bound)."""
    op = token.get("OP")
    if op in (None, "!", "?"):
        return 1
    if op in ("*", "+"):
        return None
    most = op.strip("{}").split(",")[-1]  # "{n}", "{n,m}", "{,m}", "{n,}"
    return int(most) if most else None


def _values(token: dict[str, Any], strings: Any) -> tuple[str, set[int]] | None:
    """The attribute a token pattern tests and the hashes of the values it accepts, when it is one equality or
    ``IN`` test of a plain attribute; else None."""
    tests = [(k, v) for k, v in token.items() if k != "OP"]
    if len(tests) != 1 or tests[0][0] == "_":
        return None
    attr, value = tests[0]
    if isinstance(value, str):
        return attr, {strings.add(value)}
    if isinstance(value, dict) and list(value) == ["IN"] and all(isinstance(v, str) for v in value["IN"]):
        return attr, {strings.add(v) for v in value["IN"]}
    return None


def _next_values(pattern: list[dict[str, Any]], strings: Any) -> tuple[str, set[int]] | None:
    """The attribute a match's second token is tested on and the hashes of the values it may have, when every
    match of ``pattern`` goes on past its first token and the pattern tokens that can match the second (the
    optional ones, "?" and "*", up to the first that must be there, and that one) are equality or ``IN`` tests
    of one attribute; else None."""
    attr, hashes = None, set()
    for token in pattern[1:]:
        op = token.get("OP")
        values = _values(token, strings)
        if op not in (None, "?", "*", "+") or values is None or attr not in (None, values[0]):
            return None
        attr = values[0]
        hashes |= values[1]
        if op in (None, "+"):
            return attr, hashes
    return None


class RuleMatcher:
    """A medspaCy matcher's matches (token patterns, phrases, regular expressions, in medspaCy's order), with its
    spaCy token Matcher run only where a pattern can start, and only with the patterns that can start there.

    spaCy's Matcher starts every pattern at every token (about 12 ns per pattern and token: the concept matcher's
    171 token patterns were a sixth of the parse). Its patterns are first split
    (:func:`split_leading_predicates`), so that most open with an equality test of one attribute: a match can only
    start at a token with one of those values (followed by a token with a value that the next pattern tokens
    accept, when they are plain tests up to one that must match: :func:`_next_values`), and reach as far as its
    tokens allow, a bounded number of tokens plus, for a repeated token ("*", "+", "{2,}") that tests one
    attribute, any run of tokens with its values. At each such start a small Matcher holding only the patterns that
    open with that token's values (made on first use) runs on the tokens from the start to its reach, and the
    matches that begin at the start are kept: the same matches as the whole-doc Matcher (tested). A pattern that
    opens otherwise, a callback or a greedy filter makes the whole token Matcher run on the whole doc; a repeated
    token of another kind makes a reach end at the doc's end.

    Reports repeat their phrases, so the matches of a window are kept by the window's tokens (their ORTH and NORM
    values) and the patterns that can start there, and looked up before the small Matcher runs, when every
    pattern tests only :data:`WINDOW_ATTRS` (at most :data:`WINDOWS_KEPT` windows; 97% of the windows of the
    synthetic reports repeat, 55% of those of 119 real-style reports).
    """

    def __init__(self, matcher: MedspacyMatcher, vocab: Any):
        self.matcher = matcher
        self.vocab = vocab
        self.refresh()

    def refresh(self) -> None:
        """Split the token patterns of the medspaCy matcher again and plan where they start (after rules are
        added)."""
        token_matcher = self.token_matcher = self.matcher._MedspacyMatcher__matcher  # medspaCy keeps it private
        # the split patterns are parts of patterns the matcher validated when the rules were added: validating
        # them again would cost a twentieth of the pipeline's build
        with validating(token_matcher, False):
            for rule_id, rule in self.matcher.rule_map.items():
                if isinstance(rule.pattern, list):
                    patterns = split_leading_predicates(rule.pattern)
                    if patterns != [rule.pattern]:
                        token_matcher.remove(rule_id)
                        token_matcher.add(rule_id, patterns, on_match=rule.on_match)
        self.others = (self.matcher._MedspacyMatcher__phrase_matcher, self.matcher._MedspacyMatcher__regex_matcher)
        self.attrs: list[str] = []  # the attributes the plan reads, in doc.to_array order
        # per column: value hash of a first token -> {test of the second token: (most tokens that cannot repeat,
        # repeatable (column, hash) pairs, whether the repeats are bounded by those values)}; None: the whole doc
        self.starts: list[dict[int, dict[Follow, Reach]]] | None = []
        # (column, value hash) of a first token -> the patterns that open with it, as (rank, key, pattern) in the
        # token Matcher's order; and the small Matchers made from them, per tuple of such first tokens
        self._openers: dict[tuple[int, int], list[tuple[int, int, list[dict[str, Any]]]]] = {}
        self._matchers: dict[tuple[tuple[int, int], ...], Matcher] = {}
        patterns = token_matcher._patterns
        # (the plan's first tokens, a window's values of :attr:`read` as bytes) -> (key, length) of the matches at its
        # start
        self._windows: dict[tuple, list[tuple[int, int]]] | None = {} if all(
            token.keys() <= WINDOW_ATTRS for key in patterns for p in patterns[key] for token in p) else None
        if any(token_matcher._callbacks.get(key) or token_matcher._filter.get(key) for key in patterns):
            self.starts = None
            return
        strings = self.vocab.strings

        def column(attr: str) -> int:
            if attr not in self.attrs:
                self.attrs.append(attr)
                self.starts.append({})
            return self.attrs.index(attr)

        for rank, (key, pattern) in enumerate((key, p) for key in patterns for p in patterns[key]):
            first = _values(pattern[0], strings) if pattern and "OP" not in pattern[0] else None
            if first is None:
                self.starts = None
                return
            fixed, repeats, bounded = 0, set(), True
            for token in pattern:
                reach = _reach(token)
                if reach is not None:
                    fixed += reach
                elif (values := _values(token, strings)) is not None:
                    repeats.update((column(values[0]), h) for h in values[1])
                else:
                    bounded = False
            # a match also needs a token with one of these values after the first (most windows the plan would
            # otherwise run the small Matcher on match nothing)
            second = _next_values(pattern, strings)
            follow = (column(second[0]), frozenset(second[1])) if second is not None else None
            col = column(first[0])
            starts = self.starts[col]
            for h in first[1]:
                most, seen, all_bounded = starts.setdefault(h, {}).get(follow, (0, set(), True))
                starts[h][follow] = (max(most, fixed), seen | repeats, all_bounded and bounded)
                self._openers.setdefault((col, h), []).append((rank, key, pattern))
        # the columns read per doc: the plan's, then those a window's memo key needs
        self.read = self.attrs + [attr for attr in ("ORTH", "NORM") if attr not in self.attrs]

    def starts_in(self, doc: Doc) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
        """Where a token pattern can match in ``doc`` (see the class docstring): (first token, end of its reach,
        the (column, value hash) first tokens of the patterns that can start there), in token order."""
        return self._plan(doc)[0]

    def _plan(self, doc: Doc) -> tuple[list[tuple[int, int, tuple[tuple[int, int], ...]]], numpy.ndarray | None]:
        """:meth:`starts_in` and the doc's values of :attr:`read` (a row per token; None for an empty doc)."""
        n = len(doc)
        if not n or not self.starts:
            return [], None
        array = doc.to_array(self.read).reshape(n, -1)
        # only the plan's columns become lists of Python ints (the hashes are 64-bit: an int object each, most of the
        # plan's cost); a window's memo key is its rows of the array as bytes
        columns = array[:, :len(self.attrs)].T.tolist()
        found: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        for col, (values, starts) in enumerate(zip(columns, self.starts)):
            for i in compress(range(n), map(starts.__contains__, values)):  # (no bytecode per token)
                end = i
                for follow, (most, repeats, bounded) in starts[values[i]].items():
                    if follow is not None and (i + 1 == n or columns[follow[0]][i + 1] not in follow[1]):
                        continue
                    end = max(end, self._reach(columns, i, most, repeats) if bounded else n)
                if end > i:
                    reach, keys = found.setdefault(i, (end, []))
                    found[i] = (max(reach, end), keys)
                    keys.append((col, values[i]))
        return [(i, end, tuple(keys)) for i, (end, keys) in sorted(found.items())], array

    @staticmethod
    def _reach(columns: list[list[int]], i: int, most: int, repeats: set[tuple[int, int]]) -> int:
        """The end of the reach from token ``i``: a match has ended after ``most`` tokens that cannot repeat."""
        n = len(columns[0])
        if not repeats:
            return min(n, i + most)
        end, others = i, 0
        while end < n:
            if not any((c, column[end]) in repeats for c, column in enumerate(columns)):
                others += 1
                if others > most:
                    break
            end += 1
        return end

    def _openers_matcher(self, keys: tuple[tuple[int, int], ...]) -> Matcher:
        """The Matcher of the patterns that open with one of ``keys``, in the token Matcher's order."""
        matcher = self._matchers.get(keys)
        if matcher is None:
            matcher = self._matchers[keys] = Matcher(self.vocab, validate=False)
            for _, key, pattern in sorted(opener for k in keys for opener in self._openers[k]):
                matcher.add(key, [pattern])
        return matcher

    def _at_start(self, keys: tuple[tuple[int, int], ...], doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
        """(key, length) of the matches that the patterns opening with ``keys`` make from token ``start``, within
        the tokens up to ``end``."""
        return [(key, stop) for key, first, stop in self._openers_matcher(keys)(doc[start:end]) if first == 0]

    def __call__(self, doc: Doc) -> list[Match]:
        """Every match of the medspaCy matcher on ``doc`` (medspaCy's ``__call__`` with ``prune=False``)."""
        if self.starts is None:
            matches = list(self.token_matcher(doc))
        else:
            matches = []
            plan, array = self._plan(doc)
            windows = self._windows
            for i, end, keys in plan:
                if windows is None:
                    found = self._at_start(keys, doc, i, end)
                else:
                    window = (keys, array[i:end].tobytes())  # (its ORTH and NORM values decide the plan's)
                    found = windows.get(window)
                    if found is None:
                        if len(windows) >= WINDOWS_KEPT:
                            windows.clear()
                        found = windows[window] = self._at_start(keys, doc, i, end)
                matches += [(key, i, i + length) for key, length in found]
        for matcher in self.others:
            matches += matcher(doc)
        return matches


class ConceptMatcher(TargetMatcher):
    """medspaCy's TargetMatcher with :func:`prune_overlaps`, results in a span group. See the module docstring."""

    def __init__(self, nlp: Language, name: str, rules: Iterable[TargetRule], *, validated: bool = False):
        """``validated``: the token patterns of ``rules`` were validated already
        (:func:`reportparse.rules.load_rules`), so spaCy's Matcher does not validate them a second time (about 10 ms
        of the pipeline's build); rules added later are validated."""
        # the lexicon stage sets the NORM of misspelt key words, so the rules match on NORM
        super().__init__(nlp, name=name, rules=None, result_type="group", span_group_name=CONCEPT_GROUP,
                         phrase_matcher_attr="NORM", prune=False)
        self.rule_matcher = RuleMatcher(self._TargetMatcher__matcher, nlp.vocab)  # medspaCy keeps it private
        token_matcher = self.rule_matcher.token_matcher
        with validating(token_matcher, token_matcher.validate and not validated):
            self.add(list(rules))

    def add(self, rules: TargetRule | Iterable[TargetRule]) -> None:
        """medspaCy's ``TargetMatcher.add``, then the token patterns split and their starts planned again."""
        super().add(rules)
        self.rule_matcher.refresh()
        self._rules: dict[int, tuple[TargetRule, int]] = {}  # match id -> (rule, hash of its category)

    def _rule(self, match_id: int) -> tuple[TargetRule, int]:
        found = self._rules.get(match_id)
        if found is None:
            strings = self.nlp.vocab.strings
            rule = self.rule_matcher.matcher.rule_map[strings[match_id]]
            found = self._rules[match_id] = (rule, strings.add(rule.category))
        return found

    def __call__(self, doc: Doc) -> Doc:
        # spans an earlier stage put in the group (the lexicon's level spellings) come first, as medspaCy appends
        spans: list[Span] = list(doc.spans[CONCEPT_GROUP]) if CONCEPT_GROUP in doc.spans else []
        rules: list[TargetRule] = [span_attr(span, "target_rule") for span in spans]
        for rule_id, start, end in prune_overlaps(self.rule_matcher(doc)):
            rule, label = self._rule(rule_id)
            span = Span(doc, start, end, label)
            set_span_attr(span, "target_rule", rule)  # (rules.py admits no ``attributes`` to set besides)
            spans.append(span)
            rules.append(rule)
        doc.spans[CONCEPT_GROUP] = spans
        set_doc_attr(doc, "rp_concepts", (spans, rules))
        return doc


def concept_spans(doc: Doc) -> tuple[list[Span], list[TargetRule]]:
    """The doc's concept spans and their rules, in match order (from ``doc._.rp_concepts`` when the concept
    matcher ran, else read from the span group)."""
    found = doc_attr(doc, "rp_concepts")
    if found is not None:
        return found
    spans = list(doc.spans[CONCEPT_GROUP]) if CONCEPT_GROUP in doc.spans else []
    return spans, [span_attr(span, "target_rule") for span in spans]


@Language.factory("reportparse_concepts", default_config={"rules_dir": None})
def make_concept_matcher(nlp: Language, name: str, rules_dir: str | None) -> ConceptMatcher:
    """Create the concept matcher with the ``concepts.json`` of ``rules_dir`` (None: shipped rules)."""
    return ConceptMatcher(nlp, name, cached_rules(rules_dir).concepts, validated=True)
