"""The project's skeleton recording format: JSON Lines, one line per frame, appended as frames arrive (a crash
loses at most the line being written), readable by people and by ``--source``.

    {"format": "zsar.skeletons/1", "layout": "ntu25", "units": "m", "axes": "kinect", "fps": 30.0, "source": "cam0"}
    {"t": 0.0, "people": [{"id": 0, "joints": [x, y, z, ... 75 numbers], "conf": [... 25 numbers]}]}
    {"t": 0.033, "people": []}

``t`` is seconds since the recording started; joints are NTU-25 in Kinect camera axes (metres).

Reading is strict where a bad line would otherwise stall or silently spoil a replay (a replay sleeps until each
frame's ``t``, so one absurd time freezes it; a NaN time makes every frame "already late"):

* the file is UTF-8 (a byte-order mark before the header is accepted, and CRLF line endings); anything else is a
  ``RecordingError`` naming ``file:line``;
* a line is at most ``MAX_LINE_BYTES`` (1 MiB; a frame of 20 people is about 30 KB): a longer one, e.g. a file
  with no newlines, is refused at that line without reading it all into memory;
* ``t`` is a JSON number (not a string, bool or null), finite and within +-``MAX_ABS_T`` (1e10 s, so Unix-epoch
  times still fit with microsecond resolution): otherwise an error naming ``file:line``;
* ``t`` never goes backwards (equal times are allowed): otherwise an error naming ``file:line`` and the line of
  the previous frame;
* a forward jump of more than ``MAX_GAP_S`` (5 s) between consecutive frames is logged as a warning naming
  ``file:line`` and resynchronised: the frames after it are shifted back so that the gap replays as
  ``MAX_GAP_S`` seconds. The replay therefore pauses at most that long, and since that is longer than the
  recognizer's person timeout, people still count as gone across the gap, as they would across the real one.
  Frames keep their order and spacing otherwise; the shift is cumulative over several jumps.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from runtime.frames import Frame, Person

FORMAT = "zsar.skeletons/1"
MAX_LINE_BYTES = 1 << 20  # one frame line; 20 people with confidences are about 30 KB
MAX_ABS_T = 1e10  # seconds; Unix-epoch times fit, 1e300 does not
MAX_GAP_S = 5.0  # a longer forward jump in t is logged and replayed as this long (> the person timeout, 2 s)
_BOM = b"\xef\xbb\xbf"

log = logging.getLogger("runtime")


class RecordingError(ValueError):
    """A recording file is malformed; the message names the file and line."""


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


def _lines(path: Path, f) -> Iterator[tuple[int, str]]:
    """(line number, text) of a file opened in binary mode: UTF-8 decoded, at most MAX_LINE_BYTES a line, a
    byte-order mark before line 1 dropped; every failure names the file and the line."""
    n = 0
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        n += 1
        if len(raw) > MAX_LINE_BYTES:
            raise RecordingError(f"{path}:{n}: line longer than {MAX_LINE_BYTES} bytes (not a skeleton recording?)")
        if n == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordingError(f"{path}:{n}: not UTF-8 text (byte {e.start} of the line)") from None
        yield n, text


def _parse_header(path: Path, first: str) -> dict:
    try:
        header = json.loads(first)
    except json.JSONDecodeError as e:
        raise RecordingError(f"{path}:1: not a JSON header ({e.msg})") from e
    if not isinstance(header, dict):
        raise RecordingError(f"{path}:1: the header is not a JSON object")
    if header.get("format") != FORMAT:
        raise RecordingError(f"{path}:1: format {header.get('format')!r} is not {FORMAT!r}")
    return header


def read_header(path: str | Path) -> dict:
    path = Path(path)
    with path.open("rb") as f:
        first = next(_lines(path, f), (1, ""))[1]
    return _parse_header(path, first)


def _time(rec: dict) -> float:
    t = rec["t"]
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise ValueError(f"time t={t!r} is not a number")
    t = float(t)
    if not math.isfinite(t) or abs(t) > MAX_ABS_T:
        raise ValueError(f"time t={t!r} is not a finite number of seconds within +-{MAX_ABS_T:g}")
    return t


def read_recording(path: str | Path) -> Iterator[Frame]:
    """Frames of a recording, in order; a malformed line raises with its line number, a forward jump in time of
    more than ``MAX_GAP_S`` is logged and shortened to ``MAX_GAP_S`` (see the module docstring)."""
    path = Path(path)
    with path.open("rb") as f:
        lines = _lines(path, f)
        _parse_header(path, next(lines, (1, ""))[1])
        prev_t, prev_n, shift = None, 0, 0.0
        for n, line in lines:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("a frame line is not a JSON object")
                t = _time(rec)
                if prev_t is not None and t < prev_t:
                    raise ValueError(f"time t={t!r} goes backwards (line {prev_n} had t={prev_t!r})")
                people = []
                for p in rec["people"]:
                    joints = np.asarray(p["joints"], dtype=np.float64)
                    if joints.size != 75:
                        raise ValueError(f"person {p.get('id')} has {joints.size} joint values, expected 75")
                    conf = np.asarray(p["conf"], dtype=np.float64) if "conf" in p else None
                    people.append(Person(int(p["id"]), joints.reshape(25, 3), conf))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise RecordingError(f"{path}:{n}: {e}") from e
            if prev_t is not None and t - prev_t > MAX_GAP_S:
                log.warning(f"{path}:{n}: time jumps {t - prev_t:.6g} s forward (line {prev_n} had t={prev_t:.6g}); "
                            f"replaying it as a {MAX_GAP_S:g} s gap")
                shift += t - prev_t - MAX_GAP_S
            prev_t, prev_n = t, n
            yield Frame(t - shift, people)
