"""Zero-shot metrics: ZSL top-1/top-5 over the unseen classes; GZSL seen/unseen accuracy and their harmonic
mean, with calibrated stacking (a constant gamma subtracted from seen-class scores) tuned on validation.
Accuracies are per sample over the whole set (not means of per-batch accuracies)."""

from __future__ import annotations

import numpy as np


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def zsl_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """``labels`` index the columns of ``scores`` (the unseen classes)."""
    pred = scores.argmax(axis=1)
    per_class = [float(np.mean(pred[labels == c] == c)) for c in np.unique(labels)]
    return {"top1": float(np.mean(pred == labels)), "top5": topk(scores, labels, 5),
            "mean_class_top1": float(np.mean(per_class)), "n": int(len(labels))}


def harmonic(a: float, b: float) -> float:
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def gzsl_metrics(scores: np.ndarray, labels: np.ndarray, seen: np.ndarray, gamma: float = 0.0) -> dict[str, float]:
    """scores (N, C) over all candidate classes, labels index them, seen (C,) marks seen classes."""
    pred = (scores - gamma * seen[None, :]).argmax(axis=1)
    is_seen = seen[labels]
    acc_s = float(np.mean(pred[is_seen] == labels[is_seen])) if is_seen.any() else 0.0
    acc_u = float(np.mean(pred[~is_seen] == labels[~is_seen])) if (~is_seen).any() else 0.0
    return {"seen": acc_s, "unseen": acc_u, "h": harmonic(acc_s, acc_u), "gamma": float(gamma)}


def tune_gamma(scores: np.ndarray, labels: np.ndarray, seen: np.ndarray, steps: int = 201) -> tuple[float, dict]:
    """The calibration constant that maximises H on this (validation) set."""
    gap = scores[:, seen].max(axis=1) - scores[:, ~seen].max(axis=1)
    lo, hi = float(np.percentile(gap, 1)), float(np.percentile(gap, 99))
    best = (0.0, gzsl_metrics(scores, labels, seen, 0.0))
    for g in np.linspace(min(lo, 0.0), max(hi, 0.0), steps):
        m = gzsl_metrics(scores, labels, seen, g)
        if m["h"] > best[1]["h"] + 1e-12:
            best = (float(g), m)
    return best
