"""Choosing calibration windows: class-balanced from a dataset's seen classes, or cut from a recorded skeleton
stream of the user's own camera (the runtime's --save-skeletons), through the shared preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.recording import read_recording
from runtime.skeleton import InputSpec, preprocess, resample_by_time
from train.data.base import SkeletonDataset


def balanced_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Up to n samples taking classes in turn, so every class is represented in the calibration set."""
    rng = np.random.default_rng(seed)
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)}
    out: list[int] = []
    while len(out) < n and any(pools.values()):
        for c in list(pools):
            if pools[c] and len(out) < n:
                out.append(int(pools[c].pop()))
    return np.array(out, dtype=np.int64)


def from_dataset(ds: SkeletonDataset, spec: InputSpec, n: int = 256, seed: int = 0) -> np.ndarray:
    """(n, C, T, V, M) model inputs from a dataset (for export: the training data of the seen classes)."""
    idx = balanced_indices(ds.labels, n, seed)
    return np.stack([preprocess(ds.sequence(i), spec) for i in idx]).astype(np.float32)


def from_recording(path: str | Path, spec: InputSpec, stride_s: float = 0.5, n: int = 256) -> np.ndarray:
    """(k, C, T, V, M) windows cut every ``stride_s`` seconds from a recording, the way the device cuts them."""
    by_person: dict[int, list[tuple[float, np.ndarray]]] = {}
    for frame in read_recording(path):
        for p in frame.people:
            by_person.setdefault(p.id, []).append((frame.t, p.joints))
    windows = []
    for track in by_person.values():
        ts = np.array([t for t, _ in track])
        xs = np.stack([j for _, j in track])
        t = ts[0] + spec.window_seconds
        while t <= ts[-1] and len(windows) < n:
            sel = (ts > t - spec.window_seconds - 1e-9) & (ts <= t + 1e-9)
            if sel.sum() >= 4:
                seq = resample_by_time(xs[sel], ts[sel], spec.frames, spec.window_seconds)
                windows.append(preprocess(seq[:, None], spec))
            t += stride_s
    if not windows:
        raise ValueError(f"{path}: no full {spec.window_seconds:.1f} s window with a person in it")
    return np.stack(windows).astype(np.float32)
