"""``reportparse.pipeline``: the report tokenizer's suffix search (:class:`SuffixSearch`) finds what spaCy's compiled
suffix expression finds, on report words, on random strings and on rules of every shape."""

import random
from pathlib import Path

import pytest
import spacy
import spacy.util
from spacy.tokenizer import Tokenizer

from reportparse.gold import load_gold
from reportparse.pipeline import SuffixSearch, build_pipeline

GOLD = Path(__file__).resolve().parents[2] / "gold" / "annotations.json"

#: Characters the random strings are drawn from: the suffix rules' punctuation, quotes, units and currencies,
#: letters, digits, whitespace and line breaks (the expression's "$" also matches before a last line break).
ALPHABET = list("abcsXYZ019.,;:!?'\"()[]{}<>-\u2013\u2014%$\u20ac\u00b0/\\+*#&@\u2026\u201d\u201c\u2019\u2018 \n\t"
                "\u043a\u043c\u00b2\u00b3\u00b5\u00a2\u00a3\u00a5\u00a9\u00ae\u2122") + [
    "km", "mm", "'s", "''", "..", "kg", "\u00b0F", "lbs", "mph", "\n"]


def same_matches(entries, words):
    """The words on which the suffix search and spaCy's expression disagree (start or end of the match)."""
    ours = SuffixSearch(entries)
    theirs = spacy.util.compile_suffix_regex(entries)
    assert ours.pattern == theirs.pattern
    spans = [(m.start(), m.end()) if m else None for m in map(theirs.search, words)]
    return [w for w, span in zip(words, spans) if span != ((m := ours.search(w)) and (m.start(), m.end()))]


def random_words(n, seed):
    rng = random.Random(seed)
    words = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(n)]
    # any character of the first planes, where the rules' icon and letter ranges lie
    return words + ["".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 5))) for _ in range(n)]


@pytest.fixture(scope="module")
def english_suffixes():
    return [*spacy.blank("en").Defaults.suffixes, r"(?<=\b[LR])\."]  # as the report tokenizer has them


def test_suffix_search_matches_spacys_expression_on_report_words_and_random_strings(english_suffixes):
    words = [w for report in load_gold(GOLD) for w in report.text.split()]
    words += list(spacy.blank("en").tokenizer.rules)  # the special cases the tokenizer loads
    words += ["", "\n", "x\n", ".\n", "5mm\n", "L.\n\n", "stenosis.", "(L4-5),", "3mm.", "20\u00b0F."]
    assert len(words) > 10_000
    assert same_matches(english_suffixes, words + random_words(20_000, seed=3)) == []


@pytest.mark.parametrize("rules", [
    [r"x?", r"a|", r"(?=q)"],  # a rule that can match nothing at all: its matches may end anywhere
    [r"(?i:ab)", r"[a-z](?i:s)"],  # case-insensitive parts: "B" and "S" end them too
    [r"(?i)mm", r"\.", r"b"],  # a global flag opening the first rule makes the whole expression case-insensitive
    [r"(a)b", r"(?P<x>c)\1", r"(c)?d(?(1)e|f)"],  # back-references and names: groups of the whole expression
    [r"\d", r"[^a]", r"[a-c]", r"\w+"],  # a category, a negated set, a range, a repeated category
    [r"\n", r"b\n?", r"s\n"],  # rules that match line breaks, and one whose last element is optional
    [r"(?:ca)+", r"c{0,2}", r"(?:mm|cm)(?:\.)?", r"(?<=[0-9])(?:km|m)", r"\.\.+", r"'s"],
])
def test_suffix_search_matches_spacys_expression_for_rules_of_every_shape(rules):
    words = random_words(5_000, seed=7) + ["", "\n", "cac", "ab\n", "aB", "5km", "x.\n", "..."]
    assert same_matches(rules, words) == []


def test_the_report_tokenizer_saves_spacys_expression_and_explains_with_the_search():
    nlp = build_pipeline()
    text = "Moderate stenosis (L4-5). 3mm bulge at 'L5-S1'...\nR. and L. foramina: patent;"
    loaded = Tokenizer(nlp.vocab).from_bytes(nlp.tokenizer.to_bytes())  # spaCy compiles the saved pattern
    assert loaded.suffix_search.__self__.pattern == nlp.tokenizer.suffix_search.__self__.pattern
    assert [t.text for t in loaded(text)] == [t.text for t in nlp.tokenizer(text)]
    assert nlp.tokenizer.explain("(5mm).") == [("PREFIX", "("), ("TOKEN", "5"), ("SUFFIX", "mm"), ("SUFFIX", ")"),
                                               ("SUFFIX", ".")]
