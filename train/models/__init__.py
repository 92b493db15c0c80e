"""Skeleton backbones behind one registry. Every backbone maps (N, 3, T, 25, M) to a feature map
(N, C, T', 25): persons are averaged, joints and time are kept so that heads can pool over body parts
and temporal phases.

    from train.models import create_backbone, list_backbones
    net = create_backbone("edge", in_frames=64)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


class BlockStack(nn.Module):
    """What every backbone does around its blocks: ST-GCN's data BatchNorm over each joint coordinate, persons
    folded into the batch on the way in and averaged on the way out."""

    def __init__(self, blocks: list[nn.Module], out_channels: int, in_channels: int = 3, temporal_stride: int = 1):
        super().__init__()
        self.data_bn = nn.BatchNorm1d(in_channels * 25)
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = out_channels
        self.temporal_stride = temporal_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 1, 3, 2).reshape(n * m, c * v, t)
        x = self.data_bn(x).view(n * m, c, v, t).permute(0, 1, 3, 2)
        y = self.blocks(x)
        _, c2, t2, v2 = y.shape
        return y.view(n, m, c2, t2, v2).mean(dim=1)


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
