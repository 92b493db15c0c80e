"""Pairwise: a tiny conditioned-mode method, the reference for methods whose score depends on the candidate class
(and what the tests run from training to events on the device).

The skeleton encoder (backbone and head) gives a window feature f in the text space; a small MLP scores each
(window, class) pair from [f, t, f * t], t the class's text embedding; the logit is ``logit_scale * tanh(mlp)``.
It has no shared feature space in the device's sense (the MLP, not a cosine, compares window and text), so its
bundle declares adaptation off; the embedding the graph returns for each class is the window feature itself.

Training: cross-entropy over the training classes' text (``classes``): the softmax never includes unseen text.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from train.methods import register_method
from train.methods.base import MethodConfig, ZeroShotMethod


@dataclass
class PairwiseConfig(MethodConfig):
    hidden: int = 64  # width of the pair scorer


@register_method("pairwise")
class Pairwise(ZeroShotMethod):
    config_class = PairwiseConfig
    mode = "conditioned"
    score_kind = "logit"
    shared_space = False
    granularities = ("global",)
    ensemble_text = True
    float_modules = ("head", "scorer")

    def __init__(self, cfg: PairwiseConfig, text_dim: int):
        super().__init__(cfg, text_dim)
        self.scorer = nn.Sequential(nn.Linear(3 * text_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))

    def conditioned(self, features, class_text):
        f = features[:, 0].unsqueeze(1)  # (N, 1, D)
        t = class_text[:, 0].unsqueeze(0)  # (1, C, D)
        zero = (f * 0).sum(-1, keepdim=True) + (t * 0).sum(-1, keepdim=True)  # (N, C, 1): broadcasts both
        fb, tb = f + zero, t + zero
        s = torch.tanh(self.scorer(torch.cat([fb, tb, fb * tb], dim=-1)).squeeze(-1))  # (N, C) in [-1, 1]
        return self.logit_scale * s, fb.unsqueeze(2)  # logits, and the window's embedding (N, C, 1, D)

    def loss(self, features, labels, class_text, classes):
        cls = classes.to(labels.device)
        logits = self.conditioned(features, class_text[cls])[0]
        target = (labels[:, None] == cls[None, :]).float().argmax(1)
        return {"loss": F.cross_entropy(logits, target)}
