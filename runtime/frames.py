"""What a source delivers: a ``Frame`` of ``Person`` skeletons at a time, and a ``SourceInfo`` that describes the
source (its name, kind, how people are tracked, and for cameras and videos the capture's live counters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Person:
    id: int
    joints: np.ndarray  # (25, 3)
    conf: np.ndarray | None = None  # (25,)


@dataclass
class Frame:
    t: float
    people: list[Person]


@dataclass
class SourceInfo:
    name: str = "source"  # in every event's ``source`` (unless --source-id)
    kind: str = ""  # synthetic | recording | ntu | camera | file | stream
    tracking: str = "single-person"  # single-person | multi-person
    state: Any = None  # camera and video sources: runtime.sources.video.SourceState (drops, frames, last picture)
    fps: float | None = None  # camera and video sources: the capture's frame rate
    size: tuple[int, int] | None = None  # camera and video sources: (width, height)
    pose: str = ""  # camera and video sources: the pose backend
