"""On-device adaptation: a confidence-aware, class-balanced memory bank of the windows the device was most sure
of, used to refine the class prototypes (DynaPURLS' bounded confident memory, PGFA's prototype alignment), with
guards against drift. Numpy only; training's streaming evaluation uses this same class.

Confidence is the margin between the best and second-best weighted cosine of a window. Each class keeps at most
``capacity`` windows with margin >= ``min_margin``; when full, a more confident window replaces the least
confident. From the memory, two refinements (measured in docs/results.md):

- a shared shift: g = the mean, over classes with memory, of (their memory mean - their text anchor); every
  prototype moves by ``shared_shift`` * g. It carries the device's domain offset (camera, bodies, sensor) to all
  classes alike, so no class gains on the others by being adapted first;
- a per-class pull toward the class's own memory mean, weight ``class_mix`` (PGFA-style replacement at 1.0).
  Off by default on the device: features sit in a tighter cone than text, so an adapted class outscores the
  rest and swallows their windows (measured even with true labels).

Each prototype is then pulled back inside the cone of half-angle acos(1 - ``max_drift``) around its anchor.
The prototypes are recomputed every ``refresh_every`` stored windows, not on each one: they move slowly, and
the recomputation was most of the adaptation's cost per window.
``reset`` forgets everything (on a vocabulary change); ``save`` / ``load`` keep the bank across restarts and
refuse a bank made for another vocabulary or model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class AdaptationConfig:
    capacity: int = 16  # windows kept per class
    min_margin: float = 0.05  # best minus second-best weighted cosine, to be stored
    shared_shift: float = 0.25
    class_mix: float = 0.0
    max_drift: float = 0.1  # 1 - cos(prototype, anchor) at most
    min_count: int = 2  # windows a class needs before it counts
    min_classes: int = 2  # classes with memory before the shared shift applies
    refresh_every: int = 4  # stored windows between two prototype updates (they move slowly; 1 = every store)

    @classmethod
    def from_dict(cls, d: dict) -> AdaptationConfig:
        """From a manifest's defaults; fields this version does not know are ignored."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.sqrt((x * x).sum(axis=-1, keepdims=True)), 1e-12)


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cap_drift(p: np.ndarray, anchor: np.ndarray, max_drift: float) -> np.ndarray:
    """Move unit vectors p (..., D) back toward unit anchors so that 1 - cos(p, anchor) <= max_drift."""
    cos = (p * anchor).sum(-1, keepdims=True)
    min_cos = 1.0 - max_drift
    if max_drift >= 2.0 or (cos >= min_cos - 1e-9).all():
        return p
    ortho = _normalize(p - cos * anchor)
    sin_max = np.sqrt(max(0.0, 1.0 - min_cos**2))
    capped = _normalize(min_cos * anchor + sin_max * ortho)
    return np.where(cos < min_cos, capped, p)


