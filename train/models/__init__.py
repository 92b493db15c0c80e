"""Skeleton backbones behind one registry. Every backbone maps (N, 3, T, 25, M) to a feature map
(N, C, T', 25): persons are averaged, joints and time are kept so that heads can pool over body parts
and temporal phases.

    from train.models import create_backbone, list_backbones
    net = create_backbone("edge", in_frames=64)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def register_backbone(name: str):
    def deco(fn):
        if name in _BACKBONES:
            raise ValueError(f"backbone {name!r} registered twice")
        _BACKBONES[name] = fn
        return fn

    return deco


def list_backbones() -> list[str]:
    _load_all()
    return sorted(_BACKBONES)


def create_backbone(name: str, **kwargs) -> nn.Module:
    _load_all()
    if name not in _BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; available: {', '.join(sorted(_BACKBONES))}")
    return _BACKBONES[name](**kwargs)


def _load_all() -> None:
    from train.models import edge, shiftgcn, stgcn  # noqa: F401  (registers them)
