"""Kinder-Gator (Aloba et al. 2018): 10 adults and 10 children performing 58 motions, Kinect v1 at ~31 fps.

Layout: ``Adults/`` and ``Children/``, one CSV per trial named ``POSE-p<id>_<nn>-<Motion-phrase>-<unix ms>.csv``
(``POSE-p565_05-Bow-1469182474370.csv``: participant 565, their 5th motion, "Bow"). The header is
``Timestamp`` (milliseconds, device clock) then ``<Joint>X,<Joint>Y,<Joint>Z`` for the 20 Kinect v1 joints by
SDK name (read by name, any order), then ``User-ID``, ``Action`` and an empty column (every line ends with a
comma). Coordinates are the Kinect camera frame in metres, the project's own convention (checked on the
data: left shoulder at smaller x, head above feet, adults ~1.6 m from foot to head joint).

Data quirks handled here: 88 rows in 55 files repeat the previous row's timestamp after a ~2-frame gap (the
later of the two rows is kept); the frame rate wobbles between 31 and 33 ms, so every trial is resampled on
its timestamps to 30 fps, the rate all sources share. The file phrase "Climb and imaginary ladder" is the
class "Climb an imaginary ladder"; "Throw a ball" has a trailing dash in its file names.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from runtime.skeleton import resample_by_time
from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names
from train.data.kinect_v1 import (
    GEOMETRY,
    K1,
    NUM_KINECT_V1_JOINTS,
    Collector,
    find_files,
    sdk_joint_name,
)
from train.data.sources import register_source

NAME = "kinder_gator"
FPS = 30.0
FILE_RE = re.compile(r"^POSE-(p\d+)_(\d+)-(.+)-(\d+)$")
_PHRASE_FIXES = {"climb and imaginary ladder": "climb an imaginary ladder"}  # a typo in the file names
_GROUPS = {"adults": "adult", "children": "child"}


def parse_name(path: str | Path) -> dict[str, str]:
    """File name -> subject ("p565"), take (the motion's position in the session, "5") and phrase."""
    m = FILE_RE.match(Path(path).stem)
    if not m:
        raise DataError(f"{path}: name is not POSE-p<id>_<nn>-<Motion-phrase>-<ms>.csv")
    subject, order, phrase, _ = m.groups()
    phrase = phrase.replace("-", " ").strip()
    return {"subject": subject, "take": str(int(order)), "phrase": _PHRASE_FIXES.get(phrase.lower(), phrase)}


def _joint_columns(path: Path, header: list[str]) -> np.ndarray:
    """Column index of every (SDK joint, axis): (20, 3)."""
    cols = np.full((NUM_KINECT_V1_JOINTS, 3), -1)
    for i, name in enumerate(header):
        m = re.fullmatch(r"(.+)([XYZ])", name.strip())
        if not m:
            continue  # Timestamp, User-ID, Action, the trailing empty column
        try:
            joint = sdk_joint_name(m.group(1))
        except KeyError:
            continue
        cols[K1[joint], "XYZ".index(m.group(2))] = i
    if (cols < 0).any():
        j, a = np.argwhere(cols < 0)[0]
        raise DataError(f"{path}:1: header lacks column {list(K1)[j]}{'XYZ'[a]}")
    return cols


def read_trial(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One trial as Kinect v1 joints (T, 20, 3) and timestamps (T,) in seconds, as recorded.

    Raises DataError naming the file and line for a short or non-numeric row, a NaN joint or a timestamp
    that goes backwards.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from e
    if not lines or not lines[0].startswith("Timestamp"):
        raise DataError(f"{path}:1: header must start with 'Timestamp'")
    header = lines[0].split(",")
    cols = _joint_columns(path, header)
    line_no, rows = [], []
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(header):
            raise DataError(f"{path}:{i}: expected {len(header)} fields like the header, got {len(fields)}")
        rows.append(fields)
        line_no.append(i)
    if not rows:
        raise DataError(f"{path}: no frames")
    table = np.asarray(rows, dtype=object)
    try:
        ts = table[:, 0].astype(np.float64) / 1000.0
        joints = table[:, cols.ravel()].astype(np.float64).reshape(-1, NUM_KINECT_V1_JOINTS, 3)
    except ValueError:
        for i, fields in zip(line_no, rows):  # slow path, only to name the line
            try:
                [float(fields[c]) for c in (0, *cols.ravel())]
            except ValueError as e:
                raise DataError(f"{path}:{i}: non-numeric value ({e})") from None
        raise
    bad = ~np.isfinite(joints).all(axis=(1, 2)) | ~np.isfinite(ts)
    if bad.any():
        raise DataError(f"{path}:{line_no[int(np.argmax(bad))]}: NaN or infinite value")
    step = np.diff(ts)
    if (step < 0).any():
        raise DataError(f"{path}:{line_no[int(np.argmax(step < 0)) + 1]}: timestamp goes backwards")
    keep = np.append(step > 0, True)  # a repeated timestamp: keep the later row
    return joints[keep], ts[keep]


def to_30fps(joints: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """(T, V, 3) sampled at times ``ts`` (seconds, increasing) -> evenly spaced frames at 30 fps."""
    duration = float(ts[-1] - ts[0])
    frames = int(round(duration * FPS)) + 1
    return resample_by_time(joints, ts, frames, duration)


@register_source(NAME, folder="kinder-gator", fps=FPS, geometry=GEOMETRY,
                 licence="none stated; README: anonymized dataset for use in animation and whole-body recognition")
def load_kinder_gator(root: str | Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Every trial under ``root`` (``Adults/``, ``Children/``) as one sample at 30 fps, in NTU-25 joints."""
    root, files = find_files(root, ".csv", "Adults/ and Children/")
    names = class_names(NAME)
    index = {n.lower(): i for i, n in enumerate(names)}
    out = Collector(("name", "subject", "group", "view", "take"))
    for f in tqdm(files, desc=f"reading {root.name}", disable=not progress, unit="file"):
        try:
            info = parse_name(f)
        except DataError:
            out.report.skip("name is not POSE-p<id>_<nn>-<phrase>-<ms>.csv", f.name)
            continue
        if info["phrase"].lower() not in index:
            out.report.skip(f"phrase not in classes/{NAME}.txt", f.name)
            continue
        try:
            joints, ts = read_trial(f)
        except DataError as e:
            out.report.skip(f"unreadable: {e}", f.name)
            continue
        meta = {"name": f.stem, "subject": info["subject"], "view": "0", "take": info["take"],
                "group": _GROUPS.get(f.parent.name.lower(), f.parent.name.lower())}
        out.add(f, joints, index[info["phrase"].lower()], meta, ts, to_30fps)
    return out.dataset(root, names, NAME, FPS)
