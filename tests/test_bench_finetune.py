"""bench.finetune writes a dataset's picked clips as a user's recordings folder that training reads back as
written: the labels that have examples, their clips, and the label set's own descriptions for just those labels."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from bench.finetune import DESCRIPTIONS, write_recordings
from train.data.recordings import label_descriptions, label_from_folder, load_recordings


@dataclass
class TinySet:
    """The few fields of a real source that the writer reads (NW-UCLA's label set, three-second clips)."""

    label_set: str
    class_names: list[str]
    clips: list[np.ndarray]
    fps: float = 30.0

    def sequence(self, i: int) -> np.ndarray:
        return self.clips[i][:, None]  # (T, persons, 25, 3)


@pytest.mark.parametrize("label_set, picked", [("nw_ucla", (0, 6, 9)), ("pku51", (0, 9, 19))])
def test_picked_clips_become_a_recordings_folder_with_their_descriptions(tmp_path, label_set, picked):
    classes = json.loads((DESCRIPTIONS / f"{label_set}.json").read_text())["classes"]
    names = [c["label"] for c in classes]
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.3, (25, 3)) + [0, 0, 3]
    clips = [base + 0.01 * rng.normal(size=(60, 25, 3)) for _ in range(6)]
    ds = TinySet(label_set, names, clips)
    a, b, c = picked  # no examples of the other labels; PKU-51's 9 and 19 have a '/' in them
    picks = {a: np.array([0, 1]), b: np.array([2]), c: np.array([3, 4])}
    write_recordings(ds, picks, tmp_path)

    got, report = load_recordings(tmp_path, progress=False)
    as_read = {k: label_from_folder(names[k].replace("/", "-").replace(" ", "_")) for k in picks}
    assert len(got) == 5
    counts = {got.class_names[k]: int(n) for k, n in zip(*np.unique(got.labels, return_counts=True))}
    assert counts == {as_read[a]: 2, as_read[b]: 1, as_read[c]: 2}
    desc = label_descriptions(tmp_path, list(got.class_names))
    own = {as_read[k]: classes[k]["global"] for k in picks}
    for ct in desc.classes:  # the label set's sentences, not the bare label
        assert ct.global_ == own[ct.label] != ct.label
