"""Dynamic refinement (DynaPURLS test time): a learnable scale and shift on the unseen classes' text, updated
online from a class-balanced memory of the most confident pseudo-labelled windows.

Windows arrive in batches in a random order (a stream: no window is seen twice, none before its turn). For each
batch: (1) score it with the text of the moment and pseudo-label it; (2) windows whose confidence (the max softmax
probability at the model's temperature) passes the threshold enter the memory of their pseudo-class, which keeps
the ``capacity`` most confident (a new window replaces the least confident when it is more confident); (3) a few
Adam steps on the cross-entropy of every remembered window against its pseudo-label, through
t' = normalise(scale * t + shift) on the adapted classes only; (4) score the batch again with the updated text:
those scores are the batch's result. The memory holds each window's candidate embeddings (features, not autograd
graphs: the official code keeps stale graphs alive with ``retain_graph``), and the queries of the attention stay
those of the original text, so a window's embeddings are computed once.

Labels never enter: ``refine_stream`` takes none. The threshold, the memory size and the learning rate are chosen
on the validation classes, for ZSL and for GZSL separately (the paper's confidence threshold of 0.1 sits below
chance when there are fewer than ten classes, and at a trained temperature nearly every window passes it; a
learning rate that helps among the unseen classes alone can let their moved text take the seen classes' windows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# the softmax at a trained model's temperature is peaked: most windows pass 0.5, few pass 0.99
THRESHOLDS = (0.5, 0.9, 0.99)
CAPACITIES = (4, 16)
LEARNING_RATES = (1e-3, 1e-2)


@dataclass
class RefineConfig:
    capacity: int = 16  # windows remembered per pseudo-class
    threshold: float = 0.5  # confidence needed to enter the memory
    lr: float = 1e-2  # Adam on scale and shift (weight decay 1e-3, as the official code)
    steps: int = 1  # optimiser steps per batch
    batch: int = 32  # windows per arriving batch


def refine_stream(embed: Callable[[np.ndarray], torch.Tensor], n: int, text: torch.Tensor, scales: torch.Tensor,
                  adapt: np.ndarray, offset: np.ndarray, cfg: RefineConfig, seed: int = 0) -> np.ndarray:
    """Scores (N, K) of a stream of ``n`` windows, each made right after the update its batch caused.

    ``embed(idx)`` -> (len(idx), K, G, D) the windows' candidate embeddings (normalised); ``text`` (K, G, D) the
    candidates' text; ``scales`` (G,) the per-granularity temperatures (logit = sum_g s_g cos_g); ``adapt`` (K,)
    which candidates' text may move (the unseen ones); ``offset`` (K,) subtracted from the logits (GZSL
    calibration: gamma on the seen classes)."""
    adapt_idx = torch.from_numpy(np.flatnonzero(adapt))
    off = torch.from_numpy(np.asarray(offset, dtype=np.float32))
    scale = torch.ones(len(adapt_idx), *text.shape[1:], requires_grad=True)
    shift = torch.zeros(len(adapt_idx), *text.shape[1:], requires_grad=True)
    opt = torch.optim.Adam([scale, shift], lr=cfg.lr, weight_decay=1e-3)

    def current_text() -> torch.Tensor:
        moved = F.normalize(scale * text[adapt_idx] + shift, dim=-1)
        return text.index_copy(0, adapt_idx, moved)

    def logits(emb: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return ((emb * t.unsqueeze(0)).sum(-1) * scales).sum(-1) - off

    memory: dict[int, list[tuple[float, torch.Tensor]]] = {}  # pseudo-class -> [(confidence, embeddings)]
    order = np.random.default_rng(seed).permutation(n)
    out = np.zeros((n, len(text)), dtype=np.float32)
    for k in range(0, n, cfg.batch):
        idx = order[k : k + cfg.batch]
        emb = embed(idx)
        with torch.no_grad():
            p = torch.softmax(logits(emb, current_text()), dim=1)
        conf, pseudo = p.max(dim=1)
        for i in range(len(idx)):
            c = int(pseudo[i])
            if not adapt[c] or float(conf[i]) <= cfg.threshold:
                continue
            bank = memory.setdefault(c, [])
            if len(bank) < cfg.capacity:
                bank.append((float(conf[i]), emb[i]))
            else:
                low = min(range(len(bank)), key=lambda j: bank[j][0])
                if float(conf[i]) > bank[low][0]:
                    bank[low] = (float(conf[i]), emb[i])
        if memory:
            mem = torch.stack([e for bank in memory.values() for _, e in bank])
            target = torch.tensor([c for c, bank in memory.items() for _ in bank])
            for _ in range(cfg.steps):
                loss = F.cross_entropy(logits(mem, current_text()), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            out[idx] = logits(emb, current_text()).numpy()
    return out


# ----------------------------------------------------------------------------------- evaluation


def _embedder(method, feats: np.ndarray, text: torch.Tensor, cache_bytes: float = 5e8):
    """embed(idx) for a part's windows: the method's candidate embeddings of the granularities the score reads,
    computed once when they fit in ``cache_bytes``, else per batch."""
    idx_g = method.scored

    @torch.no_grad()
    def compute(idx: np.ndarray) -> torch.Tensor:
        f = torch.from_numpy(feats[idx])
        if method.mode == "features":
            return f[:, idx_g].unsqueeze(1).expand(-1, len(text), -1, -1)
        return method.conditioned(f, text)[1]

    size = len(feats) * len(text) * len(idx_g) * text.shape[-1] * 4
    if size > cache_bytes:
        return compute
    method.eval()
    every = torch.cat([compute(np.arange(i, min(i + 256, len(feats)))) for i in range(0, len(feats), 256)])
    return lambda idx: every[torch.from_numpy(np.asarray(idx))]


def refined_scores(method, ev, feats: np.ndarray, classes: list[int], cfg: RefineConfig,
                   seen: np.ndarray | None = None, gamma: float = 0.0) -> np.ndarray:
    """Refined (and, for GZSL, calibrated) scores of a part's windows against ``classes``; ``seen`` marks the
    classes that stay fixed (GZSL), None: all adapt (ZSL)."""
    method.eval()
    text = torch.from_numpy(np.ascontiguousarray(ev.bank[classes][:, method.scored]))
    adapt = np.ones(len(classes), dtype=bool) if seen is None else ~seen
    offset = np.zeros(len(classes), dtype=np.float32) if seen is None else gamma * seen.astype(np.float32)
    scales = method.scales().detach()[method.scored]
    return refine_stream(_embedder(method, feats, text), len(feats), text, scales, adapt, offset, cfg)


def refinement_figures(method, ev, feats: dict, gamma: float, out: dict, settings: dict | None) -> dict:
    """The test_time hook of DynaPURLS: ZSL and GZSL with refinement, each with its own threshold, memory size and
    learning rate chosen on the validation classes (ZSL: the validation classes alone; GZSL: the training classes'
    held-out windows and the validation classes together, pseudo-labelled at the calibration chosen before, with
    a second calibration constant for the refined scores tuned there too), or, for a refit model, taken from
    ``settings``."""
    from train.evaluate import _local, gzsl_metrics, tune_gamma, zsl_metrics

    mc = method.cfg
    parts = ev.parts
    train_c, val_c, unseen_c = list(parts.split.train), list(parts.split.val), list(parts.split.unseen)
    base = RefineConfig(steps=mc.refine_steps, batch=mc.refine_batch)
    if settings is None:
        grid = [dataclasses.replace(base, threshold=t, capacity=c, lr=lr)
                for t in ((mc.refine_threshold,) if mc.refine_threshold >= 0 else THRESHOLDS)
                for c in ((mc.refine_capacity,) if mc.refine_capacity > 0 else CAPACITIES)
                for lr in ((mc.refine_lr,) if mc.refine_lr > 0 else LEARNING_RATES)]
        f_vu, y_vu = feats["val_unseen"], _local(parts.val_unseen.labels, val_c)
        tried = [(zsl_metrics(refined_scores(method, ev, f_vu, val_c, c), y_vu), c) for c in grid]
        out["val"]["zsl_refined"], zsl_cfg = max(tried, key=lambda t: t[0]["top1"])
        fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", train_c, val_c, (feats["val_seen"], f_vu))
        # the moved text scores higher than the text the calibration was tuned for: a second constant on the
        # refined scores, tuned here as PGFA's alignment re-tunes its own
        tried_g = [(tune_gamma(refined_scores(method, ev, fv, cv, c, sv, gamma), lv, sv), c) for c in grid]
        (delta, out["val"]["gzsl_refined"]), gzsl_cfg = max(tried_g, key=lambda t: t[0][1]["h"])
        out["val"]["refine_grid"] = [{**dataclasses.asdict(c), "zsl_top1": m["top1"], "gzsl_h": g[1]["h"]}
                                     for (m, c), (g, _) in zip(tried, tried_g)]
    else:
        zsl_cfg = RefineConfig(**settings["refinement"]["zsl"])
        gzsl_cfg = RefineConfig(**settings["refinement"]["gzsl"])
        delta = settings["refinement"]["gamma_refined"]
    out["test"]["zsl_refined"] = zsl_metrics(refined_scores(method, ev, feats["test_unseen"], unseen_c, zsl_cfg),
                                             _local(parts.test_unseen.labels, unseen_c))
    ft, lt, ct, st = ev.gzsl_inputs("test_seen", "test_unseen", ev.test_seen_classes, unseen_c,
                                    (feats["test_seen"], feats["test_unseen"]))
    out["test"]["gzsl_refined"] = gzsl_metrics(refined_scores(method, ev, ft, ct, gzsl_cfg, st, gamma), lt, st, delta)
    out["test"]["gzsl_refined"]["gamma"] = gamma + delta  # in all: the stream's calibration, then the refined one's
    return {"refinement": {"zsl": dataclasses.asdict(zsl_cfg), "gzsl": dataclasses.asdict(gzsl_cfg),
                           "gamma_refined": delta}}
