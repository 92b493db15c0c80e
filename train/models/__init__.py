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


STREAMS = {"joint": 1, "joint+bone": 2, "joint+motion": 2, "joint+bone+motion": 3}


def _parent_matrix() -> torch.Tensor:
    """(V, V): x @ P gives each joint's parent (the root its own), so x - x @ P is the bone vector."""
    from runtime.skeleton import NTU_PARENTS

    p = torch.zeros(25, 25)
    for v, u in enumerate(NTU_PARENTS):
        p[u if u >= 0 else v, v] = 1.0
    return p


class BlockStack(nn.Module):
    """What every backbone does around its blocks: the input streams (joint positions, and optionally bone
    vectors and frame-to-frame motion, computed inside the graph so the device feeds the same window), ST-GCN's
    data BatchNorm over each joint coordinate, persons folded into the batch on the way in and averaged on the
    way out."""

    def __init__(self, blocks: list[nn.Module], out_channels: int, in_channels: int = 3, temporal_stride: int = 1,
                 streams: str = "joint"):
        super().__init__()
        if streams not in STREAMS:
            raise ValueError(f"unknown input streams {streams!r}; use one of {', '.join(STREAMS)}")
        self.streams = streams
        self.register_buffer("parent", _parent_matrix(), persistent=False)
        self.in_channels = in_channels
        self.data_bn = nn.BatchNorm1d(in_channels * 25)
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = out_channels
        self.temporal_stride = temporal_stride

    def data_norm(self, x: torch.Tensor) -> torch.Tensor:
        """ST-GCN's data BatchNorm over each (channel, joint) of x (N, C, T, V). In eval mode it is the same
        affine map written with broadcasting, so the exported graph needs no reshape (no shape arithmetic,
        which at batch 1 costs as much as the convolutions)."""
        bn = self.data_bn
        if self.training:
            n, c, t, v = x.shape
            y = bn(x.permute(0, 1, 3, 2).reshape(n, c * v, t))
            return y.view(n, c, v, t).permute(0, 1, 3, 2)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        return x * scale.view(1, self.in_channels, 1, -1) + shift.view(1, self.in_channels, 1, -1)

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, V) joint positions -> (N, 3 * streams, T, V)."""
        if self.streams == "joint":
            return x
        parts = [x]
        if "bone" in self.streams:
            parts.append(x - torch.matmul(x, self.parent))
        if "motion" in self.streams:
            d = x[:, :, 1:] - x[:, :, :-1]
            parts.append(torch.cat([d[:, :, :1] * 0.0, d], dim=2))  # no motion before the first frame
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[4] == 1:  # one person (the device's windows): no folding at all
            return self.blocks(self.data_norm(self.expand(x[..., 0])))
        m = x.shape[4]
        y = self.blocks(self.data_norm(self.expand(x.permute(0, 4, 1, 2, 3).flatten(0, 1))))
        return y.unflatten(0, (-1, m)).mean(dim=1)


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


def create_backbone(name: str, streams: str = "joint", **kwargs) -> nn.Module:
    """A registered backbone; ``streams`` adds bone vectors and/or motion to the joint positions it reads."""
    _load_all()
    if name not in _BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; available: {', '.join(sorted(_BACKBONES))}")
    if streams not in STREAMS:
        raise ValueError(f"unknown input streams {streams!r}; use one of {', '.join(STREAMS)}")
    if streams == "joint":
        return _BACKBONES[name](**kwargs)
    return _BACKBONES[name](in_channels=3 * STREAMS[streams], streams=streams, **kwargs)


def _load_all() -> None:
    from train.models import edge, shiftgcn, stgcn  # noqa: F401  (registers them)
