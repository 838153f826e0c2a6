"""Every construction the report parser must understand, checked end to end through ``parse_text``.

Each case gives the report text and the expected (scs, rfs, lfs) per level; levels not listed must be empty.
"""

import pytest

from reportparse import LEVELS, parse_text

N = None
ALL0 = (0, 0, 0)


def grades_of(text):
    result = parse_text(text)
    return {lvl: tuple(result.grades[lvl][loc] for loc in ("scs", "rfs", "lfs")) for lvl in LEVELS}


def check(text, expected, others=(N, N, N)):
    got = grades_of(text)
    want = {lvl: expected.get(lvl, others) for lvl in LEVELS}
    assert got == want, f"\n{text}\n got  {got}\n want {want}"


SEED = [
    # the seed's three example sentences (section 2), under a level heading
    ("L4-5: There is no significant central canal stenosis and mild right and moderate left foraminal narrowing.",
     {"L4-L5": (0, 1, 2)}),
    ("L4-5: Moderate right and mild left stenosis are present. No evidence of spinal canal narrowing is observed.",
     {"L4-L5": (0, 2, 1)}),
    ("L4-5: Severe canal stenosis and bilateral foraminal narrowing which is severe as well.", {"L4-L5": (3, 3, 3)}),
]


@pytest.mark.parametrize("text,expected", SEED)
def test_seed_examples(text, expected):
    check(text, expected)


@pytest.mark.parametrize("word,grade", [
    ("normal", 0), ("unremarkable", 0), ("patent", 0), ("minimal", 1), ("slight", 1), ("mild", 1),
    ("mild to moderate", 2), ("mild-moderate", 2), ("moderate", 2), ("moderate to severe", 3),
    ("moderate-severe", 3), ("moderately severe", 3), ("severe", 3), ("marked", 3), ("high-grade", 3),
    ("critical", 3),
])
def test_severity_words(word, grade):
    if grade == 0:
        check(f"L3-4: The spinal canal is {word}.", {"L3-L4": (0, N, N)})
    else:
        check(f"L3-4: There is {word} spinal canal stenosis.", {"L3-L4": (grade, N, N)})


@pytest.mark.parametrize("canal", ["central canal", "central spinal canal", "spinal canal", "canal", "central zone"])
def test_canal_synonyms(canal):
    check(f"L2-3: Moderate {canal} stenosis.", {"L2-L3": (2, N, N)})


@pytest.mark.parametrize("foramen", ["neural foraminal", "neuro-foraminal", "neuroforaminal", "foraminal"])
@pytest.mark.parametrize("stenosis", ["stenosis", "narrowing", "compromise", "encroachment"])
def test_foramen_and_stenosis_synonyms(foramen, stenosis):
    check(f"L5-S1: Severe left {foramen} {stenosis}.", {"L5-S1": (N, N, 3)})


@pytest.mark.parametrize("noun", ["neural foramen", "neuroforamen", "neuro-foramen", "foramen"])
def test_foramen_nouns(noun):
    check(f"L5-S1: Mild narrowing of the right {noun}.", {"L5-S1": (N, 1, N)})


@pytest.mark.parametrize("spelling,level", [
    ("L4-5", "L4-L5"), ("L4-L5", "L4-L5"), ("L4/5", "L4-L5"), ("L4/L5", "L4-L5"), ("L4–5", "L4-L5"),
    ("L4 - 5", "L4-L5"), ("L5-S1", "L5-S1"), ("L5/S1", "L5-S1"), ("T12-L1", "T12-L1"), ("T12/L1", "T12-L1"),
    ("L1-2", "L1-L2"), ("L2-L3", "L2-L3"),
])
def test_level_spellings(spelling, level):
    check(f"{spelling}: Mild spinal canal stenosis.", {level: (1, N, N)})
    check(f"There is mild spinal canal stenosis at the {spelling} level.", {level: (1, N, N)})
    check(f"Mild spinal canal stenosis involving the {spelling} disc.", {level: (1, N, N)})


def test_lumbosacral_junction():
    check("At the lumbosacral junction there is moderate right foraminal stenosis.", {"L5-S1": (N, 2, N)})


def test_heading_on_its_own_line_governs_following_sentences():
    text = "FINDINGS:\nL4-5:\nDisc bulge with facet arthropathy.\nModerate canal stenosis.\nL5-S1:\nMild left foraminal narrowing."
    check(text, {"L4-L5": (2, N, N), "L5-S1": (N, N, 1)})


