"""``reportparse.concepts``: medspaCy's overlap pruning as a loop, the concept matcher's spans, token patterns split
for the matcher, and the matcher run only where a pattern can start."""

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
import spacy
from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.common.util import prune_overlapping_matches
from medspacy.target_matcher import TargetRule
from spacy.errors import MatchPatternError
from spacy.matcher import Matcher
from spacy.tokens import Doc

from reportparse import build_pipeline
from reportparse import concepts as concepts_module
from reportparse.concepts import (ConceptMatcher, RuleMatcher, concept_spans, prune_overlaps, set_span_attr,
                                  span_attr, split_leading_predicates)
from reportparse.levels import CONCEPT_GROUP
from reportparse.rules import cached_rules

MATCH = st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(1, 6)).map(
    lambda m: (m[0], m[1], m[1] + m[2]))
# empty matches too, and few starts: nested, chained and repeated spans that take medspaCy several passes
DENSE_MATCH = st.tuples(st.integers(0, 9), st.integers(0, 12), st.integers(0, 4)).map(
    lambda m: (m[0], m[1], m[1] + m[2]))


@settings(max_examples=400, deadline=None)
@given(st.lists(MATCH, max_size=25))
def test_prune_overlaps_equals_medspacy(matches):
    assert prune_overlaps(list(matches)) == prune_overlapping_matches(list(matches))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(MATCH, DENSE_MATCH), max_size=80), st.booleans())
def test_prune_overlaps_equals_medspacy_on_dense_and_sorted_input(matches, in_order):
    """prune_overlaps takes a faster first pass over input already in (start, end) order (what the matchers give)
    and skips the pairs a later pass need not compare: both sorted and unsorted input, with empty matches."""
    if in_order:
        matches = sorted(matches, key=lambda m: (m[1], m[2]))
    assert prune_overlaps(list(matches)) == prune_overlapping_matches(list(matches))


