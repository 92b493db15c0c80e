"""bench.finetune writes a dataset's picked clips as a user's recordings folder that training reads back as
written: the labels that have examples, their clips, and the label set's own descriptions for just those labels."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from bench.finetune import DESCRIPTIONS, write_recordings
from train.data.recordings import label_descriptions, load_recordings


@dataclass
class TinySet:
    """The few fields of a real source that the writer reads (NW-UCLA's label set, three-second clips)."""

    label_set: str
    class_names: list[str]
    clips: list[np.ndarray]
    fps: float = 30.0

    def sequence(self, i: int) -> np.ndarray:
        return self.clips[i][:, None]  # (T, persons, 25, 3)


def test_picked_clips_become_a_recordings_folder_with_their_descriptions(tmp_path):
    names = [c["label"] for c in json.loads((DESCRIPTIONS / "nw_ucla.json").read_text())["classes"]]
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.3, (25, 3)) + [0, 0, 3]
    clips = [base + 0.01 * rng.normal(size=(60, 25, 3)) for _ in range(6)]
    ds = TinySet("nw_ucla", names, clips)
    picks = {0: np.array([0, 1]), 6: np.array([2]), 9: np.array([3, 4])}  # no examples of the other seven labels
    write_recordings(ds, picks, tmp_path)

    got, report = load_recordings(tmp_path, progress=False)
    assert sorted(got.class_names) == sorted(names[c] for c in picks)
    assert len(got) == 5
    counts = {got.class_names[c]: int(n) for c, n in zip(*np.unique(got.labels, return_counts=True))}
    assert counts == {names[0]: 2, names[6]: 1, names[9]: 2}
    desc = label_descriptions(tmp_path, [names[c] for c in picks])
    own = {c["label"]: c for c in json.loads((DESCRIPTIONS / "nw_ucla.json").read_text())["classes"]}
    for c in desc.classes:  # the label set's sentences, not the bare label
        assert c.label in own and c.global_ == own[c.label]["global"] != c.label
