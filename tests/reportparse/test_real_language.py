"""Constructions of real radiology reports and clinical notes (issue 10), each in sentences written for this test:
whole-study statements in prose and the levels they cover, regional scope words, other spine regions, prior
studies, post-posed and split severities, clause attribution and statements no level holds."""

import pytest

from reportparse import parse_text

N = None
LUMBAR = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
ALL = ("T12-L1",) + LUMBAR


def grades(text: str) -> dict[str, tuple[int | None, int | None, int | None]]:
    result = parse_text(text).grades
    return {lvl: (s["scs"], s["rfs"], s["lfs"]) for lvl, s in result.items()}


def normal_at(levels: tuple[str, ...]) -> dict[str, tuple]:
    return {lvl: (0, 0, 0) if lvl in levels else (N, N, N) for lvl in ALL}


# -- whole-study statements ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "The MR study of her low back came back negative.",
    "Lumbar MRI done in March was read as unremarkable by the radiologist.",
    "He brought an MRI of the L-spine, which is essentially normal.",
    "L-spine MRI: negative.",
])
def test_a_note_saying_the_lumbar_study_was_normal_covers_l1_to_s1(text):
    assert grades(text) == normal_at(LUMBAR)


@pytest.mark.parametrize("text", [
    "MRIs of the thoracic and lumbar spine demonstrated nothing of significance.",
    "Imaging of the entire spine has been unremarkable.",
    "MRI of the thoracolumbar spine: normal.",
])
def test_a_study_reaching_the_thoracic_spine_also_covers_t12_l1(text):
    assert grades(text) == normal_at(ALL)


def test_a_radiology_report_covers_t12_l1():
    text = ("EXAM: MRI lumbar spine without contrast.\nFINDINGS: Alignment and marrow signal are normal. "
            "The conus ends at L1.\nIMPRESSION: Unremarkable examination.")
    assert grades(text) == normal_at(ALL)


@pytest.mark.parametrize("text", [
    "MRI of the cervical spine was normal.",
    "A brain MRI last year was unremarkable.",
    "MRIs of the lumbar spine and both hips were negative for infection.",
    "The MRI was unremarkable except for a small renal cyst.",
    "Lumbar radiograph series: negative.",
    "MRI of the lumbar spine showed no disc herniation.",
    "Prior MRI was normal.",
])
def test_statements_that_are_no_lumbar_whole_study_statement(text):
    assert grades(text) == normal_at(())


def test_otherwise_the_exam_is_unremarkable_fills_only_the_levels_not_discussed():
    text = "L3-4: severe central canal narrowing.\n\nOtherwise the study is unremarkable."
    out = grades(text)
    assert out["L3-L4"] == (3, N, N)
    assert all(out[lvl] == (0, 0, 0) for lvl in ALL if lvl != "L3-L4")


def test_explicit_findings_beat_a_normal_study_statement():
    text = "Lumbar MRI reviewed. It was otherwise normal. At L5-S1, mild bilateral foraminal narrowing."
    assert grades(text)["L5-S1"] == (N, 1, 1)


# -- regional scope words -------------------------------------------------------------------------------------
def test_lower_lumbar_segments_and_misspelt_upper_levels():
    text = ("The upper lumbal disc levels are unremarkable. Lower lumbar segments show mild narrowing of both "
            "neural foramina.")
    out = grades(text)
    assert out["T12-L1"] == out["L1-L2"] == out["L2-L3"] == (0, 0, 0)
    assert out["L3-L4"] == out["L4-L5"] == out["L5-S1"] == (N, 1, 1)


def test_remaining_lumbar_discs():
    out = grades("L4-L5: moderate central stenosis. The remaining lumbar discs are normal.")
    assert out["L4-L5"] == (2, N, N) and out["L2-L3"] == (0, 0, 0)


# -- statements no level holds --------------------------------------------------------------------------------
def test_a_positive_finding_in_the_lumbar_spine_is_not_spread_over_every_level():
    assert grades("An MRI showed very tight stenosis in the lumbar spine.") == normal_at(())


def test_an_unplaced_finding_keeps_left_over_statements_off_its_slot():
    result = parse_text("Moderate left neural foraminal stenosis is noted. The remaining levels are unremarkable.")
    for level in ALL:
        assert result.grades[level] == {"scs": 0, "rfs": 0, "lfs": N}
        assert result.flags[level]["lfs"] == ("unplaced",)


