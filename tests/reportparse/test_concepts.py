"""``reportparse.concepts``: medspaCy's overlap pruning as a loop, and the concept matcher's spans."""

from hypothesis import given, settings
from hypothesis import strategies as st
from medspacy.common.util import prune_overlapping_matches

from reportparse import build_pipeline
from reportparse.concepts import concept_spans, prune_overlaps, set_span_attr, span_attr
from reportparse.levels import CONCEPT_GROUP

MATCH = st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(1, 6)).map(
    lambda m: (m[0], m[1], m[1] + m[2]))


@settings(max_examples=400, deadline=None)
@given(st.lists(MATCH, max_size=25))
def test_prune_overlaps_equals_medspacy(matches):
    assert prune_overlaps(list(matches)) == prune_overlapping_matches(list(matches))


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
