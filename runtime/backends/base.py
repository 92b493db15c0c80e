"""What every backend offers: the features of a batch of windows, or conditioned scores."""

from __future__ import annotations

import numpy as np


class BackendUnavailable(RuntimeError):
    """This backend cannot run here (missing library, no GPU, no engine); the message says which."""


class Backend:
    name = "base"
    precision = "fp32"
    mode = "features"
    precision_note = ""  # why this precision was chosen, when ``auto`` chose it

    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, C, T, V, M) float32 -> (N, G, D) L2-normalised features (features mode)."""
        raise NotImplementedError

    def conditioned(self, x: np.ndarray, prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, C, T, V, M) and (K, G, D) -> scores (N, K) and the embeddings scored (N, K, G, D)."""
        raise NotImplementedError

    def describe(self) -> str:
        note = f", {self.precision_note}" if self.precision_note else ""
        return f"{self.name} ({self.precision}{note})"
