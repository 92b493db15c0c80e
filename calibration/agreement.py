"""fp32 versus INT8: do the two encoders make the same decisions on held-out windows?"""

from __future__ import annotations

import numpy as np

from runtime.scoring import score


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)


def _changed(p32: np.ndarray, p8: np.ndarray, labels: list[str] | None) -> dict[str, int]:
    changed: dict[str, int] = {}
    for i in np.flatnonzero(p32 != p8):
        name = labels[p32[i]] if labels else str(p32[i])
        changed[name] = changed.get(name, 0) + 1
    return dict(sorted(changed.items(), key=lambda kv: -kv[1]))


def compare(fp32: np.ndarray, int8: np.ndarray, prototypes: np.ndarray, weights: np.ndarray, scale: float,
            labels: list[str] | None = None) -> dict:
    """Features mode: fp32 and int8 features (N, G, D) scored against the same prototypes (C, G, D)."""
    s32, s8 = score(fp32, prototypes, weights, scale), score(int8, prototypes, weights, scale)
    p32, p8 = s32.argmax(1), s8.argmax(1)
    cos = _cosine(fp32, int8)
    return {
        "top1_agreement": float(np.mean(p32 == p8)), "n": int(len(p32)),
        "feature_cosine_min": float(cos.min()), "feature_cosine_mean": float(cos.mean()),
        "max_abs_score_diff": float(np.abs(s32 - s8).max() / scale),
        "changed_predictions_by_fp32_class": _changed(p32, p8, labels),
    }


def compare_scores(stat32: np.ndarray, stat8: np.ndarray, emb32: np.ndarray, emb8: np.ndarray,
                   labels: list[str] | None = None) -> dict:
    """Conditioned mode: the two graphs' statistics (N, C) (the device's score: cosine, or logit / scale) and the
    embeddings each scored for fp32's best class (N, G, D)."""
    p32, p8 = stat32.argmax(1), stat8.argmax(1)
    cos = _cosine(emb32, emb8)
    return {
        "top1_agreement": float(np.mean(p32 == p8)), "n": int(len(p32)),
        "feature_cosine_min": float(cos.min()), "feature_cosine_mean": float(cos.mean()),
        "max_abs_score_diff": float(np.abs(stat32 - stat8).max()),
        "changed_predictions_by_fp32_class": _changed(p32, p8, labels),
    }