def test_at_level_heading_governs_until_next_level():
    text = ("At L3-4, there is a disc bulge. This results in mild canal stenosis. "
            "At L4-5, there is moderate bilateral foraminal narrowing.")
    check(text, {"L3-L4": (1, N, N), "L4-L5": (N, 2, 2)})


def test_level_lists():
    check("Mild canal stenosis at L3-4 and L4-5.", {"L3-L4": (1, N, N), "L4-L5": (1, N, N)})
    check("L3-4, L4-5 and L5-S1 show mild bilateral foraminal narrowing.",
          {"L3-L4": (N, 1, 1), "L4-L5": (N, 1, 1), "L5-S1": (N, 1, 1)})


def test_level_ranges():
    check("T12-L1 through L2-L3: No canal or foraminal stenosis.",
          {"T12-L1": ALL0, "L1-L2": ALL0, "L2-L3": ALL0})
    check("L1-2 to L3-4 are unremarkable.", {"L1-L2": ALL0, "L2-L3": ALL0, "L3-L4": ALL0})


@pytest.mark.parametrize("sentence", [
    "The remaining levels are normal.", "The other levels are unremarkable.",
    "The remaining lumbar levels are within normal limits.", "No significant stenosis at the other levels.",
])
def test_remaining_levels(sentence):
    check(f"L4-5: Moderate canal stenosis. {sentence}",
          {"L4-L5": (2, N, N)}, others=ALL0)


def test_upper_lumbar_levels():
    check("L4-5: Moderate canal stenosis. The upper lumbar levels are normal.",
          {"L4-L5": (2, N, N), "T12-L1": ALL0, "L1-L2": ALL0, "L2-L3": ALL0})


@pytest.mark.parametrize("text", [
    "IMPRESSION: Normal MRI of the lumbar spine.",
    "No spinal canal or neural foraminal stenosis at any level.",
    "IMPRESSION: No significant spinal canal or foraminal stenosis in the lumbar spine.",
])
def test_whole_study_normal(text):
    check(text, {}, others=ALL0)


def test_whole_study_normal_yields_to_explicit_findings():
    text = "FINDINGS: L5-S1: Mild left foraminal narrowing.\nIMPRESSION: No significant stenosis."
    check(text, {"L5-S1": (0, 0, 1)}, others=ALL0)


@pytest.mark.parametrize("text,expected", [
    ("L4-5: Moderate bilateral foraminal stenosis.", (N, 2, 2)),
    ("L4-5: Moderate foraminal stenosis bilaterally.", (N, 2, 2)),
    ("L4-5: Moderate stenosis of both neural foramina.", (N, 2, 2)),
    ("L4-5: Moderate right and mild left foraminal narrowing.", (N, 2, 1)),
    ("L4-5: Severe on the left and moderate on the right foraminal narrowing.", (N, 2, 3)),
    ("L4-5: Bilateral foraminal narrowing, moderate on the right and mild on the left.", (N, 2, 1)),
    ("L4-5: Mild to moderate bilateral foraminal narrowing, right greater than left.", (N, 2, 1)),
    ("L4-5: Mild to moderate bilateral foraminal narrowing, left worse than right.", (N, 1, 2)),
    ("L4-5: Moderate bilateral foraminal narrowing, right greater than left.", (N, 2, 2)),
    ("L4-5: The left neural foramen is moderately narrowed.", (N, N, 2)),
    ("L4-5: The right neural foramen is severely narrowed and the left is patent.", (N, 3, 0)),
    ("L4-5: The neural foramina are patent.", (N, 0, 0)),
])
def test_laterality(text, expected):
    check(text, {"L4-L5": expected})


@pytest.mark.parametrize("text,expected", [
    ("L3-4: Foraminal narrowing is noted on the left.", (N, N, N)),
    ("L3-4: Disc bulge causing canal stenosis.", (N, N, N)),
])
def test_ungraded_stenosis_is_empty_and_flagged(text, expected):
    check(text, {"L3-L4": expected})
    result = parse_text(text)
    flags = [flag for loc in ("scs", "rfs", "lfs") for flag in result.flags["L3-L4"][loc]]
    assert "ungraded" in flags


@pytest.mark.parametrize("text,expected", [
    ("L3-4: The spinal canal is negative for stenosis.", (0, N, N)),
    ("L3-4: No evidence of neural foraminal narrowing.", (N, 0, 0)),
    ("L3-4: Disc bulge without spinal canal stenosis.", (0, N, N)),
    ("L3-4: The spinal canal is not significantly narrowed.", (0, N, N)),
    ("L3-4: There is no spinal canal stenosis or neural foraminal narrowing.", (0, 0, 0)),
    ("L3-4: No stenosis.", (0, 0, 0)),
    ("L3-4: No disc herniation, canal stenosis or foraminal narrowing.", (0, 0, 0)),
])
def test_negation(text, expected):
    check(text, {"L3-L4": expected})


