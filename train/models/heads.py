"""Heads that turn a backbone feature map (N, C, T', 25) into features per granularity (N, G, D).

Granularities: 'global' (all joints and frames), a body part from ``runtime.skeleton.DESCRIPTION_PARTS``
(its joints, all frames), or a temporal phase 'start' / 'middle' / 'end' (all joints, a third of the frames).
"""

from __future__ import annotations

import torch
from torch import nn

from runtime.skeleton import DESCRIPTION_PARTS

PHASES = ("start", "middle", "end")


def pooling_weights(granularities: tuple[str, ...], frames: int, joints: int = 25) -> torch.Tensor:
    """(G, T', V) averaging weights, so that pooling is one einsum that exports as a MatMul."""
    w = torch.zeros(len(granularities), frames, joints)
    for g, name in enumerate(granularities):
        if name in ("global", "label"):
            w[g] = 1.0
        elif name in DESCRIPTION_PARTS:
            w[g][:, list(DESCRIPTION_PARTS[name])] = 1.0
        elif name in PHASES:
            k = PHASES.index(name)
            edges = [round(i * frames / 3) for i in range(4)]
            lo, hi = edges[k], max(edges[k + 1], edges[k] + 1)
            w[g][lo:hi] = 1.0
        else:
            raise ValueError(f"unknown granularity {name!r}")
        w[g] /= w[g].sum()
    return w


class GranularityHead(nn.Module):
    """Pool per granularity, then a linear projection per granularity into the text space; L2-normalised."""

    def __init__(self, granularities: tuple[str, ...], in_channels: int, dim: int, frames: int, dropout: float = 0.0):
        super().__init__()
        self.granularities = tuple(granularities)
        self.register_buffer("pool", pooling_weights(self.granularities, frames))
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.proj = nn.Parameter(torch.empty(len(granularities), in_channels, dim))
        self.bias = nn.Parameter(torch.zeros(len(granularities), dim))
        for g in range(len(granularities)):
            nn.init.kaiming_uniform_(self.proj.data[g].T, a=5**0.5)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        # broadcasting and MatMul only (no einsum, no reshape): the exported graph stays small and static
        pooled = (fmap.unsqueeze(1) * self.pool.unsqueeze(1).unsqueeze(0)).sum(dim=(3, 4))  # (N, G, C)
        z = torch.matmul(self.drop(pooled).unsqueeze(2), self.proj).squeeze(2) + self.bias
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
