"""Class descriptions: the project's own JSON files, and the public formats papers ship.

Each class has a global sentence, one sentence per body part (head, hands, arms, torso, legs, feet), three
temporal phases (start, middle, end) and a few paraphrases. Methods pick the granularities they need;
imported formats may lack some fields, and ``ClassText.get`` falls back to the global sentence for them.

    load_descriptions("ntu120")                  # train/text/descriptions/ntu120.json
    load_descriptions("my_classes.json")         # a file in the same schema
    read_purls_csv(path)                         # PURLS part CSV (head, hands, torso, legs, start, middle, end, global)
    read_sentence_per_line(path, class_names)    # one sentence per line (PGFA / SMIE *_des.txt)
    read_star_parts(path)                        # "label; Head: ..; Hand: ..; Arm: ..; Hip: ..; Leg: ..; Foot: .."
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = "zsar.descriptions/1"
PARTS = ("head", "hands", "arms", "torso", "legs", "feet")
PHASES = ("start", "middle", "end")
_DIR = Path(__file__).parent / "descriptions"


class DescriptionError(ValueError):
    """A description file is malformed; the message names the file and the class or field."""


@dataclass
class ClassText:
    label: str
    global_: str
    parts: dict[str, str] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)
    paraphrases: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)

    def get(self, granularity: str) -> str:
        """Text of one granularity: 'global', a part name, a phase name, or 'label'."""
        if granularity == "global":
            return self.global_
        if granularity == "label":
            return self.label
        return self.parts.get(granularity) or self.phases.get(granularity) or self.global_

    def all_global(self) -> list[str]:
        """The global sentence and its paraphrases (for prompt ensembling)."""
        return [self.global_, *self.paraphrases]


@dataclass
class Descriptions:
    label_set: str
    classes: list[ClassText]
    source: str = ""

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.classes]

    def by_label(self, label: str) -> ClassText:
        key = label.strip().lower()
        for c in self.classes:
            if c.label.lower() == key or key in c.aliases:
                return c
        raise KeyError(f"no description for {label!r} in {self.label_set}")


def _check_text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DescriptionError(f"{where}: must be a non-empty string")
    return value.strip()


def parse_descriptions(data: dict, source: str = "<dict>") -> Descriptions:
    """Validate and read the project schema: every field present and non-empty."""
    if data.get("schema") != SCHEMA:
        raise DescriptionError(f"{source}: schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    label_set = _check_text(data.get("label_set"), f"{source}: label_set")
    raw = data.get("classes")
    if not isinstance(raw, list) or not raw:
        raise DescriptionError(f"{source}: 'classes' must be a non-empty list")
    classes = []
    seen = set()
    for i, c in enumerate(raw):
        where = f"{source}: class {i}"
        if not isinstance(c, dict):
            raise DescriptionError(f"{where}: must be an object")
        if c.get("index") != i:
            raise DescriptionError(f"{where}: index is {c.get('index')!r}, expected {i}")
        label = _check_text(c.get("label"), f"{where}: label")
        where = f"{source}: class {i} ({label})"
        if label.lower() in seen:
            raise DescriptionError(f"{where}: duplicate label")
        seen.add(label.lower())
        parts = c.get("parts") or {}
        phases = c.get("phases") or {}
        missing = [p for p in PARTS if p not in parts] + [p for p in PHASES if p not in phases]
        if missing:
            raise DescriptionError(f"{where}: missing {', '.join(missing)}")
        paraphrases = c.get("paraphrases")
        if not isinstance(paraphrases, list) or len(paraphrases) < 1:
            raise DescriptionError(f"{where}: paraphrases must be a non-empty list")
        aliases = c.get("aliases", [])
        if not isinstance(aliases, list):
            raise DescriptionError(f"{where}: aliases must be a list")
        classes.append(ClassText(
            label=label,
            global_=_check_text(c.get("global"), f"{where}: global"),
            parts={p: _check_text(parts[p], f"{where}: parts.{p}") for p in PARTS},
            phases={p: _check_text(phases[p], f"{where}: phases.{p}") for p in PHASES},
            paraphrases=[_check_text(p, f"{where}: paraphrase {k}") for k, p in enumerate(paraphrases)],
            aliases=[_check_text(a, f"{where}: alias {k}").lower() for k, a in enumerate(aliases)],
        ))
    return Descriptions(label_set=label_set, classes=classes, source=source)


def load_descriptions(name_or_path: str | Path) -> Descriptions:
    """A label set shipped with the project ('ntu120', 'ntu60', 'pku51', 'synthetic') or a JSON file."""
    name = str(name_or_path)
    if "+" in name and not Path(name).exists():  # a mixture of label sets: their classes one after the other
        parts = [load_descriptions(n) for n in name.split("+")]
        return Descriptions(name, [c for d in parts for c in d.classes], " + ".join(d.source for d in parts))
    if name == "ntu60":
        d = load_descriptions("ntu120")
        return Descriptions("ntu60", d.classes[:60], d.source)
    from train.data.classes import label_set_of

    name = label_set_of(name)
    path = _DIR / f"{name}.json" if (_DIR / f"{name}.json").exists() else Path(name)
    if not path.exists():
        known = sorted(p.stem for p in _DIR.glob("*.json"))
        raise DescriptionError(f"no descriptions {name!r}: not a file, and not one of {', '.join(known)}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DescriptionError(f"{path}: invalid JSON at line {e.lineno}: {e.msg}") from e
    return parse_descriptions(data, str(path))


def check_against(d: Descriptions, class_names) -> None:
    """Every class of the label set is described, in order."""
    names = list(class_names)
    if d.labels != names:
        missing = [n for n in names if n not in d.labels]
        extra = [n for n in d.labels if n not in names]
        raise DescriptionError(f"{d.source}: labels differ from the class list (missing {missing[:5]}, extra {extra[:5]})")


# ------------------------------------------------------------------------------- public formats


def read_purls_csv(path: str | Path, label_set: str = "purls") -> Descriptions:
    """PURLS' part-description sheet as CSV: Action Labels, Head, Hands, Torso, Legs, Start, Middle, End,
    Global Desc. Arms and feet are absent in this format (``get`` falls back to the global text)."""
    path = Path(path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    need = ["Action Labels", "Head", "Hands", "Torso", "Legs", "Start", "Middle", "End", "Global Desc"]
    if not rows or any(k not in rows[0] for k in need):
        raise DescriptionError(f"{path}: expected columns {need}")
    classes = []
    for i, r in enumerate(rows, start=2):
        label = (r["Action Labels"] or "").strip()
        if not label:
            raise DescriptionError(f"{path}:{i}: empty action label")
        glob = (r["Global Desc"] or "").strip()
        classes.append(ClassText(
            label=label,
            global_=f"The person would {glob}" if glob and not glob[0].isupper() else glob or label,
            parts={"head": r["Head"].strip(), "hands": r["Hands"].strip(), "torso": r["Torso"].strip(),
                   "legs": r["Legs"].strip()},
            phases={"start": r["Start"].strip(), "middle": r["Middle"].strip(), "end": r["End"].strip()},
        ))
    return Descriptions(label_set, classes, str(path))


def read_sentence_per_line(path: str | Path, class_names, label_set: str = "sentences") -> Descriptions:
    """One global description per line, line i for class i (PGFA / SMIE ``*_des.txt``)."""
    path = Path(path)
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    names = list(class_names)
    if len(lines) != len(names):
        raise DescriptionError(f"{path}: {len(lines)} sentences for {len(names)} classes")
    return Descriptions(label_set, [ClassText(n, s) for n, s in zip(names, lines)], str(path))


def read_star_parts(path: str | Path, label_set: str = "star") -> Descriptions:
    """STAR's ``label; Head: ..; Hand: ..; Arm: ..; Hip: ..; Leg: ..; Foot: ..`` lines (hip -> torso)."""
    path = Path(path)
    key_map = {"head": "head", "hand": "hands", "arm": "arms", "hip": "torso", "leg": "legs", "foot": "feet"}
    classes = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(";")]
        label, parts = fields[0], {}
        for f in (f for f in fields[1:] if f):
            if ":" not in f:
                raise DescriptionError(f"{path}:{i}: expected 'Part: text', got {f[:40]!r}")
            k, v = f.split(":", 1)
            if k.strip().lower() not in key_map:
                raise DescriptionError(f"{path}:{i}: unknown part {k.strip()!r}")
            parts[key_map[k.strip().lower()]] = v.strip()
        classes.append(ClassText(label, " ".join(parts.values()) or label, parts))
    if not classes:
        raise DescriptionError(f"{path}: no descriptions")
    return Descriptions(label_set, classes, str(path))
