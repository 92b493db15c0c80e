"""Class descriptions: every shipped file is complete and valid; bad files fail clearly; public formats load."""

from __future__ import annotations

import json

import pytest

from train.data.classes import class_names
from train.text.descriptions import (
    PARTS,
    PHASES,
    DescriptionError,
    check_against,
    load_descriptions,
    parse_descriptions,
    read_purls_csv,
    read_sentence_per_line,
    read_star_parts,
)

from conftest import SHARED


@pytest.mark.parametrize("label_set", ["ntu120", "ntu60", "pku51", "synthetic", "kinder_gator", "utd_mhad", "nw_ucla",
                                       "bandai_namco"])
def test_shipped_descriptions_are_complete(label_set):
    d = load_descriptions(label_set)
    check_against(d, class_names(label_set))
    labels = {c.label.lower() for c in d.classes}
    for c in d.classes:
        assert c.global_.strip() and len(c.paraphrases) == 3
        assert all(c.parts[p].strip() for p in PARTS) and all(c.phases[p].strip() for p in PHASES)
        assert all(p != c.global_ for p in c.paraphrases)
        assert not (set(c.aliases) & (labels - {c.label.lower()})), f"alias of {c.label} names another class"
        for text in [c.global_, *c.parts.values(), *c.phases.values(), *c.paraphrases]:
            assert text.isascii() and 5 <= len(text.split()) <= 40, text


def test_lookup_by_alias():
    d = load_descriptions("synthetic")
    assert d.by_label("wave").label == "Hand waving"
    assert d.by_label("HAND WAVING").label == "Hand waving"


def test_malformed_files_name_the_class_and_field(tmp_path):
    good = json.loads(json.dumps({"schema": "zsar.descriptions/1", "label_set": "toy", "classes": [
        {"index": 0, "label": "wave", "aliases": [], "global": "g", "paraphrases": ["p"],
         "parts": {p: "x" for p in PARTS}, "phases": {p: "y" for p in PHASES}}]}))
    parse_descriptions(good)
    bad = json.loads(json.dumps(good))
    bad["classes"][0]["parts"]["legs"] = "  "
    with pytest.raises(DescriptionError, match=r"class 0 \(wave\): parts.legs"):
        parse_descriptions(bad)
    bad = json.loads(json.dumps(good))
    del bad["classes"][0]["phases"]["end"]
    with pytest.raises(DescriptionError, match="missing end"):
        parse_descriptions(bad)
    bad = json.loads(json.dumps(good))
    bad["schema"] = "other/2"
    with pytest.raises(DescriptionError, match="schema"):
        parse_descriptions(bad)
    f = tmp_path / "broken.json"
    f.write_text('{"schema": "zsar.descriptions/1",\n "classes": [}')
    with pytest.raises(DescriptionError, match=r"broken\.json: invalid JSON at line 2"):
        load_descriptions(f)


def test_public_formats(tmp_path):
    csv = tmp_path / "purls.csv"
    csv.write_text("Action Labels,Head,Hands,Torso,Legs,Start,Middle,End,Global Desc\n"
                   "wave,still,hand moves,upright,still,raise,swing,lower, raise a hand and swing it\n")
    d = read_purls_csv(csv)
    assert d.classes[0].get("global") == "The person would raise a hand and swing it"
    assert d.classes[0].get("hands") == "hand moves" and d.classes[0].get("feet") == d.classes[0].global_
    lines = tmp_path / "des.txt"
    lines.write_text("A person drinks.\nA person eats.\n")
    assert read_sentence_per_line(lines, ["drink", "eat"]).classes[1].global_ == "A person eats."
    with pytest.raises(DescriptionError, match="2 sentences for 3 classes"):
        read_sentence_per_line(lines, ["a", "b", "c"])
    star = tmp_path / "star.txt"
    star.write_text("drink water; Head: tilts; Hand: grasps; Arm: raises; Hip: still; Leg: still; Foot: still;\n")
    assert read_star_parts(star).classes[0].parts["torso"] == "still"


def test_research_repo_formats_load_when_present():
    base = SHARED / "research-data"
    if not base.exists():
        pytest.skip("../shared is absent")
    assert len(read_purls_csv(base / "purls" / "gpt3_desc_ntu120.csv")) == 120
    assert len(read_sentence_per_line(base / "pgfa" / "ntu120_des.txt", class_names("ntu120"))) == 120
    assert len(read_star_parts(base / "star" / "pkuv1_part_descriptions.txt")) == 51
