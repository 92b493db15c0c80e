"""InfoCPL: an information compensation framework for zero-shot skeleton-based action recognition (Xu, Gao, Li,
Gao; arXiv 2406.00639; official code damNull/InfoCPL, built on SMIE; ../shared/reference/methods.md section 4).

Text: per class a codebook of ``runtime.codebook.SIZE`` (56) description embeddings at several granularities and
one motion embedding, class text (C, 57, D): granularities code_0 .. code_55, then motion. The paper's codebook is
100 LLM-written descriptions and a separate LLM motion description; the project's descriptions hold ~13 texts per
class (global sentence, paraphrases, six body parts, three phases, label and aliases), so the codebook grows by a
stated, deterministic rule (``runtime.codebook``: the texts as written, the label prompts, cumulative phases, part
x phase and part-pair sentences, then label prompt templates) and the motion sentence is the global sentence. The
rule is pure Python in ``runtime``: a word a user adds on the device (a label, optionally with a description) gets
its codebook by the same rule, encoded there by the bundle's text encoder (56 distinct texts per new word; the
manifest names the rule). ``--label-text`` has no effect: the label and aliases are always in the codebook.

Skeleton: the backbone's feature map, mean-pooled over time and joints (N, C) (the paper: SMIE's frozen ST-GCN's
256-d pooled feature). Freeze a seen-class backbone as the paper does with ``--init RUN --freeze backbone``.

Multi-level alignment: H heads, one per k of the top-k series. The paper's series is [1, 5, 10, ..., 55] for a
100-entry codebook (``--topk``; its NTU-120 runs use 1,5,10,15,20); here each k is scaled to the codebook,
k = max(1, round(k K / 100)): [1, 3, 6, 8, 11, 14, 17, 20, 22, 25, 28, 31] of 56, 12 heads. Head i projects the
skeleton feature into the text space with a linear layer and LayerNorm without affine parameters (v_i), attends
over a candidate class's codebook (logits = codebook . v_i / sqrt(D)) keeping exactly its top-k_i entries (the
others -inf before the softmax; the official code keeps every entry tied with the k-th), adds the class's motion
embedding to the pooled description (l_i,c = d_i,c + motion_c), and scores the pair with its own MLP estimator
T_i([v_i; l_i,c]) -> s_i,c (ReLU; the paper's widths 2D -> 1024 -> 512 -> 1; the edge default here is 256 -> 128,
``--estimator-width 1024 --estimator-width2 512`` for the paper's: at 12 heads the scorer costs 12 x (D x w1 + w1 x
w2) multiply-adds per (window, class), 1.6 M at 256/128 and D = 384, 11 M at the paper's widths). The first layer is
computed as W_v v_i + W_t l_i,c (the same linear map of the concatenation), so the skeleton's half runs once per
window, not once per candidate. A candidate's score reads only its own codebook and motion embedding.

Attention inversion (A_inv): during the first ``--invert-fraction`` of the epochs (the paper: 15 of 100 epochs,
0.15; round(0.15 x epochs) here) the attention logits are multiplied by -1 in training (each head pools the least
similar descriptions), switched by ``on_epoch``; evaluation, model selection and export always use +1, as the
official test code. ``--no-invert-attention`` turns it off.

Loss (the official ``info_nce``, "new loss sampling"): per head, the positive logit softplus(s_i(v_b, class y_b))
and negatives softplus(s_i(v_j, class y_b)) for up to ``--neg-samples`` 8 samples j of the batch that show another
action (``same_concept``: other class, and another concept in a mixture), each scored with the class text attended
by its own feature (as the official code); -log softmax over [positive, negatives] (temperature 1), averaged over
the batch and the heads. Where it differs: each sample draws its own negatives and takes min(8, its other-action
samples in the batch) (the official code draws one set of ranks for the batch and cuts every sample to the
batch's minimum). ``--negatives rolled`` is the ablation with SMIE's in-batch negative: the next sample of the
batch (roll by one; none where it shows the same action), in the same softmax (SMIE's JSD objective is not
reproduced). ``--sub-loss`` adds the temporal-masked sub-sample margin term of the official code (off by default,
as its training loop): a second view keeping the ``--sub-keep`` most-moving frames (a simplification of SMIE's
motion-ranked temporal masking), loss + w * max(0, margin - (loss_sub - loss)), margin 0.3, weight 0.5. Only the
batch's classes' text is read (training classes).

Score: class c's logit is sum_i -softplus(-s_i,c) (the paper's selective feature ensemble: a sum of JSD lower
bounds). ``logit_scale`` is fixed at H, so the device's statistic (logit / scale) is the mean over heads of
log sigmoid(s_i,c), in (-inf, 0] (a log-probability that window and text match), and its softmax of
statistic x scale is the softmax of the paper's score. The graph's embedding output (N, C, 1, D) is the first
head's projected skeleton feature, L2-normalised, broadcast over the candidates: nothing on the device reads it
(there is no shared space: adaptation is off in the bundle) but export's fp32/INT8 agreement check.

Selection and training: the engine's (the best epoch by the validation GZSL H on the seen classes' validation
split; the official code selects the best epoch after 15 on test accuracy). The method trains with Adam at lr 1e-3 unless
``--optimizer``/``--lr`` say otherwise (``run_defaults``); the project's other defaults (weight decay 5e-4, 16 epochs, 2
warm-up epochs, batch 64) apply; the paper's run is ``--optimizer adam --lr 1e-5
--weight-decay 0 --epochs 100 --warmup-epochs 15 --batch-size 128 --init RUN --freeze backbone`` (its warm-up is
15 epochs then cosine; the engine's is linear then cosine to 1 %). No dropout (``--head-dropout 0``), as the paper.
Chance level of the loss is ln 9 = 2.197 (a positive and 8 negatives). With SGD at the project's lr 0.05 the
estimators barely move in short runs (LayerNorm'd features into PyTorch's default initialisation give small
gradients): use Adam, the paper's optimiser (on the tiny synthetic smoke data the loss leaves chance within
three epochs at ``--optimizer adam --lr 1e-3`` and stays there with SGD at 0.05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from runtime import codebook
from train.methods import register_method
from train.methods.base import MethodConfig, ZeroShotMethod

PAPER_TOPK = "1,5,10,15,20,25,30,35,40,45,50,55"  # the paper's series on a 100-entry codebook (NTU-60)
NEGATIVES = ("sampled", "rolled")


@dataclass
class InfoCPLConfig(MethodConfig):
    head_dropout: float = 0.0  # dropout on the pooled skeleton feature (none, as the paper)
    topk: str = PAPER_TOPK  # the paper's top-k series for a 100-entry codebook, one head each; scaled to the codebook: k = max(1, round(k K / 100))
    estimator_width: int = 256  # first hidden width of each head's estimator MLP (the paper: 1024)
    estimator_width2: int = 128  # second hidden width of each head's estimator MLP (the paper: 512)
    invert_attention: bool = True  # A_inv: attention logits x -1 during the warm-up epochs (training only)
    invert_fraction: float = 0.15  # fraction of the epochs with inverted attention (the paper: 15 of 100)
    negatives: str = "sampled"  # sampled (up to --neg-samples other-action samples of the batch, the paper) | rolled (the next sample of the batch, SMIE's; the ablation)
    neg_samples: int = 8  # negatives per sample (sampled)
    sub_loss: bool = False  # the temporal-masked sub-sample margin term (off, as the official training loop)
    sub_keep: float = 0.7  # sub-view: fraction of frames kept, the most-moving ones (SMIE: 35 of 50)
    sub_margin: float = 0.3  # sub-view: margin between the sub-view's loss and the full view's
    sub_weight: float = 0.5  # sub-view: weight of the margin term


def scaled_topk(series: str, size: int) -> tuple[int, ...]:
    """The paper's top-k series (for 100 entries) scaled to a ``size``-entry codebook: k -> max(1, round(k size /
    100)), at most ``size``, duplicates dropped (each k one head)."""
    try:
        ks = [int(k) for k in series.split(",") if k.strip()]
    except ValueError:
        raise ValueError(f"--topk {series!r}: comma-separated integers, e.g. {PAPER_TOPK}") from None
    if not ks or min(ks) < 1 or max(ks) > 100:
        raise ValueError(f"--topk {series!r}: integers in 1..100 (of a 100-entry codebook)")
    return tuple(dict.fromkeys(min(size, max(1, math.floor(k * size / 100 + 0.5))) for k in ks))


def top_k_softmax(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Softmax over the last axis keeping exactly the ``k`` largest logits (the others -inf before it); k is at
    most the axis' length (``scaled_topk``)."""
    keep = torch.zeros_like(logits).scatter(-1, logits.topk(k, dim=-1).indices, 1.0)
    return logits.masked_fill(keep == 0, float("-inf")).softmax(-1)


