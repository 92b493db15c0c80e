"""Concept table: it loads and covers the four real datasets; links hold; bad tables fail naming the culprit.
Also the description files of those datasets are complete and match their class lists."""

from __future__ import annotations

import json

import pytest

from train.data.classes import class_names
from train.data.concepts import (
    COMPLETE,
    PATH,
    ConceptError,
    concept_of,
    concepts_seen,
    load_concepts,
    parse_concepts,
)

REAL = ("kinder_gator", "utd_mhad", "nw_ucla", "bandai_namco")


def test_table_loads_and_validates():
    table = load_concepts()
    assert len(table) >= 50
    assert set(COMPLETE) == set(REAL)
    assert len({c.id for c in table.concepts}) == len(table)
    again = load_concepts(PATH)
    assert [c.id for c in again.concepts] == [c.id for c in table.concepts]


@pytest.mark.parametrize("label_set", REAL)
def test_every_label_has_exactly_one_concept(label_set):
    table = load_concepts()
    for label in class_names(label_set):
        cid = concept_of(label_set, label)
        assert ":" not in cid, f"{label_set} {label!r} has no concept"
        owners = [c.id for c in table.concepts if label in c.members.get(label_set, ())]
        assert owners == [cid]


def test_spot_checks():
    wave = concept_of("utd_mhad", "right hand wave")
    assert concept_of("kinder_gator", "Wave your hand") == wave
    assert concept_of("kinder_gator", "Wave your other hand") == wave
    assert concept_of("bandai_namco", "wave right hand") == wave
    assert concept_of("bandai_namco", "wave left hand") == wave
    assert concept_of("ntu120", "Hand waving") == wave
    assert concept_of("ntu60", "Hand waving") == wave
    assert concept_of("synthetic", "Hand waving") == wave
    assert concept_of("bandai_namco", "wave both hands") != wave
    throw = concept_of("nw_ucla", "throw")
    assert concept_of("utd_mhad", "right arm throw") == concept_of("kinder_gator", "Throw a ball") == throw
    assert concept_of("ntu120", "Throw") == throw
    assert concept_of("utd_mhad", "pick up and throw") != throw
    # classes that differ in one attribute that matters stay apart
    assert concept_of("utd_mhad", "right arm swipe to the left") != concept_of(
        "utd_mhad", "right arm swipe to the right"
    )
    assert concept_of("bandai_namco", "walk") != concept_of("bandai_namco", "walk turn left")
    assert concept_of("bandai_namco", "walk") != concept_of("kinder_gator", "Walk in place")
    assert concept_of("bandai_namco", "run") != concept_of("kinder_gator", "Run in place")
    assert concept_of("utd_mhad", "jogging") == concept_of("kinder_gator", "Run in place")
    # a synthetic class named as an NTU-120 class is that action; unlisted classes are their own concept
    assert concept_of("synthetic", "Drink water") == concept_of("ntu120", "Drink water")
    assert concept_of("ntu120", "Reading") == "ntu120:Reading"
    assert concept_of("synthetic", "Hand waving while walking") == "synthetic:Hand waving while walking"
    with pytest.raises(KeyError):
        concept_of("utd_mhad", "no such action")


def test_concepts_seen():
    seen = concepts_seen(["ntu120"], "utd_mhad")
    assert list(seen) == list(class_names("utd_mhad"))
    assert seen["right hand wave"] and seen["two hand front clap"] and seen["sit to stand"]
    assert not seen["tennis serve"] and not seen["draw circle clockwise"]
    assert all(concepts_seen(["utd_mhad"], "utd_mhad").values())
    kg = concepts_seen(["utd_mhad", "bandai_namco"], "kinder_gator")
    assert kg["Draw a circle"] and kg["Raise your other hand"] and kg["Kick a ball as far as you can"]
    assert not kg["Make the letter T"]
    assert concepts_seen([], "nw_ucla") == {label: False for label in class_names("nw_ucla")}


def _table(*concepts):
    return {"schema": "zsar.concepts/1", "about": "toy", "concepts": list(concepts)}


def test_malformed_tables_name_the_concept_and_label():
    ok = _table(
        {"id": "wave", "members": {"utd_mhad": ["right hand wave"], "ntu120": ["Hand waving"]}},
        {"id": "clap", "members": {"utd_mhad": ["two hand front clap"]}},
    )
    assert parse_concepts(ok, complete=()).concept_of("ntu120", "Hand waving") == "wave"
    twice = _table(
        {"id": "wave", "members": {"utd_mhad": ["right hand wave"]}},
        {"id": "greet", "members": {"utd_mhad": ["right hand wave"]}},
    )
    with pytest.raises(ConceptError, match=r"concept 'greet'.*'right hand wave'.*also in concept 'wave'"):
        parse_concepts(twice, complete=())
    unknown = _table({"id": "wave", "members": {"utd_mhad": ["Right hand wave!"]}})
    with pytest.raises(ConceptError, match=r"concept 'wave': unknown label 'Right hand wave!' in 'utd_mhad'"):
        parse_concepts(unknown, complete=())
    near = _table({"id": "wave", "members": {"utd_mhad": ["Right Hand Wave"]}})
    with pytest.raises(ConceptError, match="did you mean 'right hand wave'"):
        parse_concepts(near, complete=())
    bad_set = _table({"id": "wave", "members": {"utd": ["right hand wave"]}})
    with pytest.raises(ConceptError, match=r"concept 'wave': unknown label set 'utd'"):
        parse_concepts(bad_set, complete=())
    dup_id = _table(
        {"id": "wave", "members": {"utd_mhad": ["right hand wave"]}},
        {"id": "wave", "members": {"utd_mhad": ["two hand front clap"]}},
    )
    with pytest.raises(ConceptError, match="concept 'wave': duplicate concept id"):
        parse_concepts(dup_id, complete=())
    with pytest.raises(ConceptError, match=r"label\(s\) of 'nw_ucla' in no concept"):
        parse_concepts(ok, complete=("nw_ucla",))
    with pytest.raises(ConceptError, match="schema"):
        parse_concepts({"schema": "other/1", "concepts": []})


def test_broken_file(tmp_path):
    f = tmp_path / "concepts.json"
    f.write_text('{"schema": "zsar.concepts/1",\n "concepts": [}')
    with pytest.raises(ConceptError, match=r"concepts\.json: invalid JSON at line 2"):
        load_concepts(f)
    f.write_text(json.dumps(_table({"id": "x", "members": {"nw_ucla": ["throw"]}})))
    assert load_concepts(f, complete=()).concept_of("nw_ucla", "throw") == "x"

