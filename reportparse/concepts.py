"""Concept matching (the ``reportparse_concepts`` component): medspaCy's TargetMatcher with a linear overlap pruning.

medspaCy's ``TargetMatcher`` matches the concept rules (``concepts.json``) and keeps the longest of overlapping
matches with ``prune_overlapping_matches``, which pops from the front of a list and calls itself again after
every pass; on a report with a hundred matches that pruning costs more than the matching. This subclass runs the
same matcher with :func:`prune_overlaps`, the same algorithm as a loop (identical result, tested against
medspaCy's), writes the same spans to ``doc.spans["reportparse_concepts"]`` with ``span._.target_rule``, and also
keeps them as a plain list with their rules in ``doc._.rp_concepts`` (a ``SpanGroup`` builds a new ``Span``
object on every access, and ``span._`` look-ups are slow).
"""

from collections.abc import Iterable
from typing import Any

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.target_matcher import TargetMatcher, TargetRule
from spacy.language import Language
from spacy.tokens import Doc, Span

from .rules import cached_rules

#: The span group that holds the concept spans.
CONCEPT_GROUP = "reportparse_concepts"
if not Doc.has_extension("rp_concepts"):
    Doc.set_extension("rp_concepts", default=None)

Match = tuple[int, int, int]


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


def prune_overlaps(matches: list[Match]) -> list[Match]:
    """medspaCy's ``prune_overlapping_matches(matches, strategy="longest")`` with an index instead of
    ``list.pop(0)`` and a loop instead of recursion: the same result.

    In (start, end) order, of two neighbours that overlap the longer one is kept (the first on a tie) and the
    scan goes on after them; passes repeat until one removes nothing.
    """
    while matches:
        ordered = sorted(matches, key=lambda m: (m[1], m[2]))
        n = len(ordered)
        pruned: list[Match] = []
        current = ordered[0]
        i = 1
        while True:
            if i == n:
                pruned.append(current)
                break
            following = ordered[i]
            i += 1
            if current[1] <= following[1] < current[2] or current[1] < following[2] <= current[2]:
                pruned.append(following if following[2] - following[1] > current[2] - current[1] else current)
                if i == n:
                    break
                current = ordered[i]
                i += 1
            else:
                pruned.append(current)
                current = following
        if len(pruned) == len(matches):
            return pruned
        matches = pruned
    return matches


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


def split_matcher_patterns(matcher: MedspacyMatcher) -> None:
    """Re-add the token patterns of ``matcher`` (a medspaCy matcher, rules added) as
    :func:`split_leading_predicates` makes them, under the same rule ids."""
    token_matcher = matcher._MedspacyMatcher__matcher  # medspaCy keeps its spaCy Matcher private
    for rule_id, rule in matcher.rule_map.items():
        if isinstance(rule.pattern, list):
            patterns = split_leading_predicates(rule.pattern)
            if patterns != [rule.pattern]:
                token_matcher.remove(rule_id)
                token_matcher.add(rule_id, patterns, on_match=rule.on_match)


class ConceptMatcher(TargetMatcher):
    """medspaCy's TargetMatcher with :func:`prune_overlaps`, results in a span group. See the module docstring."""

    def __init__(self, nlp: Language, name: str, rules: Iterable[TargetRule]):
        # the lexicon stage sets the NORM of misspelt key words, so the rules match on NORM
        super().__init__(nlp, name=name, rules=None, result_type="group", span_group_name=CONCEPT_GROUP,
                         phrase_matcher_attr="NORM", prune=False)
        self.add(list(rules))
        split_matcher_patterns(self._TargetMatcher__matcher)

    def __call__(self, doc: Doc) -> Doc:
        matcher = self._TargetMatcher__matcher  # medspaCy keeps its matcher private
        strings = self.nlp.vocab.strings
        # spans an earlier stage put in the group (the lexicon's level spellings) come first, as medspaCy appends
        spans: list[Span] = list(doc.spans[CONCEPT_GROUP]) if CONCEPT_GROUP in doc.spans else []
        rules: list[TargetRule] = [span_attr(span, "target_rule") for span in spans]
        for rule_id, start, end in prune_overlaps(matcher(doc)):
            rule = matcher.rule_map[strings[rule_id]]
            span = Span(doc, start, end, label=rule.category)
            set_span_attr(span, "target_rule", rule)  # (rules.py admits no ``attributes`` to set besides)
            spans.append(span)
            rules.append(rule)
        doc.spans[CONCEPT_GROUP] = spans
        doc._.rp_concepts = (spans, rules)
        return doc


def concept_spans(doc: Doc) -> tuple[list[Span], list[TargetRule]]:
    """The doc's concept spans and their rules, in match order (from ``doc._.rp_concepts`` when the concept
    matcher ran, else read from the span group)."""
    if doc._.rp_concepts is not None:
        return doc._.rp_concepts
    spans = list(doc.spans[CONCEPT_GROUP]) if CONCEPT_GROUP in doc.spans else []
    return spans, [span_attr(span, "target_rule") for span in spans]


@Language.factory("reportparse_concepts", default_config={"rules_dir": None})
def make_concept_matcher(nlp: Language, name: str, rules_dir: str | None) -> ConceptMatcher:
    """Create the concept matcher with the ``concepts.json`` of ``rules_dir`` (None: shipped rules)."""
    return ConceptMatcher(nlp, name, cached_rules(rules_dir).concepts)
