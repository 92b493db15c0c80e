"""Where frames come from. A source is an iterator of ``Frame(t, people)`` with t in seconds on the source's own
timeline (0 at its start); ``open_source`` picks one from the ``--source`` argument.

Skeleton sources (this package): ``demo`` (the synthetic generator), a recorded ``.jsonl`` stream, an NTU RGB+D
``.skeleton`` file. Camera and video sources (MediaPipe) are in ``runtime.sources.video``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from runtime.frames import Frame, Person, SourceInfo
from runtime.recording import read_recording


class SourceError(RuntimeError):
    """A source cannot be opened or failed; the message says which and why."""


def demo_source(seed: int = 0, fps: float = 30.0, labels: list[str] | None = None) -> Iterator[Frame]:
    """One synthetic person performing actions one after another, standing still in between."""
    from runtime.synth import SynthConfig, demo_stream

    for i, (_, joints) in enumerate(demo_stream(labels, seed, SynthConfig(fps=fps))):
        yield Frame(i / fps, [Person(0, joints)])


def recording_source(path: str | Path) -> Iterator[Frame]:
    yield from read_recording(path)


def ntu_source(path: str | Path, fps: float = 30.0) -> Iterator[Frame]:
    from runtime.formats import read_ntu_skeleton

    sample = read_ntu_skeleton(path)
    for i, bodies in enumerate(sample.joints):
        people = [Person(m, b) for m, b in enumerate(bodies) if b.any()]
        yield Frame(i / fps, people)


def open_source(spec: str, **kw) -> tuple[Iterator[Frame], SourceInfo]:
    """An iterator of frames and a description (name, kind, tracking, ...) for ``--source``."""
    if spec == "demo":
        return demo_source(kw.get("seed", 0)), SourceInfo("demo", "synthetic", "single-person")
    p = Path(spec)
    if p.suffix == ".skeleton":
        if not p.exists():
            raise SourceError(f"{p}: no such NTU skeleton file")
        return ntu_source(p), SourceInfo(p.stem, "ntu", "multi-person")
    if p.suffix in (".jsonl", ".json"):
        if not p.exists():
            raise SourceError(f"{p}: no such skeleton recording")
        from runtime.recording import read_header

        header = read_header(p)
        return recording_source(p), SourceInfo(header.get("source") or p.stem, "recording",
                                               header.get("tracking", "multi-person"))
    from runtime.sources.video import open_video_source

    return open_video_source(spec, **kw)
