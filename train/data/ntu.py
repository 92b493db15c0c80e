"""NTU RGB+D 60/120 datasets: directories of raw ``.skeleton`` files (parsed by ``runtime.formats``), the
preprocessed ``NTU60_CS.npz`` archive, the official missing-skeleton list and evaluation splits."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from runtime.formats import NtuSample, parse_name, read_ntu_skeleton  # noqa: F401  (the format lives in runtime)
from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names

_MISSING_FILE = Path(__file__).parent / "ntu_missing_skeletons.txt"

# Official evaluation protocols (Shahroudy et al. 2016; Liu et al. 2019).
XSUB_TRAIN_PERFORMERS_60 = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XSUB_TRAIN_PERFORMERS_120 = XSUB_TRAIN_PERFORMERS_60 + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92,
    93, 94, 95, 97, 98, 100, 103,
)  # fmt: skip
XVIEW_TRAIN_CAMERAS = (2, 3)
XSET_TRAIN_SETUPS = tuple(range(2, 33, 2))


@cache
def missing_skeleton_names() -> frozenset[str]:
    """The official list of NTU samples with missing or incomplete skeletons (NTU-120 list, 535 names)."""
    lines = _MISSING_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def load_ntu_skeletons(root: str | Path, label_set: str = "ntu60", progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Scan a directory of raw ``.skeleton`` files into a dataset. Skips (and reports) the official
    missing-skeleton samples, classes outside the label set, and files that fail to parse."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    names = class_names(label_set)
    report = ScanReport()
    files = []
    for f in sorted(root.rglob("*.skeleton")):
        if f.is_file():
            files.append(f)
        else:  # a folder (or a broken link) named *.skeleton is no sample
            report.skip("not a regular file", f.name)
    if not files:
        raise DataError(f"{root}: no .skeleton files found" + (f" ({report.summary()})" if report.skipped else ""))
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
