"""The spelling-tolerant lexicon: level spellings of real dictation, vertebral ranges, other spine regions and
bounded typo matching of key words (with the words it must not touch)."""

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reportparse import parse_text
from reportparse.lexicon import _ORDINALS, disc_levels, osa_distance
from reportparse.pipeline import default_pipeline


def graded(text: str) -> dict[str, dict[str, int | None]]:
    """The levels of ``text`` with at least one grade."""
    grades = parse_text(text).grades
    return {lvl: slots for lvl, slots in grades.items() if any(v is not None for v in slots.values())}


@pytest.mark.parametrize("text, level", [
    ("L3L4: moderate central canal stenosis.", "L3-L4"),
    ("At L4 L5 the thecal sac is moderately narrowed.", "L4-L5"),
    ("L-1 to L-2: moderate central canal stenosis.", "L1-L2"),
    ("L-2-L-3: moderate central canal stenosis.", "L2-L3"),
    ("L5-SI: moderate central canal stenosis.", "L5-S1"),
    ("At L5/Sl there is moderate canal stenosis.", "L5-S1"),
    ("T-12 to L1: moderate canal stenosis.", "T12-L1"),
    ("L1/2: moderate central canal stenosis.", "L1-L2"),
    ("L5-S 1 level: moderate central canal stenosis.", "L5-S1"),
    ("At L2 through L3, moderate spinal canal narrowing.", "L2-L3"),
    ("There is moderate central canal stenosis at L2 3.", "L2-L3"),
    ("Moderate canal stenosis l4 5, per the outside read.", "L4-L5"),
    ("L5 1: moderate central canal stenosis.", "L5-S1"),
    ("T-12toL1: moderate spinal canal narrowing.", "T12-L1"),
    ("L3thruL4 moderate central canal stenosis.", "L3-L4"),
])
def test_level_spellings(text: str, level: str) -> None:
    assert graded(text) == {level: {"scs": 2, "rfs": None, "lfs": None}}


@pytest.mark.parametrize("text", [
    "At L4 5 mm of disc material with moderate central canal stenosis.",
    "A cyst beside L2 3.5 cm across; moderate central canal stenosis.",
    "Marrow edema in L3 4 x 6 mm; moderate central canal stenosis.",
    "Hemangiomas in L2 4 and L5; moderate central canal stenosis.",
])
def test_a_vertebra_and_a_bare_number_is_no_level_unless_it_is_the_next_one(text: str) -> None:
    assert graded(text) == {}


def test_listhesis_of_one_vertebra_on_the_next_names_the_disc_between() -> None:
    text = "Grade 1 anterolisthesis of L4 on L5 with severe narrowing of the left neural foramen."
    assert graded(text) == {"L4-L5": {"scs": None, "rfs": None, "lfs": 3}}


def test_a_lone_vertebra_with_a_listhesis_word_names_the_disc_below() -> None:
    text = "Grade 2 L4 anterior spondylolisthesis without significant canal stenosis."
    assert graded(text) == {"L4-L5": {"scs": 0, "rfs": None, "lfs": None}}


def test_level_glued_to_the_previous_sentence_starts_a_new_heading() -> None:
    text = "L1L2: no canal narrowing.L2L3 Disc bulge with mild left neural foraminal narrowing."
    assert graded(text) == {"L1-L2": {"scs": 0, "rfs": None, "lfs": None},
                            "L2-L3": {"scs": None, "rfs": None, "lfs": 1}}


def test_vertebral_range_names_every_disc_in_it_and_keeps_them_from_the_remaining_statement() -> None:
    text = ("Degenerative disc change from L2-L4 with mild spinal canal narrowing at L2-L4. "
            "Remaining lumbar levels are unremarkable.")
    out = graded(text)
    assert out["L2-L3"]["scs"] == 1 and out["L3-L4"]["scs"] == 1
    assert out["L2-L3"]["rfs"] is None and out["L3-L4"]["lfs"] is None  # discussed levels keep their open slots
    assert out["L4-L5"] == {"scs": 0, "rfs": 0, "lfs": 0}


