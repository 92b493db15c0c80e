"""The device's scoring rule (ARCHITECTURE.md, features mode), also used by training's evaluation so that the
figures a run reports are made the way the device makes them."""

from __future__ import annotations

import numpy as np


def score_matrix(prototypes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(C, G, D) prototypes and (G,) granularity weights -> (G*D, C): the one matrix that scoring multiplies by.
    The device makes it once per prototype change, not per window."""
    p = np.asarray(prototypes, dtype=np.float32)
    w = np.asarray(weights, dtype=np.float32)
    return np.ascontiguousarray((p * w[None, :, None]).reshape(len(p), -1).T)


def score(features: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, scale: float,
          matrix: np.ndarray | None = None) -> np.ndarray:
    """(N, G, D) features and (C, G, D) prototypes, both L2-normalised -> (N, C) logits:
    scale * sum_g w_g cos(f_g, p_cg). ``matrix``: ``score_matrix(prototypes, weights)`` when already made."""
    f = np.asarray(features, dtype=np.float32)
    m = score_matrix(prototypes, weights) if matrix is None else matrix
    # one matrix product over the flattened (granularity, dim) axis: the same sum as einsum("ngd,cgd,g->nc")
    # without einsum's path search, which cost more than the product itself at batch 1
    return scale * (f.reshape(len(f), -1) @ m)
