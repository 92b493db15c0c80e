"""Your own recordings as a training source (train/data/recordings.py): both folder layouts written with the
runtime's own RecordingWriter, person choice, start/end cuts, gaps, class texts, the run's parts, and every
malformed input naming its file (and line or field)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runtime.frames import Person
from runtime.recording import RecordingWriter
from runtime.vocab import label_prompt
from train.config import ConfigError, TrainConfig, validate
from train.data.base import DataError
from train.data.loading import load_parts, save_descriptions
from train.data.recordings import (
    FPS,
    Example,
    label_descriptions,
    load_recordings,
    read_example,
    recordings_parts,
    scan,
)
from train.text.descriptions import load_descriptions

from conftest import rest_pose


def person(pid: int, shift: float = 0.0) -> Person:
    """The rest pose moved sideways by ``shift`` metres (so that which person was read shows in x)."""
    return Person(pid, rest_pose() + np.array([shift, 0.0, 0.0]))


def write(path, frames, fps: float = 30.0):
    """frames: [(t, [Person, ...]), ...] through the runtime's writer."""
    with RecordingWriter(path, fps=fps, source="cam0") as w:
        for t, people in frames:
            w.write(t, people)
    return path


def simple(path, n: int = 10, fps: float = 15.0, pid: int = 0, shift: float = 0.0):
    """n frames at ``fps`` of one person whose x grows by 1 cm a frame (time shows in x)."""
    return write(path, [(i / fps, [person(pid, shift + 0.01 * i)]) for i in range(n)], fps)


def folders(root, labels=("wave_hand", "jump"), per_label: int = 3, n: int = 10):
    for label in labels:
        for k in range(per_label):
            simple(root / label / f"take{k}.jsonl", n=n + k)
    return root


# ------------------------------------------------------------------------------------------ reading


def test_label_folders_read_back_labels_lengths_and_rate(tmp_path):
    root = folders(tmp_path / "rec")
    (root / "wave_hand" / "notes.txt").write_text("not a recording")
    (root / "README.md").write_text("a file directly in the folder")
    (root / ".zsar_cache").mkdir()
    ds, report = load_recordings(root, progress=False)
    assert ds.label_set == "recordings" and ds.class_names == ["jump", "wave hand"]  # '_' read as a space
    assert np.bincount(ds.labels).tolist() == [3, 3] and ds.fps == FPS
    # n frames at 15 fps span (n - 1) / 15 s: resampled to 30 fps that is 2 (n - 1) + 1 frames
    assert sorted(ds.lengths.tolist()) == sorted([2 * (10 + k - 1) + 1 for k in range(3)] * 2)
    first = ds.sequence(int(np.flatnonzero(ds.meta["name"] == "jump/take0.jsonl")[0]))
    assert first.shape == (19, 1, 25, 3)
    assert np.allclose(first[1, 0, :, 0] - first[0, 0, :, 0], 0.005, atol=1e-6)  # half a 15 fps step a frame
    assert set(ds.meta["subject"]) >= {"jump/take0.jsonl"} and set(ds.meta["view"]) == {"cam0"}
    assert report.loaded == 6
    skipped = {name for names in report.skipped.values() for name in names}
    assert skipped == {"wave_hand/notes.txt", "README.md", ".zsar_cache"}
    assert "not a .jsonl recording" in report.summary()


