"""Inference backends behind one interface, chosen by name or by ``auto``.

    backend = create_backend(bundle, "auto")      # TensorRT -> onnxruntime CUDA -> onnxruntime CPU
    feats = backend.features(x)                    # features mode: (N, G, D)
    scores, emb = backend.conditioned(x, protos)   # conditioned mode: (N, C), (N, C, G, D)

``auto`` logs which backend it took and why the faster ones were passed over.
"""

from __future__ import annotations

import logging

from runtime.backends.base import Backend, BackendUnavailable
from runtime.bundle import Bundle

log = logging.getLogger("runtime")
NAMES = ("auto", "ort-cpu", "ort-cuda", "ort-tensorrt", "tensorrt")


def create_backend(bundle: Bundle, name: str = "auto", precision: str = "auto", threads: int = 0) -> Backend:
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(NAMES)}")
    order = ["tensorrt", "ort-cuda", "ort-cpu"] if name == "auto" else [name]
    reasons = []
    for candidate in order:
        try:
            backend = _make(bundle, candidate, precision, threads)
        except BackendUnavailable as e:
            reasons.append(f"{candidate}: {e}")
            if name != "auto":
                raise
            continue
        why = f" (passed over: {'; '.join(reasons)})" if reasons else ""
        log.info(f"backend {backend.describe()}{why}")
        return backend
    raise BackendUnavailable("no backend could start: " + "; ".join(reasons))


def _make(bundle: Bundle, name: str, precision: str, threads: int) -> Backend:
    if name == "tensorrt":
        from runtime.backends.tensorrt import TensorRTBackend

        return TensorRTBackend(bundle, precision)
    from runtime.backends.ort import OrtBackend

    return OrtBackend(bundle, name, precision, threads)


__all__ = ["NAMES", "Backend", "BackendUnavailable", "create_backend"]
