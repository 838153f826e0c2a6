"""Loading, validating and round-tripping rules folders (``reportparse.rules``), and ``--rules`` end to end.

Every malformed folder is a copy of the shipped rules with one entry edited, so each test checks that the
validator catches exactly that edit and that its message names the file, the entry and the bad key or value.
Entries are found by their content (not a fixed index), so the tests survive edits to the shipped rules.
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from reportparse import LEVELS, ReportParseError, RuleSet, build_pipeline, load_rules, parse_text
from reportparse.rules import RULE_FILES, default_rules_dir

TEXT = "L4-5: Moderate canal stenosis."


# --------------------------------------------------------------------------------------------------- helpers


def copy_rules(tmp_path: Path, name: str = "rules") -> Path:
    folder = tmp_path / name
    shutil.copytree(default_rules_dir(), folder)
    return folder


def read(folder: Path, file: str):
    return json.loads((folder / file).read_text(encoding="utf-8"))


def write(folder: Path, file: str, data) -> None:
    (folder / file).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def find(entries: list, **match) -> int:
    """Index of the first entry whose keys equal ``match`` (``metadata__grade=1`` looks into metadata)."""
    for i, entry in enumerate(entries):
        ok = True
        for key, want in match.items():
            if "__" in key:
                outer, inner = key.split("__")
                ok = ok and isinstance(entry.get(outer), dict) and entry[outer].get(inner) == want
            else:
                ok = ok and entry.get(key) == want
        if ok:
            return i
    raise AssertionError(f"no entry matches {match}")


def load_error(folder: Path) -> str:
    with pytest.raises(ReportParseError) as info:
        load_rules(folder)
    return str(info.value)


def assert_names(message: str, code: str, path: Path, *parts: str) -> None:
    """The message starts with the code, names the file and contains every part."""
    assert message.startswith(f"[{code}] "), message
    assert str(path) in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def grades_at(nlp, text: str, level: str = "L4-L5") -> tuple:
    result = parse_text(text, nlp)
    return tuple(result.grades[level][loc] for loc in ("scs", "rfs", "lfs"))


# ------------------------------------------------------------------------------------------ shipped rules


def test_load_shipped_rules():
    rules = load_rules()
    assert isinstance(rules, RuleSet)
    assert rules.concepts and rules.context and rules.sections
    assert Path(rules.source) == default_rules_dir()
    categories = {rule.category for rule in rules.concepts}
    assert {"LEVEL", "SEVERITY", "LOCATION", "STENOSIS"} <= categories
    levels = {rule.metadata["level"] for rule in rules.concepts if rule.category == "LEVEL"}
    assert levels == set(LEVELS) | {"other"}  # "other": levels outside the table (L5-L6)
    assert rules.grammar.generic_graded_location in ("canal", "foramen")
    assert "." in rules.grammar.terminal_punct
    assert set(rules.raw) == set(RULE_FILES)


def test_load_rules_none_equals_default_folder():
    a, b = load_rules(), load_rules(default_rules_dir())
    assert (len(a.concepts), len(a.context), len(a.sections)) == (len(b.concepts), len(b.context), len(b.sections))
    assert a.raw == b.raw


def test_to_disk_round_trip(tmp_path):
    shipped = load_rules()
    out = tmp_path / "exported" / "rules"  # to_disk creates missing parents
    shipped.to_disk(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(RULE_FILES)
    again = load_rules(out)
    assert len(again.concepts) == len(shipped.concepts)
    assert len(again.context) == len(shipped.context)
    assert len(again.sections) == len(shipped.sections)
    assert [(r.literal, r.category) for r in again.concepts] == [(r.literal, r.category) for r in shipped.concepts]
    assert again.grammar == shipped.grammar
    assert again.raw == shipped.raw
    assert Path(again.source) == out
    nlp = build_pipeline(out)
    result = parse_text(TEXT, nlp)
    assert result.grades["L4-L5"]["scs"] == 2
    assert all(result.grades[lvl]["scs"] is None for lvl in LEVELS if lvl != "L4-L5")


def test_to_disk_twice_is_stable(tmp_path):
    load_rules().to_disk(tmp_path / "a")
    load_rules(tmp_path / "a").to_disk(tmp_path / "b")
    for name in RULE_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# ----------------------------------------------------------------------------------- missing / broken files


def test_missing_folder_E001(tmp_path):
    folder = tmp_path / "no-such-rules"
    message = load_error(folder)
    assert_names(message, "E001", folder, "concepts.json")


def test_folder_is_a_file_E001(tmp_path):
    file = tmp_path / "rules.json"
    file.write_text("{}")
    assert_names(load_error(file), "E001", file)


@pytest.mark.parametrize("name", RULE_FILES)
def test_missing_file_E002(tmp_path, name):
    folder = copy_rules(tmp_path)
    (folder / name).unlink()
    message = load_error(folder)
    assert_names(message, "E002", folder / name)


@pytest.mark.parametrize("name", ["concepts.json", "grammar.json"])
def test_invalid_json_E003(tmp_path, name):
    folder = copy_rules(tmp_path)
    text = (folder / name).read_text(encoding="utf-8")
    (folder / name).write_text(text.rstrip().rstrip("}") + ",,\n", encoding="utf-8")
    message = load_error(folder)
    assert_names(message, "E003", folder / name)
    assert re.search(r"line \d+ column \d+", message), message


# ----------------------------------------------------------------------------------------------- concepts


def test_unknown_key_in_concept_E004(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="mild", category="SEVERITY")
    data["target_rules"][i]["colour"] = "blue"
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E004", folder / "concepts.json", f"entry {i} ", "'mild'", "'colour'")


def test_unknown_metadata_key_E004(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], category="LEVEL", metadata__level="L4-L5")
    data["target_rules"][i]["metadata"]["vertebra"] = "L4"
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E004", folder / "concepts.json", f"entry {i} ", "metadata.vertebra", "'level'")


@pytest.mark.parametrize("bad", [7, -1, "1", 1.5, True])
def test_bad_grade_value_E005(tmp_path, bad):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="mild", category="SEVERITY")
    data["target_rules"][i]["metadata"]["grade"] = bad
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E005", folder / "concepts.json", f"entry {i} ", "'mild'", "metadata.grade", repr(bad),
                 "0-3")


def test_unknown_category_E005(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="stenosis", category="STENOSIS")
    data["target_rules"][i]["category"] = "STENOSES"
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E005", folder / "concepts.json", f"entry {i} ", "category", "'STENOSES'", "'STENOSIS'")


def test_missing_required_metadata_E006(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="left", category="SIDE")
    del data["target_rules"][i]["metadata"]["side"]
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E006", folder / "concepts.json", f"entry {i} ", "'left'", "metadata.side")


def test_missing_category_E006(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="mild", category="SEVERITY")
    del data["target_rules"][i]["category"]
    write(folder, "concepts.json", data)
    assert_names(load_error(folder), "E006", folder / "concepts.json", f"entry {i} ", "'category'")


def test_bad_regex_E008(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], category="LEVEL", metadata__level="L5-S1")
    data["target_rules"][i]["pattern"] = r"\bL5(-|/S1"
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E008", folder / "concepts.json", f"entry {i} ", "'L5-S1'")


@pytest.mark.parametrize("pattern", [[{"LOWERCASE": "mild"}], [{"LOWER": {"NOT_AN_OP": ["a"]}}], [], "not-a-list".split()])
def test_bad_token_pattern_E008(tmp_path, pattern):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="mild", category="SEVERITY")
    data["target_rules"][i]["pattern"] = pattern
    write(folder, "concepts.json", data)
    message = load_error(folder)
    assert_names(message, "E008", folder / "concepts.json", f"entry {i} ", "'mild'")


def test_top_level_key_E007(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    write(folder, "concepts.json", {"rules": data["target_rules"]})
    assert_names(load_error(folder), "E007", folder / "concepts.json", "target_rules")


# ------------------------------------------------------------------------------------ context and sections


def test_context_bad_direction_E005(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "context.json")
    i = find(data["context_rules"], literal="no", category="NEGATED_EXISTENCE")
    data["context_rules"][i]["direction"] = "SIDEWAYS"
    write(folder, "context.json", data)
    message = load_error(folder)
    assert_names(message, "E005", folder / "context.json", f"entry {i} ", "'no'", "direction", "'SIDEWAYS'",
                 "FORWARD")


def test_context_unknown_category_E005(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "context.json")
    i = find(data["context_rules"], literal="no", category="NEGATED_EXISTENCE")
    data["context_rules"][i]["category"] = "NEGATED"
    write(folder, "context.json", data)
    assert_names(load_error(folder), "E005", folder / "context.json", f"entry {i} ", "category", "'NEGATED'")


@pytest.mark.parametrize("bad", [0, -3, "5"])
def test_context_bad_max_scope_E005(tmp_path, bad):
    folder = copy_rules(tmp_path)
    data = read(folder, "context.json")
    i = find(data["context_rules"], literal="no", category="NEGATED_EXISTENCE")
    data["context_rules"][i]["max_scope"] = bad
    write(folder, "context.json", data)
    assert_names(load_error(folder), "E005", folder / "context.json", f"entry {i} ", "max_scope", repr(bad))


def test_context_boolean_max_scope_is_rejected(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "context.json")
    i = find(data["context_rules"], literal="no", category="NEGATED_EXISTENCE")
    data["context_rules"][i]["max_scope"] = True
    write(folder, "context.json", data)
    assert_names(load_error(folder), "E005", folder / "context.json", f"entry {i} ", "max_scope", "True")


def test_context_unknown_key_E004(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "context.json")
    i = find(data["context_rules"], literal="no", category="NEGATED_EXISTENCE")
    data["context_rules"][i]["scope"] = 3
    write(folder, "context.json", data)
    assert_names(load_error(folder), "E004", folder / "context.json", f"entry {i} ", "'scope'")


def test_section_bad_pattern_E008(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "sections.json")
    data["section_rules"][0]["pattern"] = [{"ORTHO": "FINDINGS"}]
    literal = data["section_rules"][0]["literal"]
    write(folder, "sections.json", data)
    assert_names(load_error(folder), "E008", folder / "sections.json", "entry 0 ", repr(literal))


# ------------------------------------------------------------------------------------------------- grammar


def test_grammar_unknown_key_in_section_E004(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "grammar.json")
    data["sentences"]["full_stops"] = ["."]
    write(folder, "grammar.json", data)
    message = load_error(folder)
    assert_names(message, "E004", folder / "grammar.json", "sentences", "'full_stops'", "terminal_punct")


def test_grammar_unknown_top_level_section_E004(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "grammar.json")
    data["tokenizer"] = {}
    write(folder, "grammar.json", data)
    assert_names(load_error(folder), "E004", folder / "grammar.json", "'tokenizer'", "sentences")


def test_grammar_bad_level_order_E005(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "grammar.json")
    data["levels"]["order"] = list(reversed(LEVELS))
    write(folder, "grammar.json", data)
    assert_names(load_error(folder), "E005", folder / "grammar.json", "levels", "'order'")


def test_grammar_missing_key_E006(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "grammar.json")
    del data["assembly"]["conjunctions"]
    write(folder, "grammar.json", data)
    assert_names(load_error(folder), "E006", folder / "grammar.json", "assembly", "'conjunctions'")


@pytest.mark.parametrize("section, key, value", [
    ("lexicon", "typo_min_length", 2),
    ("lexicon", "typo_targets", "foraminal"),
    ("study", "regions", {"lumbar": ["lumbar"]}),
])
def test_grammar_bad_lexicon_and_study_values_E005(tmp_path, section, key, value):
    folder = copy_rules(tmp_path)
    data = read(folder, "grammar.json")
    data[section][key] = value
    write(folder, "grammar.json", data)
    assert_names(load_error(folder), "E005", folder / "grammar.json", section, f"'{key}'")


# ------------------------------------------------------------------------------------- custom rules folder


def test_bad_rules_folder_fails_build_pipeline(tmp_path):
    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    i = find(data["target_rules"], literal="mild", category="SEVERITY")
    data["target_rules"][i]["metadata"]["grade"] = 7
    write(folder, "concepts.json", data)
    with pytest.raises(ReportParseError, match=r"^\[E005\].*concepts\.json"):
        build_pipeline(folder)


def test_custom_rules_folder_changes_the_parse(tmp_path):
    text = "L4-5: Gentle canal stenosis. Gentle left foraminal narrowing."
    shipped = build_pipeline()
    assert grades_at(shipped, text) == (None, None, None)  # "gentle" is no severity word in the shipped rules

    folder = copy_rules(tmp_path)
    data = read(folder, "concepts.json")
    data["target_rules"].append({"literal": "gentle", "category": "SEVERITY", "metadata": {"grade": 1}})
    write(folder, "concepts.json", data)
    assert len(load_rules(folder).concepts) == len(load_rules().concepts) + 1
    custom = build_pipeline(folder)
    assert grades_at(custom, text) == (1, None, 1)
    # the shipped rules are unaffected by the custom folder
    assert grades_at(build_pipeline(), text) == (None, None, None)
    # and the rest of the lexicon still works with the custom folder
    assert grades_at(custom, TEXT) == (2, None, None)


def test_custom_rules_edit_is_picked_up(tmp_path):
    """Editing a file of a folder already loaded is seen by the next build (rules are cached per mtime)."""
    folder = copy_rules(tmp_path)
    assert grades_at(build_pipeline(folder), "L4-5: Gentle canal stenosis.") == (None, None, None)
    data = read(folder, "concepts.json")
    data["target_rules"].append({"literal": "gentle", "category": "SEVERITY", "metadata": {"grade": 3}})
    write(folder, "concepts.json", data)
    stat = (folder / "concepts.json").stat()
    os.utime(folder / "concepts.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert grades_at(build_pipeline(folder), "L4-5: Gentle canal stenosis.") == (3, None, None)


def test_build_pipeline_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    """The build pauses the cyclic collector (see ``build_pipeline``); it is on again afterwards, also when the
    rules are bad, and stays off for a caller that turned it off."""
    import gc

    assert gc.isenabled()
    build_pipeline()
    assert gc.isenabled()
    folder = copy_rules(tmp_path)
    (folder / "concepts.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportParseError):
        build_pipeline(folder)
    assert gc.isenabled()
    gc.disable()
    try:
        build_pipeline()
        assert not gc.isenabled()
    finally:
        gc.enable()