@pytest.mark.parametrize("first, last, levels", [
    ("L4", "L5", ("L4-L5",)),
    ("L3", "L5", ("L3-L4", "L4-L5")),
    ("T11", "L2", ("T12-L1", "L1-L2")),
    ("L5", "S1", ("L5-S1",)),
    ("C5", "C6", ()),
    ("L5", "L4", None),
])
def test_disc_levels(first: str, last: str, levels: tuple[str, ...] | None) -> None:
    assert disc_levels(first, last) == levels


def test_cervical_and_thoracic_levels_grade_no_lumbar_slot() -> None:
    text = ("C5-6: moderate canal stenosis and severe right foraminal narrowing.\n"
            "C6-C7: no significant canal or foraminal stenosis at this level.\n"
            "T8-T9: mild canal narrowing. T11-12: unremarkable.")
    assert graded(text) == {}


def test_six_lumbar_vertebrae_levels_stay_outside_the_table() -> None:
    assert graded("L5-L6: severe spinal canal stenosis. L6-S1: unremarkable.") == {}


@pytest.mark.parametrize("typo, word", [
    ("foraminl", "foraminal"), ("foramial", "foraminal"), ("nueral", "neural"), ("stenoisis", "stenosis"),
    ("stneosis", None), ("bilaterral", "bilateral"), ("biltaral", "bilateral"), ("moderatley", "moderately"),
    ("sever", "severe"), ("servere", "severe"), ("lumbal", "lumbar"), ("cannal", "canal"),
])
def test_typo_corrections(typo: str, word: str | None) -> None:
    """A word the literal lexicon already spells ("stneosis") needs no correction."""
    lexicon = default_pipeline().get_pipe("reportparse_lexicon")
    assert lexicon.correction(typo) == word


@pytest.mark.parametrize("word", [
    "lateral", "neutral", "several", "spinal", "central", "patient", "moderation", "levels", "narrower",
    "bilaterality", "unilateral", "severity", "lumber", "stenting",
])
def test_real_words_are_never_corrected(word: str) -> None:
    lexicon = default_pipeline().get_pipe("reportparse_lexicon")
    assert lexicon.correction(word) is None


def test_far_lateral_is_not_bilateral() -> None:
    text = "L4-5: moderate far lateral disc protrusion with moderate left foraminal stenosis."
    assert graded(text) == {"L4-L5": {"scs": None, "rfs": None, "lfs": 2}}


def test_misspelt_key_words_grade_like_the_words_they_misspell() -> None:
    text = ("L3-4: severe nueral foraminl narrowing on the left; the right foramen is mildy narrowed.\n"
            "L4-5: moderatley severe spinal cannal stenoisis with bilaterral foraminal narrowing, sever in degree.\n"
            "The upper lumbal levels are unremarkable.")
    out = graded(text)
    assert out["L3-L4"] == {"scs": None, "rfs": 1, "lfs": 3}
    assert out["L4-L5"] == {"scs": 3, "rfs": 3, "lfs": 3}
    assert out["L1-L2"] == {"scs": 0, "rfs": 0, "lfs": 0}


