"""Zero-shot methods, one module each, selected by ``--method``. Every method exposes the same inference
contract (ARCHITECTURE.md, features mode): ``encode(x) -> (N, G, D)`` normalised features for its
granularities, class prototypes (C, G, D) from text, and scores = logit_scale * sum_g w_g cos(f_g, p_cg).
"""

from __future__ import annotations

_METHODS: dict[str, type] = {}


def register_method(name: str):
    def deco(cls):
        if name in _METHODS:
            raise ValueError(f"method {name!r} registered twice")
        cls.name = name
        _METHODS[name] = cls
        return cls

    return deco


def _load_all() -> None:
    from train.methods import baseline, pgfa  # noqa: F401  (registers them)


def list_methods() -> list[str]:
    _load_all()
    return sorted(_METHODS)


def method_class(name: str) -> type:
    _load_all()
    if name not in _METHODS:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]
