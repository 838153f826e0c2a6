"""``reportparse.sections``: the same ``doc._.sections`` as medspaCy's Sectionizer, without per-token writes."""

from pathlib import Path

import pytest
import spacy
from medspacy.section_detection import SectionRule, Sectionizer

from reportparse.gold import load_gold
from reportparse.rules import cached_rules
from reportparse.sections import ReportSectionizer

GOLD = Path(__file__).resolve().parents[2] / "gold" / "annotations.json"


def sections_of(component, nlp, text):
    doc = component(nlp.make_doc(text))
    return [(s.category, s.title_start, s.title_end, s.body_start, s.body_end,
             s.parent.category if s.parent is not None else None, s.rule) for s in doc._.sections], doc


def pair(nlp, rules, **options):
    theirs = Sectionizer(nlp, rules=None, input_span_type=None, span_attrs=None, **options)
    ours = ReportSectionizer(nlp, rules=None, input_span_type=None, span_attrs=None, **options)
    theirs.add(rules)
    ours.add(rules)
    return theirs, ours


def test_gold_reports_get_medspacys_sections():
    nlp = spacy.blank("en")
    theirs, ours = pair(nlp, cached_rules().sections)
    texts = [g.text for g in load_gold(GOLD)]
    assert texts
    for text in texts:
        expected, _ = sections_of(theirs, nlp, text)
        got, doc = sections_of(ours, nlp, text)
        assert got == expected, text[:80]
        assert all(token._.section is None for token in doc)  # the per-token write is what is left out


@pytest.mark.parametrize("options", [{}, {"max_section_length": 4}, {"require_start_line": True}])
def test_parents_scopes_and_line_filters_follow_medspacy(options):
    nlp = spacy.blank("en")
    rules = [SectionRule("Findings:", "findings"), SectionRule("Impression:", "impression", max_scope=3),
             SectionRule("Spine:", "spine", parents=["findings"]),
             SectionRule("Comment:", "comment", parents=["impression"], parent_required=True)]
    theirs, ours = pair(nlp, rules, **options)
    texts = ["Comment: early. Findings: Spine: L4-5 mild stenosis.\nImpression: Mild stenosis at L4-5 only.",
             "No headers in this report at all.", "Impression: normal.\nComment: none. Spine: fine",
             "Exam lumbar spine\nFindings: normal\nSpine: normal alignment\nImpression:\nnormal"]
    for text in texts:
        assert sections_of(ours, nlp, text)[0] == sections_of(theirs, nlp, text)[0], text


def test_token_and_regex_header_patterns_and_overlaps_follow_medspacy():
    # the shipped rules are phrases only: a token pattern, a regular expression and overlapping headers take the
    # other branches of ReportSectionizer._matches
    nlp = spacy.blank("en")
    rules = [SectionRule("Findings:", "findings"), SectionRule("Impression", "impression_word"),
             SectionRule("impression:", "impression", pattern=[{"LOWER": "impression"}, {"ORTH": ":"}]),
             SectionRule("history:", "history", pattern=r"[Hh]istory\s*:"),
             SectionRule("clinical history:", "clinical_history")]
    theirs, ours = pair(nlp, rules)
    texts = ["Clinical history: pain. Findings: mild stenosis.\nIMPRESSION: mild stenosis.",
             "History: none\nImpression: normal", "No headers here.", "impression : spaced\nImpression"]
    for text in texts:
        assert sections_of(ours, nlp, text)[0] == sections_of(theirs, nlp, text)[0], text
        doc = nlp.make_doc(text)
        assert ours._matches(doc) == theirs._Sectionizer__matcher(doc), text
