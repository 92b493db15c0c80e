"""NTU RGB+D 60/120: raw ``.skeleton`` files, the preprocessed ``NTU60_CS.npz`` archive, evaluation splits.

Raw format (Kinect v2 SDK dump), line by line:
    frame count
    per frame: body count, then per body:
        10 body values (body id, clipped edges, hand states, restricted, lean x/y, tracking state)
        joint count (25)
        per joint: x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState

Sample names are SsssCcccPpppRrrrAaaa (setup, camera, performer, replication, action; action is 1-based).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names

NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
_MISSING_FILE = Path(__file__).parent / "ntu_missing_skeletons.txt"

# Official evaluation protocols (Shahroudy et al. 2016; Liu et al. 2019).
XSUB_TRAIN_PERFORMERS_60 = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XSUB_TRAIN_PERFORMERS_120 = XSUB_TRAIN_PERFORMERS_60 + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92,
    93, 94, 95, 97, 98, 100, 103,
)  # fmt: skip
XVIEW_TRAIN_CAMERAS = (2, 3)
XSET_TRAIN_SETUPS = tuple(range(2, 33, 2))
MAX_BODIES = 2


@cache
def missing_skeleton_names() -> frozenset[str]:
    """The official list of NTU samples with missing or incomplete skeletons (NTU-120 list, 535 names)."""
    lines = _MISSING_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def parse_name(name: str) -> dict[str, int]:
    m = NAME_RE.search(name)
    if not m:
        raise DataError(f"{name}: not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
    s, c, p, r, a = (int(g) for g in m.groups())
    return {"setup": s, "camera": c, "performer": p, "replication": r, "action": a}


@dataclass
class NtuSample:
    name: str
    joints: np.ndarray  # (T, 2, 25, 3): the two most active bodies, most active first; zeros where absent
    num_bodies: int  # distinct bodies tracked in the file
    info: dict[str, int]


class _Lines:
    """Line reader that knows where it is, so that every error names the file and the line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.lines = path.read_text().splitlines()
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not a text file ({e})") from e
        self.i = 0

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise DataError(f"{self.path}: truncated at line {self.i + 1}: expected {what}")
        self.i += 1
        return self.lines[self.i - 1]

    def int(self, what: str, lo: int = 0, hi: int = 10**6) -> int:
        line = self.next(what)
        try:
            v = int(line.split()[0])
        except (ValueError, IndexError):
            raise DataError(f"{self.path}:{self.i}: expected {what}, got {line[:40]!r}") from None
        if not lo <= v <= hi:
            raise DataError(f"{self.path}:{self.i}: {what} {v} out of range [{lo}, {hi}]")
        return v

    def floats(self, what: str, n: int) -> list[float]:
        line = self.next(what)
        parts = line.split()
        if len(parts) < n:
            raise DataError(f"{self.path}:{self.i}: expected {n} numbers for {what}, got {len(parts)}")
        try:
            return [float(v) for v in parts[:n]]
        except ValueError:
            raise DataError(f"{self.path}:{self.i}: non-numeric value in {what}: {line[:60]!r}") from None


def read_ntu_skeleton(path: str | Path) -> NtuSample:
    """Read one raw ``.skeleton`` file; keep the two most active bodies (largest joint motion)."""
    path = Path(path)
    info = parse_name(path.stem)
    r = _Lines(path)
    num_frames = r.int("frame count", 0, 100000)
    if num_frames == 0:
        raise DataError(f"{path}: contains no frames")
    tracks: dict[str, dict[int, np.ndarray]] = {}
    for t in range(num_frames):
        bodies = r.int(f"body count of frame {t + 1}", 0, 10)
        for _ in range(bodies):
            header = r.next("body header").split()
            if len(header) < 10:
                raise DataError(f"{path}:{r.i}: body header needs 10 values, got {len(header)}")
            body_id = header[0]
            joints = r.int("joint count", 25, 25)
            xyz = np.array([r.floats(f"joint {k + 1}", 3) for k in range(joints)], dtype=np.float32)
            tracks.setdefault(body_id, {})[t] = xyz
    if r.i < len(r.lines) and any(line.strip() for line in r.lines[r.i :]):
        raise DataError(f"{path}:{r.i + 1}: unexpected data after the last frame")
    if not tracks:
        raise DataError(f"{path}: no body in any frame")

    def activity(track: dict[int, np.ndarray]) -> float:
        # Motion energy: total per-joint std over the frames the body is present (noise bodies are still)
        stack = np.stack(list(track.values()))
        return float(stack.std(axis=0).sum()) if len(stack) > 1 else 0.0

    ranked = sorted(tracks, key=lambda b: (activity(tracks[b]), len(tracks[b])), reverse=True)
    out = np.zeros((num_frames, MAX_BODIES, 25, 3), dtype=np.float32)
    for m, body in enumerate(ranked[:MAX_BODIES]):
        for t, xyz in tracks[body].items():
            out[t, m] = xyz
    return NtuSample(name=path.stem, joints=out, num_bodies=len(tracks), info=info)


