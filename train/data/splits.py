"""Zero-shot class splits: which classes are seen in training, held out for validation, and unseen.

The indices live in ``splits.json`` beside this file (SynSE/PURLS fixed splits, SMIE random splits,
STAR/Neuron PKU-MMD splits, the synthetic set's own splits), each with a validation set carved out of the
seen classes. The validation classes are never trained on: model selection and GZSL calibration use them,
so nothing is ever chosen on the unseen test classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from train.data.classes import class_names, label_set_of

_FILE = Path(__file__).parent / "splits.json"


@dataclass(frozen=True)
class ZeroShotSplit:
    label_set: str
    name: str
    num_classes: int
    unseen: tuple[int, ...]
    val: tuple[int, ...]
    source: str = ""

    @property
    def seen(self) -> tuple[int, ...]:
        u = set(self.unseen)
        return tuple(c for c in range(self.num_classes) if c not in u)

    @property
    def train(self) -> tuple[int, ...]:
        """Classes the model is trained on: seen minus validation."""
        v = set(self.val)
        return tuple(c for c in self.seen if c not in v)

    def describe(self) -> str:
        names = class_names(self.label_set)
        return (f"{self.label_set}/{self.name}: {len(self.train)} train, {len(self.val)} val, "
                f"{len(self.unseen)} unseen ({', '.join(names[c] for c in self.unseen[:6])}"
                f"{', ...' if len(self.unseen) > 6 else ''})")


@cache
def _table() -> dict:
    return json.loads(_FILE.read_text())


def available_splits(label_set: str) -> list[str]:
    label_set = label_set_of(label_set)
    return sorted(_table().get(label_set, {}))


def get_split(label_set: str, name: str) -> ZeroShotSplit:
    label_set = label_set_of(label_set)
    table = _table()
    if label_set not in table:
        known = sorted(k for k in table if not k.startswith("_"))
        raise KeyError(f"no zero-shot splits for label set {label_set!r}; known: {', '.join(known)}")
    if name not in table[label_set]:
        raise KeyError(f"unknown split {name!r} for {label_set}; available: {', '.join(available_splits(label_set))}")
    entry = table[label_set][name]
    n = len(class_names(label_set))
    split = ZeroShotSplit(label_set, name, n, tuple(entry["unseen"]), tuple(entry["val"]), entry.get("source", ""))
    for c in split.unseen + split.val:
        if not 0 <= c < n:
            raise ValueError(f"{_FILE}: {label_set}/{name} has class {c} outside 0..{n - 1}")
    if set(split.unseen) & set(split.val):
        raise ValueError(f"{_FILE}: {label_set}/{name} has classes both unseen and validation")
    return split


def main() -> None:
    """``python -m train.data.splits``: list every zero-shot split of the project."""
    for label_set in sorted(k for k in _table() if not k.startswith("_")):
        for name in available_splits(label_set):
            print(get_split(label_set, name).describe())


if __name__ == "__main__":
    main()