# -- other spine regions --------------------------------------------------------------------------------------
def test_a_thoracic_paragraph_grades_no_lumbar_slot_and_not_t12_l1():
    text = ("THORACIC SPINE:\nSmall disc bulges at T7-8 and T9-10. No canal or foraminal narrowing.\n\n"
            "LUMBAR SPINE:\nL4-5: moderate canal stenosis. L5-S1: normal.")
    out = grades(text)
    assert out["L4-L5"] == (2, N, N) and out["L5-S1"] == (0, 0, 0)
    assert out["T12-L1"] == out["L1-L2"] == out["L3-L4"] == (N, N, N)


def test_a_sentence_about_the_cervical_spine_grades_nothing():
    text = "In the cervical spine there is no canal stenosis. L2-3: mild canal stenosis."
    assert grades(text) == {**normal_at(()), "L2-L3": (1, N, N)}


def test_a_thoracic_sentence_naming_t12_l1_grades_it():
    assert grades("Thoracic spine: at T12-L1 the canal is mildly narrowed.")["T12-L1"] == (1, N, N)


# -- history and prior studies --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "An outside MRI from 2018 reportedly showed severe stenosis at L4-5.",
    "Previous lumbar MRI in 2019 demonstrated moderate right foraminal stenosis at L5-S1.",
    "HISTORY: known moderate canal stenosis at L3-4.",
])
def test_prior_studies_and_history_grade_nothing(text):
    assert grades(text) == normal_at(())


def test_a_comparison_that_describes_the_present_grades():
    text = "Compared with the prior study, the L4-5 canal stenosis has progressed and is now severe."
    assert grades(text)["L4-L5"] == (3, N, N)


# -- severities after the noun, split severities, clause attribution ------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("At L2-3 the neural foramina are narrowed bilaterally, mild in degree.", (N, 1, 1)),
    ("L4-5: foraminal narrowing is present on both sides, moderate in degree.", (N, 2, 2)),
    ("L4-5: mild foraminal narrowing, worse on the right.", (N, 1, 1)),
    ("At L4-5 there is severe right and mild-to-moderate left neural foraminal stenosis.", (N, 3, 2)),
    ("L4-5: there is severe left and mild to moderate right foraminal narrowing noted.", (N, 2, 3)),
    ("L4-5: the right foramen is patent and the spinal canal is moderately narrowed.", (2, 0, N)),
    ("L4-5: the left neural foramen is widely patent, and the thecal sac is severely narrowed.", (3, N, 0)),
    ("L4-5: a small bulge to the left, and the right neural foramen appears widely patent.", (N, 0, N)),
])
def test_severity_placement(text, expected):
    assert grades(text)["L4-L5" if "L4-5" in text else "L2-L3"] == expected


# -- direction words ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, levels", [
    ("L4-5: moderate canal stenosis. The levels above L3-4 are unremarkable.", ("T12-L1", "L1-L2", "L2-L3")),
    ("L1-2 and above: normal.", ("T12-L1", "L1-L2")),
    ("L4-L5 and below: no significant stenosis.", ("L4-L5", "L5-S1")),
    ("No stenosis at the levels below L3-4.", ("L4-L5", "L5-S1")),
])
def test_levels_above_and_below_a_named_level(text, levels):
    out = grades(text)
    assert all(out[lvl] == (0, 0, 0) for lvl in levels)
    assert all(out[lvl] in ((N, N, N), (2, N, N)) for lvl in ALL if lvl not in levels)


@pytest.mark.parametrize("text, expected", [
    ("At L3-4, bilateral foraminal narrowing can be seen, mild in degree.", (N, 1, 1)),
    ("L3-4: mild narrowing of the left foramen is present.", (N, N, 1)),
    ("At L3-4 no significant abnormalities are seen.", (0, 0, 0)),
    ("At the L3-4 level, there are no significant degenerative changes.", (0, 0, 0)),
    ("L3-4: small central protrusion with mild effacement of the ventral thecal sac.", (N, N, N)),
])
def test_more_report_phrasings(text, expected):
    assert grades(text)["L3-L4"] == expected
