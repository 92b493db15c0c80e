"""The project's skeleton recording format: JSON Lines, one line per frame, appended as frames arrive (a crash
loses at most the line being written), readable by people and by ``--source``.

    {"format": "zsar.skeletons/1", "layout": "ntu25", "units": "m", "axes": "kinect", "fps": 30.0, "source": "cam0"}
    {"t": 0.0, "people": [{"id": 0, "joints": [x, y, z, ... 75 numbers], "conf": [... 25 numbers]}]}
    {"t": 0.033, "people": []}

``t`` is seconds since the recording started; joints are NTU-25 in Kinect camera axes (metres).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "zsar.skeletons/1"


class RecordingError(ValueError):
    """A recording file is malformed; the message names the file and line."""


@dataclass
class Person:
    id: int
    joints: np.ndarray  # (25, 3)
    conf: np.ndarray | None = None  # (25,)


@dataclass
class Frame:
    t: float
    people: list[Person]


class RecordingWriter:
    def __init__(self, path: str | Path, fps: float = 30.0, source: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w")
        header = {"format": FORMAT, "layout": "ntu25", "units": "m", "axes": "kinect", "fps": fps, "source": source}
        self._f.write(json.dumps(header) + "\n")
        self._f.flush()

    def write(self, t: float, people: list[Person]) -> None:
        rec = {"t": round(float(t), 6), "people": [
            {"id": int(p.id), "joints": np.round(np.asarray(p.joints, dtype=float).reshape(-1), 6).tolist(),
             **({"conf": np.round(np.asarray(p.conf, dtype=float), 3).tolist()} if p.conf is not None else {})}
            for p in people]}
        self._f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_header(path: str | Path) -> dict:
    path = Path(path)
    with path.open() as f:
        first = f.readline()
    try:
        header = json.loads(first)
    except json.JSONDecodeError as e:
        raise RecordingError(f"{path}:1: not a JSON header ({e.msg})") from e
    if header.get("format") != FORMAT:
        raise RecordingError(f"{path}:1: format {header.get('format')!r} is not {FORMAT!r}")
    return header


def read_recording(path: str | Path) -> Iterator[Frame]:
    """Frames of a recording, in order; a malformed line raises with its line number."""
    path = Path(path)
    read_header(path)
    with path.open() as f:
        next(f)
        for n, line in enumerate(f, start=2):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                people = []
                for p in rec["people"]:
                    joints = np.asarray(p["joints"], dtype=np.float64)
                    if joints.size != 75:
                        raise ValueError(f"person {p.get('id')} has {joints.size} joint values, expected 75")
                    conf = np.asarray(p["conf"], dtype=np.float64) if "conf" in p else None
                    people.append(Person(int(p["id"]), joints.reshape(25, 3), conf))
                yield Frame(float(rec["t"]), people)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise RecordingError(f"{path}:{n}: {e}") from e
