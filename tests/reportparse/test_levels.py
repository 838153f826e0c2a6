"""``reportparse.levels``: the words of a sentence and the region words of a text, read by the level scoping."""

from types import SimpleNamespace

import pytest
from spacy.tokens import Span

from reportparse import LEVELS
from reportparse.levels import NO_META, WORD, ConceptSpans, Item, sentence_words, study_coverage
from reportparse.sentences import set_doc_attr
from reportparse.pipeline import default_pipeline


def words_of(*texts: str) -> list[str]:
    """:func:`sentence_words` of items with these texts (a text with a space is a concept span, the rest words)."""
    return sentence_words([Item("LEVEL" if " " in text else WORD, k, k + 1, text, NO_META)
                           for k, text in enumerate(texts)])


@pytest.mark.parametrize("texts, expected", [
    (("x", "-", "ray", "film"), ["x", "-", "ray", "x-ray", "film"]),
    (("at", "l4 - 5", "and"), ["at", "l4", "-", "5", "l4-5", "and"]),  # the words of a concept span
    (("a", "-", "b", "-", "c"), ["a", "-", "b", "a-b", "-", "c"]),  # "a-b" is no word to join "c" to
    (("-", "a", "-"), ["-", "a", "-"]),  # a hyphen with no word before it or after it
    (("a", "-", "-", "b"), ["a", "-", "-", "b"]),
    (("a", ",", "-", "b"), ["a", ",", "-", "b"]),
    ((), []),
])
def test_sentence_words_join_hyphenated_words(texts, expected):
    assert words_of(*texts) == expected


@pytest.mark.parametrize("text, expected", [
    ("lumbar spine", [(0, "lumbar")]),  # at the start of the text
    ("mri of the c-spine and l-spine", [(11, "cervical"), (23, "lumbar")]),
    ("no thoracolumbar junction", [(3, "thoracolumbar")]),
    ("lumbarx, xlumbar, lumbar2 and neck", [(30, "cervical")]),  # whole words only
    ("", []),
])
def test_region_mentions_give_offsets_into_the_text(text, expected):
    scoper = default_pipeline().get_pipe("reportparse_levels")
    assert scoper.region_mentions(text) == expected
    assert scoper.regions(text) == frozenset(region for _, region in expected)


@pytest.mark.parametrize("text", [
    "Mild Rt. foraminal narrowing at L4-5. X-ray of the L-spine.",  # an abbreviation's period is no word
    "MRI: mild Rt. and severe lt. foraminal stenosis at L4-5, L5-S1.",
    "L3-4:  moderate central canal\nstenosis and a-b - c narrowing.",  # spaces inside the sentence, a hyphen chain
    "The MRI came back negative, but the patient continued to have symptoms.",
])
def test_sentence_items_give_the_words_of_their_items(text):
    # sentence_items reads the words from the tokens' texts, not from its items: they must be the items' words
    doc = default_pipeline()(text)
    sentences = [info for info in doc._.rp_sentences if info.items]
    assert sentences
    for info in sentences:
        assert info._words == sentence_words(info.items)


@pytest.mark.parametrize("text, expected", [
    ("FINDINGS: L4-5: mild canal stenosis.", LEVELS),
    ("HPI: back pain. The lumbar MRI was normal. Plan: PT.", LEVELS[1:]),
    ("MRI of the cervical spine: C5-6 mild stenosis.", ()),
])
def test_study_coverage_reads_what_doc_underscore_does(text, expected):
    nlp = default_pipeline()
    doc = nlp(text)
    assert study_coverage(doc) == doc._.rp_coverage == expected
    fresh = nlp.make_doc(text)  # a doc the levels stage did not see
    assert study_coverage(fresh) == fresh._.rp_coverage == LEVELS


@pytest.mark.parametrize("bounds", [
    [(0, 2), (0, 1), (2, 4), (3, 4)],  # already in order: by start, the longest first
    [(2, 4), (0, 1), (3, 4), (0, 2)],
    [(3, 4), (0, 2), (2, 4), (0, 1)],
    [],
])
def test_concept_spans_are_sorted_by_start_longest_first(bounds):
    doc = default_pipeline().make_doc("mild canal stenosis here")
    spans = [Span(doc, start, end) for start, end in bounds]
    rules = [SimpleNamespace(category=f"C{start}{end}", metadata={"at": start} if start else None)
             for start, end in bounds]
    set_doc_attr(doc, "rp_concepts", (spans, rules))
    columns = ConceptSpans.of(doc)
    expected = sorted(bounds, key=lambda b: (b[0], -b[1]))
    assert list(zip(columns.starts, columns.ends)) == expected
    assert [(span.start, span.end) for span in columns.spans] == expected
    assert columns.labels == [f"C{start}{end}" for start, end in expected]
    assert columns.metas == [{"at": start} if start else NO_META for start, _ in expected]
    assert [(span.start, span.end) for span in spans] == bounds  # the doc's list is left as it was
