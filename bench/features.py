"""Per-clip skeleton features of a bundle on a dataset, cached, so that many vocabularies can be scored cheaply.

The device scores a window as ``sum_g w_g cos(f_g, p_cg)``, linear in the features, and ``bench.clips`` scores a
clip as the mean of its windows' scores: so a clip's scores for ANY prototype set are its mean window features
times the prototypes. Computing the mean features once per (bundle encoder, dataset) turns a vocabulary
comparison (canonical labels, three paraphrase sets, several text encoders) into a few matrix products.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from runtime.backends import create_backend
from runtime.bundle import Bundle, sha256

CACHE = Path.home() / ".cache" / "zsar" / "features"


def _key(bundle: Bundle, ds, stride: int) -> str:
    h = hashlib.sha256(sha256(bundle.file("fp32")).encode())
    h.update(f"{ds.label_set}|{len(ds)}|{ds.fps}|{stride}|{int(np.asarray(ds.labels).sum())}".encode())
    return h.hexdigest()[:16]


def clip_features(bundle: Bundle, ds, stride: int = 4, progress: bool = True, cache: Path | None = CACHE,
                  indices: np.ndarray | None = None) -> np.ndarray:
    """(N, G, D) mean window features of every clip, windowed as the device does (``bench.clips.clip_windows``).
    ``indices``: only those clips, in that order (never cached)."""
    from tqdm import tqdm

    from bench.clips import clip_windows

    path = cache / f"{ds.label_set}-{_key(bundle, ds, stride)}.npy" if cache and indices is None else None
    if path is not None and path.exists():
        return np.load(path)
    backend = create_backend(bundle, "ort-cpu", "fp32")
    out = []
    for i in tqdm(range(len(ds)) if indices is None else [int(i) for i in indices], desc=f"features {ds.label_set}",
                  disable=not progress, leave=False):
        x = clip_windows(ds.sequence(i)[:, 0], ds.fps, bundle, stride)
        out.append(np.concatenate([backend.features(x[k : k + 64]) for k in range(0, len(x), 64)]).mean(axis=0))
    feats = np.stack(out).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, feats)
    return feats


def top1(features: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, labels: np.ndarray) -> float:
    """Clip top-1 of mean features against (C, G, D) prototypes (the same ranking as ``bench.clips``)."""
    s = np.einsum("ngd,cgd,g->nc", features, prototypes, np.asarray(weights, np.float32))
    return float((s.argmax(axis=1) == np.asarray(labels)).mean())
