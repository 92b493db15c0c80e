"""fp32 versus INT8: do the two encoders make the same decisions on held-out windows?"""

from __future__ import annotations

import numpy as np

from runtime.scoring import score


def compare(fp32: np.ndarray, int8: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, scale: float,
            labels: list[str] | None = None) -> dict:
    """fp32 and int8 features (N, G, D) scored against the same prototypes (C, G, D)."""
    s32, s8 = score(fp32, prototypes, weights, scale), score(int8, prototypes, weights, scale)
    p32, p8 = s32.argmax(1), s8.argmax(1)
    cos = (fp32 * int8).sum(-1) / np.maximum(np.linalg.norm(fp32, axis=-1) * np.linalg.norm(int8, axis=-1), 1e-12)
    changed: dict[str, int] = {}
    for i in np.flatnonzero(p32 != p8):
        name = labels[p32[i]] if labels else str(p32[i])
        changed[name] = changed.get(name, 0) + 1
    return {
        "top1_agreement": float(np.mean(p32 == p8)), "n": int(len(p32)),
        "feature_cosine_min": float(cos.min()), "feature_cosine_mean": float(cos.mean()),
        "max_abs_score_diff": float(np.abs(s32 - s8).max() / scale),
        "changed_predictions_by_fp32_class": dict(sorted(changed.items(), key=lambda kv: -kv[1])),
    }
