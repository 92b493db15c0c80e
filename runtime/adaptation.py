"""On-device adaptation: a confidence-aware memory bank that refines class prototypes toward what the
device actually sees (DynaPURLS' class-balanced confident memory, PGFA's prototype replacement), with guards
against drift. Numpy only; training's streaming evaluation uses this same class.

For every class the bank keeps at most ``capacity`` embeddings (N.B. per granularity) of the windows the
device was most sure of (top-class softmax probability >= ``min_confidence``; when full, a more confident
window replaces the least confident entry). A class's prototype becomes
    normalise((1 - b) * anchor + b * mean(memory)),   b = mix * min(1, count / capacity),
and is pulled back onto the cone of half-angle acos(1 - max_drift) around its text anchor if it strays
further. ``reset`` forgets everything (done on a vocabulary change); ``save`` / ``load`` keep the bank across
restarts, refusing a bank made for another vocabulary or model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class AdaptationConfig:
    capacity: int = 16
    min_confidence: float = 0.6
    mix: float = 0.5
    max_drift: float = 0.2  # 1 - cos(prototype, anchor) at most
    min_count: int = 2


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cap_drift(p: np.ndarray, anchor: np.ndarray, max_drift: float) -> np.ndarray:
    """Move unit vectors p (..., D) back toward unit anchors so that 1 - cos(p, anchor) <= max_drift."""
    cos = (p * anchor).sum(-1, keepdims=True)
    min_cos = 1.0 - max_drift
    if max_drift >= 2.0 or np.all(cos >= min_cos - 1e-9):
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
        self._prototypes = self.anchors.copy()

    @property
    def prototypes(self) -> np.ndarray:
        return self._prototypes

    def observe(self, features: np.ndarray, scores: np.ndarray, classes: np.ndarray | None = None) -> int:
        """Offer windows: features (N, G, D) normalised, scores (N, C) logits over this bank's classes.
        ``classes`` optionally restricts which rows may be stored (e.g. not those decided 'unknown').
        Returns how many entries were stored."""
        probs = softmax(np.asarray(scores, dtype=np.float64))
        top = probs.argmax(axis=1)
        conf = probs[np.arange(len(probs)), top]
        stored = 0
        touched = set()
        for i in range(len(top)):
            if conf[i] < self.config.min_confidence or (classes is not None and not classes[i]):
                continue
            c = int(top[i])
            slot = int(np.argmin(self.confidence[c]))
            if self.count[c] < self.config.capacity:
                slot = int(self.count[c])
                self.count[c] += 1
            elif conf[i] <= self.confidence[c, slot]:
                continue
            self.memory[c, slot] = features[i]
            self.confidence[c, slot] = conf[i]
            stored += 1
            touched.add(c)
        for c in touched:
            self._refresh(c)
        return stored

    def _refresh(self, c: int) -> None:
        n = int(self.count[c])
        if n < self.config.min_count:
            self._prototypes[c] = self.anchors[c]
            return
        mean = _normalize(self.memory[c, :n].mean(axis=0))
        b = self.config.mix * min(1.0, n / self.config.capacity)
        p = _normalize((1 - b) * self.anchors[c] + b * mean)
        self._prototypes[c] = cap_drift(p, self.anchors[c], self.config.max_drift)

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
                self.memory, self.confidence, self.count = z["memory"], z["confidence"], z["count"]
        except (OSError, KeyError, ValueError):
            return False
        for c in range(len(self.count)):
            self._refresh(c)
        return True
