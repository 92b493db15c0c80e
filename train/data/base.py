"""One dataset interface for every source (NTU raw, NTU preprocessed archive, PKU-MMD, synthetic).

Sequences keep their own length: frames of all samples are stored back to back in one array with offsets,
in the internal layout (T, M, V, 3) of ``runtime.skeleton``, in raw camera coordinates. Model inputs
(N, C, T, V, M) are made from them by ``runtime.skeleton.preprocess``, the same function the device uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.formats import FormatError
from runtime.skeleton import InputSpec, preprocess

# A data file is malformed; the message names the file, and the line or field where known.
DataError = FormatError


@dataclass
class ScanReport:
    """What a directory scan read and what it skipped, with the reason for each skipped file."""

    loaded: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> file names

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def summary(self) -> str:
        parts = [f"loaded {self.loaded}"]
        for reason, names in sorted(self.skipped.items()):
            example = f" (e.g. {names[0]})" if names else ""
            parts.append(f"skipped {len(names)}: {reason}{example}")
        return "; ".join(parts)


@dataclass
class SkeletonDataset:
    frames: np.ndarray  # (sum of T, M, 25, 3) float32
    offsets: np.ndarray  # (N + 1,) int64: sample i is frames[offsets[i]:offsets[i+1]]
    labels: np.ndarray  # (N,) int64, index into class_names
    class_names: list[str]
    label_set: str
    meta: dict[str, np.ndarray] = field(default_factory=dict)  # per-sample fields, each (N,)
    fps: float = 30.0

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.frames.ndim != 4 or self.frames.shape[2:] != (25, 3):
            raise DataError(f"frames must be (sum T, M, 25, 3), got {self.frames.shape}")
        if self.offsets.shape != (n + 1,) or self.offsets[0] != 0 or self.offsets[-1] != len(self.frames):
            raise DataError("offsets do not match frames and labels")
        if np.any(np.diff(self.offsets) <= 0):
            raise DataError("every sample needs at least one frame")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(f"labels must index the {len(self.class_names)} class names")
        for k, v in self.meta.items():
            if len(v) != n:
                raise DataError(f"meta field {k!r} has {len(v)} entries for {n} samples")

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_sequences(
        cls, sequences: list[np.ndarray], labels, class_names: list[str], label_set: str,
        meta: dict[str, list] | None = None, fps: float = 30.0,
    ) -> SkeletonDataset:
        if not sequences:
            raise DataError(f"no samples for {label_set}")
        persons = max(s.shape[1] for s in sequences)
        padded = []
        for s in sequences:
            if s.ndim != 4 or s.shape[2:] != (25, 3):
                raise DataError(f"each sequence must be (T, M, 25, 3), got {s.shape}")
            if s.shape[1] < persons:
                s = np.concatenate([s, np.zeros((len(s), persons - s.shape[1], 25, 3), s.dtype)], axis=1)
            padded.append(s.astype(np.float32, copy=False))
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in padded])
        return cls(
            frames=np.concatenate(padded, axis=0),
            offsets=offsets,
            labels=np.asarray(labels, dtype=np.int64),
            class_names=list(class_names),
            label_set=label_set,
            meta={k: np.asarray(v) for k, v in (meta or {}).items()},
            fps=fps,
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequence(self, i: int) -> np.ndarray:
        """Sample i as (T, M, 25, 3) float32 in camera coordinates."""
        return self.frames[self.offsets[i] : self.offsets[i + 1]]

    def subset(self, index) -> SkeletonDataset:
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index, dtype=np.int64)
        seqs = [self.sequence(i) for i in idx]
        if not seqs:
            raise DataError(f"empty subset of {self.label_set}")
        return SkeletonDataset.from_sequences(
            seqs, self.labels[idx], self.class_names, self.label_set,
            {k: v[idx] for k, v in self.meta.items()}, self.fps,
        )

    def to_array(self, spec: InputSpec) -> np.ndarray:
        """All samples as model inputs (N, C, T, V, M), through the shared preprocessing."""
        return np.stack([preprocess(self.sequence(i), spec) for i in range(len(self))])

    # ------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        np.savez(
            path, frames=self.frames, offsets=self.offsets, labels=self.labels,
            class_names=np.array(self.class_names), label_set=np.array(self.label_set), fps=np.array(self.fps),
            **{f"meta__{k}": v for k, v in self.meta.items()},
        )

    @classmethod
    def load(cls, path: str | Path) -> SkeletonDataset:
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a dataset cache ({e})") from e
        missing = {"frames", "offsets", "labels", "class_names", "label_set"} - set(z.files)
        if missing:
            raise DataError(f"{path}: missing fields {sorted(missing)}")
        return cls(
            frames=z["frames"], offsets=z["offsets"], labels=z["labels"],
            class_names=[str(c) for c in z["class_names"]], label_set=str(z["label_set"]),
            meta={k[6:]: z[k] for k in z.files if k.startswith("meta__")},
            fps=float(z["fps"]) if "fps" in z.files else 30.0,
        )