def test_prune_overlaps_over_many_passes_and_out_of_order_input():
    # five matches of one span: medspaCy halves them a pass at a time and keeps the first
    repeated = [(i, 4, 7) for i in range(5)]
    assert prune_overlaps([(9, 0, 2)] + repeated + [(8, 6, 9)]) == [(9, 0, 2), (0, 4, 7)]
    # out of order after a merge, and an empty match at a match's end (it overlaps; one at its start does not)
    assert prune_overlaps([(1, 2, 5), (2, 3, 4), (3, 0, 1)]) == [(3, 0, 1), (1, 2, 5)]
    assert prune_overlaps([(1, 2, 5), (2, 5, 5)]) == [(1, 2, 5)]
    assert prune_overlaps([(2, 2, 2), (1, 2, 5)]) == [(2, 2, 2), (1, 2, 5)]
    for matches in ([(i % 3, i // 2, i // 2 + i % 4) for i in range(40)],
                    [(i, 10 - i // 3, 12) for i in range(30)]):
        assert prune_overlaps(matches) == prune_overlapping_matches(list(matches))


def test_nested_and_chained_overlaps():
    # (0,5) holds (1,2) and (3,4); (6,8) and (7,10) overlap, the longer wins; a tie keeps the first
    matches = [(1, 3, 4), (2, 0, 5), (3, 1, 2), (4, 6, 8), (5, 7, 10), (6, 12, 14), (7, 13, 15)]
    assert prune_overlaps(matches) == [(2, 0, 5), (5, 7, 10), (6, 12, 14)]
    assert prune_overlaps([]) == []


def test_concept_spans_are_the_span_group_with_their_rules():
    doc = build_pipeline()("L4-5: moderate central canal stenosis and mild bilateral foraminal narrowing.")
    spans, rules = concept_spans(doc)
    group = list(doc.spans[CONCEPT_GROUP])
    assert [(s.start, s.end, s.label_) for s in spans] == [(s.start, s.end, s.label_) for s in group]
    assert rules == [s._.target_rule for s in group]
    assert {"LEVEL", "SEVERITY", "LOCATION", "STENOSIS"} <= {s.label_ for s in spans}


def test_span_attr_reads_and_writes_what_span_underscore_does():
    doc = build_pipeline()("L3-4: no canal stenosis. L4-5: mild right foraminal narrowing.")
    spans, _ = concept_spans(doc)
    negated = [s for s in spans if s._.modifiers]
    assert negated and all(span_attr(s, "modifiers", ()) == s._.modifiers for s in spans)
    assert [span_attr(s, "is_negated", False) for s in spans] == [s._.is_negated for s in spans]
    assert any(s._.is_negated for s in spans) and not all(s._.is_negated for s in spans)
    span = spans[-1]
    set_span_attr(span, "is_uncertain", True)
    assert span._.is_uncertain is True and doc.spans[CONCEPT_GROUP][-1]._.is_uncertain is True
    span._.is_historical = True
    assert span_attr(span, "is_historical", False) is True


# ------------------------------------------------------------------------------ token patterns split for the matcher
def test_a_leading_set_test_becomes_one_pattern_per_value():
    pattern = [{"NORM": {"IN": ["narrowed", "reduced", "narrowed"]}}, {"NORM": {"IN": ["canal", "foramen"]}}]
    assert split_leading_predicates(pattern) == [
        [{"NORM": "narrowed"}, {"NORM": {"IN": ["canal", "foramen"]}}],
        [{"NORM": "reduced"}, {"NORM": {"IN": ["canal", "foramen"]}}]]


def test_a_leading_optional_token_becomes_a_pattern_with_it_and_one_without():
    pattern = [{"NORM": {"IN": ["at", "in"]}, "OP": "?"}, {"NORM": "any"}, {"NORM": "level"}]
    assert split_leading_predicates(pattern) == [
        [{"NORM": "at"}, {"NORM": "any"}, {"NORM": "level"}],
        [{"NORM": "in"}, {"NORM": "any"}, {"NORM": "level"}],
        [{"NORM": "any"}, {"NORM": "level"}]]


def test_patterns_that_cannot_be_split_stay_whole():
    for pattern in ([{"NORM": "canal"}], [{"NORM": {"IN": ["a", "b"]}, "OP": "*"}, {"NORM": "c"}],
                    [{"NORM": {"IN": ["a", "b"]}, "LOWER": "a"}], [{"LENGTH": {">=": 3}}],
                    [{"NORM": {"IN": ["a", "b"]}, "OP": "?"}]):
        assert split_leading_predicates(pattern) == [pattern]
    many = [{"NORM": {"IN": [f"w{i}" for i in range(70)]}}, {"NORM": "x"}]
    assert split_leading_predicates(many) == [many]
    assert len(split_leading_predicates(many, limit=70)) == 70


def _token_patterns() -> list[list[dict]]:
    rules = cached_rules()
    return [r.pattern for r in [*rules.concepts, *rules.context] if isinstance(r.pattern, list)]


def _token_words(token: dict) -> set[str]:
    words: set[str] = set()
    for key, value in token.items():
        if key != "OP" and isinstance(value, str):
            words.add(value)
        elif isinstance(value, dict):
            words.update(v for v in value.get("IN", []) if isinstance(v, str))
    return words


def _words(pattern: list[dict]) -> set[str]:
    return set().union(*map(_token_words, pattern))


_NLP = spacy.blank("en")
_VOCAB = sorted(set().union(*map(_words, _token_patterns())) | {"the", "of", "and", "mild", "left", "."})
_WHOLE, _SPLIT = Matcher(_NLP.vocab), Matcher(_NLP.vocab)
for _i, _pattern in enumerate(_token_patterns()):
    _WHOLE.add(f"r{_i}", [_pattern])
    _SPLIT.add(f"r{_i}", split_leading_predicates(_pattern))


@st.composite
def _instance(draw, pattern: list[dict]) -> list[str]:
    """Words a pattern may match: one of each token's words, optional tokens kept or left out, '*' repeated."""
    words = []
    for token in pattern:
        op = token.get("OP", "")
        for _ in range(draw(st.integers(0 if op in ("?", "*") or op.startswith("{") else 1,
                                        1 if op in ("", "!", "?") else 2))):
            words.append(draw(st.sampled_from(sorted(_token_words(token)) or ["L4", "x", "moderate"])))
    return words


_FRAGMENT = st.one_of(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=3),
                      st.sampled_from(_token_patterns()).flatmap(_instance))


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENT, min_size=1, max_size=5).map(lambda parts: [w for part in parts for w in part] or ["the"]))
def test_split_patterns_match_what_the_rules_match(words):
    """Every shipped token pattern, whole and split, on word sequences made of the patterns' own phrases and
    words: the same matches (the matcher removes duplicates of one key)."""
    doc = Doc(_NLP.vocab, words=words)
    matches = _SPLIT(doc)
    assert sorted(matches) == sorted(_WHOLE(doc))
    assert len(matches) == len(set(matches))


def _rule_matcher(patterns: list[list[dict]], **kwargs) -> RuleMatcher:
    matcher = MedspacyMatcher(_NLP, prune=False)
    matcher.add([TargetRule(f"r{i}", "X", pattern=pattern, **kwargs) for i, pattern in enumerate(patterns)])
    return RuleMatcher(matcher, _NLP.vocab)


_PLANNED = _rule_matcher(_token_patterns())


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENT, min_size=1, max_size=5).map(lambda parts: [w for part in parts for w in part] or ["the"]))
def test_the_planned_matcher_finds_what_the_whole_doc_matcher_finds(words):
    """Every shipped token pattern (NORM and LOWER tests, "*", "?" and "{,6}" repeats) run by ``RuleMatcher`` from
    the starts it plans: the same matches as the unsplit patterns over the whole doc."""
    doc = Doc(_NLP.vocab, words=words)
    strings, rules = _NLP.vocab.strings, _PLANNED.matcher.rule_map
    planned = sorted((rules[strings[key]].literal, start, end) for key, start, end in _PLANNED(doc))
    assert planned == sorted((strings[key], start, end) for key, start, end in _WHOLE(doc))