def test_index_csv_cuts_chooses_the_person_and_wins_over_folders(tmp_path):
    root = folders(tmp_path / "rec", labels=("ignored_a", "ignored_b"))
    # 3 s at 10 fps: person 0 the whole time, person 1 from 1 s on, person 2 in one frame
    frames = [(i / 10, [person(0, 0.01 * i)] + ([person(1, 1.0)] if i >= 10 else []) + ([person(2, 2.0)] if i == 5 else []))
              for i in range(31)]
    write(root / "sessions" / "s1.jsonl", frames, 10.0)
    (root / "index.csv").write_text("file,label,start,end,person\n"
                                    "sessions/s1.jsonl,Wave,0.5,1.5,\n"
                                    "sessions/s1.jsonl,Wave,,1.0,\n"
                                    "\n"
                                    "sessions/s1.jsonl,Sit down,1.0,3.0,1\n"
                                    "sessions/s1.jsonl,Sit down,2.0,,\n")
    ds, report = load_recordings(root, progress=False)
    assert ds.class_names == ["Sit down", "Wave"]  # labels as written
    assert ds.meta["name"].tolist() == ["sessions/s1.jsonl[0.5-1.5]", "sessions/s1.jsonl[-1]",
                                        "sessions/s1.jsonl[1-3]", "sessions/s1.jsonl[2-]"]
    assert ds.meta["take"].tolist() == ["2", "3", "5", "6"]  # the index line
    assert ds.meta["person"].tolist() == ["0", "0", "1", "0"]  # given, else present in the most frames
    assert ds.lengths.tolist() == [31, 31, 61, 31]  # 1 s, 1 s, 2 s, 1 s at 30 fps
    x = ds.sequence(0)[:, 0, 0, 0] - rest_pose()[0, 0]
    assert np.isclose(x[0], 0.05) and np.isclose(x[-1], 0.15)  # the cut: t = 0.5 .. 1.5 s
    assert np.allclose(ds.sequence(2)[:, 0, 0, 0], rest_pose()[0, 0] + 1.0)  # person 1
    assert report.skipped == {"not named in index.csv": [f"ignored_{c}/take{k}.jsonl" for c in "ab" for k in range(3)]}


def test_absent_frames_are_bridged_on_their_timestamps(tmp_path):
    # person 0 is absent at 0.3-0.5 s and at the start; another person stands in for them
    frames = [(i / 10, [person(0, 0.01 * i)] if i not in (0, 3, 4, 5) else [person(7, 5.0)]) for i in range(10)]
    path = write(tmp_path / "a.jsonl", frames, 10.0)
    r = read_example(Example(path, "x", person=0, where=str(path)))
    x = r.joints[:, 0, 0] - rest_pose()[0, 0]
    assert r.person == 0 and len(x) == 25  # 0.1 .. 0.9 s: the absence at the start is cut
    assert np.allclose(x, 0.01 + np.arange(25) / 30 * 0.1, atol=1e-6)  # the gap interpolated, not frozen
    assert any("bridged" in n for n in r.notes)


def test_a_joint_missing_in_some_frames_is_never_blended_with_zero(tmp_path):
    frames = []
    for i in range(6):
        p = person(0, 0.01 * i)
        if i == 2:
            p.joints[11] = 0.0  # right hand missing in one frame
        frames.append((i / 10, [p]))
    path = write(tmp_path / "m.jsonl", frames, 10.0)
    r = read_example(Example(path, "x", where=str(path)))
    hand = r.joints[:, 11]
    missing = ~hand.any(axis=-1)
    assert missing.sum() == 1 and np.isclose(hand[~missing, 2], 2.99, atol=1e-5).all()  # missing, or whole


def test_descriptions_json_and_label_texts(tmp_path):
    root = folders(tmp_path / "rec")
    labels = ["jump", "wave hand"]
    (root / "descriptions.json").write_text(json.dumps({"wave_hand": ["Waving the right hand.", "a hand wave"]}))
    d = label_descriptions(root, labels)
    assert d.labels == labels and d.classes[0].global_ == label_prompt("jump")  # no entry: the label itself
    assert d.classes[1].all_global() == ["Waving the right hand.", "a hand wave"]
    save_descriptions(d, tmp_path / "d.json")  # what a run writes for export: read back as the same texts
    back = load_descriptions(tmp_path / "d.json")
    assert [c.all_global() for c in back.classes] == [["a person jump", "a person jump"], d.classes[1].all_global()]
    (root / "descriptions.json").write_text(json.dumps({"wave hnd": "typo"}))
    with pytest.raises(DataError, match=r"descriptions.json: key 'wave hnd' is not one of the labels"):
        label_descriptions(root, labels)
    (root / "descriptions.json").write_text(json.dumps({"jump": 3}))
    with pytest.raises(DataError, match=r"descriptions.json: key 'jump': must be a sentence"):
        label_descriptions(root, labels)
    (root / "descriptions.json").write_text("{\n  bad")
    with pytest.raises(DataError, match=r"descriptions.json:2: not JSON"):
        label_descriptions(root, labels)


