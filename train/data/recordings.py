"""Your own actions as training data: labelled skeleton recordings made with the runtime.

    python -m runtime.camera --source 0 --save-skeletons my_actions/wave_hand/take1.jsonl --duration 5
    python -m train --data recordings+synthetic --root my_actions --init train/assets/shipped \
        --epochs 3 --epoch-size 600 --lr 0.005 --name my-actions
    python -m export --run runs/my-actions --out my_bundle

(``train/assets/shipped`` is the run behind the bundle that ships: its checkpoint and config; docs/teach.md.)

Recordings are the runtime's JSON Lines files (``runtime.recording``: a header line, then one frame per line
with ``t`` in seconds and ``people`` [{``id``, ``joints``: 75 numbers, NTU-25 in Kinect camera axes, metres}]),
read with the runtime's own reader.

The folder (``--root DIR``), in one of two layouts.

1. One folder per label::

       DIR/
         wave_hand/           the label "wave hand" (the folder's name; '_' is read as a space)
           take1.jsonl        every .jsonl file directly in a label folder is one example: the whole file
           take2.jsonl
         drink_water/
           take1.jsonl
           ...

   Files that are not .jsonl, subfolders of label folders, files directly in DIR and folders whose name starts
   with '.' are skipped, and the scan says so. A label folder without a .jsonl file is an error.

2. An index, ``DIR/index.csv`` (when it exists it wins: label folders are not scanned)::

       file,label,start,end,person
       session1.jsonl,wave hand,2.0,4.5,
       session1.jsonl,drink water,6.0,9.5,
       more/take3.jsonl,wave hand,,,1

   One example a row. ``file`` (a path relative to DIR) and ``label`` (used as written) are required columns;
   ``start`` and ``end`` (seconds on the recording's own clock, its ``t``; an empty cell: from the beginning, to
   the end) and ``person`` (the id of the person in the recording; empty: see below) are optional columns. Any
   other column is an error. A file may be named in several rows: several examples cut from one long
   recording. Empty rows are ignored.

Optional in both layouts, ``DIR/descriptions.json``: the text the model learns each label against::

       {"wave hand": "The person raises the right hand and waves it from side to side.",
        "drink water": ["Lifting a cup to the mouth and drinking.", "drinking from a glass"]}

   A label (upper or lower case, '_' or space alike) maps to a sentence or a list of sentences (the first is the
   description, the others paraphrases, all averaged). A label without an entry is its own text, in the prompt the device uses for a bare label
   ("a person wave hand"), and the label itself is always among the texts (``--label-text``, the default). A
   file in the project's own description schema (``zsar.descriptions/1``, ``train/text/descriptions/``) is
   accepted too. An entry for a label that has no examples is an error (a typo, most likely).

Rules, each broken one an error that names the file (and the line of index.csv, or the field): at least two
labels (a model learns an action against the others); labels differ in more than upper and lower case; every
label has an example, and some label has two (one is held out to check the model); an index row names an
existing file, has a start before its end, numbers where numbers go, and a person that is in the recording
between start and end; a recording holds at least one frame with a person in it.

Reading one example: the frames between ``start`` and ``end`` (inclusive), of one person: the one named, else
the person present in the most frames (on a tie the lowest id). Frames where that person is absent are
dropped and the rest resampled on their timestamps to 30 fps, the rate every source is brought to: a gap is
bridged by linear interpolation between the poses on either side of it, and absences at the start or the end
are cut. (Carrying the last pose instead would teach a freeze followed by a jump, a motion the person never
made; interpolation keeps the timing.) A joint that is exactly zero is missing (the NTU convention): it stays
missing and is never blended with zeros; a non-finite joint value counts as missing. The frame rate comes from
the timestamps, not from the header (a file whose frames all have one time falls back to the header's ``fps``).

The dataset (``load_recordings``): label set ``recordings``, the labels as class names in alphabetical order, one
sample a file (or index row), ``meta``: ``name`` (the example: its file, with ``[start-end]`` for a cut),
``subject`` (the file, one recording session), ``take`` (the index row's line, else 0), ``view`` (the header's
``source``, the camera) and ``person`` (the id read).

The run's parts (``recordings_parts``; ``python -m train --data recordings``), for a few examples per label:
- every label is a training class; of a label with n >= 2 examples, max(1, round(n / 5)) chosen at random
  (seeded by ``--seed``) are held out: 1 of 2 to 7, 2 of 8 to 12. The held-out examples are both the
  validation samples of the seen classes (model selection, GZSL calibration) and the test samples reported as
  "seen classes, held-out samples": with so few examples a separate test set would cost too much training
  data, so that figure is on the examples the best epoch was chosen on, and a little optimistic;
- the classes a zero-shot run needs but a user does not record come from the built-in synthetic generator: the
  synthetic ``base12`` split's validation classes are the run's validation classes (``--eval-per-class``
  samples each) and its unseen classes the run's unseen test classes. Model selection (the engine's: the
  calibrated GZSL harmonic mean of the held-out examples' accuracy and the validation classes' accuracy) then
  keeps an epoch that learned your labels without losing the zero-shot transfer, and the test figures show both. A synthetic class whose name
  (or alias) is one of your labels is left out;
- ``--data recordings+synthetic`` also trains on the other synthetic classes (``--per-class`` samples each),
  half of the draws each unless ``--source-weights`` says otherwise (``recordings=2,synthetic=1``);
- the run's classes are your labels, then the synthetic classes it uses; its label set is ``recordings`` (its
  class texts are written into the run folder as ``descriptions.json``);
- an epoch is one pass over the training examples (a few batches at most); ``--epoch-size N`` draws N samples
  an epoch instead (with replacement).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.recording import RecordingError, read_header, read_recording
from runtime.skeleton import resample_by_time
from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.sources import register_source

NAME = "recordings"
FPS = 30.0
INDEX = "index.csv"
DESCRIPTIONS = "descriptions.json"
INDEX_COLUMNS = ("file", "label", "start", "end", "person")  # the first two required
SUFFIX = ".jsonl"
HOLD_OUT_FRACTION = 0.2
SYNTHETIC_SPLIT = "base12"  # its validation and unseen classes stand in for the classes a user does not record
GEOMETRY = "NTU-25 as the runtime records it (MediaPipe mapped by runtime.skeleton, or a replayed Kinect stream): read as is"
LICENCE = "your own recordings (your terms); the run's synthetic classes are generated by this project (MIT)"


@dataclass
class Example:
    """One example to read: a whole file, or a cut of it named by an index.csv row."""

    path: Path
    label: str
    start: float | None = None
    end: float | None = None
    person: int | None = None
    where: str = ""  # "DIR/index.csv:LINE" for a row, else the file
    take: str = "0"

    def cut(self) -> str:
        if self.start is None and self.end is None:
            return ""
        return f"[{'' if self.start is None else f'{self.start:g}'}-{'' if self.end is None else f'{self.end:g}'}]"


@dataclass
class _Read:
    joints: np.ndarray  # (T, 25, 3) at FPS
    person: int
    view: str
    notes: list[str] = field(default_factory=list)  # "kept, ..." reasons for the scan report


# ------------------------------------------------------------------------------------------ the folder


def label_from_folder(name: str) -> str:
    return " ".join(name.replace("_", " ").split())


def _check_root(root: Path) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such directory (the folder of your recordings)")
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (the folder of your recordings: <label>/*.jsonl or index.csv)")
    return root


def scan_folders(root: Path) -> tuple[list[Example], ScanReport]:
    """Layout 1: ``root/<label>/*.jsonl``."""
    report = ScanReport()
    examples: list[Example] = []
    folders = []
    for p in sorted(root.iterdir()):
        if p.name.startswith("."):
            report.skip("hidden (name starts with '.')", p.name)
        elif p.is_dir():
            folders.append(p)
        elif p.name != DESCRIPTIONS:
            report.skip("a file directly in the folder (examples go in label folders, or name them in index.csv)", p.name)
    if not folders:
        raise DataError(f"{root}: no label folders and no {INDEX} (expected {root}/<label>/*{SUFFIX}, "
                        f"or {root}/{INDEX} with columns file,label)")
    for d in folders:
        label = label_from_folder(d.name)
        if not label:
            raise DataError(f"{d}: a label folder needs a name (not only '_')")
        files = []
        for f in sorted(d.iterdir()):
            if f.name.startswith("."):
                report.skip("hidden (name starts with '.')", f"{d.name}/{f.name}")
            elif f.is_dir():
                report.skip(f"a folder inside a label folder (only {SUFFIX} files directly in it are read)",
                            f"{d.name}/{f.name}")
            elif f.suffix.lower() != SUFFIX:
                report.skip(f"not a {SUFFIX} recording", f"{d.name}/{f.name}")
            else:
                files.append(f)
        if not files:
            raise DataError(f"{d}: label folder '{d.name}' holds no {SUFFIX} recording")
        examples += [Example(f, label, where=str(f)) for f in files]
    return examples, report


def _number(text: str, where: str, column: str, kind=float):
    text = text.strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        what = "an integer person id" if kind is int else "a number of seconds"
        raise DataError(f"{where}: column {column} is {text!r}, not {what}") from None
    if kind is float and not math.isfinite(value):
        raise DataError(f"{where}: column {column} is {text!r}, not a finite number of seconds")
    return value


def read_index(root: Path) -> tuple[list[Example], ScanReport]:
    """Layout 2: ``root/index.csv`` with columns file,label[,start,end,person]."""
    path = root / INDEX
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(c.strip() for c in rows[0]):
        raise DataError(f"{path}:1: empty; the first line must be the header file,label[,start,end,person]")
    header = [c.strip().lower() for c in rows[0]]
    for c in header:
        if c not in INDEX_COLUMNS:
            raise DataError(f"{path}:1: unknown column {c!r} (columns: {', '.join(INDEX_COLUMNS)}; "
                            "file and label are required)")
    dup = [c for c, n in Counter(header).items() if n > 1]
    if dup:
        raise DataError(f"{path}:1: column {dup[0]!r} appears twice")
    for c in ("file", "label"):
        if c not in header:
            raise DataError(f"{path}:1: the header lacks the column {c!r} (got {','.join(header)})")
    col = {c: header.index(c) for c in header}
    examples = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}:{line}"
        if len(row) > len(header):
            raise DataError(f"{where}: {len(row)} cells for the {len(header)} columns of the header")
        row = row + [""] * (len(header) - len(row))
        cell = {c: row[i].strip() for c, i in col.items()}
        if not cell["file"]:
            raise DataError(f"{where}: column file is empty")
        label = " ".join(cell["label"].split())
        if not label:
            raise DataError(f"{where}: column label is empty")
        f = root / cell["file"]
        if not f.is_file():
            raise DataError(f"{where}: file {cell['file']!r} not found ({f} is {'a folder' if f.is_dir() else 'missing'})")
        start = _number(cell.get("start", ""), where, "start")
        end = _number(cell.get("end", ""), where, "end")
        if start is not None and end is not None and start >= end:
            raise DataError(f"{where}: start {start:g} is not before end {end:g}")
        person = _number(cell.get("person", ""), where, "person", int)
        examples.append(Example(f, label, start, end, person, where, take=str(line)))
    if not examples:
        raise DataError(f"{path}: no rows after the header")
    report = ScanReport()
    named = {e.path.resolve() for e in examples}
    for f in sorted(root.rglob(f"*{SUFFIX}")):
        if f.resolve() not in named and not any(p.startswith(".") for p in f.relative_to(root).parts):
            report.skip(f"not named in {INDEX}", str(f.relative_to(root)))
    return examples, report


def scan(root: str | Path) -> tuple[list[Example], ScanReport]:
    """The examples under ``root`` (index.csv when it exists, else label folders) and what the scan skipped."""
    root = _check_root(Path(root))
    examples, report = read_index(root) if (root / INDEX).is_file() else scan_folders(root)
    by_key: dict[str, str] = {}
    for e in examples:
        other = by_key.setdefault(e.label.lower(), e.label)
        if other != e.label:
            raise DataError(f"{e.where}: label {e.label!r} and label {other!r} differ only in case; use one spelling")
    labels = sorted(set(by_key.values()), key=str.lower)
    if len(labels) < 2:
        raise DataError(f"{root}: {len(labels)} label ({', '.join(labels)}); at least 2 are needed (a model learns "
                        "an action against the others)")
    counts = Counter(e.label for e in examples)
    if max(counts.values()) < 2:
        raise DataError(f"{root}: every label has one example; record a second of some label (one example of each "
                        "label with two or more is held out to check the model)")
    return examples, report


# ------------------------------------------------------------------------------------------ one example


def _resample_at(joints: np.ndarray, ts: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, 25, 3) at times ``ts`` (seconds, non-decreasing) -> evenly spaced frames at ``fps`` from the first time
    to the last, through ``runtime.skeleton.resample_by_time``. A missing (all-zero) joint on one side of an
    instant takes the other side's value instead of being blended with zeros (as ``runtime.skeleton.resample``)."""
    duration = float(ts[-1] - ts[0])
    n = int(round(duration * fps)) + 1
    present = np.any(joints != 0, axis=-1, keepdims=True).astype(np.float64)
    num = resample_by_time(joints * present, ts, n, duration)
    den = resample_by_time(present, ts, n, duration)
    return np.where(den > 1e-9, num / np.maximum(den, 1e-9), 0.0)


def read_example(ex: Example) -> _Read:
    """One example as (T, 25, 3) at 30 fps of one person (module docstring); DataError names the file."""
    path = ex.path
    try:
        header = read_header(path)
        frames = list(read_recording(path))
    except RecordingError as e:
        raise DataError(f"{e}" + (f" (named at {ex.where})" if ex.where != str(path) else "")) from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if not frames:
        raise DataError(f"{path}: no frames (only the header)")
    span = f"t={frames[0].t:g}..{frames[-1].t:g} s"
    cut = [f for f in frames if (ex.start is None or f.t >= ex.start) and (ex.end is None or f.t <= ex.end)]
    between = f" between start {ex.start:g} and end {ex.end:g}" if ex.start is not None and ex.end is not None else (
        f" from start {ex.start:g}" if ex.start is not None else (f" up to end {ex.end:g}" if ex.end is not None else ""))
    if not cut:
        raise DataError(f"{ex.where}: no frames{between} (the recording {path.name} spans {span})")
    notes = []

    def pose(p) -> np.ndarray:
        j = np.array(p.joints, dtype=np.float64)
        bad = ~np.isfinite(j).all(axis=-1)
        if bad.any():
            j[bad] = 0.0
        return j

    counts: Counter[int] = Counter()
    for f in cut:
        counts.update({p.id for p in f.people if pose(p).any()})
    if not counts:
        raise DataError(f"{path}: no person in any frame{between} ({len(cut)} frames, all empty)")
    if ex.person is not None:
        if ex.person not in counts:
            people = ", ".join(f"{i} ({n} frames)" for i, n in sorted(counts.items()))
            raise DataError(f"{ex.where}: column person: person {ex.person} is not in {path.name}{between} "
                            f"(people there: {people})")
        who = ex.person
    else:
        who = min(counts, key=lambda i: (-counts[i], i))
    ts, joints, nonfinite = [], [], 0
    for f in cut:
        for p in f.people:
            if p.id == who:
                j = pose(p)
                nonfinite += int(not np.isfinite(p.joints).all())
                if j.any():
                    ts.append(f.t)
                    joints.append(j)
                break
    ts_a, joints_a = np.asarray(ts), np.stack(joints)
    if len(ts) < len(cut) and len(ts) > 1:
        notes.append("kept, frames without the person dropped and bridged")
    if nonfinite:
        notes.append("kept, non-finite joint values read as missing joints")
    if len(ts_a) > 1 and ts_a[-1] == ts_a[0]:  # no timing: the header's rate
        fps = header.get("fps")
        fps = float(fps) if isinstance(fps, (int, float)) and not isinstance(fps, bool) and 0 < fps < 1000 else FPS
        ts_a = np.arange(len(ts_a)) / fps
        notes.append("kept, every frame has the same time: the header's fps used")
    view = header.get("source")
    return _Read(_resample_at(joints_a, ts_a).astype(np.float32), int(who), str(view) if view else "", notes)


# ------------------------------------------------------------------------------------------ the dataset


def load_recordings(root: str | Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Every example under ``root`` (either layout) as a ``SkeletonDataset`` (label set ``recordings``, the labels
    as class names in sorted order) and the scan report. Malformed input raises DataError naming the file."""
    from tqdm import tqdm

    root = _check_root(Path(root))
    examples, report = scan(root)
    labels = sorted({e.label for e in examples}, key=lambda x: (x.lower(), x))
    index = {name: i for i, name in enumerate(labels)}
    seqs, ys = [], []
    meta: dict[str, list[str]] = {k: [] for k in ("name", "subject", "take", "view", "person")}
    for e in tqdm(examples, desc=f"reading {root.name}", disable=not progress, unit="example"):
        r = read_example(e)
        rel = _relative(e.path, root)
        seqs.append(r.joints[:, None])
        ys.append(index[e.label])
        for k, v in (("name", rel + e.cut()), ("subject", rel), ("take", e.take), ("view", r.view),
                     ("person", str(r.person))):
            meta[k].append(v)
        for note in r.notes:
            report.skip(note, rel + e.cut())
        report.loaded += 1
    ds = SkeletonDataset.from_sequences(seqs, ys, labels, NAME, meta, fps=FPS)
    return ds, report


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------ class texts


def _class_text(label: str, sentences: list[str]):
    """A complete ClassText (every field of the project schema filled) so that what the run trains against is
    exactly what its saved descriptions.json, and export, read back."""
    from runtime.vocab import label_prompt
    from train.text.descriptions import PARTS, PHASES, ClassText

    g = sentences[0] if sentences else label_prompt(label)
    return ClassText(label, g, {p: g for p in PARTS}, {p: g for p in PHASES}, list(sentences[1:]) or [g], [])


def _sentences(value, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise DataError(f"{where}: must be a sentence or a non-empty list of sentences")
    return [" ".join(s.split()) for s in items]


def label_descriptions(root: str | Path, labels: list[str]):
    """The class texts of ``labels`` (``train.text.descriptions.Descriptions``, label set ``recordings``): from
    ``root/descriptions.json`` where it describes a label, else the label itself (module docstring)."""
    from train.text.descriptions import SCHEMA, DescriptionError, Descriptions, parse_descriptions

    path = Path(root) / DESCRIPTIONS
    given: dict[str, list[str]] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: cannot read ({e})") from None
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
        if not isinstance(data, dict):
            raise DataError(f"{path}: must be a JSON object mapping each label to its description")
        if data.get("schema") == SCHEMA:
            try:
                d = parse_descriptions(data, str(path))
            except DescriptionError as e:
                raise DataError(str(e)) from None
            own = {c.label.lower(): c for c in d.classes}
            unknown = [c.label for c in d.classes if c.label.lower() not in {x.lower() for x in labels}]
            if unknown:
                raise DataError(f"{path}: class {unknown[0]!r} is not one of the labels ({', '.join(labels)})")
            classes = [own.get(x.lower()) or _class_text(x, []) for x in labels]
            for c, x in zip(classes, labels):
                c.label = x
            return Descriptions(NAME, classes, str(path))
        keys = {x.lower(): x for x in labels}
        for k, v in data.items():
            label = keys.get(" ".join(k.replace("_", " ").split()).lower()) or keys.get(k.strip().lower())
            if label is None:
                raise DataError(f"{path}: key {k!r} is not one of the labels ({', '.join(labels)})")
            given[label] = _sentences(v, f"{path}: key {k!r}")
    source = str(path) if given else f"{root} (labels as text)"
    return Descriptions(NAME, [_class_text(x, given.get(x, [])) for x in labels], source)


# ------------------------------------------------------------------------------------------ the run's parts


def hold_out(labels: np.ndarray, seed: int) -> np.ndarray:
    """Which samples are held out: max(1, round(n * HOLD_OUT_FRACTION)) of each label with n >= 2, seeded."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) >= 2:
            held[rng.choice(idx, size=max(1, int(round(HOLD_OUT_FRACTION * len(idx)))), replace=False)] = True
    return held


def _with_classes(ds: SkeletonDataset, labels: np.ndarray, names: list[str], source: str) -> SkeletonDataset:
    """``ds`` relabelled into the run's class list, its meta reduced to the run's keys, with ``source``."""
    keys = ("name", "subject", "take", "view", "person")
    meta = {k: [str(v) for v in ds.meta[k]] if k in ds.meta else [""] * len(ds) for k in keys}
    meta["source"] = [source] * len(ds)
    return SkeletonDataset(ds.frames, ds.offsets, np.asarray(labels, dtype=np.int64), names, NAME,
                           {k: np.asarray(v) for k, v in meta.items()}, ds.fps)


def _join(parts: list[SkeletonDataset], names: list[str]) -> SkeletonDataset:
    seqs = [p.sequence(i) for p in parts for i in range(len(p))]
    labels = np.concatenate([p.labels for p in parts])
    meta = {k: np.concatenate([p.meta[k] for p in parts]) for k in parts[0].meta}
    return SkeletonDataset.from_sequences(seqs, labels, names, NAME, meta, FPS)


def recordings_parts(sources: list[str], root: str | Path, per_class: int = 60, eval_per_class: int = 20,
                     seed: int = 0, progress: bool = True):
    """The five parts (``train.data.loading.Parts``) of ``--data recordings`` or ``recordings+synthetic``
    (module docstring: held-out examples, synthetic validation and unseen classes)."""
    from runtime.synth import SYNTHETIC_CLASSES
    from train.data.loading import Parts
    from train.data.splits import ZeroShotSplit, get_split
    from train.data.synthetic import make_synthetic
    from train.text.descriptions import Descriptions, load_descriptions

    if set(sources) - {NAME, "synthetic"} or NAME not in sources:
        raise DataError(f"--data {'+'.join(sources)}: {NAME} can be used alone or with synthetic only")
    root = _check_root(Path(root))
    ds, report = load_recordings(root, progress)
    print(f"{root}: {report.summary()}")
    user = label_descriptions(root, ds.class_names)

    # the synthetic classes: none that is one of the user's labels
    synth_desc = load_descriptions("synthetic")
    taken = {x.lower() for x in ds.class_names}

    def clash(name: str) -> bool:
        try:
            c = synth_desc.by_label(name)
        except KeyError:
            return name.lower() in taken
        return bool(({c.label.lower(), *c.aliases} | {name.lower()}) & taken)

    split = get_split("synthetic", SYNTHETIC_SPLIT)
    keep = [c for c in range(len(SYNTHETIC_CLASSES)) if not clash(SYNTHETIC_CLASSES[c])]
    val = [c for c in split.val if c in keep]
    unseen = [c for c in split.unseen if c in keep]
    train_syn = [c for c in split.train if c in keep] if "synthetic" in sources else []
    if not val or not unseen:
        raise DataError(f"{root}: your labels are the synthetic {SYNTHETIC_SPLIT} split's "
                        f"{'validation' if not val else 'unseen'} classes; rename one")
    used = sorted(train_syn + val + unseen)
    names = list(ds.class_names) + [SYNTHETIC_CLASSES[c] for c in used]
    position = {c: len(ds.class_names) + i for i, c in enumerate(used)}
    syn_texts = []
    for c in used:
        try:
            syn_texts.append(synth_desc.by_label(SYNTHETIC_CLASSES[c]))
        except KeyError:
            raise DataError(f"{synth_desc.source}: no description for the synthetic class "
                            f"{SYNTHETIC_CLASSES[c]!r}") from None
    descriptions = Descriptions(NAME, user.classes + syn_texts, f"{user.source} + {synth_desc.source}")

    def synthetic(n: int, part: str, classes: list[int]) -> SkeletonDataset:
        s = make_synthetic(n, part, seed, [SYNTHETIC_CLASSES[c] for c in classes], progress=progress)
        return _with_classes(s, np.array([position[int(c)] for c in s.labels]), names, "synthetic")

    held = hold_out(ds.labels, seed)
    singles = [ds.class_names[c] for c in np.unique(ds.labels) if (ds.labels == c).sum() == 1]
    print(f"{root}: {int(held.sum())} of {len(ds)} examples held out to check the model (validation and test samples "
          f"of your labels), {int((~held).sum())} to train on")
    if singles:
        print(f"{root}: one example only (trained on, never checked): {', '.join(singles)}")
    rec = _with_classes(ds, ds.labels, names, NAME)
    held_out = rec.subset(held)
    train = rec.subset(~held)
    if train_syn:
        train = _join([train, synthetic(per_class, "train", train_syn)], names)
    n_user = len(ds.class_names)
    zs = ZeroShotSplit(NAME, "heldout" + ("+synthetic" if train_syn else ""), len(names),
                       tuple(position[c] for c in unseen), tuple(position[c] for c in val),
                       source=f"train.data.recordings: all {n_user} labels trained, {int(held.sum())} examples "
                              f"held out; synthetic {SYNTHETIC_SPLIT} validation and unseen classes")
    return Parts(train=train, val_seen=held_out, val_unseen=synthetic(eval_per_class, "val", val),
                 test_seen=held_out, test_unseen=synthetic(eval_per_class, "test", unseen), split=zs,
                 descriptions=descriptions)


register_source(NAME, folder="", licence=LICENCE, fps=FPS, geometry=GEOMETRY, parts=recordings_parts)(load_recordings)
