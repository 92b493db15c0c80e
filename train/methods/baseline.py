"""Baseline: CLIP-style symmetric contrastive training of the skeleton encoder against the class text.

Each sample in a batch is paired with the embedding of its class's global description; both directions
(skeleton -> texts of the batch, text -> skeletons of the batch) use hard one-hot targets, so another sample
of the same class in the batch counts as a negative, as in CLIP and PURLS. Classification is by cosine to
the candidate classes' text. Global description only, no paraphrase ensembling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from train.methods import register_method
from train.methods.base import ZeroShotMethod


@register_method("baseline")
class Baseline(ZeroShotMethod):
    granularities = ("global",)
    ensemble_text = False

    def loss(self, features, labels, class_text, classes):
        z = features[:, 0]
        t = class_text[labels, 0]
        logits = self.logit_scale * z @ t.T
        target = torch.arange(len(z), device=z.device)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        return {"loss": loss}
