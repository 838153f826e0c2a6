"""Section detection (the ``reportparse_sectionizer`` component): medspaCy's Sectionizer, section by section.

medspaCy's ``Sectionizer`` finds the section headers with its rules and matcher, builds one ``Section`` per
header in ``doc._.sections``, and then writes ``token._.section`` on every token of the report. That last loop
costs about 20 times the matching itself (a spaCy ``Token`` and its ``._`` object per token), and nothing in
this parser reads it: the stages use ``doc._.sections`` (see :func:`reportparse.levels.token_sections`). This
subclass keeps medspaCy's rules, matcher, line filters, parent sections and scopes and leaves the per-token
attribute unset; ``doc._.sections`` is identical. A token's section is
``next(s for s in doc._.sections if s.section_span[0] <= token.i < s.section_span[1])``.

The headers are matched as medspaCy's matcher matches them (token patterns, phrases, regular expressions, then
the longest of overlapping matches), through :class:`reportparse.concepts.RuleMatcher` (no call of the token
Matcher when no rule has a token pattern: the shipped rules are phrases) and with
:func:`reportparse.concepts.prune_overlaps` for the pruning: medspaCy's call of the token Matcher and its recursive
pruning cost more than the phrase matching itself.
"""

from collections.abc import Iterable
from typing import Any

from medspacy.section_detection import Section, SectionRule, Sectionizer
from spacy.language import Language
from spacy.tokens import Doc

from .concepts import RuleMatcher, prune_overlaps
from .rules import cached_rules
from .sentences import set_doc_attr


class ReportSectionizer(Sectionizer):
    """medspaCy's Sectionizer without ``token._.section``. See the module docstring.

    Made by :func:`make_sectionizer` without medspaCy's span attributes (which read ``token._.section``) and
    without its sentence boundaries (the ``reportparse_sentencizer`` places those, headers included)."""

    #: medspaCy's header matcher, called by its parts (None while medspaCy's ``__init__`` adds the rules it is given)
    rule_matcher: RuleMatcher | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rule_matcher = RuleMatcher(self._Sectionizer__matcher, self.nlp.vocab)  # medspaCy keeps it private

    def add(self, rules: SectionRule | Iterable[SectionRule]) -> None:
        """medspaCy's ``Sectionizer.add``, then the header matcher's token patterns planned again
        (:meth:`reportparse.concepts.RuleMatcher.refresh`)."""
        super().add(rules)
        if self.rule_matcher is not None:
            self.rule_matcher.refresh()

    def _matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """The header matches of medspaCy's matcher on ``doc`` (``MedspacyMatcher.__call__``; see the module
        docstring)."""
        matches = self.rule_matcher(doc)
        return prune_overlaps(matches) if self._Sectionizer__matcher._prune else matches

    def __call__(self, doc: Doc) -> Doc:
        matcher = self._Sectionizer__matcher
        matches = self._matches(doc)
        if self.require_start_line:
            matches = self.filter_start_lines(doc, matches)
        if self.require_end_line:
            matches = self.filter_end_lines(doc, matches)
        if self._parent_sections:
            matches = self.set_parent_sections(matches)
        n = len(doc)
        sections: list[Section] = []
        if not matches or matches[0][1] != 0:
            sections.append(Section(None, 0, 0, 0, matches[0][1] if matches else n))
        strings = self.nlp.vocab.strings
        for k, match in enumerate(matches):
            match_id, start, end = match[:3]
            parent = sections[match[3]] if len(match) == 4 and match[3] is not None else None
            rule = matcher.rule_map[strings[match_id]]
            body_end = matches[k + 1][1] if k + 1 < len(matches) else n
            scope = rule.max_scope if rule.max_scope is not None else self.max_section_length
            if scope is not None:
                body_end = min(end + scope, body_end)
            sections.append(Section(rule.category, start, end, end, body_end, parent, rule))
        # doc._.sections = sections, written where spaCy keeps it (no setter), without an Underscore object
        set_doc_attr(doc, "sections", sections)
        return doc


@Language.factory("reportparse_sectionizer", default_config={"rules_dir": None})
def make_sectionizer(nlp: Language, name: str, rules_dir: str | None) -> ReportSectionizer:
    """Create the sectionizer with the ``sections.json`` of ``rules_dir`` (None: shipped rules)."""
    sectionizer = ReportSectionizer(nlp, name, rules=None, input_span_type=None, span_attrs=None)
    sectionizer.add(cached_rules(rules_dir).sections)
    return sectionizer