class PrototypeAdapter:
    def __init__(self, anchors: np.ndarray, config: AdaptationConfig = AdaptationConfig(), labels: list[str] | None = None):
        self.config = config
        self.reset(anchors, labels)

    # ------------------------------------------------------------------------------------------
    def reset(self, anchors: np.ndarray | None = None, labels: list[str] | None = None) -> None:
        if anchors is not None:
            a = np.asarray(anchors, dtype=np.float32)
            if a.ndim != 3:
                raise ValueError(f"anchors must be (C, G, D), got {a.shape}")
            self.anchors = _normalize(a)
            self.labels = list(labels) if labels is not None else [str(i) for i in range(len(a))]
        c, g, d = self.anchors.shape
        k = self.config.capacity
        self.memory = np.zeros((c, k, g, d), dtype=np.float32)
        self.confidence = np.full((c, k), -np.inf, dtype=np.float32)
        self.count = np.zeros(c, dtype=np.int64)
        self.sums = np.zeros((c, g, d), dtype=np.float64)  # per class, the sum of its stored windows
        self._prototypes = self.anchors.copy()
        self._unrefreshed = 0  # windows stored since the prototypes were last updated

    @property
    def prototypes(self) -> np.ndarray:
        return self._prototypes

    def observe(self, features: np.ndarray, cosines: np.ndarray, allowed: np.ndarray | None = None) -> int:
        """Offer windows: features (N, G, D) normalised and their weighted cosines (N, C) over this bank's
        classes; ``allowed`` optionally masks rows that may be stored. Returns how many were stored."""
        cos = np.asarray(cosines, dtype=np.float64)
        if cos.shape[1] < 2:
            return 0
        order = np.argsort(-cos, axis=1)
        top = order[:, 0]
        margin = cos[np.arange(len(cos)), top] - cos[np.arange(len(cos)), order[:, 1]]
        stored = 0
        for i in range(len(top)):
            # "not >=" also turns away a NaN margin: one non-finite window would poison the class sums
            if not margin[i] >= self.config.min_margin or (allowed is not None and not allowed[i]):
                continue
            if not np.isfinite(features[i]).all():
                continue
            c = int(top[i])
            if self.count[c] < self.config.capacity:
                slot = int(self.count[c])
                self.count[c] += 1
            else:
                slot = int(np.argmin(self.confidence[c]))
                if margin[i] <= self.confidence[c, slot]:
                    continue
            self.sums[c] -= self.memory[c, slot]  # an empty slot holds zeros
            self.memory[c, slot] = features[i]
            self.sums[c] += self.memory[c, slot]  # the stored (float32) copy, so that its removal cancels exactly
            self.confidence[c, slot] = margin[i]
            stored += 1
        self._unrefreshed += stored
        if stored and self._unrefreshed >= self.config.refresh_every:
            self._refresh()
        return stored

    def _refresh(self) -> None:
        cfg = self.config
        self._unrefreshed = 0
        ready = np.flatnonzero(self.count >= cfg.min_count)
        protos = self.anchors
        if len(ready) == 0:
            self._prototypes = protos.copy()
            return
        # kept up to date as windows come and go, so a refresh never re-reads the whole bank
        means = _normalize((self.sums[ready] / self.count[ready, None, None]).astype(np.float32))
        if cfg.shared_shift > 0 and len(ready) >= cfg.min_classes:
            shift = (means - self.anchors[ready]).sum(axis=0) / len(ready)  # class-balanced domain offset
            protos = _normalize(protos + cfg.shared_shift * shift)
        if cfg.class_mix > 0:
            protos = protos.copy()  # written row by row below; never the anchors themselves
            for m, c in zip(means, ready):
                b = cfg.class_mix * min(1.0, self.count[c] / cfg.capacity)
                protos[c] = _normalize((1 - b) * protos[c] + b * m)
        self._prototypes = cap_drift(protos, self.anchors, cfg.max_drift).astype(np.float32)

    # ------------------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Identifies the vocabulary and anchors this bank belongs to."""
        h = hashlib.sha256(json.dumps(self.labels).encode())
        h.update(np.ascontiguousarray(self.anchors.round(5)).tobytes())
        return h.hexdigest()[:16]

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(f, memory=self.memory, confidence=self.confidence, count=self.count,
                     fingerprint=np.array(self.fingerprint()), config=np.array(json.dumps(asdict(self.config))))
        tmp.replace(path)

    def load(self, path: str | Path) -> bool:
        """Restore a saved bank; returns False (and keeps a fresh bank) when it belongs to another vocabulary
        or model, or its capacity differs."""
        try:
            with np.load(path) as z:
                if str(z["fingerprint"]) != self.fingerprint() or z["memory"].shape != self.memory.shape:
                    return False
                memory, confidence, count = z["memory"].copy(), z["confidence"], z["count"]
        except (OSError, KeyError, ValueError):
            return False
        count = np.clip(count, 0, memory.shape[1])
        memory[np.arange(memory.shape[1])[None, :] >= count[:, None]] = 0.0  # slots past a class's count are empty
        self.memory, self.confidence, self.count = memory, confidence, count
        self.sums = memory.sum(axis=1, dtype=np.float64)
        self._refresh()
        return True