def test_uncertain_keeps_grade_and_flags():
    result = parse_text("L3-4: Possible mild left foraminal narrowing.")
    assert result.grades["L3-L4"]["lfs"] == 1
    assert "uncertain" in result.flags["L3-L4"]["lfs"]


@pytest.mark.parametrize("text", [
    "L3-4: Mild disc space narrowing.",
    "L3-4: Moderate bilateral lateral recess stenosis.",
    "L3-4: Mild bilateral subarticular narrowing.",
    "L3-4: Moderate facet arthropathy. Mild disc bulge.",
    "L3-4: Severe disc height loss with Modic changes.",
    "L3-4: Mild left foraminal disc protrusion.",
    "CLINICAL HISTORY: Severe canal stenosis at L3-4 on outside report.\nFINDINGS: Disc desiccation.",
    "INDICATION: Evaluate for moderate foraminal stenosis at L3-4.",
    "L3-4: Prior CT demonstrated severe canal stenosis.",
])
def test_distractors_give_no_grade(text):
    check(text, {})


def test_findings_versus_impression_takes_higher_grade_and_flags_conflict():
    text = "FINDINGS:\nL4-5: Mild canal stenosis.\nIMPRESSION:\nModerate canal stenosis at L4-5."
    result = parse_text(text)
    assert result.grades["L4-L5"]["scs"] == 2
    assert "conflict" in result.flags["L4-L5"]["scs"]
    used = [e for e in result.evidence if e.level == "L4-L5" and e.location == "scs"]
    assert {e.section for e in used} == {"findings", "impression"}
    assert all("conflict" in e.flags for e in used)


def test_specific_statement_beats_generic_one():
    check("L5-S1: No significant stenosis. Mild left foraminal narrowing.", {"L5-S1": (0, 0, 1)})


def test_multiple_levels_in_one_sentence_go_to_their_own_level():
    check("There is mild canal stenosis at L3-4 and moderate canal stenosis at L4-5.",
          {"L3-L4": (1, N, N), "L4-L5": (2, N, N)})
    check("At L3-4 there is mild canal stenosis, and at L4-5 severe canal stenosis.",
          {"L3-L4": (1, N, N), "L4-L5": (3, N, N)})


def test_whole_level_normal_statements():
    check("L1-L2: Normal.\nL2-L3: Unremarkable.\nL3-4: No significant abnormality.",
          {"L1-L2": ALL0, "L2-L3": ALL0, "L3-L4": ALL0})


def test_evidence_offsets_point_into_the_original_text():
    text = "FINDINGS:\nL4-5: Moderate canal stenosis.\n"
    result = parse_text(text)
    (ev,) = [e for e in result.evidence if e.location == "scs"]
    assert text[ev.start:ev.end].strip() == ev.sentence == "L4-5: Moderate canal stenosis."
    assert text[ev.span_start:ev.span_end] == "Moderate canal stenosis"
    assert ev.section == "findings" and ev.used and ev.grade == 2


@pytest.mark.parametrize("text,expected", [
    ("L4-5: Foramina: mild left, none right.", (N, 0, 1)),
    ("L4-5: Foraminal stenosis: mild on the right, none on the left.", (N, 1, 0)),
    ("L4-5: The right foramen is mildly narrowed and the left is moderately narrowed.", (N, 1, 2)),
    ("L4-5: The left neural foramen is mildly narrowed; the right is normal.", (N, 0, 1)),
    ("L4-5: The left L4-5 exit foramen is mildly narrowed.", (N, N, 1)),
])
def test_side_lists_and_elliptical_sides(text, expected):
    check(text, {"L4-L5": expected})


def test_change_over_time_keeps_the_current_grade():
    check("L4-5: Canal stenosis has improved from severe to mild.", {"L4-L5": (1, N, N)})
    check("L4-5: Previously there was severe canal stenosis; there is now mild canal stenosis.",
          {"L4-L5": (1, N, N)})
    check("At L5-S1, the previously described mild right foraminal narrowing is no longer appreciated.",
          {"L5-S1": (N, 0, N)})


def test_levels_outside_the_table_take_their_statements():
    text = "L4-L5: Mild left foraminal narrowing.\nL5-L6: Moderate canal stenosis.\nL6-S1: No stenosis."
    check(text, {"L4-L5": (N, N, 1)})


