"""The device's "no known action" threshold, set from held-out data.

Statistic: the best weighted cosine of a window over the vocabulary (the logit divided by the logit scale), as
the runtime computes it. Known windows are held-out samples of vocabulary classes; unknown windows are samples
of classes left out of the candidate set (each class scored without its own prototype: an action the
vocabulary does not name) and idle windows (standing or sitting still). The threshold keeps ``target_recall``
of the known windows; the manifest records how many unknown windows it still lets through.
"""

from __future__ import annotations

import numpy as np

from runtime.scoring import score


def top_cosine(features: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    s = score(features, prototypes, weights, 1.0)
    if exclude is not None:  # leave each sample's own class out: "an action the vocabulary lacks"
        s = s.copy()
        s[np.arange(len(s)), exclude] = -np.inf
    return s.max(axis=1)


def calibrate_unknown(known: np.ndarray, unknown: np.ndarray, target_recall: float = 0.9) -> dict:
    """Threshold at the (1 - target_recall) quantile of the known statistic."""
    value = float(np.quantile(known, 1 - target_recall))
    return {
        "value": value, "statistic": "top1_weighted_cosine", "target_recall": target_recall,
        "known_recall": float(np.mean(known >= value)), "unknown_accepted": float(np.mean(unknown >= value)),
        "n_known": int(len(known)), "n_unknown": int(len(unknown)),
    }
