"""``reportparse.sentences``: the sentence rules of the module docstring, and the token columns and text."""

import pytest
from spacy.tokens import Doc

from reportparse import build_pipeline
from reportparse import sentences as sentences_module
from reportparse.sentences import doc_attr, doc_text, sentence_bounds, set_doc_attr, token_columns


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def sentences(nlp, text):
    doc = nlp(text)
    return [doc[start:end].text.strip() for start, end in sentence_bounds(doc)]


@pytest.mark.parametrize("text, expected", [
    # terminal punctuation, but not after an abbreviation
    ("Mild stenosis at L4-5. No stenosis at L5-S1.", ["Mild stenosis at L4-5.", "No stenosis at L5-S1."]),
    ("Compared with Dr. Lee's study, e.g. the prior one, stable.", ["Compared with Dr. Lee's study, e.g. the prior one, stable."]),
    # a clause break; a line break; a hard-wrapped line goes on in lower case
    ("The canal is patent; the foramina are narrowed", ["The canal is patent;", "the foramina are narrowed"]),
    ("Disc bulge at L4-5\nNo canal stenosis", ["Disc bulge at L4-5", "No canal stenosis"]),
    ("Disc bulge with moderate\nforaminal narrowing on the left", ["Disc bulge with moderate\nforaminal narrowing on the left"]),
    ("Disc bulge:\nmild narrowing", ["Disc bulge:", "mild narrowing"]),
    ("Disc bulge.\nmild narrowing", ["Disc bulge.", "mild narrowing"]),
    ("Disc bulge\n\nmild narrowing", ["Disc bulge", "mild narrowing"]),
    # list numbers at the start of a line are no sentence ends; a number at the end of a sentence is
    ("1. Mild stenosis.\n2. No other finding.", ["1. Mild stenosis.", "2. No other finding."]),
    ("Seen at level 2. Nothing else.", ["Seen at level 2.", "Nothing else."]),
    # spaces and line breaks after the punctuation: the sentence starts at the next word
    ("Normal.  \n   \n  Stable;   mild.", ["Normal.", "Stable;", "mild."]),
    # a section header starts a sentence, and so does its body
    ("FINDINGS: mild canal stenosis at L4-5", ["FINDINGS:", "mild canal stenosis at L4-5"]),
])
def test_sentence_rules(nlp, text, expected):
    assert sentences(nlp, text) == expected


def test_bounds_cover_the_doc_and_match_the_sent_starts(nlp):
    doc = nlp("IMPRESSION:\n1. Mild L4-5 stenosis; no\nother finding.\n\n2. Normal conus.  ")
    bounds = sentence_bounds(doc)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(doc)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert [s.start for s in doc.sents] == [start for start, _ in bounds]


@pytest.mark.parametrize("text", ["", " ", "a  b \n", "  lead\ttab\t\t", "L4-5: mild R. and L. narrowing. ",
                                  "naïve\u00a0text\r\nwith CRLF\n\n"])
def test_token_columns_and_text_are_the_tokens(nlp, text):
    doc = nlp.make_doc(text)
    texts, lowers, spaces, idx = token_columns(doc)
    assert texts == [t.text for t in doc] and lowers == [t.lower_ for t in doc]
    assert spaces == [t.is_space for t in doc] and idx == [t.idx for t in doc]
    assert doc_text(doc) == text == doc.text
    assert doc_attr(doc, "rp_text") is text  # kept by the report tokenizer
    # a doc made otherwise: its text is joined from the token columns
    rebuilt = Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    assert doc_attr(rebuilt, "rp_text") is None and doc_text(rebuilt) == text


def test_token_columns_word_cache_is_bounded(nlp, monkeypatch):
    monkeypatch.setattr(sentences_module, "WORDS_KEPT", 5)
    for text in ("Accession 123 Ref Dr Lee", "MRN 456 Ref Dr Kim\nL4-5: mild stenosis.", "Accession 789"):
        doc = nlp.make_doc(text)
        texts, lowers, _, _ = token_columns(doc)
        assert texts == [t.text for t in doc] and lowers == [t.lower_ for t in doc]
        # emptied once past the bound, then filled with this doc's words only
        assert len(sentences_module._TEXTS) == len(sentences_module._LOWERS) <= 5 + len(set(texts))


def test_doc_attr_reads_what_doc_underscore_does(nlp):
    doc = nlp("L3-4: no canal stenosis. L4-5: mild right foraminal narrowing.")
    for name in ("rp_tokens", "rp_text", "rp_sentence_bounds", "rp_concepts", "rp_sentences", "rp_findings"):
        assert doc_attr(doc, name) is getattr(doc._, name) is not None
    fresh = nlp.make_doc("L4-5 stenosis.")
    assert doc_attr(fresh, "rp_tokens") is fresh._.rp_tokens is None
    set_doc_attr(fresh, "rp_sentences", ["set"])
    assert fresh._.rp_sentences == ["set"]


_WHITESPACE_TEXTS = ["Accession 123 Ref Dr Lee\nFINDINGS:\nL4-5: mild  stenosis.\r\n\tL5-S1:\u00a0normal.  \n\n",
                     "\n\nIMPRESSION:  \t moderate\n canal   stenosis at L3-4 ; e.g. R. and L. foramina\n",
                     " ", "\t\n", "L4-5 \n \n mild", "Dr. Lee said\n\"no stenosis\"\n(see above):\tfine."]


@pytest.mark.parametrize("text", _WHITESPACE_TEXTS)
def test_the_report_tokenizer_splits_whitespace_as_spacys_special_cases_do(nlp, text):
    """The report tokenizer leaves out the special cases "\\n", "\\t" and " " (they stopped spaCy's cache, see
    ``create_tokenizer``): the tokens and their attributes are those of a tokenizer that keeps them, in a new
    tokenizer and after the cache has filled."""
    from spacy.attrs import IDX, IS_SPACE, LOWER, NORM, ORTH, SPACY

    keeping = build_pipeline().tokenizer
    for key in ("\n", "\t", " "):
        assert key not in nlp.tokenizer.rules and nlp.Defaults.tokenizer_exceptions[key] == [{ORTH: key}]
        keeping.add_special_case(key, [{ORTH: key}])
    attrs = [ORTH, NORM, LOWER, IDX, IS_SPACE, SPACY]
    fresh = build_pipeline().tokenizer
    for tokenizer in (fresh, nlp.tokenizer):
        for _ in range(2):
            for other in _WHITESPACE_TEXTS:  # fill the cache with every text's words
                tokenizer(other)
            ours = tokenizer(text)
            theirs = keeping(text)
            assert [t.text for t in ours] == [t.text for t in theirs]
            assert (ours.to_array(attrs) == theirs.to_array(attrs)).all()
