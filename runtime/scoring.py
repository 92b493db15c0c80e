"""The device's scoring rule (ARCHITECTURE.md, features mode), also used by training's evaluation so that the
figures a run reports are made the way the device makes them."""

from __future__ import annotations

import numpy as np


def score(features: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, scale: float) -> np.ndarray:
    """(N, G, D) features and (C, G, D) prototypes, both L2-normalised -> (N, C) logits:
    scale * sum_g w_g cos(f_g, p_cg)."""
    f = np.asarray(features, dtype=np.float32)
    p = np.asarray(prototypes, dtype=np.float32)
    w = np.asarray(weights, dtype=np.float32)
    # one matrix product over the flattened (granularity, dim) axis: the same sum as einsum("ngd,cgd,g->nc")
    # without einsum's path search, which cost more than the product itself at batch 1
    fw = (f * w[None, :, None]).reshape(len(f), -1)
    return scale * (fw @ p.reshape(len(p), -1).T)
