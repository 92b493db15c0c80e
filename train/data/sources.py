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

    def find_root(self, root: str | Path) -> Path:
        """``root`` itself when it holds this dataset, else ``root/<folder>`` (a parent of several datasets)."""
        p = Path(root).expanduser()
        if (p / self.folder).is_dir():
            return p / self.folder
        if not p.exists():
            raise DataError(f"{p}: no such directory (the {self.name} dataset's folder, or a folder holding {self.folder}/)")
        return p


_SOURCES: dict[str, Source] = {}
_MODULES = ("train.data.kinder_gator", "train.data.utd_mhad", "train.data.nw_ucla", "train.data.bandai_namco")


def register_source(name: str, folder: str, licence: str, fps: float = 30.0, geometry: str = ""):
    def wrap(fn: Reader) -> Reader:
        _SOURCES[name] = Source(name, fn, folder, licence, fps, geometry)
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
