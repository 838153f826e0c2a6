"""Assembly of the report-parsing spaCy pipeline.

``tokenizer -> reportparse_sectionizer -> reportparse_sentencizer -> reportparse_lexicon -> reportparse_concepts
-> reportparse_context -> reportparse_levels -> reportparse_findings -> reportparse_grades``

medspaCy provides section detection (its Sectionizer, see :mod:`reportparse.sections`), concept matching (its
TargetMatcher, see :mod:`reportparse.concepts`) and the ConText algorithm (run per sentence by
``reportparse_context``, see :mod:`reportparse.context`); this package provides the sentence splitter, the
spelling-tolerant lexicon (level spellings, typos; :mod:`reportparse.lexicon`) and the three stenosis stages. Every
stage reads its rules from one rules folder (``--rules``), which is validated once
(:func:`reportparse.rules.load_rules`). No model is downloaded or trained.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.attrs import ORTH
from spacy.lang.tokenizer_exceptions import emoticons
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import registry

from spinecore.startup import gc_paused

from . import concepts, context, findings, grades, levels, lexicon, sections, sentences  # noqa: F401  (factories)
from .grades import ReportGrades
from .rules import cached_rules, rules_stamp
from .sentences import doc_attr, set_doc_attr

logger = logging.getLogger(__name__)

# medspaCy keeps an empty token Matcher next to its phrase matcher when every rule is a literal; spaCy then warns
# on every document that the matcher has no patterns. That is expected here.
warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)

#: The pipeline components after the tokenizer, in order.
STAGES = ("reportparse_sectionizer", "reportparse_sentencizer", "reportparse_lexicon", "reportparse_concepts",
          "reportparse_context", "reportparse_levels", "reportparse_findings", "reportparse_grades")

#: Hyphen characters other than "-" that word processors put between letters or digits.
HYPHEN_VARIANTS = "\u2010\u2011\u2012\u2212"
#: Longest text the tokenizer accepts; longer reports get an error status (see ``max_chars``).
MAX_LENGTH = 2_000_000


#: The registered name of the report tokenizer (see :func:`create_tokenizer`).
TOKENIZER = "reportparse.Tokenizer.v1"


class ReportTokenizer(Tokenizer):
    """spaCy's tokenizer, which also keeps the text it was given on the doc (``doc._.rp_text``, read by
    :func:`reportparse.sentences.doc_text`): spaCy's tokenization is lossless, so it is ``doc.text``, without
    joining the tokens again."""

    def __call__(self, text: str) -> Doc:
        doc = super().__call__(text)
        set_doc_attr(doc, "rp_text", text)
        return doc


@registry.tokenizers(TOKENIZER)
def create_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy's English tokenizer, except that "L." and "R." are sides, not initials ("R>L.", "mild R."): a
    suffix rule and two special cases; that emoticons are punctuation ("(2/5):" ends with ")" and ":"); and that
    word processors' hyphens (non-breaking "L3\u2011L4", "mild\u2011to\u2011moderate", :data:`HYPHEN_VARIANTS`)
    split words as "-" does. Built in one go: changing a tokenizer's affix rules afterwards loads its thousands of
    special cases a second time.

    The special cases that only restate how a run of whitespace is tokenized anyway ("\n", "\t" and " ": one
    token, no other attribute) are left out. spaCy caches the tokens of each word it has split, except after the
    first special case of a document (spaCy issue 1250), so with them every report that has a line break or a
    double space was split word by word after it, without the cache: 5 to 10 times the tokenizer's time on
    reports that open with a header line. The tokens are the same (tested)."""

    def make(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        # no emoticons: in a report "):" and ";)" close a parenthesis ("MRI (2/5): L5/S1 ...")
        rules = {k: v for k, v in defaults.tokenizer_exceptions.items()
                 if k not in emoticons and not (k.isspace() and v == [{ORTH: k}])}
        for side in ("L", "R"):
            rules[f"{side}."] = [{"ORTH": side}, {"ORTH": "."}]
        suffixes = spacy.util.compile_suffix_regex([*defaults.suffixes, r"(?<=\b[LR])\."])
        infixes = spacy.util.compile_infix_regex(
            [*defaults.infixes, rf"(?<=[A-Za-z0-9])[{HYPHEN_VARIANTS}](?=[A-Za-z0-9])"])
        return ReportTokenizer(nlp.vocab, rules=rules,
                               prefix_search=spacy.util.compile_prefix_regex(defaults.prefixes).search,
                               suffix_search=suffixes.search, infix_finditer=infixes.finditer,
                               token_match=defaults.token_match, url_match=defaults.url_match)

    return make


def _quiet_pyrush() -> None:
    """medspaCy imports PyRuSH, which logs at DEBUG through loguru; keep it quiet."""
    try:
        from loguru import logger as loguru_logger

        loguru_logger.remove()
    except ImportError:  # pragma: no cover - loguru comes with medspaCy
        pass


def build_pipeline(rules_dir: str | Path | None = None) -> Language:
    """Create the report parser. ``rules_dir`` replaces the shipped rules folder (``rules/reportparse``).

    Raises:
        ReportParseError: when a rules file is missing or malformed (naming the file, entry and key).
    """
    _quiet_pyrush()
    import medspacy  # noqa: F401  (registers the medspaCy factories)

    rules_path = str(Path(rules_dir).resolve()) if rules_dir is not None else None
    # the build makes a few hundred thousand objects that live as long as the pipeline: the cyclic garbage collector
    # would walk them dozens of times to free nothing (about 40 ms of a 0.3 s build), so it waits until the end
    with gc_paused():
        ruleset = cached_rules(rules_path)
        nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
        nlp.max_length = MAX_LENGTH
        for hyphen in HYPHEN_VARIANTS:  # word processors' hyphens read as "-" (see create_tokenizer)
            nlp.vocab[hyphen].norm_ = "-"
        for name in STAGES:
            nlp.add_pipe(name, config={"rules_dir": rules_path})
    logger.debug("built report pipeline from %s: %s", ruleset.source, nlp.pipe_names)
    return nlp


#: Reports one parser serves before it is built anew (see :class:`RefreshingPipeline`).
REFRESH_EVERY = 20_000


class RefreshingPipeline:
    """The parser for report after report, built anew after every ``refresh_every`` reports (0: never).

    spaCy 3.7 keeps every string it has seen in the vocabulary for the life of the pipeline (there is no memory
    zone before 3.8), so one pipeline over millions of reports grows with their new words: dates, numbers,
    names, typos: about 3 MiB per 1,000 reports that each carry five words of their own (an accession number,
    a date, a name), which would be gigabytes over an archive. A fresh pipeline every ``refresh_every`` reports
    keeps memory flat; the parse has no state between reports, so the output is the same, and a rebuild (about
    a second) costs about 1% at the default of 20,000 reports. Callers must not keep the pipeline a call
    returned beyond its report, or its vocabulary stays in memory. When the rule files change on disk during the
    run, the pipeline is kept (with a warning) rather than rebuilt from other rules: one run, one set of rules.
    """

    def __init__(self, rules_dir: str | Path | None = None, refresh_every: int = REFRESH_EVERY):
        self.rules_dir = rules_dir
        self.refresh_every = refresh_every
        self._nlp: Language | None = None
        self._stamp = rules_stamp(rules_dir)
        self._used = 0
        self.builds = 0

    def build(self) -> None:
        """Build a fresh pipeline now (also to fail fast on bad rules, before any work)."""
        self._nlp = None  # let the old vocabulary go before the new one is built
        self._stamp = rules_stamp(self.rules_dir)
        self._nlp = build_pipeline(self.rules_dir)
        self._used = 0
        self.builds += 1

    def __call__(self) -> Language:
        """The pipeline for the next report."""
        due = self._nlp is None or (self.refresh_every and self._used >= self.refresh_every)
        if due and self._nlp is not None and rules_stamp(self.rules_dir) != self._stamp:
            logger.warning("the rule files of %s changed during the run: the parser keeps the rules it started "
                           "with (and is no longer rebuilt, so memory may grow)", self.rules_dir or "the package")
            self.refresh_every, due = 0, False
        if due:
            self.build()
        self._used += 1
        assert self._nlp is not None
        return self._nlp


@lru_cache(maxsize=4)
def default_pipeline(rules_dir: str | None = None) -> Language:
    """A cached :func:`build_pipeline` per rules folder, for repeated calls of :func:`parse_text`."""
    return build_pipeline(rules_dir)


def parse_text(text: str, nlp: Language | None = None) -> ReportGrades:
    """Parse one report: its six level rows (``.rows()``, ``.grades``) and its evidence (``.evidence``).

    The doc is freed as this returns (call the pipeline itself to keep it). The stages keep their results in the
    doc's ``user_data``, and the spans among them hold the doc: a reference cycle that only Python's cyclic garbage
    collector frees, and its collections took a tenth of the parse time (their survivors grow each generation).
    Emptying ``user_data`` breaks the cycle, so the doc goes with its last reference.
    """
    nlp = nlp or default_pipeline()
    doc = nlp(text)
    result = doc_attr(doc, "rp_result")
    doc.user_data.clear()
    return result
