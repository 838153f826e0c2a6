"""Property-based tests: whatever the text, ``parse_text`` returns six valid rows and evidence inside the text.

Inputs: random Unicode text, token soups of report vocabulary, and realistic reports mutated by random
insertions, deletions, case changes and junk (level strings, severity words, newlines, "::", "--", emoji, NUL).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportparse import LEVELS, LOCATIONS, ReportGrades, parse_text
from reportparse.pipeline import default_pipeline
from reportparse.grades import RANKS

NLP = default_pipeline()  # built once per module (cached)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REPORTS = [
    "FINDINGS:\nL1-2 through L3-4: No canal or foraminal stenosis.\nL4-5: Disc bulge with moderate canal stenosis "
    "and mild right and moderate left foraminal narrowing, left greater than right.\nL5-S1: Severe left foraminal "
    "narrowing. The remaining levels are normal.\nIMPRESSION:\n1. Moderate canal stenosis at L4-5.\n"
    "2. Possible mild stenosis at L5-S1.",
    "CLINICAL HISTORY: Low back pain.\nTECHNIQUE: Sagittal and axial T1 and T2.\nFINDINGS: At L3-4, there is a disc "
    "bulge. This results in mild canal stenosis. At L4-5, there is moderate bilateral foraminal narrowing; no canal "
    "stenosis.\nIMPRESSION: Multilevel degenerative change, worst at L4-5.",
    "T12-L1: Normal.\nL1-L2: Unremarkable.\nL2-L3: Mild to moderate central canal stenosis.\nL3/4: The neural foramina "
    "are patent.\nL4–5: Severe on the left and moderate on the right foraminal narrowing.\nL5/S1: Normal.",
    "IMPRESSION: Normal MRI of the lumbar spine. No spinal canal or neural foraminal stenosis at any level.",
]
JUNK = ["L4-5", "L5-S1", "T12-L1", "L1-2", "L3/4", "L2 - 3", "L4–5", "L6-S1", "S1-S2", "mild", "moderate", "severe",
        "mild to moderate", "moderately severe", "normal", "no", "not", "without", "possible", "canal", "foraminal",
        "foramen", "stenosis", "narrowing", "left", "right", "bilateral", "greater than", "through", "to", "and",
        "remaining levels", "FINDINGS:", "IMPRESSION:", "HISTORY:", "\n", "\n\n", "\r\n", "\t", "::", "--", ":", ".",
        ";", ",", "1.", "😀", "🦴", "\x00", "\ufffd", "\u200b", " "]


def mutate(draw, text: str) -> str:
    for _ in range(draw(st.integers(0, 12), label="edits")):
        i = draw(st.integers(0, len(text)), label="at")
        op = draw(st.sampled_from(["insert", "delete", "case", "char"]))
        if op == "insert":
            text = text[:i] + draw(st.sampled_from(JUNK)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        elif op == "char":
            text = text[:i] + draw(st.characters(codec="utf-8")) + text[i:]
        else:
            j = i + draw(st.integers(1, 30))
            case = draw(st.sampled_from([str.upper, str.lower, str.swapcase, str.title]))
            text = text[:i] + case(text[i:j]) + text[j:]
    return text


@st.composite
def mutated_reports(draw) -> str:
    return mutate(draw, draw(st.sampled_from(REPORTS)))


@st.composite
def mutated_sentences(draw) -> str:
    sentences = [s for report in REPORTS for s in report.replace("\n", " \n ").split(". ")]
    picked = draw(st.lists(st.sampled_from(sentences), min_size=1, max_size=6))
    return mutate(draw, draw(st.sampled_from([". ", ".\n", "\n", " ", ""])).join(picked))


token_soup = st.lists(st.one_of(st.sampled_from(JUNK), st.text(max_size=4)), max_size=40).flatmap(
    lambda parts: st.sampled_from([" ", "", "\n"]).map(lambda sep: sep.join(parts)))


def check(text: str) -> ReportGrades:
    result = parse_text(text, NLP)
    assert isinstance(result, ReportGrades)
    rows = result.rows()
    assert len(rows) == 6
    assert [r["level"] for r in rows] == list(LEVELS)
    for row in rows:
        assert set(row) == {"level", *LOCATIONS, "flags"}
        for loc in LOCATIONS:
            assert row[loc] in (0, 1, 2, 3, None)
            assert type(row[loc]) in (int, type(None))
        assert isinstance(row["flags"], str)
    assert set(result.grades) == set(LEVELS)
    for ev in result.evidence:
        assert 0 <= ev.start <= ev.span_start <= ev.span_end <= ev.end <= len(text), ev
        assert ev.sentence in text[ev.start:ev.end]
        assert ev.level in LEVELS + ("",) and ev.location in LOCATIONS and ev.rank in RANKS + ("none",)
        assert ev.grade in (0, 1, 2, 3, None)
    # a graded slot is always backed by used evidence with that grade
    for level in LEVELS:
        for loc in LOCATIONS:
            grade = result.grades[level][loc]
            if grade is not None:
                assert any(e.used and e.level == level and e.location == loc and e.grade == grade
                           for e in result.evidence), (level, loc)
    return result


@SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=500))
def test_random_unicode_text(text):
    check(text)


@SETTINGS
@given(mutated_reports())
def test_mutated_reports(text):
    check(text)


@SETTINGS
@given(mutated_sentences())
def test_mutated_sentences(text):
    check(text)


@SETTINGS
@given(token_soup)
def test_token_soup(text):
    check(text)


@settings(max_examples=60, deadline=None)
@given(mutated_reports())
def test_parse_is_deterministic(text):
    """The same text parses the same way twice (no state leaks between documents)."""
    first = check(text)
    parse_text("L4-5: Severe canal stenosis. " + text[::-1], NLP)  # something else in between
    second = check(text)
    assert first.rows() == second.rows()
    assert [(e.level, e.location, e.grade, e.start, e.end, e.used) for e in first.evidence] == \
           [(e.level, e.location, e.grade, e.start, e.end, e.used) for e in second.evidence]


@pytest.mark.parametrize("text", ["", " ", "\n\n\n", "\x00", "::--::", "😀" * 50, "L4-5", "L4-5:", ".", "\ufeff",
                                  "L4-5: " + "severe " * 500])
def test_edge_texts(text):
    check(text)
