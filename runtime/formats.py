"""Readers of skeleton file formats the device may replay as a source (numpy only); the training datasets
(``train.data``) import them from here, so each format is parsed in exactly one place.

NTU RGB+D raw ``.skeleton`` (Kinect v2 SDK dump), line by line:
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
from pathlib import Path

import numpy as np


class FormatError(ValueError):
    """A file is malformed; the message names the file, and the line or field where known."""


NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
MAX_BODIES = 2


def parse_name(name: str) -> dict[str, int]:
    m = NAME_RE.search(name)
    if not m:
        raise FormatError(f"{name}: not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
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
            raise FormatError(f"{path}: not a text file ({e})") from e
        self.i = 0

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise FormatError(f"{self.path}: truncated at line {self.i + 1}: expected {what}")
        self.i += 1
        return self.lines[self.i - 1]

    def int(self, what: str, lo: int = 0, hi: int = 10**6) -> int:
        line = self.next(what)
        try:
            v = int(line.split()[0])
        except (ValueError, IndexError):
            raise FormatError(f"{self.path}:{self.i}: expected {what}, got {line[:40]!r}") from None
        if not lo <= v <= hi:
            raise FormatError(f"{self.path}:{self.i}: {what} {v} out of range [{lo}, {hi}]")
        return v

    def floats(self, what: str, n: int) -> list[float]:
        line = self.next(what)
        parts = line.split()
        if len(parts) < n:
            raise FormatError(f"{self.path}:{self.i}: expected {n} numbers for {what}, got {len(parts)}")
        try:
            return [float(v) for v in parts[:n]]
        except ValueError:
            raise FormatError(f"{self.path}:{self.i}: non-numeric value in {what}: {line[:60]!r}") from None


def read_ntu_skeleton(path: str | Path) -> NtuSample:
    """Read one raw ``.skeleton`` file; keep the two most active bodies (largest joint motion)."""
    path = Path(path)
    info = parse_name(path.stem)
    r = _Lines(path)
    num_frames = r.int("frame count", 0, 100000)
    if num_frames == 0:
        raise FormatError(f"{path}: contains no frames")
    tracks: dict[str, dict[int, np.ndarray]] = {}
    for t in range(num_frames):
        bodies = r.int(f"body count of frame {t + 1}", 0, 10)
        for _ in range(bodies):
            header = r.next("body header").split()
            if len(header) < 10:
                raise FormatError(f"{path}:{r.i}: body header needs 10 values, got {len(header)}")
            body_id = header[0]
            joints = r.int("joint count", 25, 25)
            xyz = np.array([r.floats(f"joint {k + 1}", 3) for k in range(joints)], dtype=np.float32)
            tracks.setdefault(body_id, {})[t] = xyz
    if r.i < len(r.lines) and any(line.strip() for line in r.lines[r.i :]):
        raise FormatError(f"{path}:{r.i + 1}: unexpected data after the last frame")
    if not tracks:
        raise FormatError(f"{path}: no body in any frame")

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
