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

import gc
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from re import _compiler as sre_compile, _constants as sre, _parser as sre_parse
from typing import Any

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
#: Word endings whose rules :class:`SuffixSearch` keeps listed before it starts again.
SUFFIX_CACHE = 4096

#: The characters that a match can end with: (characters, code point ranges), or None for any character.
EndChars = tuple[frozenset[str], tuple[tuple[int, int], ...]] | None


def _end_chars(items: Iterable[tuple[Any, Any]], flags: int) -> EndChars:
    """The characters that a match of the parsed regular expression ``items`` (a sequence of ``re`` parser nodes,
    under ``flags``) can end with; None (any) wherever the answer is not plain: a category (``\\d``), a negated
    set, a case-insensitive part, an optional last element. Zero-width nodes (anchors, look-arounds) are skipped."""
    for op, av in reversed(list(items)):
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        if op is sre.LITERAL:
            return frozenset([chr(av)]), ()
        if op is sre.IN:
            if any(kind not in (sre.LITERAL, sre.RANGE) for kind, _ in av):
                return None
            return (frozenset(chr(value) for kind, value in av if kind is sre.LITERAL),
                    tuple(value for kind, value in av if kind is sre.RANGE))
        if op is sre.SUBPATTERN:
            _, added, _, sub = av
            if (added | flags) & sre.SRE_FLAG_IGNORECASE or sub.getwidth()[0] == 0:
                return None
            return _end_chars(sub.data, flags | added)
        if op is sre.BRANCH:
            chars: set[str] = set()
            ranges: list[tuple[int, int]] = []
            for branch in av[1]:
                found = _end_chars(branch.data, flags) if branch.getwidth()[0] else None
                if found is None:
                    return None
                chars |= found[0]
                ranges += found[1]
            return frozenset(chars), tuple(ranges)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _, item = av
            return _end_chars(item.data, flags) if low else None
        return None
    return None


class SuffixSearch:
    """The ``suffix_search`` of :func:`spacy.util.compile_suffix_regex` over ``entries``: the same matches, found
    with only the rules that can end with the string's last character.

    spaCy's suffix expression is one alternation of every rule, each anchored at the end (``$``); ``re`` tries the
    whole alternation (83 rules for English, most opening with a look-behind, so no character skips a position) at
    every position of each word that the tokenizer has not met before: about 4 us a word, an eighth of the
    tokenizer's time on real-style reports. A match of a rule ends at the end of the word (``$``; or before a line
    break that ends it), so a rule whose matches cannot end with the word's last character (nor, before such a
    line break, with the one before it) matches nothing there. The ``re`` parser tells which characters a rule's
    matches can end with (:func:`_end_chars`; any character where that is not plain, and for a rule that can match
    nothing at all). Each rule is compiled on its own from that parse (together they cost about what the whole
    expression does); the rules that can end with a word's last character are listed the first time it ends a word
    (at most :data:`SUFFIX_CACHE` of them, then again), and the leftmost of their matches, the first rule's on a tie,
    is the whole expression's match: none for a word that ends in a letter no rule ends with, one to five searches of
    a single rule otherwise. Rules that the whole expression reads together (global flags, back-references, group
    names) leave it searched as it is. ``pattern`` is the whole expression, as spaCy saves it with the tokenizer
    (and compiles it when it loads one)."""

    def __init__(self, entries: Iterable[str | re.Pattern]):
        rules = [entry if isinstance(entry, str) else entry.pattern for entry in entries]
        rules = [rule for rule in rules if rule.strip()]  # (as compile_suffix_regex leaves them out)
        self.pattern = "|".join([rule + "$" for rule in rules])  # (compile_suffix_regex's expression)
        self._whole: Callable[[str], re.Match | None] | None = None
        self._rules: list[tuple[Callable[[str], re.Match | None], EndChars]] = []
        self._by_end: dict[str, tuple[Callable[[str], re.Match | None], ...]] = {}
        # each rule as the expression holds it, parsed once: for its end characters and for its compilation
        parsed = [sre_parse.parse(rule + "$") for rule in rules]
        if any(p.state.flags & ~sre.SRE_FLAG_UNICODE or p.state.groupdict
               or any(op in (sre.GROUPREF, sre.GROUPREF_EXISTS) for op, _ in _nodes(p.data)) for p in parsed):
            self._whole = re.compile(self.pattern).search
            return
        for p in parsed:
            self._rules.append((sre_compile.compile(p).search, _end_chars(p.data if p.getwidth()[0] else [], 0)))

    def _searches(self, end: str) -> tuple[Callable[[str], re.Match | None], ...]:
        """The searches of the rules whose matches can end with a character of ``end``, in their order."""
        codes = [ord(char) for char in end]
        searches = tuple(search for search, ends in self._rules if ends is None or not ends[0].isdisjoint(end)
                         or any(lo <= code <= hi for lo, hi in ends[1] for code in codes))
        if len(self._by_end) >= SUFFIX_CACHE:
            self._by_end.clear()
        self._by_end[end] = searches
        return searches

    def search(self, string: str) -> re.Match | None:
        if self._whole is not None:
            return self._whole(string)
        end = string[-2:] if string[-1:] == "\n" else string[-1:]  # (an empty string: no character)
        try:
            searches = self._by_end[end]
        except KeyError:
            searches = self._searches(end)
        found = None
        for search in searches:
            match = search(string)
            if match is not None and (found is None or match.start() < found.start()):
                found = match
        return found