def test_level_inside_the_phrase_and_except_clause():
    text = ("The neural foramina are not significantly narrowed at any level, except for mild right L5-S1 "
            "foraminal narrowing.")
    check(text, {"L5-S1": (N, 1, 0)}, others=(N, 0, 0))


def test_elliptical_severities_at_other_levels():
    check("There is mild spinal canal stenosis at L3-4, moderate at L4-5 and severe at L5-S1.",
          {"L3-L4": (1, N, N), "L4-L5": (2, N, N), "L5-S1": (3, N, N)})


def test_past_severity_is_ignored():
    check("L3-4: Moderate canal stenosis, previously mild.", {"L3-L4": (2, N, N)})


def test_stenosis_of_a_distractor_gives_no_grade():
    check("L4-5: Mild narrowing of the left lateral recess.", {})
    check("L4-5: Mild narrowing of the subarticular recesses and neural foramina bilaterally.", {"L4-L5": (N, 1, 1)})


def test_terse_abbreviations():
    check("L4-5: mod R, mild L NF narrowing; severe CCS", {"L4-L5": (3, 2, 1)})


def test_numbered_impression_items():
    text = "IMPRESSION:\n1) T12-L1: Normal.\n2) L1-L2: Neg.\n3. All levels from L2/3 through L5/S1 are unremarkable."
    check(text, {}, others=ALL0)


def test_two_clauses_with_their_own_subjects():
    check("L3/4: The right neural foramen is mildly narrowed and the left neural foramen is moderately narrowed.",
          {"L3-L4": (N, 1, 2)})


def test_side_comparator_before_the_full_stop():
    check("L4-5: Mild to moderate bilateral foraminal narrowing, R>L.", {"L4-L5": (N, 2, 1)})


def test_remaining_statement_about_one_location_fills_that_location():
    text = ("Foramina: Moderate bilateral foraminal narrowing at L5-S1. Mild left foraminal narrowing is present at "
            "L4-5. All other foramina are patent.")
    check(text, {"L5-S1": (N, 2, 2), "L4-L5": (N, 0, 1)}, others=(N, 0, 0))


def test_no_other_stenosis_covers_the_levels_not_named():
    check("Moderate canal stenosis at L4-5. No other significant stenosis.", {"L4-L5": (2, N, N)}, others=ALL0)


def test_coordination_across_weak_words_and_distractors():
    check("L4-5: Moderate central and bilateral foraminal stenosis.", {"L4-L5": (2, 2, 2)})
    check("L4-5: Moderate right subarticular and foraminal stenosis.", {"L4-L5": (N, 2, N)})


def test_side_headings_after_a_foramen_heading():
    check("L4-5: Neural foraminal stenosis: Right: mild. Left: moderate.", {"L4-L5": (N, 1, 2)})


def test_negated_root_impingement_says_nothing_about_the_canal():
    check("L4-5: Mild bilateral neural foraminal narrowing without nerve root impingement.", {"L4-L5": (N, 1, 1)})


def test_except_clause():
    # in a radiology report the exception statement covers T12-L1 too (in a clinical note it does not: D13)
    check("FINDINGS: The foramina are patent except at L5-S1 where there is mild bilateral narrowing.",
          {"L5-S1": (N, 1, 1)}, others=(N, 0, 0))
    check("There is moderate narrowing of the right L5-S1 neural foramen.", {"L5-S1": (N, 2, N)})
    check("Severe multifactorial spinal stenosis at L4-5.", {"L4-L5": (3, N, N)})


@pytest.mark.parametrize("text", [
    "L2-3 is unremarkable on the sagittal images.",
    "L2-3 appears normal on the axial sequences and is unchanged from the previous exam.",
    "L2-3 is normal, stable since the prior MRI.",
    "L2-3 is within normal limits for age.",
])
def test_a_whole_level_normal_statement_may_carry_imaging_and_comparison_qualifiers(text):
    check(text, {"L2-L3": ALL0})


@pytest.mark.parametrize("text,expected", [
    ("L2-3 is normal on the sagittal images except for mild left foraminal narrowing.", {"L2-L3": (N, N, 1)}),
    ("L2-3 is unchanged from the prior exam.", {}),
    ("L2-3 is stable with moderate canal stenosis.", {"L2-L3": (2, N, N)}),
])
def test_qualifiers_do_not_turn_a_finding_into_a_normal_level(text, expected):
    check(text, expected)


