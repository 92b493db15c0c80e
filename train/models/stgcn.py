"""ST-GCN (Yan et al., AAAI 2018) as the zero-shot papers use it: 10 blocks, 64-128-256 channels, temporal
kernel 9, spatial partitioning with learnable edge importance."""

from __future__ import annotations

from train.models import register_backbone
from train.models.edge import GCNBackbone


@register_backbone("stgcn")
def stgcn(dropout: float = 0.5, **kw) -> GCNBackbone:
    return GCNBackbone(
        channels=(64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        strides=(1, 1, 1, 1, 2, 1, 1, 2, 1, 1), kernel=9, dropout=dropout, **kw,
    )
