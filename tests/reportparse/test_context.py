"""``reportparse.context``: sentence-local ConText gives the targets medspaCy's whole-doc ConText gives them."""

from pathlib import Path

from medspacy.context import ConText
from spacy.tokens import Doc

from reportparse.concepts import concept_spans
from reportparse.context import TARGET_LABELS
from reportparse.gold import load_gold
from reportparse.pipeline import build_pipeline
from reportparse.rules import cached_rules

GOLD = Path(__file__).resolve().parents[2] / "gold" / "annotations.json"
if not Doc.has_extension("test_context_targets"):
    Doc.set_extension("test_context_targets", default=None)


def modifiers_of(targets):
    return [[(m.modifier_span, m.scope_span, m.category) for m in target._.modifiers]
            + [target._.is_negated, target._.is_uncertain, target._.is_historical, target._.is_hypothetical]
            for target in targets]


def test_gold_reports_get_medspacys_modifiers():
    nlp = build_pipeline()
    theirs = ConText(nlp, rules=None)
    theirs.add(cached_rules().context)
    texts = [g.text for g in load_gold(GOLD)] + [
        "No canal stenosis at L4-5, but there is mild foraminal narrowing. Possible stenosis at L3-4 without "
        "compression.",
        "L5-S1: no significant canal or foraminal stenosis; no other levels with stenosis. History of stenosis.",
    ]
    for text in texts:
        doc = nlp(text)
        spans, rules = concept_spans(doc)
        targets = [span for span, rule in zip(spans, rules) if rule.category in TARGET_LABELS]
        ours = modifiers_of(targets)
        for target in targets:  # medspaCy's ConText on a doc whose targets have no modifiers yet
            target._.modifiers = ()
            for attr in ("is_negated", "is_uncertain", "is_historical", "is_hypothetical", "is_family"):
                setattr(target._, attr, False)
        doc._.test_context_targets = targets
        theirs(doc, targets="test_context_targets")
        assert ours == modifiers_of(targets), text[:80]