@pytest.mark.parametrize("text,expected", [
    ("Moderate stenosis is seen at both L3-4 and L4-5.", {"L3-L4": (2, N, N), "L4-L5": (2, N, N)}),
    ("There is mild stenosis at both the L4-5 and L5-S1 levels.", {"L4-L5": (1, N, N), "L5-S1": (1, N, N)}),
    ("Severe stenosis at both levels, L2-3 and L3-4.", {"L2-L3": (3, N, N), "L3-L4": (3, N, N)}),
    ("Moderate foraminal narrowing at both L4-5 and L5-S1.", {"L4-L5": (N, 2, 2), "L5-S1": (N, 2, 2)}),
    ("L4-5: both foramina are mildly narrowed.", {"L4-L5": (N, 1, 1)}),
    ("L4-5: mild foraminal narrowing on both sides.", {"L4-L5": (N, 1, 1)}),
])
def test_both_counting_levels_is_no_side(text, expected):
    check(text, expected)


@pytest.mark.parametrize("text,expected,others", [
    ("L3-4 is normal except for mild right foraminal narrowing.", {"L3-L4": (N, 1, N)}, (N, N, N)),
    ("L3-4: unremarkable apart from moderate canal stenosis.", {"L3-L4": (2, N, N)}, (N, N, N)),
    # a radiology report's: T12-L1 too (D13)
    ("FINDINGS: No canal stenosis other than a mild narrowing at L2-3.", {"L2-L3": (1, N, N)}, (0, N, N)),
])
def test_the_exception_after_except_belongs_to_the_level_before_it_not_to_the_rest(text, expected, others):
    check(text, expected, others)


@pytest.mark.parametrize("text,expected", [
    ("Adjacent segment degeneration at L2-3 with severe canal stenosis above his earlier L3-4 fusion.",
     {"L2-L3": (3, N, N)}),
    ("Mild canal narrowing at L3-4 and moderate left foraminal narrowing, below the previous L2-3 laminectomy.",
     {"L3-L4": (1, N, 2)}),
    # the operated level is the only level named: the finding stays there
    ("Status post L4-5 laminectomy with mild residual canal stenosis.", {"L4-L5": (1, N, N)}),
    ("Moderate canal stenosis at L4-5 and L5-S1, with fusion hardware at L5-S1.", {"L4-L5": (2, N, N),
                                                                                   "L5-S1": (2, N, N)}),
])
def test_a_level_naming_an_operation_yields_to_the_level_of_the_finding(text, expected):
    check(text, expected)


@pytest.mark.parametrize("text,expected", [
    ("The disc bulge is most prominent at L3-4, where there is moderate canal stenosis, and smaller at L4-5.",
     {"L3-L4": (2, N, N)}),
    ("Surgery targets L2-3 where the canal is severely narrowed, not all lumbar levels.", {"L2-L3": (3, N, N)}),
    ("Facet arthropathy is worst at L5-S1, where mild bilateral foraminal narrowing results.",
     {"L5-S1": (N, 1, 1)}),
])
def test_a_where_clause_belongs_to_the_level_it_follows(text, expected):
    check(text, expected)


@pytest.mark.parametrize("text,expected", [
    ("Moderate bilateral foraminal narrowing at multiple levels from L2-3 to L4-5.",
     {"L2-L3": (N, 2, 2), "L3-L4": (N, 2, 2), "L4-L5": (N, 2, 2)}),
    ("Mild canal stenosis at several levels: L1-2 and L3-4.", {"L1-L2": (1, N, N), "L3-L4": (1, N, N)}),
    # no level named right after it: the finding stays unplaced
    ("Mild canal stenosis at several levels, most marked where the disc bulges at L3-4.", {}),
])
def test_an_unspecified_level_count_followed_by_its_levels_names_them(text, expected):
    check(text, expected)


def test_the_remainder_of_the_canal_is_a_left_over_statement_of_the_canal():
    check("L2-3: moderate canal stenosis. The remainder of the spinal canal is capacious.",
          {"L2-L3": (2, N, N)}, others=(0, N, N))
    check("L5-S1: severe right foraminal stenosis. The rest of the foramina are patent.",
          {"L5-S1": (N, 3, 0)}, others=(N, 0, 0))


@pytest.mark.parametrize("text, expected", [
    # plain words only (no concept): a whole-study statement needs a study word
    ("The MRI came back negative, but the patient continued to have symptoms.", {lvl: ALL0 for lvl in LEVELS[1:]}),
    ("The scan came back negative, but he continued to have symptoms.", {lvl: ALL0 for lvl in LEVELS[1:]}),
    ("Came back negative, but he continued to have symptoms.", {}),
])
def test_sentences_of_plain_words(text, expected):
    check(text, expected)