def _starts(rm: RuleMatcher, words: list[str]) -> list[tuple[int, int]]:
    return [(start, end) for start, end, _ in rm.starts_in(Doc(_NLP.vocab, words=words))]


def test_a_match_can_start_at_a_first_token_and_reach_as_far_as_its_pattern_allows():
    rm = _rule_matcher([[{"LOWER": "no"}, {"LOWER": {"IN": ["of", "the"]}, "OP": "*"}, {"LOWER": "canal"}],
                        [{"LOWER": "mild"}, {"LOWER": "stenosis", "OP": "?"}]])
    words = "x x no of the the of canal x x x mild x x x mild stenosis x no canal".split()
    # "no": two tokens that cannot repeat (itself and "canal") plus the run of "of"/"the" between them; "mild": 2
    assert _starts(rm, words) == [(2, 8), (11, 13), (15, 17), (18, 20)]
    assert _starts(rm, ["x", "y"]) == [] and _starts(rm, []) == []
    # a second token that must match: a first token without it starts nothing
    rm = _rule_matcher([[{"LOWER": "at"}, {"LOWER": {"IN": ["any", "all"]}}, {"LOWER": "levels"}]])
    assert _starts(rm, "at x at all levels at".split()) == [(2, 5)]
    assert rm(Doc(_NLP.vocab, words="at x at all levels at".split()))[0][1:] == (2, 5)


def test_a_start_needs_a_next_token_that_an_optional_or_the_first_required_token_accepts():
    """The token after the first must have a value of the optional tokens ("?", "*") up to the first that must be
    there, or of that one; when every token after the first may be left out, or one is no plain test, any next
    token (or none) will do."""
    rm = _rule_matcher([[{"LOWER": "to"}, {"LOWER": "the", "OP": "?"}, {"LOWER": {"IN": ["r", "rt"]}}],
                        [{"LOWER": "no"}, {"LOWER": {"IN": ["of", "the"]}, "OP": "*"}, {"LOWER": "canal", "OP": "+"}]])
    words = "to moderate to the r to rt to no x no the of canal no canal canal".split()
    assert _starts(rm, words) == [(2, 5), (5, 8), (10, 14), (14, 17)]
    assert sorted(m[1:] for m in rm(Doc(_NLP.vocab, words=words))) == [(2, 5), (5, 7), (10, 14), (14, 16), (14, 17)]
    rm = _rule_matcher([[{"LOWER": "mild"}, {"LOWER": "left", "OP": "?"}, {"LOWER": "x", "OP": "*"}],
                        [{"LOWER": "no"}, {"LOWER": "the", "OP": "?"}, {"IS_ALPHA": True}]])
    assert _starts(rm, "mild y no y".split()) == [(0, 2), (2, 4)]


