"""Negation, uncertainty and other context (the ``reportparse_context`` component).

medspaCy's ConText algorithm, run sentence by sentence. ``medspacy_context`` builds one graph for the whole
document: every modifier is compared with every other modifier and every target, and each modifier looks up
its sentence through ``Token.sent``; both grow with the square of the report's length (a 60 kB report took
seconds). Here the same medspaCy pieces (``ConTextRule``, ``MedspacyMatcher``, ``ConTextModifier``,
``ConTextGraph``) run once per sentence that holds a target, with the sentence as the modifier's scope, so the
cost is linear in the report's length and identical in result.

Targets are the concept spans (``reportparse_concepts``) whose label is in ``target_labels``; each gets
``span._.modifiers`` (a tuple of ``ConTextModifier``) and medspaCy's ``is_negated``/``is_uncertain``/... flags.
"""

from bisect import bisect_right
from collections.abc import Iterable
from itertools import compress
from operator import attrgetter

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.context import ConTextRule
from medspacy.context.context import DEFAULT_ATTRIBUTES, ConText
from medspacy.context.context_graph import ConTextGraph
from medspacy.context.context_modifier import ConTextModifier
from spacy.language import Language
from spacy.tokens import Doc

from .concepts import RuleMatcher, concept_spans, prune_overlaps, set_span_attr, span_attr
from .rules import cached_rules
from .sentences import sentence_bounds

#: Concept categories ConText may modify (the cores of stenosis phrases).
TARGET_LABELS = ("LOCATION", "STENOSIS")
_TARGETS = frozenset(TARGET_LABELS)
_category = attrgetter("category")


class SentenceConText:
    """ConText with sentence-local graphs. See the module docstring."""

    def __init__(self, nlp: Language, name: str, rules: Iterable[ConTextRule]):
        self.name = name
        self.nlp = nlp
        matcher = MedspacyMatcher(nlp, name=name, phrase_matcher_attr="LOWER", prune=False)
        matcher.add(list(rules))
        self.matcher = RuleMatcher(matcher, nlp.vocab)
        ConText.register_graph_attributes()
        ConText.register_default_attributes()

    @staticmethod
    def _scope(rule: ConTextRule, start: int, end: int, sent_start: int, sent_end: int) -> tuple[int, int]:
        direction = rule.direction.lower()
        max_scope = rule.max_scope
        if direction == "forward":
            lo, hi = end, sent_end
        elif direction == "backward":
            lo, hi = sent_start, start
        else:
            lo, hi = sent_start, sent_end
        if max_scope is not None:
            if direction != "forward" and start - lo > max_scope:
                lo = start - max_scope
            if direction != "backward" and hi - end > max_scope:
                hi = end + max_scope
        return lo, hi

    def __call__(self, doc: Doc) -> Doc:
        spans, rules = concept_spans(doc)
        targets = list(compress(spans, map(_TARGETS.__contains__, map(_category, rules))))
        if not targets:
            return doc
        bounds = sentence_bounds(doc)
        starts = [b[0] for b in bounds]
        by_sentence: dict[int, list] = {}
        for span in targets:
            by_sentence.setdefault(bisect_right(starts, span.start) - 1, []).append(span)
        modifiers: dict[int, list[ConTextModifier]] = {}
        rule_map = self.matcher.matcher.rule_map
        strings = self.nlp.vocab.strings
        for match_id, start, end in prune_overlaps(self.matcher(doc)):
            k = bisect_right(starts, start) - 1
            if k not in by_sentence:
                continue
            rule = rule_map[strings[match_id]]
            lo, hi = self._scope(rule, start, end, *bounds[k])
            modifiers.setdefault(k, []).append(ConTextModifier(rule, start, end, None, lo, hi))
        # prune_overlaps returns the matches in (start, end) order: each sentence's modifiers are in that order
        for k, mods in modifiers.items():
            graph = ConTextGraph(targets=by_sentence[k], modifiers=mods)
            graph.update_scopes()
            graph.apply_modifiers()
            for target, modifier in graph.edges:
                set_span_attr(target, "modifiers", span_attr(target, "modifiers", ()) + (modifier,))
                for attr, value in DEFAULT_ATTRIBUTES.get(modifier.category, {}).items():
                    set_span_attr(target, attr, value)
        return doc


@Language.factory("reportparse_context", default_config={"rules_dir": None})
def make_context(nlp: Language, name: str, rules_dir: str | None) -> SentenceConText:
    """Create the ConText stage from the ``context.json`` of ``rules_dir`` (None: shipped rules)."""
    return SentenceConText(nlp, name, cached_rules(rules_dir).context)
