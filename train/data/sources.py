"""The registry of real skeleton sources: one reader per dataset format, looked up by name.

A reader module registers itself with ``@register_source``; loading, mixtures and the CLI look readers up
here and never branch on a dataset's name.

    @register_source("utd_mhad", folder="utd-mhad", licence="UTD-MHAD research terms", fps=30.0)
    def load_utd_mhad(root: Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]: ...

Every reader returns a ``SkeletonDataset`` whose ``label_set`` is the source's name and whose class names are
``train/data/classes/<name>.txt``, in NTU-25 joints (Kinect camera axes, metres; missing joints exactly zero),
with per-sample ``meta`` fields ``subject``, ``view`` and ``take`` (strings) so that cross-subject and
cross-view splits are possible. ``geometry`` says, in a sentence, how the source's skeleton is brought to the
common one (which joints are copied, derived or missing); the shared preprocessing then retargets every body
to one set of bone lengths (``runtime.skeleton``).

A source whose classes are its data's own (``recordings``: a user's labels, no classes file) registers ``parts``
as well: it builds a run's parts itself (its split and its class texts, ``train.data.loading.Parts``), is read
from ``--root`` only (``folder=""``: no default location), and mixes with ``synthetic`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from train.data.base import DataError, ScanReport, SkeletonDataset

Reader = Callable[..., tuple[SkeletonDataset, ScanReport]]


@dataclass(frozen=True)
class Source:
    name: str  # registry name, also the label-set name
    load: Reader  # load(root, progress=True) -> (dataset, scan report)
    folder: str  # the folder name under a datasets root, as ../shared/datasets/unpack.sh lays it out
    licence: str  # the terms a model trained on it inherits
    fps: float
    geometry: str = ""
    # parts(sources, root, per_class, eval_per_class, seed) -> Parts: a source with its own split and class texts
    parts: Callable | None = None

    def find_root(self, root: str | Path) -> Path:
        """``root`` itself when it holds this dataset, else ``root/<folder>`` (a parent of several datasets)."""
        p = Path(root).expanduser()
        if self.folder and (p / self.folder).is_dir():
            return p / self.folder
        if not p.exists():
            holding = f", or a folder holding {self.folder}/" if self.folder else ""
            raise DataError(f"{p}: no such directory (the {self.name} dataset's folder{holding})")
        return p


_SOURCES: dict[str, Source] = {}
_MODULES = ("train.data.kinder_gator", "train.data.utd_mhad", "train.data.nw_ucla", "train.data.bandai_namco",
            "train.data.recordings")


def register_source(name: str, folder: str, licence: str, fps: float = 30.0, geometry: str = "",
                    parts: Callable | None = None):
    def wrap(fn: Reader) -> Reader:
        _SOURCES[name] = Source(name, fn, folder, licence, fps, geometry, parts)
        return fn

    return wrap


def _import_all() -> None:
    import importlib

    for m in _MODULES:
        importlib.import_module(m)


def list_sources() -> list[str]:
    _import_all()
    return sorted(_SOURCES)


def get_source(name: str) -> Source:
    _import_all()
    if name not in _SOURCES:
        raise DataError(f"unknown skeleton source {name!r}; known: {', '.join(sorted(_SOURCES))}")
    return _SOURCES[name]
