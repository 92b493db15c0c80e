"""The NTU-25 skeleton graph as adjacency matrices for graph convolutions (from the shared joint layout)."""

from __future__ import annotations

import numpy as np

from runtime.skeleton import NTU_BONES, NUM_NTU_JOINTS


def normalize_columns(a: np.ndarray) -> np.ndarray:
    deg = a.sum(axis=0)
    return a / np.where(deg > 0, deg, 1.0)


def ntu_partitions() -> np.ndarray:
    """(3, 25, 25): self links, inward links (child -> parent, toward the spine base) and outward links,
    each column-normalised, as in the ST-GCN 'spatial' / 2s-AGCN partitioning."""
    v = NUM_NTU_JOINTS
    inward = np.zeros((v, v))
    for child, parent in NTU_BONES:
        inward[child, parent] = 1.0
    return np.stack([np.eye(v), normalize_columns(inward), normalize_columns(inward.T)]).astype(np.float32)
