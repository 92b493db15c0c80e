"""Zero-shot methods, one module each, selected by ``--method``. A method plugs into the engine, the evaluation
and export through the hooks of ``train.methods.base.ZeroShotMethod`` (its docstring is the contract); features
mode: ``encode(x) -> (N, G, D)`` normalised features, class prototypes (C, G, D) from text, and scores =
logit_scale * sum_g w_g cos(f_g, p_cg); conditioned mode: the score of a (window, class text) pair comes from the
method's own scorer (``pairwise`` is the small reference).
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
    from train.methods import baseline, dynapurls, infocpl, neuron, pairwise, pgfa  # noqa: F401  (registers them)


def list_methods() -> list[str]:
    _load_all()
    return sorted(_METHODS)


def method_class(name: str) -> type:
    _load_all()
    if name not in _METHODS:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]