def test_osa_distance_counts_a_transposition_as_one_edit() -> None:
    assert osa_distance("nueral", "neural", 1) == 1
    assert osa_distance("lateral", "bilateral", 2) == 2
    assert osa_distance("abc", "xyzabc", 1) == 2  # capped at limit + 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_typo_is_corrected_to_the_nearest_key_word(data) -> None:
    """A typo (here up to three edits of a key word after its first letter) is corrected to the first key word, in
    the grammar's order, at the least distance within its limit: the letter bound of ``Lexicon._closest`` skips the
    distance of no key word within reach."""
    lexicon = default_pipeline().get_pipe("reportparse_lexicon")
    grammar = lexicon.grammar
    word = data.draw(st.sampled_from(grammar.typo_targets))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(1, len(word) - 1))
        letter = data.draw(st.sampled_from("abcdeilnorstuyz"))
        word = data.draw(st.sampled_from([word[:i] + letter + word[i:], word[:i] + word[i + 1:],
                                          word[:i] + letter + word[i + 1:], word[:i] + word[i + 1:i + 2] + word[i]
                                          + word[i + 2:]]))
    if len(word) < grammar.typo_min_length or word in lexicon.known:
        return
    within = [(osa_distance(word, key, limit), key) for key in grammar.typo_targets if key[0] == word[0]
              for limit in [1 if len(key) <= 7 else 2] if osa_distance(word, key, limit) <= limit]
    nearest = min((d for d, _ in within), default=None)
    assert lexicon._closest(word) == next((key for d, key in within if d == nearest), None)


@pytest.mark.parametrize("text, level", [
    ("Between the fourth and fifth lumbar vertebrae the canal is moderately narrowed.", "L4-L5"),
    ("At the 2nd and 3rd lumbar levels the central canal is moderately narrowed.", "L2-L3"),
])
def test_ordinal_lumbar_vertebrae_name_the_disc_between(text, level):
    assert graded(text) == {level: {"scs": 2, "rfs": None, "lfs": None}}


def test_biforaminal_means_both_foramina():
    assert graded("L3/4: facet overgrowth resulting in mild biforaminal stenosis.") == {
        "L3-L4": {"scs": None, "rfs": 1, "lfs": 1}}


@pytest.mark.parametrize("text, expected", [
    ("L2-3: no canal stenosis. The foramina are patient.", {"scs": 0, "rfs": 0, "lfs": 0}),
    ("L2-3: the canal is patient and the left foramen is mildly narrowed.", {"scs": 0, "rfs": None, "lfs": 1}),
    ("L2-3: the neural foramina remain widely patient.", {"scs": None, "rfs": 0, "lfs": 0}),
])
def test_a_misheard_patient_after_a_verb_is_patent(text, expected) -> None:
    assert graded(text) == {"L2-L3": expected}


def test_the_patient_as_a_person_is_no_grade() -> None:
    text = "The patient is seen for leg pain; the patient reports numbness. L2-3: moderate canal stenosis."
    assert graded(text) == {"L2-L3": {"scs": 2, "rfs": None, "lfs": None}}


@pytest.mark.parametrize("text, expected", [
    ("L4-5: B/L moderate NF stenosis, R>L.", {"scs": None, "rfs": 2, "lfs": 2}),
    ("L4-5: mild-mod b/l foraminal stenosis.", {"scs": None, "rfs": 2, "lfs": 2}),
    ("L4-5: min L NF narrowing.", {"scs": None, "rfs": None, "lfs": 1}),
])
def test_clinic_shorthand_for_both_sides_and_minimal(text, expected) -> None:
    assert graded(text) == {"L4-L5": expected}


# -- the guards of the rare level spellings ----------------------------------------------------------------------
_FRAGMENTS = ["L", "l", "S", "s", "T", "LS", "Ls", "lS", "SI", "Sl", "1", "2", "3", "4", "5", "45", "34", "12", "-", "/",
              "\\", "_", "\u2013", " ", "  ", "\n", "at ", "AT ", "the ", "level", " levels", "disc", "One", "two",
              "FOUR", "five", "Five", "six", "twelve", "to", "and", "&", "Fourth", "5th", "FIFTH", "1st", "lumbar",
              "LUMBAR", "x", ".", ","]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map("".join))
