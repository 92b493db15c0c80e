"""DynaPURLS: part-aware hierarchical alignment with adaptive partitioning, and inference-time dynamic refinement
(PURLS, Zhu et al. CVPR 2024, and its dynamic extension; ../shared/reference/methods.md section 2).

Text: per class the project's hierarchical descriptions, one embedding per granularity: global (its sentence,
paraphrases and, with ``--label-text``, the label), the body parts and the three temporal phases. ``--parts six``
(the default, and what the figures use) takes the project's six parts (head, hands, arms, torso, legs, feet): 10
granularities; ``--parts four`` the paper's grouping (head, hands, torso, legs): 8.

Skeleton: the backbone's feature map (N, C, T', 25) becomes joint x time-segment tokens: time is average-pooled
into ``--segments`` 3 segments with the bounds of adaptive average pooling (the edge backbones leave T' = 4 steps,
so the segments are steps 0-1, 1-2 and 2-3: neighbouring segments share a step), 25 joints each, 75 tokens,
each L2-normalised as in the official code.

Adaptive partitioning (``--partition adaptive``, conditioned mode): each granularity's description embedding of a
candidate class is a query of a 2-head attention over the 75 tokens (keys projected, values the raw tokens); each
head has its own softmax and the heads' pooled vectors are averaged, computed as one pooling by the heads' mean
attention (the official code averages the heads' logits before one softmax, which is one head of twice the
width); the pooled vector goes through that granularity's linear projection
into the text space. The representation scored for class c is always made with c's own descriptions as queries:
every candidate in turn, at training, evaluation and refinement alike. The official code queries with the
ground-truth class's descriptions at test time (a label leak); here no label reaches any score.
Static partitioning (``--partition static``, the ablation, features mode): fixed joint groups
(``runtime.skeleton.DESCRIPTION_PARTS``) over all segments for the parts, all joints of one segment for a phase,
every token for the global granularity.

Loss: per granularity a CLIP-style symmetric cross-entropy over the batch (sample x the texts of the batch's
classes, and back), with a learnable temperature per granularity, summed over granularities. Where it differs
from the official code: the targets are soft over every sample of the same class (or concept), as PGFA's, not
one-hot (which pushes two samples of one class apart); the temperatures are exp(log-scale) as CLIP's, on
L2-normalised features (the official code multiplies un-normalised Tanh outputs by a linear scalar).

Score: the global granularity, as PURLS infers (``--score global``), or the mean over all granularities
(``--score all``, each at its learned temperature); a candidate's attention runs only for the granularities the
score reads, so the device pays one query per label with ``--score global``.

Dynamic refinement (test time, ``train.methods.refinement``): a learnable scale and shift on the unseen classes'
text, updated online from a class-balanced memory of the most confident pseudo-labelled windows. It is a
training-side evaluation only, not run on the device: the device's vocabulary has no seen/unseen split to
refine, the refinement is an optimiser loop (torch), and the runtime already has its own numpy adaptation for
methods whose windows and text share one space. The bundle says adaptation is off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from runtime.skeleton import DESCRIPTION_PARTS
from train.methods import register_method
from train.methods.base import MethodConfig, ZeroShotMethod
from train.methods.pgfa import soft_contrastive_loss

PHASES = ("start", "middle", "end")
PART_SETS = {
    "six": ("head", "hands", "arms", "torso", "legs", "feet"),  # the project's descriptions
    "four": ("head", "hands", "torso", "legs"),  # the paper's grouping
}


def granularities_of(parts: str) -> tuple[str, ...]:
    if parts not in PART_SETS:
        raise ValueError(f"--parts {parts!r}: use {' or '.join(PART_SETS)}")
    return ("global", *PART_SETS[parts], *PHASES)


@dataclass
class DynaPURLSConfig(MethodConfig):
    parts: str = "six"  # body parts of the descriptions: six (head, hands, arms, torso, legs, feet) | four (the paper's head, hands, torso, legs)
    partition: str = "adaptive"  # adaptive (text-queried attention, conditioned mode) | static (fixed joint groups and time thirds, features mode)
    segments: int = 3  # time segments of the token map
    heads: int = 2  # attention heads of the adaptive partitioning
    key_dim: int = 64  # query/key width per head
    score: str = "global"  # what the class score reads: global (as PURLS infers) | all (every granularity at its temperature)
    target_sharpness: float = 10.0  # soft targets over the positives of a batch (as PGFA's loss)
    refine_lr: float = 0.0  # dynamic refinement: Adam learning rate of the scale and shift; 0 = choose on validation
    refine_steps: int = 1  # dynamic refinement: optimiser steps per arriving batch
    refine_batch: int = 32  # dynamic refinement: windows per arriving batch
    refine_capacity: int = 0  # dynamic refinement: memory per pseudo-class; 0 = choose on validation
    refine_threshold: float = -1.0  # dynamic refinement: confidence (max probability) to enter the memory; < 0 = choose on validation


def segment_weights(t: int, segments: int) -> torch.Tensor:
    """(S, T) averaging weights with adaptive average pooling's bounds: segment i covers steps
    floor(i T / S) .. ceil((i + 1) T / S) - 1 (with T = 4, S = 3: 0-1, 1-2, 2-3)."""
    w = torch.zeros(segments, t)
    for i in range(segments):
        lo, hi = (i * t) // segments, -((-(i + 1) * t) // segments)
        w[i, lo:hi] = 1.0 / (hi - lo)
    return w


def static_pooling(granularities: tuple[str, ...], segments: int, joints: int = 25) -> torch.Tensor:
    """(G, S * V) token weights of the static partition: global = every token, a part = its joints in every
    segment, a phase = every joint of one third of the segments."""
    w = torch.zeros(len(granularities), segments, joints)
    for g, name in enumerate(granularities):
        if name == "global":
            w[g] = 1.0
        elif name in DESCRIPTION_PARTS:
            w[g][:, list(DESCRIPTION_PARTS[name])] = 1.0
        elif name in PHASES:
            k = PHASES.index(name)
            lo = (k * segments) // 3
            hi = max(-((-(k + 1) * segments) // 3), lo + 1)
            w[g][lo:hi] = 1.0
        else:
            raise ValueError(f"unknown granularity {name!r}")
        w[g] /= w[g].sum()
    return w.flatten(1)


class PartitionHead(nn.Module):
    """Tokens from the feature map; adaptive (text-queried) or static pooling; a projection per granularity."""

    def __init__(self, cfg: DynaPURLSConfig, granularities: tuple[str, ...], channels: int, dim: int, t_out: int):
        super().__init__()
        self.heads, self.key_dim = cfg.heads, cfg.key_dim
        self.register_buffer("segments", segment_weights(t_out, cfg.segments))
        self.register_buffer("static", static_pooling(granularities, cfg.segments))
        self.query = nn.Linear(dim, cfg.heads * cfg.key_dim, bias=False)
        self.key = nn.Linear(channels, cfg.heads * cfg.key_dim, bias=False)
        self.drop = nn.Dropout(cfg.head_dropout) if cfg.head_dropout > 0 else nn.Identity()
        self.proj = nn.Parameter(torch.empty(len(granularities), channels, dim))
        self.bias = nn.Parameter(torch.zeros(len(granularities), dim))
        for g in range(len(granularities)):
            nn.init.kaiming_uniform_(self.proj.data[g].T, a=5**0.5)

    def tokens(self, fmap: torch.Tensor) -> torch.Tensor:
        """(N, C, T', V) -> (N, S * V, C), each token L2-normalised."""
        tok = torch.matmul(self.segments, fmap).flatten(2).transpose(1, 2)  # (N, S*V, C)
        return tok / tok.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def project(self, pooled: torch.Tensor, index: list[int] | None = None) -> torch.Tensor:
        """(..., G, C) pooled vectors -> (..., G, D) normalised; ``index``: the granularities they are."""
        proj, bias = (self.proj, self.bias) if index is None else (self.proj[index], self.bias[index])
        lead, (g, c) = pooled.shape[:-2], pooled.shape[-2:]
        # one GEMM per granularity over every (window, candidate): a broadcast matmul would copy the projection
        # once per pair
        z = torch.matmul(self.drop(pooled).reshape(-1, g, c).transpose(0, 1), proj)  # (G, M, D)
        z = z.transpose(0, 1).reshape(*lead, g, -1) + bias
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def static_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, L, C) -> (N, G, D)."""
        return self.project(torch.matmul(self.static, tokens))

    def attend(self, tokens: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """tokens (N, L, C), description embeddings (K, G, D) -> pooled (N, K, G, C): each (class, granularity)
        pools the tokens with its own attention."""
        n, length, c = tokens.shape
        k_, g, _ = queries.shape
        h, dk = self.heads, self.key_dim
        q = self.query(queries).reshape(k_ * g, h, dk).transpose(0, 1)  # (H, K*G, dk)
        k = self.key(tokens).reshape(n, length, h, dk).permute(0, 2, 3, 1)  # (N, H, dk, L)
        attn = torch.softmax(torch.matmul(q.unsqueeze(0), k) / math.sqrt(dk), dim=-1)  # (N, H, K*G, L)
        pooled = torch.matmul(attn.mean(dim=1), tokens)  # (N, K*G, C): the mean of the heads' pooled vectors
        return pooled.reshape(n, k_, g, c)


@register_method("dynapurls")
class DynaPURLS(ZeroShotMethod):
    config_class = DynaPURLSConfig
    mode = "conditioned"  # "features" with --partition static (set per instance)
    score_kind = "logit"
    shared_space = False  # refinement is training-side only; the device's adaptation stays off (module doc)
    granularities = granularities_of("six")
    ensemble_text = True
    float_modules = ("head",)

    def __init__(self, cfg: DynaPURLSConfig, text_dim: int):
        if cfg.partition not in ("adaptive", "static"):
            raise ValueError(f"--partition {cfg.partition!r}: use adaptive or static")
        if cfg.score not in ("global", "all"):
            raise ValueError(f"--score {cfg.score!r}: use global or all")
        super().__init__(cfg, text_dim)
        self.granularities = granularities_of(cfg.parts)
        self.mode = "conditioned" if cfg.partition == "adaptive" else "features"
        self.score_kind = "logit" if self.mode == "conditioned" else "cosine"
        del self.log_scale
        g = len(self.granularities)
        self.log_scales = nn.Parameter(torch.full((g,), math.log(1.0 / cfg.temperature)),
                                       requires_grad=cfg.learn_temperature)
        self.scored = [0] if cfg.score == "global" else list(range(g))  # granularities the class score reads

    def make_head(self, text_dim: int, t_out: int) -> nn.Module:
        return PartitionHead(self.cfg, granularities_of(self.cfg.parts), self.backbone.out_channels, text_dim, t_out)

    @classmethod
    def build_text(cls, cfg, descriptions, encoder):
        from train.text.class_text import class_text_embeddings

        return class_text_embeddings(descriptions, encoder, granularities_of(cfg.parts), cls.ensemble_text,
                                     bool(cfg.label_text))

    # ----------------------------------------------------------------------------------- scales
    def scales(self) -> torch.Tensor:
        return self.log_scales.clamp(max=math.log(100.0)).exp()

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.scales()[self.scored].sum()

    def score_weights(self) -> torch.Tensor:
        """Per-granularity temperatures folded into the weights: zero for granularities the score does not read."""
        w = torch.zeros(len(self.granularities))
        s = self.scales().detach().cpu()
        w[self.scored] = s[self.scored] / s[self.scored].sum()
        return w

    # ------------------------------------------------------------------------------- features
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Adaptive: the tokens (N, 75, C) that ``conditioned`` pools per candidate; static: (N, G, D)."""
        tokens = self.head.tokens(self.backbone(x))
        return self.head.static_features(tokens) if self.mode == "features" else tokens

    def candidate_embeddings(self, tokens: torch.Tensor, class_text: torch.Tensor,
                             index: list[int] | None = None) -> torch.Tensor:
        """(N, L, C) tokens, (K, G, D) class text -> (N, K, G', D): every candidate's representation made with
        its own descriptions as queries (``index``: only those granularities)."""
        text = class_text if index is None else class_text[:, index]
        return self.head.project(self.head.attend(tokens, text), index)

    def conditioned(self, features, class_text):
        """Logits (N, K) over the candidates and the embeddings scored for each (N, K, G', D), G' the
        granularities the score reads."""
        idx = self.scored
        emb = self.candidate_embeddings(features, class_text, idx)
        text = class_text[:, idx]
        w = self.scales()[idx]
        logits = ((emb * text.unsqueeze(0)).sum(-1) * w).sum(-1)
        return logits, emb

    # ----------------------------------------------------------------------------------- loss
    def loss(self, features, labels, class_text, classes):
        """Per granularity, the symmetric soft contrastive loss over the batch; summed. Only the batch's classes'
        text is read (training classes by construction)."""
        uniq, inv = torch.unique(labels, return_inverse=True)
        text = class_text[uniq]  # (K, G, D)
        if self.mode == "conditioned":
            emb = self.candidate_embeddings(features, text)  # (B, K, G, D)
            cos = (emb * text.unsqueeze(0)).sum(-1)  # (B, K, G)
        else:
            cos = torch.einsum("bgd,kgd->bkg", features, text)
        cos = cos[:, inv]  # (B, B, G): sample x each sample's class text
        same = self.same_concept(labels)
        scales = self.scales()
        parts = [soft_contrastive_loss(scales[g] * cos[..., g], same, self.cfg.target_sharpness)
                 for g in range(cos.shape[-1])]
        out = {"loss": torch.stack(parts).sum()}
        out["loss_global"] = parts[0].detach()
        return out

    # ------------------------------------------------------------------------------- test time
    def test_time(self, ev, feats, gamma, out, settings=None):
        from train.methods.refinement import refinement_figures

        return refinement_figures(self, ev, feats, gamma, out, settings)
