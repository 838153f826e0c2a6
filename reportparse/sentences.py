"""Sentence splitting for radiology reports (the ``reportparse_sentencizer`` component).

medspaCy's default splitter, PyRuSH, handles clinical text well but runs at about 22 reports/s on the reference
machine, far below the 300 reports/s target; radiology reports have a simple layout that rules capture:

* a line break ends a sentence, unless the next line starts in lower case after a line with no closing
  punctuation (a hard-wrapped sentence);
* terminal punctuation (``.``, ``?``, ``!``) ends a sentence, except after an abbreviation or a list number
  ("1." at the start of a line);
* clause punctuation (``;``) ends a sentence, so that negation does not leak across clauses;
* a section header (from the medspaCy sectionizer, which must run first) starts a sentence, and so does the
  section body after it.

The word lists come from ``grammar.json`` (``sentences``), so they can be changed without code.
"""


from typing import Any

import numpy
from spacy.attrs import IDX, IS_SPACE, ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc

from .rules import GrammarStage, cached_rules


for _name in ("rp_sentence_bounds", "rp_tokens", "rp_text"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


def doc_attr(doc: Doc, name: str, default: Any = None) -> Any:
    """``doc._.<name>`` for an extension registered with a plain ``default`` (no getter, setter or method; None
    unless given).

    spaCy keeps such a value in ``doc.user_data`` under ``("._.", name, None, None)``; reading it there skips the
    ``Underscore`` object that every ``doc._`` access builds (the stages read these columns dozens of times per
    report). ``tests/reportparse/test_sentences.py`` checks that this stays what ``doc._`` returns.
    """
    return doc.user_data.get(("._.", name, None, None), default)


def set_doc_attr(doc: Doc, name: str, value: Any) -> None:
    """``doc._.<name> = value`` for an extension registered with a plain default (see :func:`doc_attr`)."""
    doc.user_data[("._.", name, None, None)] = value


#: Token texts and their lower case by ORTH hash (a hash names the same string in every vocabulary), shared by all
#: docs: a dict look-up costs less than a ``StringStore`` look-up and ``str.lower``. Emptied at :data:`WORDS_KEPT`
#: words, so that an archive's stream of new words (dates, numbers, names) does not make it grow.
_TEXTS: dict[int, str] = {}
_LOWERS: dict[int, str] = {}
WORDS_KEPT = 50_000


def token_columns(doc: Doc) -> tuple[list[str], list[str], list[bool], list[int]]:
    """The texts, lower-cased texts, ``is_space`` flags and character offsets of the doc's tokens, as lists.

    Read in one ``Doc.to_array`` call and kept on the doc (``doc._.rp_tokens``) for the later stages: reaching
    them token by token (``doc[i].text``) builds a ``Token`` object per access.
    """
    columns = doc_attr(doc, "rp_tokens")
    if columns is None:
        orth, idx, space = doc.to_array([ORTH, IDX, IS_SPACE]).T.tolist()
        try:  # (map over the bound look-ups: no comprehension step per token)
            texts, lowers = list(map(_TEXTS.__getitem__, orth)), list(map(_LOWERS.__getitem__, orth))
        except KeyError:  # a word not met before: only the words not met before are read and kept
            # (storing every word of the doc again cost more than the look-ups); a word missing from either cache is
            # read from the vocabulary: another thread may empty the caches meanwhile
            strings = doc.vocab.strings
            if len(_TEXTS) > WORDS_KEPT:
                _TEXTS.clear()
                _LOWERS.clear()
            texts, lowers = list(map(_TEXTS.get, orth)), list(map(_LOWERS.get, orth))
            for i in [i for i, (text, lower) in enumerate(zip(texts, lowers)) if text is None or lower is None]:
                h = orth[i]
                texts[i] = _TEXTS[h] = strings[h]
                lowers[i] = _LOWERS[h] = texts[i].lower()  # spaCy's LOWER is str.lower() of the text
        columns = (texts, lowers, list(map(bool, space)), idx)  # (IS_SPACE is 0 or 1)
        set_doc_attr(doc, "rp_tokens", columns)
    return columns


def doc_text(doc: Doc) -> str:
    """The doc's text: the text the report tokenizer was given (it keeps it on the doc, see
    :class:`reportparse.pipeline.ReportTokenizer`), else joined once per doc from the token columns (``Doc.text``
    builds a ``Token`` object per token on each call)."""
    text = doc_attr(doc, "rp_text")
    if text is None:
        spaced = doc.to_array(SPACY).tolist() if len(doc) else []
        text = "".join([t + " " if ws else t for t, ws in zip(token_columns(doc)[0], spaced)])
        set_doc_attr(doc, "rp_text", text)
    return text


_NOT_START = numpy.uint64(2**64 - 1)  # SENT_START -1 (not a sentence start) as spaCy's uint64 arrays hold it


class ReportSentencizer(GrammarStage):
    """Rule-based sentence boundaries for report text. See the module docstring for the rules."""

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            set_doc_attr(doc, "rp_sentence_bounds", [])
            return doc
        texts, _, spaces, _ = token_columns(doc)
        starts = {0}
        for section in doc_attr(doc, "sections") or ():  # doc._.sections as the sectionizer left it (unset: none)
            for i in (section.title_start, section.title_end, section.body_start):
                while i is not None and 0 <= i < n and spaces[i]:
                    i += 1
                if i is not None and 0 <= i < n:
                    starts.add(i)
        # Only line breaks and sentence or clause punctuation can end a sentence (a line break is always in a space
        # token); the next sentence starts at the first non-space token after one.
        terminal = self.grammar.terminal_punct
        clause = self.grammar.clause_punct
        abbreviations = self.grammar.abbreviations
        marks = terminal | clause
        line_start = 0  # index of the first token of the current line
        for i in [i for i, text in enumerate(texts) if text in marks or "\n" in text]:
            text = texts[i]
            if spaces[i]:
                line_start = i + 1
                before = texts[i - 1] if i >= 1 else None
                if (text.count("\n") < 2 and i + 1 < n and texts[i + 1][:1].islower() and before is not None
                        and before not in terminal and before not in clause and before != ":"):
                    continue  # a hard-wrapped sentence goes on
            elif text in terminal:
                before = texts[i - 1] if i >= 1 else None
                if before is not None and (before.lower() in abbreviations
                                           or (i - 1 == line_start and before.isdigit())):
                    continue  # "e.g.", "Dr."; "1." numbering at the start of a line
            k = i + 1
            while k < n and spaces[k]:
                k += 1
            if k < n:
                starts.add(k)
        first = sorted(starts)
        # one bulk write: setting token.is_sent_start token by token rescans the doc each time (quadratic)
        flags = numpy.full(n, _NOT_START, dtype="uint64")
        flags[first] = 1
        doc.from_array([SENT_START], flags)
        set_doc_attr(doc, "rp_sentence_bounds", list(zip(first, first[1:] + [n])))
        return doc


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) token indices of the doc's sentences, as the sentencizer left them (cheaper than
    ``doc.sents``, which rescans the whole doc on every call)."""
    bounds = doc_attr(doc, "rp_sentence_bounds")
    return bounds if bounds is not None else [(s.start, s.end) for s in doc.sents]


@Language.factory("reportparse_sentencizer", default_config={"rules_dir": None})
def make_sentencizer(nlp: Language, name: str, rules_dir: str | None) -> ReportSentencizer:
    """Create the sentence splitter from the ``grammar.json`` of ``rules_dir`` (None: shipped rules)."""
    return ReportSentencizer(nlp, name, cached_rules(rules_dir).grammar)
