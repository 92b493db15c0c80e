"""What every zero-shot method shares: an encoder (backbone + granularity head) and the scoring rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from runtime.skeleton import NORMALIZATION_ID
from train.models import create_backbone
from train.models.heads import GranularityHead


@dataclass
class MethodConfig:
    backbone: str = "edge"
    streams: str = "joint"  # what the backbone reads: joint | joint+bone | joint+motion | joint+bone+motion
    concept_positives: bool = True  # in a mixture, samples of the same concept in other datasets are positives
    frames: int = 32  # model input length (InputSpec.frames)
    persons: int = 1  # model input persons (InputSpec.persons)
    normalization: str = NORMALIZATION_ID  # preprocessing recipe (runtime.skeleton); v1 = without retargeting
    temperature: float = 0.07  # initial softmax temperature of the contrastive loss
    learn_temperature: bool = True  # a real learnable parameter (PGFA's official code fixes it by accident)
    head_dropout: float = 0.1
    text_augment: bool = False  # train against one randomly chosen wording per class and step, not their mean
    label_text: bool = True  # the global text also holds the label and aliases as prompts (users type phrases)


def scores(features: torch.Tensor, prototypes: torch.Tensor, weights: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """(N, G, D) x (C, G, D) -> (N, C): scale * sum_g w_g cos(f_g, p_cg). Inputs are L2-normalised."""
    return scale * torch.einsum("ngd,cgd,g->nc", features, prototypes, weights)


class ZeroShotMethod(nn.Module):
    """Base: subclasses set ``granularities`` and implement ``loss``."""

    name = "base"
    config_class = MethodConfig
    test_time = "none"  # or "pgfa": prototype-guided alignment at test time
    granularities: tuple[str, ...] = ("global",)
    ensemble_text = True  # global text = global sentence + paraphrases, averaged

    def __init__(self, cfg: MethodConfig, text_dim: int):
        super().__init__()
        self.cfg = cfg
        self.backbone = create_backbone(cfg.backbone, streams=cfg.streams)
        with torch.no_grad():  # the head needs the feature map's length
            t_out = self.backbone(torch.zeros(1, 3, cfg.frames, 25, cfg.persons)).shape[2]
        self.head = GranularityHead(self.granularities, self.backbone.out_channels, text_dim, t_out, cfg.head_dropout)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)), requires_grad=cfg.learn_temperature)
        self.register_buffer("weights", torch.full((len(self.granularities),), 1.0 / len(self.granularities)))
        # class -> concept id (a mixture of datasets names one action in several ways: ``train.data.concepts``);
        # losses that treat same-class pairs as positives use it; None: every class is its own concept
        self.class_groups: torch.Tensor | None = None
        self.train_classes: torch.Tensor | None = None  # the classes a loss may use as candidates (never unseen ones)

    def _group(self, labels: torch.Tensor) -> torch.Tensor:
        if self.class_groups is None or not self.cfg.concept_positives:
            return labels
        return self.class_groups.to(labels.device)[labels]

    def same_concept(self, labels: torch.Tensor) -> torch.Tensor:
        """(B, B) bool: which pairs of a batch show the same action (same class, or same concept)."""
        g = self._group(labels)
        return g[:, None] == g[None, :]

    def same_concept_as(self, labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(B, K) bool: which of ``classes`` show each sample's action."""
        return self._group(labels)[:, None] == self._group(classes)[None, :]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, 25, M) -> (N, G, D), L2-normalised: what export turns into the device's encoder."""
        return self.head(self.backbone(x))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, class_text: torch.Tensor | None = None):
        """encode(x); with labels and class text, the training losses instead (so DDP sees one forward)."""
        features = self.encode(x)
        return features if labels is None else self.loss(features, labels, class_text)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def scores(self, features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        return scores(features, prototypes, self.weights, self.logit_scale)

    def loss(self, features: torch.Tensor, labels: torch.Tensor, class_text: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError
