"""The project's zero-shot splits: consistent, and equal to the published indices."""

from __future__ import annotations

import json

import pytest

from train.data.classes import class_names
from train.data.splits import available_splits, get_split

from conftest import SHARED


def test_every_split_is_consistent():
    for label_set in ("ntu60", "ntu120", "pku51"):
        names = class_names(label_set)
        for name in available_splits(label_set):
            s = get_split(label_set, name)
            assert len(set(s.unseen)) == len(s.unseen) and len(set(s.val)) == len(s.val)
            assert not set(s.unseen) & set(s.val)
            assert set(s.train) | set(s.val) | set(s.unseen) == set(range(len(names)))
            assert len(s.val) >= 1 and len(s.train) >= len(s.val)
    assert len(class_names("ntu120")) == 120 and len(class_names("ntu60")) == 60 and len(class_names("pku")) == 51


def test_bad_split_names_are_clear():
    with pytest.raises(KeyError, match="available: .*55_5"):
        get_split("ntu60", "55_6")
    with pytest.raises(KeyError, match="no zero-shot splits for label set 'kinetics'"):
        get_split("kinetics", "55_5")


def test_splits_match_the_published_indices():
    path = SHARED / "research-data" / "splits_compiled.json"
    if not path.exists():
        pytest.skip("../shared is absent")
    ref = json.loads(path.read_text())
    synse = ref["synse_splits"]
    val = next(v for k, v in ref.items() if k.startswith("synse_validation"))
    smie = next(v for k, v in ref.items() if k.startswith("smie_random"))
    pairs = {
        ("ntu60", "55_5"): (synse["ntu60_55_5"], val["ntu60_5"]),
        ("ntu60", "48_12"): (synse["ntu60_48_12"], val["ntu60_12"]),
        ("ntu120", "110_10"): (synse["ntu120_110_10"], val["ntu120_10"]),
        ("ntu120", "96_24"): (synse["ntu120_96_24"], val["ntu120_24"]),
        ("ntu60", "40_20"): (ref["purls_extra_splits"]["ntu60_40_20"], None),
        ("ntu60", "30_30"): (ref["purls_extra_splits"]["ntu60_30_30"], None),
        ("ntu120", "80_40"): (ref["purls_extra_splits"]["ntu120_80_40"], None),
        ("ntu120", "60_60"): (ref["purls_extra_splits"]["ntu120_60_60"], None),
        ("ntu60", "random1"): (smie["ntu60_split1"], None),
        ("ntu60", "random2"): (smie["ntu60_split2"], None),
        ("ntu60", "random3"): (smie["ntu60_split3"], None),
        ("ntu120", "random1"): (smie["ntu120_split4"], None),
        ("ntu120", "random2"): (smie["ntu120_split5"], None),
        ("ntu120", "random3"): (smie["ntu120_split6"], None),
        ("pku51", "random1"): (smie["pku_split7"], None),
        ("pku51", "random2"): (smie["pku_split8"], None),
        ("pku51", "random3"): (smie["pku_split9"], None),
        ("pku51", "46_5"): (ref["star_neuron_pku_splits"]["pku_46_5"], None),
        ("pku51", "39_12"): (ref["star_neuron_pku_splits"]["pku_39_12"], None),
    }
    for (label_set, name), (unseen, v) in pairs.items():
        s = get_split(label_set, name)
        assert list(s.unseen) == sorted(unseen["unseen"]), (label_set, name)
        names = class_names(label_set)
        assert [names[c].lower() for c in sorted(unseen["unseen"])] == [
            n.lower() for _, n in sorted(zip(unseen["unseen"], unseen["unseen_names"]))
        ]
        if v is not None:
            assert sorted(s.val) == sorted(v["unseen"]), (label_set, name)
