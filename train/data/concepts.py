"""Concepts: the same action across label sets (train/data/concepts.json, schema "zsar.concepts/1").

A concept lists, per label set, the class names a person would call the same action at the level of the motion
("Wave your hand", "right hand wave", "wave left hand" and NTU-120 "Hand waving" are one concept). The cross-dataset
zero-shot protocol uses it to tell which test classes were seen, under other names and other sensors, in training:

    concept_of("utd_mhad", "right hand wave")                  # -> "wave_one_hand"
    concepts_seen(["ntu120", "utd_mhad"], "kinder_gator")      # {"Raise your hand": False, "Wave your hand": True, ...}

Every label of the label sets in ``COMPLETE`` belongs to exactly one concept. Other label sets (ntu120, synthetic)
are listed only where they share an action; a label of theirs that is in no concept is its own concept, with the id
``"<label set>:<label>"``. "ntu60" is the first 60 classes of "ntu120" and uses its entries; "pku" means "pku51".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from train.data.classes import LABEL_SETS, class_names

SCHEMA = "zsar.concepts/1"
PATH = Path(__file__).parent / "concepts.json"
COMPLETE = ("kinder_gator", "utd_mhad", "nw_ucla", "bandai_namco")
_CANONICAL = {"ntu60": "ntu120", **LABEL_SETS}


class ConceptError(ValueError):
    """The concept table is malformed; the message names the concept and the label (set) at fault."""


def canonical_label_set(label_set: str) -> str:
    return _CANONICAL.get(label_set, label_set)


@dataclass(frozen=True)
class Concept:
    id: str
    members: dict[str, tuple[str, ...]]
    note: str = ""

    @property
    def label_sets(self) -> tuple[str, ...]:
        return tuple(self.members)


@dataclass
class ConceptTable:
    concepts: list[Concept]
    source: str = ""
    _index: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self._index:
            self._index = {
                (ls, label): c.id
                for c in self.concepts
                for ls, labels in c.members.items()
                for label in labels
            }

    def __len__(self) -> int:
        return len(self.concepts)

    def get(self, concept_id: str) -> Concept:
        for c in self.concepts:
            if c.id == concept_id:
                return c
        raise KeyError(f"no concept {concept_id!r} in {self.source}")

    def concept_of(self, label_set: str, label: str) -> str:
        """The concept id of one class; a class of a partly covered label set that no concept lists is its own
        concept ``"<label set>:<label>"``. An unknown label set or label raises KeyError."""
        ls = canonical_label_set(label_set)
        names = class_names(label_set)
        if label not in names:
            raise KeyError(f"{label!r} is not a class of {label_set!r}")
        return self._index.get((ls, label), f"{ls}:{label}")

    def concepts_in(self, label_sets: Iterable[str]) -> set[str]:
        """Concept ids of all classes of the given label sets."""
        return {self.concept_of(ls, label) for ls in label_sets for label in class_names(ls)}

    def concepts_seen(self, train_label_sets: Iterable[str], test_label_set: str) -> dict[str, bool]:
        """For each class of the test label set (in class order): is its concept among the training label sets'?"""
        seen = self.concepts_in(train_label_sets)
        return {
            label: self.concept_of(test_label_set, label) in seen for label in class_names(test_label_set)
        }

    def shared(self, min_label_sets: int = 2) -> list[Concept]:
        """Concepts whose members come from at least ``min_label_sets`` label sets."""
        return [c for c in self.concepts if len(c.members) >= min_label_sets]


def _names_of(label_set: str, names: Callable[[str], Iterable[str]], where: str) -> tuple[str, ...]:
    try:
        return tuple(names(label_set))
    except (KeyError, ImportError) as e:
        raise ConceptError(f"{where}: unknown label set {label_set!r} ({e})") from e


def parse_concepts(
    data: dict,
    source: str = "<dict>",
    complete: Iterable[str] = COMPLETE,
    names: Callable[[str], Iterable[str]] = class_names,
) -> ConceptTable:
    """Validate and read a concept table: every member is a class of its label set (exact string), no label is in
    two concepts, ids are unique, and every label of the ``complete`` label sets has a concept."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ConceptError(f"{source}: schema must be {SCHEMA!r}, got {got!r}")
    raw = data.get("concepts")
    if not isinstance(raw, list) or not raw:
        raise ConceptError(f"{source}: 'concepts' must be a non-empty list")
    concepts: list[Concept] = []
    owner: dict[tuple[str, str], str] = {}
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise ConceptError(f"{source}: concept {i}: must be an object")
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise ConceptError(f"{source}: concept {i}: 'id' must be a non-empty string")
        where = f"{source}: concept {cid!r}"
        if any(x.id == cid for x in concepts):
            raise ConceptError(f"{where}: duplicate concept id")
        members = c.get("members")
        if not isinstance(members, dict) or not members:
            raise ConceptError(f"{where}: 'members' must be a non-empty object of label set -> labels")
        note = c.get("note", "")
        if not isinstance(note, str):
            raise ConceptError(f"{where}: 'note' must be a string")
        out: dict[str, tuple[str, ...]] = {}
        for label_set, labels in members.items():
            ls = canonical_label_set(label_set)
            if ls in out:
                raise ConceptError(f"{where}: label set {label_set!r} listed twice (as {ls!r})")
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
                raise ConceptError(f"{where}: members of {label_set!r} must be a non-empty list of labels")
            known = _names_of(label_set, names, where)
            for label in labels:
                if label not in known:
                    close = [n for n in known if n.lower() == label.strip().lower()]
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise ConceptError(f"{where}: unknown label {label!r} in {label_set!r}{hint}")
                if (ls, label) in owner:
                    other = owner[(ls, label)]
                    also = "listed twice in it" if other == cid else f"also in concept {other!r}"
                    raise ConceptError(f"{where}: label {label!r} of {ls!r} is {also}")
                owner[(ls, label)] = cid
            out[ls] = tuple(labels)
        concepts.append(Concept(cid, out, note))
    for label_set in complete:
        ls = canonical_label_set(label_set)
        missing = [n for n in _names_of(label_set, names, source) if (ls, n) not in owner]
        if missing:
            raise ConceptError(
                f"{source}: {len(missing)} label(s) of {label_set!r} in no concept: {missing[:8]}"
            )
    return ConceptTable(concepts, source, dict(owner))


def load_concepts(path: str | Path | None = None, complete: Iterable[str] = COMPLETE) -> ConceptTable:
    """The project's table (train/data/concepts.json) or another file in the same schema."""
    if path is None:
        return _default()
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ConceptError(f"{path}: no such file") from e
    except json.JSONDecodeError as e:
        raise ConceptError(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from e
    return parse_concepts(data, str(path), complete)


@cache
def _default() -> ConceptTable:
    return load_concepts(PATH)


def concept_of(label_set: str, label: str) -> str:
    """The concept id of a class in the project's table (see ``ConceptTable.concept_of``)."""
    return _default().concept_of(label_set, label)


def concepts_seen(train_label_sets: Iterable[str], test_label_set: str) -> dict[str, bool]:
    """For each class of ``test_label_set``: does its concept occur among the classes of the training label sets?"""
    return _default().concepts_seen(list(train_label_sets), test_label_set)
