"""Property-based: any text, however mangled, gives six valid rows and evidence inside the text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from reportparse import LEVELS, parse_text
from reportparse.pipeline import default_pipeline

PIECES = ["L4-5", "L5-S1", "T12-L1 through L2-3", ":", "::", "--", "\n", "\n\n", "mild", "moderate to severe",
          "right", "left greater than right", "bilateral", "no", "without", "canal", "foraminal", "stenosis",
          "narrowing", "FINDINGS:", "IMPRESSION:", "HISTORY:", "remaining levels", "normal", ".", ",", ";",
          "\x00", "🙂", "–", "1.", "CT", "possible"]

texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=60).map(" ".join),
)


@settings(max_examples=150, deadline=None)
@given(texts)
def test_any_text_gives_six_valid_rows(text):
    result = parse_text(text, default_pipeline())
    rows = result.rows()
    assert [r["level"] for r in rows] == list(LEVELS)
    assert all(r[loc] in (0, 1, 2, 3, None) for r in rows for loc in ("scs", "rfs", "lfs"))
    for ev in result.evidence:
        assert 0 <= ev.start <= ev.span_start <= ev.span_end <= ev.end <= len(text)