@example("at L12, l23 and L45")
@example("LS-S1")
@example("ls \\ Sl")
@example("Ls\u2013SI")
@example("the four five level")
@example("at the One-two")
@example("TWELVE one disc")
@example("FIRST and second lumbar")
@example("4th & 5th LUMBAR")
def test_no_rare_spelling_escapes_its_guard(text):
    """Each match of a guarded pattern (see ``Lexicon.guards``) holds a match of its guard in the lower-cased text,
    and an ordinal pair is found only where an ordinal is in it: the guards skip nothing the patterns would find."""
    lexicon = default_pipeline().get_pipe("reportparse_lexicon")
    lower = text.lower()
    for pattern, guard in lexicon.guards.items():
        for match in pattern.finditer(text):  # (each match holds a match of its guard)
            assert guard.search(lower, match.start(), match.end()), (pattern.pattern[:40], match.group())
    if lexicon.ordinals.search(text):
        assert any(o in text.lower() for o in _ORDINALS)


def test_guarded_spellings_are_still_found():
    """A guard lets its spelling through, and text that is not ASCII is scanned without the guards."""
    for text, level in [("Moderate canal stenosis at L34.", "L3-L4"),
                        ("LS/SI: severe left foraminal stenosis.", "L5-S1"),
                        ("At the four five level the canal is severely narrowed.", "L4-L5"),
                        ("Between the FOURTH and FIFTH lumbar vertebrae the canal is severely narrowed.", "L4-L5"),
                        ("Na\u00efve read: moderate canal stenosis at L34.", "L3-L4")]:
        assert level in graded(text), text
    lexicon = default_pipeline().get_pipe("reportparse_lexicon")
    text = "Canal stenosis at L4-5 and L5-S1."
    assert list(lexicon._finditer(lexicon.compact, text, text.lower())) == []  # no "l45": not scanned
    odd = "L34 \u017f"  # not ASCII: scanned whatever the lower-cased text holds
    assert [m.group() for m in lexicon._finditer(lexicon.compact, odd, None)] == ["L34"]


def test_word_memos_are_bounded_and_keep_correcting(monkeypatch):
    """The typo memo and the set of words that keep their norm are emptied past ``lexicon.WORDS_KEPT`` words; a
    typo met after that is corrected all the same."""
    from reportparse import lexicon as lexicon_module
    from reportparse.pipeline import build_pipeline

    monkeypatch.setattr(lexicon_module, "WORDS_KEPT", 4)
    nlp = build_pipeline()
    lexicon = nlp.get_pipe("reportparse_lexicon")
    for text in ("Accession 1234 Ref Dr Lee", "MRN 5678 Ref Dr Kim", "L4-5: moderate foraminl stenosis."):
        doc = nlp(text)
        assert len(lexicon._plain) <= 4 + len(doc) and len(lexicon._fixes) <= 4 + len(doc)
    assert [t.norm_ for t in doc if t.text == "foraminl"] == ["foraminal"]
    assert graded("L4-5: moderate foraminl stenosis.") == {"L4-L5": {"scs": None, "rfs": 2, "lfs": 2}}


@pytest.mark.parametrize("name, letters, before, tail", [("pair", "Th|D|[CTLS]", "[A-Za-z0-9]", "4-5"),
                                                         ("spoken_lettered", "[CTLS]", "[A-Za-z0-9']", " five six")])
def test_spelt_out_openings_match_as_ignorecase_would(name, letters, before, tail):
    """The pair and lettered spoken patterns spell their opening letters and word-start test out case-sensitively
    for a fast scan (see ``Lexicon.__init__``): for every character, they open with it, and after it, just where
    the case-insensitive forms would (every character that IGNORECASE folds onto an ASCII letter is in the BMP)."""
    pattern = getattr(default_pipeline().get_pipe("reportparse_lexicon"), name)
    for char in map(chr, range(0x10000)):
        for opening in (char, char + "h"):
            assert bool(pattern.match(opening + tail)) == bool(re.fullmatch(letters, opening, re.IGNORECASE)), opening
        after = pattern.search(char + "L" + tail)
        assert (after is not None and after.start() == 1) == (re.fullmatch(before, char, re.IGNORECASE) is None), char
