"""A Shift-GCN-style network (Cheng et al., CVPR 2020) in plain PyTorch, without the CUDA shift kernel.

Spatial non-local shift: channel c of joint v reads joint (v + c) mod 25, a pointwise conv mixes channels,
and the inverse shift puts features back, so every joint sees every other at the cost of a 1x1 conv.
Temporal shift: channel groups move by -k..k frames (as in TSM), then a strided pointwise conv.
"""

from __future__ import annotations

import torch
from torch import nn

from train.models import BlockStack, register_backbone

V = 25


def _joint_shift(channels: int, sign: int) -> torch.Tensor:
    """(C, V, V) permutation matrices: x @ P[c] moves channel c's joint (v + sign * c) mod V to v. A MatMul
    with constants, so the exported graph has no gather over runtime shapes."""
    c = torch.arange(channels).view(-1, 1)
    v = torch.arange(V).view(1, -1)
    src = (v + sign * c) % V  # (C, V): output joint v reads input joint src[c, v]
    p = torch.zeros(channels, V, V)
    p.scatter_(1, src.unsqueeze(1), 1.0)
    return p


class SpatialShift(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.register_buffer("shift_in", _joint_shift(c_in, +1))
        self.register_buffer("shift_out", _joint_shift(c_out, -1))
        self.mask = nn.Parameter(torch.zeros(c_in, V))  # learnable joint-channel importance
        self.conv = nn.Conv2d(c_in, c_out, 1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.matmul(x, self.shift_in) * (torch.tanh(self.mask) + 1).unsqueeze(1)
        y = self.bn(self.conv(y))
        return torch.matmul(y, self.shift_out)


class TemporalShift(nn.Module):
    def __init__(self, c: int, stride: int, reach: int = 2):
        super().__init__()
        self.reach = reach
        self.conv = nn.Conv2d(c, c, 1, (stride, 1))
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        offsets = torch.arange(-self.reach, self.reach + 1)
        groups = torch.chunk(x, len(offsets), dim=1)
        shifted = []
        for g, k in zip(groups, offsets.tolist()):
            if k == 0:
                shifted.append(g)
            elif k > 0:
                shifted.append(torch.nn.functional.pad(g[:, :, :-k], (0, 0, k, 0)))
            else:
                shifted.append(torch.nn.functional.pad(g[:, :, -k:], (0, 0, 0, -k)))
        y = torch.cat(shifted, dim=1)
        assert y.shape[1] == c
        return self.bn(self.conv(y))


class ShiftBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.spatial = SpatialShift(c_in, c_out)
        self.temporal = TemporalShift(c_out, stride)
        self.relu = nn.ReLU()
        if c_in == c_out and stride == 1:
            self.res = nn.Identity()
        else:
            self.res = nn.Sequential(nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.spatial(x))
        return self.relu(self.temporal(y) + self.res(x))


class ShiftGCN(BlockStack):
    def __init__(self, channels=(64, 64, 64, 64, 128, 128, 128, 256, 256, 256), strides=(1, 1, 1, 1, 2, 1, 1, 2, 1, 1),
                 in_channels: int = 3, streams: str = "joint", **_):
        layers, c = [], in_channels
        for c_out, s in zip(channels, strides):
            layers.append(ShiftBlock(c, c_out, s))
            c = c_out
        super().__init__(layers, c, in_channels, int(torch.tensor(strides).prod()), streams)


@register_backbone("shiftgcn")
def shiftgcn(**kw) -> ShiftGCN:
    return ShiftGCN(**kw)
