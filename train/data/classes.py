"""Class-name lists of the label sets (line i of the file is class i, 0-based)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent / "classes"
# datasets whose label set has another name (the one table of them: loaders, splits, descriptions, concepts, CLI)
LABEL_SETS = {"pku": "pku51"}


def label_set_of(data: str) -> str:
    """The label set of a dataset name (``pku`` -> ``pku51``); any other name is its own label set."""
    return LABEL_SETS.get(data, data)


@cache
def class_names(label_set: str) -> tuple[str, ...]:
    """Names for 'ntu60', 'ntu120', 'pku51' (or 'pku'), 'synthetic', a real source ('utd_mhad', ...), or a
    mixture of sets joined by '+' (their classes one after the other, in that order)."""
    if "+" in label_set:
        return tuple(n for part in label_set.split("+") for n in class_names(part))
    if label_set == "ntu60":
        return class_names("ntu120")[:60]
    label_set = label_set_of(label_set)
    if label_set == "synthetic":
        from runtime.synth.motions import SYNTHETIC_CLASSES

        return tuple(SYNTHETIC_CLASSES)
    path = _DIR / f"{label_set}.txt"
    if not path.exists():
        known = sorted(p.stem for p in _DIR.glob("*.txt")) + ["ntu60", "synthetic"]
        raise KeyError(f"unknown label set {label_set!r}; known: {', '.join(sorted(known))}")
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