# ------------------------------------------------------------------------------------------ malformed


def index(root, text: str):
    (root / "index.csv").write_text(text)
    return root


@pytest.mark.parametrize("text, match", [
    ("file,label\nmissing.jsonl,wave\nb.jsonl,jump\n", r"index.csv:2: file 'missing.jsonl' not found"),
    ("file,label,speed\na.jsonl,wave,1\n", r"index.csv:1: unknown column 'speed'"),
    ("file,start\na.jsonl,1\n", r"index.csv:1: the header lacks the column 'label'"),
    ("file,label,start,end\na.jsonl,wave,2,1\nb.jsonl,jump,,\n", r"index.csv:2: start 2 is not before end 1"),
    ("file,label,start,end\na.jsonl,wave,2,2\n", r"index.csv:2: start 2 is not before end 2"),
    ("file,label,start\na.jsonl,wave,soon\n", r"index.csv:2: column start is 'soon', not a number"),
    ("file,label,person\na.jsonl,wave,x\n", r"index.csv:2: column person is 'x', not an integer person id"),
    ("file,label\na.jsonl,\n", r"index.csv:2: column label is empty"),
    ("file,label\n", r"index.csv: no rows after the header"),
    ("file,label\na.jsonl,wave\nb.jsonl,wave\n", r"1 label \(wave\); at least 2 are needed"),
    ("file,label\na.jsonl,wave\nb.jsonl,jump\n", r"every label has one example"),
    ("file,label\na.jsonl,Wave\nb.jsonl,wave\nb.jsonl,jump\n", r"index.csv:3: label 'wave' and label 'Wave' differ only in case"),
])
def test_bad_index_names_the_line_and_field(tmp_path, text, match):
    root = tmp_path / "rec"
    simple(root / "a.jsonl")
    simple(root / "b.jsonl")
    with pytest.raises(DataError, match=match):
        scan(index(root, text))


def test_bad_recordings_name_the_file(tmp_path):
    root = tmp_path / "rec"
    simple(root / "a.jsonl")
    write(root / "empty.jsonl", [(i / 10, []) for i in range(5)])
    write(root / "header_only.jsonl", [])
    bad = root / "bad.jsonl"
    simple(bad)
    lines = bad.read_text().splitlines()
    lines[3] = '{"t": "soon", "people": []}'
    bad.write_text("\n".join(lines) + "\n")
    cases = [
        ("empty.jsonl,jump,,,", r"empty.jsonl: no person in any frame"),
        ("header_only.jsonl,jump,,,", r"header_only.jsonl: no frames \(only the header\)"),
        ("bad.jsonl,jump,,,", r"bad.jsonl:4: time t='soon' is not a number \(named at .*index.csv:3\)"),
        ("a.jsonl,jump,,,4", r"index.csv:3: column person: person 4 is not in a.jsonl \(people there: 0 \(10 frames\)\)"),
        ("a.jsonl,jump,5,9,", r"index.csv:3: no frames between start 5 and end 9 \(the recording a.jsonl spans t=0..0.6 s\)"),
    ]
    for row, match in cases:
        index(root, f"file,label,start,end,person\na.jsonl,wave,,,\n{row}\na.jsonl,jump,,,\n")
        with pytest.raises(DataError, match=match):
            load_recordings(root, progress=False)