def _nodes(items: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """Every node of parsed ``re`` nodes, the nested ones (in groups, branches, repeats, look-arounds) included."""
    for op, av in items:
        yield op, av
        for value in av if isinstance(av, (list, tuple)) else (av,):
            for sub in value if isinstance(value, list) else (value,):  # (a branch's list of alternatives)
                if isinstance(sub, sre_parse.SubPattern):
                    yield from _nodes(sub.data)


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
    reports that open with a header line. The tokens are the same (tested). Suffixes are found by
    :class:`SuffixSearch`, which gives the matches of spaCy's suffix expression for about an eighth of its time."""

    def make(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        # no emoticons: in a report "):" and ";)" close a parenthesis ("MRI (2/5): L5/S1 ...")
        rules = {k: v for k, v in defaults.tokenizer_exceptions.items()
                 if k not in emoticons and not (k.isspace() and v == [{ORTH: k}])}
        for side in ("L", "R"):
            rules[f"{side}."] = [{"ORTH": side}, {"ORTH": "."}]
        suffixes = SuffixSearch([*defaults.suffixes, r"(?<=\b[LR])\."])
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


def build_pipeline(rules_dir: str | Path | None = None, evidence: bool = True) -> Language:
    """Create the report parser. ``rules_dir`` replaces the shipped rules folder (``rules/reportparse``);
    ``evidence=False`` leaves out the evidence of the grades (``ReportGrades.evidence`` empty, the grades the same:
    for a run that writes only the levels table).

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
        options = {"reportparse_grades": {"evidence": evidence}}
        for name in STAGES:
            nlp.add_pipe(name, config={"rules_dir": rules_path, **options.get(name, {})})
    logger.debug("built report pipeline from %s: %s", ruleset.source, nlp.pipe_names)
    return nlp


#: Reports one parser serves before it is built anew (see :class:`RefreshingPipeline`).
REFRESH_EVERY = 10_000


class RefreshingPipeline:
    """The parser for report after report, built anew after every ``refresh_every`` reports (0: never).

    spaCy 3.7 keeps every string it has seen in the vocabulary for the life of the pipeline (there is no memory
    zone before 3.8), so one pipeline over millions of reports grows with their new words: dates, numbers,
    names, typos: about 5 KB per report that carries five words of its own (an accession number, a date, a name;
    about 4 new lexemes and 7 new strings, each with the bookkeeping of spaCy's memory pools), which would be
    gigabytes over an archive. A fresh pipeline every ``refresh_every`` reports keeps memory flat; the parse has no
    state between reports, so the output is the same. A rebuild costs about 0.2 CPU s, about 1% of the parse of
    the default 10,000 reports, which bound the growth to about 50 MB (peak RSS of ``extract`` on 20,000 and
    60,000 reports with header lines: 146-152 MiB, against 192 MiB with a rebuild every 20,000 and 133 MiB every
    5,000). The old pipeline is freed before the new one is built. Callers must not keep the pipeline a call
    returned beyond its report, or its vocabulary stays in memory. When the rule files change on disk during the
    run, the pipeline is kept (with a warning) rather than rebuilt from other rules: one run, one set of rules.
    ``evidence`` is :func:`build_pipeline`'s.
    """

    def __init__(self, rules_dir: str | Path | None = None, refresh_every: int = REFRESH_EVERY,
                 evidence: bool = True):
        self.rules_dir = rules_dir
        self.refresh_every = refresh_every
        self.evidence = evidence
        self._nlp: Language | None = None
        self._stamp = rules_stamp(rules_dir)
        self._used = 0
        self.builds = 0

    def build(self) -> None:
        """Build a fresh pipeline now (also to fail fast on bad rules, before any work)."""
        if self._nlp is not None:
            # the old pipeline goes before the new one is built: a spaCy pipeline is held in reference cycles (its
            # components hold it), which only a collection frees, and none runs during a build
            self._nlp = None
            gc.collect()
        self._stamp = rules_stamp(self.rules_dir)
        self._nlp = build_pipeline(self.rules_dir, self.evidence)
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
