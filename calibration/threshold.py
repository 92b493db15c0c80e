"""The device's "no known action" threshold, set from held-out validation data, never from test windows.

Statistic: the best score of a window over the candidate classes, as the runtime computes it: the weighted
cosine (features mode, or a conditioned graph that returns cosines), or the graph's logit divided by the logit
scale (a conditioned graph that returns logits; the manifest's ``scoring.score``).

The sets (``validation_sets``): known windows are the validation parts of the run, held-out samples of the training
classes (``val_seen``) and the samples of the validation classes (``val_unseen``), scored against the run's seen
classes (training and validation classes); the unseen test classes are neither windows nor candidates. Unknown
windows are the same windows with their own class left out of the candidates (an action the vocabulary does not
name) and idle windows (standing or sitting still, from the synthetic generator). The threshold keeps
``target_recall`` of the known windows; the manifest records how many unknown windows it still lets through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from calibration.select import balanced_indices
from runtime.scoring import score
from runtime.skeleton import InputSpec, preprocess

VALIDATION_PARTS = ("val_seen", "val_unseen")


@dataclass
class HeldOut:
    """Validation windows (N, C, T, V, M), their labels (N,) in the run's label set, and the candidate classes
    (the run's training and validation classes, in label order)."""

    x: np.ndarray
    labels: np.ndarray
    classes: list[int]

    def local(self) -> np.ndarray:
        """Labels as indices into ``classes``."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[int(c)] for c in self.labels], dtype=np.int64)


def validation_sets(parts, spec: InputSpec, n_per_part: int = 400, seed: int = 1) -> HeldOut:
    """Up to ``n_per_part`` class-balanced windows of each validation part (never calibration data for INT8,
    never test data)."""
    xs, ys = [], []
    for name in VALIDATION_PARTS:
        ds = getattr(parts, name)
        if ds is None or len(ds) == 0:
            continue
        idx = balanced_indices(ds.labels, n_per_part, seed=seed)
        xs.append(np.stack([preprocess(ds.sequence(i), spec) for i in idx]))
        ys.append(ds.labels[idx])
    classes = sorted({int(c) for c in (*parts.split.train, *parts.split.val)})
    return HeldOut(np.concatenate(xs).astype(np.float32), np.concatenate(ys), classes)


def idle_windows(spec: InputSpec, n: int = 64) -> np.ndarray:
    """Windows of people standing or sitting still (the synthetic generator's idle motion)."""
    from runtime.synth import IDLE, SynthConfig, generate, sample_seed

    return np.stack([preprocess(generate(IDLE, sample_seed(7, 0, i), SynthConfig()).joints[:, None], spec)
                     for i in range(n)]).astype(np.float32)


def top_score(stat: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """(N, C) statistic -> (N,) its best value; ``exclude`` (N,) leaves each sample's own class out."""
    if exclude is not None:  # leave each sample's own class out: "an action the vocabulary lacks"
        stat = stat.copy()
        stat[np.arange(len(stat)), exclude] = -np.inf
    return stat.max(axis=1)


def top_cosine(features: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """Features mode: the best weighted cosine of each window over the prototypes."""
    return top_score(score(features, prototypes, weights, 1.0), exclude)


def calibrate_unknown(known: np.ndarray, unknown: np.ndarray, target_recall: float = 0.9,
                      statistic: str = "top1_weighted_cosine") -> dict:
    """Threshold at the (1 - target_recall) quantile of the known statistic."""
    value = float(np.quantile(known, 1 - target_recall))
    return {
        "value": value, "statistic": statistic, "target_recall": target_recall,
        "known_recall": float(np.mean(known >= value)), "unknown_accepted": float(np.mean(unknown >= value)),
        "n_known": int(len(known)), "n_unknown": int(len(unknown)),
    }


def unknown_threshold(stat: Callable[[np.ndarray], np.ndarray], held: HeldOut, idle: np.ndarray,
                      target_recall: float = 0.9, statistic: str = "top1_weighted_cosine") -> dict:
    """The threshold from the validation sets: ``stat(x)`` gives the device's statistic (N, K) of windows against
    the candidate classes ``held.classes``; known = the validation windows' best, unknown = their best without
    their own class, and the idle windows' best."""
    s = stat(held.x)
    known = top_score(s)
    unknown = np.concatenate([top_score(s, exclude=held.local()), top_score(stat(idle))])
    out = calibrate_unknown(known, unknown, target_recall, statistic)
    out["source"] = "validation parts (held-out samples of the training classes, the validation classes); idle windows"
    out["candidates"] = len(held.classes)
    return out