def test_bad_folders_are_clear(tmp_path):
    root = folders(tmp_path / "rec")
    (root / "sit_down").mkdir()
    (root / "sit_down" / "take1.txt").write_text("x")
    with pytest.raises(DataError, match=r"sit_down: label folder 'sit_down' holds no .jsonl recording"):
        scan(root)
    with pytest.raises(DataError, match=r"no label folders and no index.csv"):
        scan(tmp_path / "rec" / "sit_down")
    one = folders(tmp_path / "one", labels=("wave",))
    with pytest.raises(DataError, match=r"1 label \(wave\); at least 2 are needed"):
        scan(one)
    case = folders(tmp_path / "case", labels=("Wave", "wave"))
    with pytest.raises(DataError, match=r"differ only in case"):
        scan(case)
    with pytest.raises(DataError, match=r"nosuch: no such directory"):
        scan(tmp_path / "nosuch")


# ------------------------------------------------------------------------------------------ the run's parts


def test_parts_hold_out_examples_and_borrow_unseen_classes_from_synthetic(tmp_path):
    root = folders(tmp_path / "rec", labels=("wave_hand", "jump", "Hand_waving", "kick"), per_label=3)
    for k in range(3, 10):  # "kick" has 10 examples: 2 held out
        simple(root / "kick" / f"take{k}.jsonl")
    simple(root / "jump" / "take0.jsonl")
    for k in (1, 2):
        (root / "jump" / f"take{k}.jsonl").unlink()  # "jump" has one example: trained on, never checked
    parts = recordings_parts(["recordings"], root, per_class=2, eval_per_class=2, seed=0, progress=False)
    names = parts.class_names()
    assert names[:4] == ["Hand waving", "jump", "kick", "wave hand"]
    assert "Hand waving" not in names[4:]  # the synthetic class of that name is left out
    split = parts.split
    assert split.label_set == "recordings" and split.train == (0, 1, 2, 3)  # every label is trained on
    assert len(split.val) >= 1 and len(split.unseen) >= 1 and min(split.val + split.unseen) >= 4
    held = np.bincount(parts.val_seen.labels, minlength=4).tolist()
    assert held == [1, 0, 2, 1]  # 1 of 3, none of 1, 2 of 10
    assert np.bincount(parts.train.labels, minlength=4).tolist() == [2, 1, 8, 2]
    assert parts.test_seen.meta["name"].tolist() == parts.val_seen.meta["name"].tolist()
    assert not set(parts.train.meta["name"]) & set(parts.val_seen.meta["name"])
    assert set(parts.val_unseen.labels) == set(split.val) and set(parts.test_unseen.labels) == set(split.unseen)
    assert set(parts.train.meta["source"]) == {"recordings"} and set(parts.val_unseen.meta["source"]) == {"synthetic"}
    assert parts.descriptions.labels == names and parts.describe().startswith("recordings/heldout: 4 train")
    again = recordings_parts(["recordings"], root, per_class=2, eval_per_class=2, seed=0, progress=False)
    assert again.val_seen.meta["name"].tolist() == parts.val_seen.meta["name"].tolist()  # seeded

    mixed = load_parts("recordings+synthetic", "", str(root), per_class=1, eval_per_class=1, seed=0)
    assert mixed.split.name == "heldout+synthetic" and len(mixed.split.train) > 4
    assert set(mixed.train.meta["source"]) == {"recordings", "synthetic"}
    assert np.isin(mixed.train.labels[mixed.train.meta["source"] == "synthetic"], mixed.split.train).all()


def test_cli_checks_for_recordings(tmp_path):
    root = folders(tmp_path / "rec")
    validate(TrainConfig(data="recordings", root=str(root)))
    validate(TrainConfig(data="recordings+synthetic", root=str(root)))
    for cfg, match in ((TrainConfig(data="recordings"), "--root is required for --data recordings"),
                       (TrainConfig(data="recordings+utd_mhad", root=str(root)), "brings its own split"),
                       (TrainConfig(data="utd_mhad", holdout="recordings", root=str(root)), "brings its own split")):
        with pytest.raises(ConfigError, match=match):
            validate(cfg)
