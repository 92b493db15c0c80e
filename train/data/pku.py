"""PKU-MMD Part I: continuous Kinect v2 sequences cut into action segments by their label files.

Skeleton file (``PKU_Skeleton_Renew/0002-L.txt``): one row per frame, 150 numbers = 2 bodies x 25 joints x
xyz (the second body all zeros when absent). Label file (``Train_Label_PKU_final/0002-L.txt``): one row per
action instance, ``action_id,start_frame,end_frame,confidence`` with 1-based action ids (1..51) and 1-based,
inclusive frame numbers. Sequence ids look like ``0002-L``: number, then the view (L, M or R).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names

SEQ_RE = re.compile(r"^(\d{4})-([LMR])$")
# Without the official split files, the cross-subject test sequences are 0291..0334 (all views): the
# official validation list as reproduced by public code; cross-view tests on the left view.
XSUB_TEST_RANGE = (291, 334)
XVIEW_TEST_VIEWS = ("L",)


def read_pku_skeleton(path: str | Path) -> np.ndarray:
    """One continuous sequence as (T, 2, 25, 3) float32."""
    path = Path(path)
    rows = []
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file ({e})") from e
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 150:
            raise DataError(f"{path}:{i}: expected 150 numbers (2 bodies x 25 joints x 3), got {len(parts)}")
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            raise DataError(f"{path}:{i}: non-numeric value in {line[:60]!r}") from None
    if not rows:
        raise DataError(f"{path}: no frames")
    return np.asarray(rows, dtype=np.float32).reshape(-1, 2, 25, 3)


def read_pku_labels(path: str | Path, num_frames: int | None = None) -> list[tuple[int, int, int, int]]:
    """Rows (action_id, start, end, confidence), validated; action ids stay 1-based as in the file."""
    path = Path(path)
    out = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        if len(parts) != 4:
            raise DataError(f"{path}:{i}: expected action_id,start_frame,end_frame,confidence, got {line!r}")
        try:
            action, start, end, conf = (int(float(p)) for p in parts)
        except ValueError:
            raise DataError(f"{path}:{i}: non-numeric field in {line!r}") from None
        if not 1 <= action <= 51:
            raise DataError(f"{path}:{i}: action_id {action} outside 1..51")
        if start < 1 or end < start:
            raise DataError(f"{path}:{i}: bad interval start={start} end={end}")
        if num_frames is not None and end > num_frames:
            raise DataError(f"{path}:{i}: end_frame {end} beyond the {num_frames} frames of the sequence")
        out.append((action, start, end, conf))
    return out


def load_pku(skeleton_dir: str | Path, label_dir: str | Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Every labelled action instance of every sequence as one sample, with its sequence id, view and span."""
    skeleton_dir, label_dir = Path(skeleton_dir), Path(label_dir)
    for d in (skeleton_dir, label_dir):
        if not d.is_dir():
            raise DataError(f"{d}: not a directory")
    names = class_names("pku51")
    report = ScanReport()
    seqs, labels = [], []
    meta = {k: [] for k in ("sequence", "number", "view", "start", "end", "confidence")}
    files = sorted(skeleton_dir.glob("*.txt"))
    if not files:
        raise DataError(f"{skeleton_dir}: no skeleton .txt files")
    for f in tqdm(files, desc="reading PKU-MMD", disable=not progress, unit="seq"):
        m = SEQ_RE.match(f.stem)
        if not m:
            report.skip("name is not NNNN-[LMR]", f.name)
            continue
        label_file = label_dir / f.name
        if not label_file.exists():
            report.skip("no label file", f.name)
            continue
        try:
            seq = read_pku_skeleton(f)
            rows = read_pku_labels(label_file, num_frames=len(seq))
        except DataError as e:
            report.skip(f"unreadable: {e}", f.name)
            continue
        for action, start, end, conf in rows:
            seg = seq[start - 1 : end]
            if not np.any(seg):
                report.skip("segment holds no skeleton", f"{f.stem}:{start}-{end}")
                continue
            seqs.append(seg)
            labels.append(action - 1)
            for k, v in zip(meta, (f.stem, int(m.group(1)), m.group(2), start, end, conf)):
                meta[k].append(v)
        report.loaded += 1
    if not seqs:
        raise DataError(f"{skeleton_dir}: no action segments ({report.summary()})")
    return SkeletonDataset.from_sequences(seqs, labels, names, "pku51", meta), report


def read_pku_split_file(path: str | Path) -> tuple[set[str], set[str]]:
    """Official ``cross-subject.txt`` / ``cross-view.txt``: a 'Training videos:' line followed by a line of
    comma-separated ids, then a 'Validation videos:' line (spelt 'Validataion' in the release) and its ids."""
    path = Path(path)
    lines = [line.strip() for line in path.read_text().splitlines()]
    sections: dict[str, set[str]] = {}
    current = None
    for i, line in enumerate(lines, start=1):
        low = line.lower()
        if low.startswith("training"):
            current = "train"
        elif low.startswith("valid"):
            current = "test"
        elif line:
            if current is None:
                raise DataError(f"{path}:{i}: ids before any 'Training videos:' header")
            ids = {t.strip() for t in line.split(",") if t.strip()}
            bad = [t for t in ids if not SEQ_RE.match(t)]
            if bad:
                raise DataError(f"{path}:{i}: not sequence ids: {bad[:3]}")
            sections.setdefault(current, set()).update(ids)
    if set(sections) != {"train", "test"}:
        raise DataError(f"{path}: needs both a training and a validation list")
    return sections["train"], sections["test"]


def pku_eval_split(ds: SkeletonDataset, protocol: str, split_file: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks: 'xsub' or 'xview', from the official split file when given."""
    if protocol not in ("xsub", "xview"):
        raise DataError(f"unknown PKU-MMD protocol {protocol!r}; use 'xsub' or 'xview'")
    if split_file is not None:
        train_ids, test_ids = read_pku_split_file(split_file)
        train = np.isin(ds.meta["sequence"], sorted(train_ids))
        test = np.isin(ds.meta["sequence"], sorted(test_ids))
        return train, test
    if protocol == "xsub":
        n = ds.meta["number"].astype(int)
        test = (n >= XSUB_TEST_RANGE[0]) & (n <= XSUB_TEST_RANGE[1])
    else:
        test = np.isin(ds.meta["view"], XVIEW_TEST_VIEWS)
    return ~test, test