def class_scores(head_scores: torch.Tensor) -> torch.Tensor:
    """(H, N, C) estimator outputs -> (N, C): sum over heads of -softplus(-s) (log sigmoid)."""
    return -F.softplus(-head_scores).sum(0)


def temporal_mask(x: torch.Tensor, keep: float) -> torch.Tensor:
    """The sub-view (N, 3, T, V, M): the round(keep T) frames that move most (summed joint displacement from the
    previous frame), in time order, repeated back to T frames."""
    t = x.shape[2]
    k = min(t, max(1, round(keep * t)))
    motion = (x[:, :, 1:] - x[:, :, :-1]).abs().sum(dim=(1, 3, 4))  # (N, T-1)
    motion = torch.cat([motion[:, :1], motion], dim=1)  # the first frame counts its successor's motion
    idx = motion.topk(k, dim=1).indices.sort(dim=1).values  # (N, k)
    pick = idx[:, (torch.arange(t, device=x.device) * k) // t]  # (N, T): nearest repetition
    return x.gather(2, pick[:, None, :, None, None].expand(-1, x.shape[1], -1, *x.shape[3:]))


def sampled_negatives(other: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, B) bool "shows another action" -> per sample ``n`` candidates drawn at random without replacement from
    its other-action samples (B, n), and which are real ones (B, n): fewer exist when the batch has fewer."""
    n = max(1, min(n, other.shape[1] - 1))
    r = torch.rand(other.shape, device=other.device).masked_fill(~other, -1.0)
    idx = r.topk(n, dim=1).indices
    return idx, other.gather(1, idx)


def rolled_negatives(other: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SMIE's in-batch negative: the next sample (roll by one), where it shows another action."""
    b = other.shape[0]
    idx = ((torch.arange(b, device=other.device) + 1) % b)[:, None]
    return idx, other.gather(1, idx)


def info_nce(pos: torch.Tensor, neg: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per head and sample: -log softmax of softplus([pos, negatives]) at the positive. pos (H, B), neg (H, B, n),
    valid (B, n) (invalid negatives are left out). Returns (H, B)."""
    logits = F.softplus(torch.cat([pos.unsqueeze(-1), neg], dim=-1))
    mask = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1)
    return -logits.masked_fill(~mask, float("-inf")).log_softmax(-1)[..., 0]


class MeanPool(nn.Module):
    """The backbone's feature map (N, C, T', V) -> (N, C), with optional dropout."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.drop(fmap.mean(dim=(2, 3)))


class Alignment(nn.Module):
    """The H heads: projection + LayerNorm (no affine), top-k attention over a candidate's codebook, + motion, and
    an MLP estimator per head."""

    def __init__(self, channels: int, dim: int, topk: tuple[int, ...], width: int, width2: int):
        super().__init__()
        self.topk, self.dim = topk, dim
        self.proj = nn.ModuleList(nn.Linear(channels, dim) for _ in topk)
        self.first = nn.ModuleList(nn.Linear(2 * dim, width) for _ in topk)  # on [v; l], applied in two halves
        self.second = nn.ModuleList(nn.Linear(width, width2) for _ in topk)
        self.out = nn.ModuleList(nn.Linear(width2, 1) for _ in topk)

    def project(self, pooled: torch.Tensor) -> list[torch.Tensor]:
        """(N, C) -> per head v_i (N, D)."""
        return [F.layer_norm(p(pooled), (self.dim,)) for p in self.proj]

    def attention(self, v: torch.Tensor, codes: torch.Tensor, k: int, sign: float = 1.0) -> torch.Tensor:
        """v (N, D), codebooks (C, K, D) -> (C, N, K) attention weights, exactly ``k`` non-zero per row."""
        logits = torch.matmul(v.unsqueeze(0), codes.transpose(1, 2)) * (sign / math.sqrt(self.dim))
        return top_k_softmax(logits, k)

    def forward(self, pooled: torch.Tensor, class_text: torch.Tensor, sign: float = 1.0
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """pooled (N, C_b), class text (C, K+1, D) -> estimator outputs s (H, N, C) and the first head's v (N, D)."""
        codes, motion = class_text[:, :-1], class_text[:, -1]
        vs = self.project(pooled)
        out = []
        for i, (v, k) in enumerate(zip(vs, self.topk)):
            lang = torch.matmul(self.attention(v, codes, k, sign), codes) + motion.unsqueeze(1)  # (C, N, D)
            w = self.first[i].weight
            h = F.linear(v, w[:, : self.dim], self.first[i].bias) + F.linear(lang, w[:, self.dim :])  # (C, N, W)
            h = F.relu(self.second[i](F.relu(h)))
            out.append(self.out[i](h).squeeze(-1).transpose(0, 1))  # (N, C)
        return torch.stack(out), vs[0]


@register_method("infocpl")
class InfoCPL(ZeroShotMethod):
    config_class = InfoCPLConfig
    mode = "conditioned"
    score_kind = "logit"
    score_range = (-math.inf, 0.0)  # logit / scale = the mean over heads of log sigmoid(s): a log-probability
    shared_space = False  # the estimator, not a cosine, compares window and text: no device adaptation
    granularities = codebook.granularity_names()
    ensemble_text = False
    run_defaults = {"optimizer": "adam", "lr": 1e-3}  # the paper's optimiser; SGD leaves the estimators at chance
    float_modules = ("head", "align")
    class_text_rule = codebook.RULE

    def __init__(self, cfg: InfoCPLConfig, text_dim: int):
        if cfg.negatives not in NEGATIVES:
            raise ValueError(f"--negatives {cfg.negatives!r}: use {' or '.join(NEGATIVES)}")
        if cfg.text_augment:
            raise ValueError("--text-augment: infocpl's class text is a codebook, every entry is used; leave it off")
        checks = [("--estimator-width", cfg.estimator_width >= 1), ("--estimator-width2", cfg.estimator_width2 >= 1),
                  ("--neg-samples", cfg.neg_samples >= 1), ("--invert-fraction", 0 <= cfg.invert_fraction <= 1),
                  ("--sub-keep", 0 < cfg.sub_keep <= 1)]
        for flag, ok in checks:
            if not ok:
                raise ValueError(f"{flag} {getattr(cfg, flag[2:].replace('-', '_'))}: out of range")
        super().__init__(cfg, text_dim)
        del self.log_scale  # the scale is fixed: the number of heads (module doc)
        self.topk = scaled_topk(cfg.topk, codebook.SIZE)
        self.align = Alignment(self.backbone.out_channels, text_dim, self.topk, cfg.estimator_width,
                               cfg.estimator_width2)
        self.inverted = False  # A_inv, set by on_epoch

    def make_head(self, text_dim: int, t_out: int) -> nn.Module:
        return MeanPool(self.cfg.head_dropout)

    @classmethod
    def build_text(cls, cfg, descriptions, encoder):
        """(C, K+1, D): the codebook by ``runtime.codebook``'s rule, then the motion sentence; and the texts."""
        from train.text.encoders import encode_cached

        texts = [codebook.class_texts(c.label, c.global_, c.paraphrases, c.aliases, c.parts, c.phases)
                 for c in descriptions.classes]
        emb = encode_cached(encoder, [t for per in texts for t in per])
        emb = emb.reshape(len(texts), len(cls.granularities), -1)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)
        return emb.astype(np.float32), [[[t] for t in per] for per in texts]

    # ------------------------------------------------------------------------------------ scales
    @property
    def heads(self) -> int:
        return len(self.topk)

    @property
    def logit_scale(self) -> torch.Tensor:
        return torch.tensor(float(self.heads))

    # ----------------------------------------------------------------------------------- training
    def on_epoch(self, epoch: int, epochs: int) -> None:
        self.inverted = self.cfg.invert_attention and epoch < round(self.cfg.invert_fraction * epochs)

    @property
    def sign(self) -> float:
        """-1 while attention is inverted (training in the warm-up epochs only), else +1."""
        return -1.0 if self.training and self.inverted else 1.0

    def conditioned(self, features, class_text):
        """Pooled skeleton features (N, C_b), class text (C, K+1, D) -> logits (N, C) = sum_i -softplus(-s_i) and the
        first head's normalised projected feature broadcast over the candidates (N, C, 1, D)."""
        s, v = self.align(features, class_text, self.sign)
        logits = class_scores(s)
        emb = F.normalize(v, dim=-1)[:, None, None, :] + 0 * logits[:, :, None, None]
        return logits, emb

    def negatives(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Negative samples of each sample of the batch and which are real (never one showing its own action)."""
        other = ~self.same_concept(labels)
        if self.cfg.negatives == "rolled":
            return rolled_negatives(other)
        return sampled_negatives(other, self.cfg.neg_samples)

    def forward(self, x, labels=None, class_text=None, classes=None):
        features = self.encode(x)
        if labels is None:
            return features
        sub = self.encode(temporal_mask(x, self.cfg.sub_keep)) if self.cfg.sub_loss else None
        return self._loss(features, labels, class_text, sub)

    def loss(self, features, labels, class_text, classes):
        return self._loss(features, labels, class_text, None)

    def _loss(self, features, labels, class_text, sub):
        uniq, inv = torch.unique(labels, return_inverse=True)
        text = class_text[uniq]  # the batch's classes: training classes only
        s, _ = self.align(features, text, self.sign)  # (H, B, U)
        idx, valid = self.negatives(labels)
        b = torch.arange(len(labels), device=labels.device)
        pos = s[:, b, inv]  # (H, B)
        neg = s[:, idx, inv[:, None]]  # (H, B, n): sample idx[b, j] against b's class
        nll = info_nce(pos, neg, valid)
        out = {}
        if sub is not None:
            s_sub, _ = self.align(sub, text, self.sign)
            nll_sub = info_nce(s_sub[:, b, inv], neg, valid)
            margin = F.relu(self.cfg.sub_margin - (nll_sub - nll))
            out["loss_sub"] = margin.mean().detach()
            nll = nll + self.cfg.sub_weight * margin
        out["loss"] = nll.mean()
        out["negatives"] = valid.sum(1).float().mean().detach()
        return out