def load_ntu_skeletons(root: str | Path, label_set: str = "ntu60", progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Scan a directory of raw ``.skeleton`` files into a dataset. Skips (and reports) the official
    missing-skeleton samples, classes outside the label set, and files that fail to parse."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    names = class_names(label_set)
    files = sorted(root.rglob("*.skeleton"))
    if not files:
        raise DataError(f"{root}: no .skeleton files found")
    report = ScanReport()
    missing = missing_skeleton_names()
    seqs, labels, meta = [], [], {k: [] for k in ("name", "setup", "camera", "performer", "replication")}
    for f in tqdm(files, desc=f"reading {root.name}", disable=not progress, unit="file"):
        if f.stem in missing:
            report.skip("on the official missing-skeleton list", f.name)
            continue
        try:
            info = parse_name(f.stem)
            if info["action"] > len(names):
                report.skip(f"action outside {label_set}", f.name)
                continue
            sample = read_ntu_skeleton(f)
        except DataError as e:
            report.skip(f"unreadable: {e}", f.name)
            continue
        seqs.append(sample.joints)
        labels.append(info["action"] - 1)
        meta["name"].append(sample.name)
        for k in ("setup", "camera", "performer", "replication"):
            meta[k].append(info[k])
        report.loaded += 1
    if not seqs:
        raise DataError(f"{root}: no readable samples ({report.summary()})")
    return SkeletonDataset.from_sequences(seqs, labels, names, label_set, meta), report


def load_ntu_npz(path: str | Path, part: str, label_set: str | None = None) -> SkeletonDataset:
    """Read the widely used preprocessed archive (``NTU60_CS.npz`` style): ``x_train`` / ``x_test`` of shape
    (N, T, 150) (2 bodies x 25 joints x xyz, zero-padded in time) and one-hot ``y_train`` / ``y_test``."""
    path = Path(path)
    if part not in ("train", "test"):
        raise DataError(f"{path}: part must be 'train' or 'test', got {part!r}")
    try:
        z = np.load(path)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read ({e})") from e
    for key in (f"x_{part}", f"y_{part}"):
        if key not in z.files:
            raise DataError(f"{path}: missing array {key!r} (has {z.files})")
    x, y = z[f"x_{part}"], z[f"y_{part}"]
    if x.ndim != 3 or x.shape[2] != 150:
        raise DataError(f"{path}: field x_{part} must be (N, T, 150), got {x.shape}")
    labels = y.argmax(axis=1) if y.ndim == 2 else y.astype(np.int64)
    if len(labels) != len(x):
        raise DataError(f"{path}: x_{part} has {len(x)} samples but y_{part} has {len(labels)}")
    num_classes = y.shape[1] if y.ndim == 2 else int(labels.max()) + 1
    label_set = label_set or ("ntu60" if num_classes <= 60 else "ntu120")
    seqs = []
    for i, s in enumerate(x):
        frames = np.flatnonzero(np.any(s != 0, axis=1))
        if len(frames) == 0:
            raise DataError(f"{path}: sample {i} of x_{part} is all zeros")
        seqs.append(s[: frames[-1] + 1].reshape(-1, 2, 25, 3))
    return SkeletonDataset.from_sequences(seqs, labels, class_names(label_set), label_set)


def ntu_eval_split(ds: SkeletonDataset, protocol: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks of the official protocol: 'xsub', 'xview' (NTU-60) or 'xset' (NTU-120)."""
    need = {"xsub": "performer", "xview": "camera", "xset": "setup"}
    if protocol not in need:
        raise DataError(f"unknown NTU protocol {protocol!r}; use one of {sorted(need)}")
    field = need[protocol]
    if field not in ds.meta:
        raise DataError(f"protocol {protocol} needs per-sample field {field!r}, which this dataset lacks "
                        "(the preprocessed archives are already split: load their train and test parts)")
    v = ds.meta[field]
    if protocol == "xsub":
        ids = XSUB_TRAIN_PERFORMERS_60 if ds.label_set == "ntu60" else XSUB_TRAIN_PERFORMERS_120
        train = np.isin(v, ids)
    elif protocol == "xview":
        train = np.isin(v, XVIEW_TRAIN_CAMERAS)
    else:
        train = np.isin(v, XSET_TRAIN_SETUPS)
    return train, ~train