def test_each_start_runs_only_the_patterns_that_open_with_its_token():
    rm = _rule_matcher([[{"LOWER": "no"}, {"LOWER": "canal"}], [{"LOWER": "mild"}, {"LOWER": "canal"}],
                        [{"NORM": "no"}, {"LOWER": "canal"}, {"LOWER": "stenosis"}]])
    starts = rm.starts_in(Doc(_NLP.vocab, words="no canal stenosis , mild canal".split()))
    # "no" opens a LOWER pattern and a NORM pattern (two columns), "mild" one pattern
    assert [(i, end, len(keys)) for i, end, keys in starts] == [(0, 3, 2), (4, 6, 1)]
    assert [len(rm._openers_matcher(keys)) for _, _, keys in starts] == [2, 1]


def test_window_matches_are_kept_by_the_tokens_text_and_norm(monkeypatch):
    """The memo of window matches keys on each token's NORM as well as its text: a typo the lexicon normalised
    matches, the same word left alone does not, in either order; it is bounded; a pattern testing an attribute a
    token's text does not decide turns it off."""
    rm = _rule_matcher([[{"LOWER": "mild"}, {"LOWER": "left"}, {"NORM": "foraminal"}], [{"LOWER": "mild"}]])

    def matches(norm: bool) -> list[tuple[int, int]]:
        doc = Doc(_NLP.vocab, words="mild left foraminl".split())
        if norm:
            doc[2].norm_ = "foraminal"
        return sorted(m[1:] for m in rm(doc))

    for norm in (False, True, False, True):  # (the same window from "mild" to the end each time)
        assert matches(norm) == ([(0, 1), (0, 3)] if norm else [(0, 1)])
    assert len(rm._windows) == 2  # one window, the same text, two norms
    rm._windows.clear()
    monkeypatch.setattr(concepts_module, "WINDOWS_KEPT", 1)
    for words in ("mild", "mild foraminal narrowing", "x mild", "mild foraminal"):
        doc = Doc(_NLP.vocab, words=words.split())
        assert sorted(m[1:] for m in rm(doc)) == sorted(m[1:] for m in rm.token_matcher(doc))
        assert len(rm._windows) == 1
    assert _rule_matcher([[{"LOWER": "no"}, {"POS": "NOUN"}]])._windows is None
    assert _rule_matcher([[{"LOWER": "no"}, {"_": {"flag": True}}]])._windows is None


def test_patterns_that_cannot_be_planned_run_on_the_whole_doc_or_to_its_end():
    doc = Doc(_NLP.vocab, words="a b no c d".split())
    # a repeated token of another kind than a value test: from the start to the doc's end
    assert _starts(_rule_matcher([[{"LOWER": "no"}, {"IS_ALPHA": True, "OP": "+"}]]), [t.text for t in doc]) == [(2, 5)]
    # a first token that is no plain value test, or a callback: the whole token Matcher on the whole doc
    rm = _rule_matcher([[{"LENGTH": 2}, {"LOWER": "c"}]])
    assert rm.starts is None and [m[1:] for m in rm(doc)] == [(2, 4)]
    calls = []
    rm = _rule_matcher([[{"LOWER": "no"}]], on_match=lambda *args: calls.append(args[2]))
    assert rm.starts is None and rm(doc) and calls == [0]


def test_the_concept_matcher_plans_again_when_rules_are_added():
    nlp = build_pipeline()
    concepts = nlp.get_pipe("reportparse_concepts")
    text = "Zebra stripes noted."
    assert not any(s.label_ == "ZEBRA" for s in nlp(text).spans[CONCEPT_GROUP])
    concepts.add(TargetRule("zebra", "ZEBRA", pattern=[{"NORM": "zebra"}, {"NORM": "stripes", "OP": "?"}]))
    assert [(s.text, s.label_) for s in nlp(text).spans[CONCEPT_GROUP] if s.label_ == "ZEBRA"] == [
        ("Zebra stripes", "ZEBRA")]


def test_rules_added_later_or_to_a_matcher_made_directly_are_validated():
    # the pipeline's own rules were validated by load_rules, so the build skips spaCy's second validation of them;
    # any other rule is validated as spaCy's Matcher validates
    bad = TargetRule("zebra", "ZEBRA", pattern=[{"NORMM": "zebra"}])
    nlp = build_pipeline()
    with pytest.raises(MatchPatternError):
        nlp.get_pipe("reportparse_concepts").add(bad)
    with pytest.raises(MatchPatternError):
        ConceptMatcher(spacy.blank("en"), "concepts", [bad])
