"""The zero-shot evaluation protocol of a run: what is measured, on which part, and what is chosen where.

Parts (``train.data.loading.Parts``): the seen classes are split into training classes and validation classes
(``split.train``, ``split.val``); ``val_seen`` holds held-out samples of the training classes, ``val_unseen`` the
validation classes' samples, ``test_seen`` and ``test_unseen`` the test samples of the training classes and of the
unseen test classes.

Selection (everything chosen on validation classes, never on the unseen test classes):
- the best epoch: the highest validation GZSL harmonic mean H (training classes against validation classes, with
  calibrated stacking tuned on the same validation set): ``validate``, called every ``--eval-every`` epochs on at
  most ``--select-per-class`` held-out samples per training class; validation ZSL top-1 is logged beside it;
- the GZSL calibration constant gamma: the one that maximises validation H;
- a method's test-time settings (its ``test_time`` hook; PGFA's support factor and streaming settings).
The test classes are touched once, at the end (``evaluate_run``). With ``--refit`` the model is trained again on the
training and validation classes for the chosen number of epochs and evaluated with the settings chosen before
(it has no validation classes left to choose on).

Metrics: ZSL top-1/top-5 over the unseen classes; GZSL seen/unseen accuracy and their harmonic mean, with
calibrated stacking (a constant gamma subtracted from seen-class scores). Accuracies are per sample over the whole
set (not means of per-batch accuracies). Scores are made as the device makes them: features mode through
``runtime.scoring``, conditioned mode through the method's own scorer (the graph export runs).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader

from runtime.adaptation import AdaptationConfig, PrototypeAdapter
from runtime.scoring import score
from runtime.skeleton import InputSpec
from train.data.loading import Parts, SkeletonTorchDataset

if TYPE_CHECKING:
    from train.methods.base import ZeroShotMethod

PARTS = ("val_seen", "val_unseen", "test_seen", "test_unseen")
CRITERION = "validation GZSL harmonic mean (calibrated), validation classes only"


# ------------------------------------------------------------------------------------------- metrics


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def zsl_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """``labels`` index the columns of ``scores`` (the unseen classes)."""
    pred = scores.argmax(axis=1)
    per_class = [float(np.mean(pred[labels == c] == c)) for c in np.unique(labels)]
    return {"top1": float(np.mean(pred == labels)), "top5": topk(scores, labels, 5),
            "mean_class_top1": float(np.mean(per_class)), "n": int(len(labels))}


def harmonic(a: float, b: float) -> float:
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def gzsl_metrics(scores: np.ndarray, labels: np.ndarray, seen: np.ndarray, gamma: float = 0.0) -> dict[str, float]:
    """scores (N, C) over all candidate classes, labels index them, seen (C,) marks seen classes."""
    pred = (scores - gamma * seen[None, :]).argmax(axis=1)
    is_seen = seen[labels]
    acc_s = float(np.mean(pred[is_seen] == labels[is_seen])) if is_seen.any() else 0.0
    acc_u = float(np.mean(pred[~is_seen] == labels[~is_seen])) if (~is_seen).any() else 0.0
    return {"seen": acc_s, "unseen": acc_u, "h": harmonic(acc_s, acc_u), "gamma": float(gamma)}


def tune_gamma(scores: np.ndarray, labels: np.ndarray, seen: np.ndarray, steps: int = 201) -> tuple[float, dict]:
    """The calibration constant that maximises H on this (validation) set."""
    gap = scores[:, seen].max(axis=1) - scores[:, ~seen].max(axis=1)
    lo, hi = float(np.percentile(gap, 1)), float(np.percentile(gap, 99))
    best = (0.0, gzsl_metrics(scores, labels, seen, 0.0))
    for g in np.linspace(min(lo, 0.0), max(hi, 0.0), steps):
        m = gzsl_metrics(scores, labels, seen, g)
        if m["h"] > best[1]["h"] + 1e-12:
            best = (float(g), m)
    return best


# ----------------------------------------------------------------------------------------- evaluator


@torch.no_grad()
def extract(method: ZeroShotMethod, ds, spec: InputSpec, device: torch.device, batch_size: int = 128) -> np.ndarray:
    method.eval()
    loader = DataLoader(SkeletonTorchDataset(ds, spec), batch_size=batch_size, shuffle=False)
    return np.concatenate([method.encode(x.to(device)).cpu().numpy() for x, _ in loader])


def _local(labels: np.ndarray, classes: list[int]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[int(c)] for c in labels])


class Evaluator:
    """Scores windows against class text as the device does: features mode with ``runtime.scoring`` (the
    weighted cosine times the logit scale), conditioned mode with the method's scorer (what the exported graph
    computes). ``test_seen_classes``: the seen classes of the test-time GZSL candidates (the training classes;
    for a refit model the training and validation classes)."""

    def __init__(self, method: ZeroShotMethod, bank: np.ndarray, parts: Parts, spec: InputSpec, device,
                 test_seen_classes: list[int] | None = None):
        self.method, self.bank, self.parts, self.spec, self.device = method, bank, parts, spec, device
        self.weights = method.score_weights().detach().cpu().numpy()
        self.test_seen_classes = list(parts.split.train) if test_seen_classes is None else list(test_seen_classes)

    @property
    def scale(self) -> float:
        return float(self.method.logit_scale.detach().cpu())

    def features(self, name: str) -> np.ndarray:
        return extract(self.method, getattr(self.parts, name), self.spec, self.device)

    @torch.no_grad()
    def scores(self, feats: np.ndarray, protos: np.ndarray, batch: int = 256) -> np.ndarray:
        """Logits (N, C)."""
        if self.method.mode == "features":
            return score(feats, protos, self.weights, self.scale)
        self.method.eval()
        text = torch.from_numpy(np.ascontiguousarray(protos)).to(self.device)
        return np.concatenate([self.method.conditioned(torch.from_numpy(feats[i : i + batch]).to(self.device), text)[0]
                               .cpu().numpy() for i in range(0, len(feats), batch)])

    def zsl(self, feats, labels, classes, protos=None) -> dict:
        protos = self.bank[classes] if protos is None else protos
        return zsl_metrics(self.scores(feats, protos), _local(labels, classes))

    def gzsl_inputs(self, seen_part: str, unseen_part: str, seen_classes, unseen_classes, feats=None):
        fs = feats or (self.features(seen_part), self.features(unseen_part))
        f = np.concatenate(fs)
        labels = np.concatenate([getattr(self.parts, seen_part).labels, getattr(self.parts, unseen_part).labels])
        classes = list(seen_classes) + list(unseen_classes)
        seen = np.array([True] * len(seen_classes) + [False] * len(unseen_classes))
        return f, _local(labels, classes), classes, seen


def selection_parts(parts: Parts, per_class: int) -> Parts:
    """The parts with val_seen cut to its first ``per_class`` samples of each class (deterministic; 0: all)."""
    if per_class <= 0:
        return parts
    labels = parts.val_seen.labels
    keep = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        keep[np.flatnonzero(labels == c)[:per_class]] = True
    return parts if keep.all() else dataclasses.replace(parts, val_seen=parts.val_seen.subset(keep))


def validate(ev: Evaluator) -> dict:
    """Model selection: the harmonic mean of seen and unseen accuracy on the validation classes (calibrated),
    which rewards a model that learned its seen classes and transfers; ZSL top-1 on them is reported too."""
    parts = ev.parts
    split = parts.split
    f_vs, f_vu = ev.features("val_seen"), ev.features("val_unseen")
    zsl = ev.zsl(f_vu, parts.val_unseen.labels, list(split.val))
    fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", list(split.train), list(split.val), (f_vs, f_vu))
    _, g = tune_gamma(ev.scores(fv, ev.bank[cv]), lv, sv)
    return {"val_zsl_top1": zsl["top1"], "val_h": g["h"]}


def evaluate_run(method: ZeroShotMethod, bank: np.ndarray, parts: Parts, spec: InputSpec, device,
                 settings: dict | None = None) -> dict:
    """Validation-tuned settings, then the test figures: ZSL, GZSL, and the method's test-time variants.

    ``settings``: a refit model (trained on the training and validation classes): no validation figures; the
    GZSL candidates' seen classes are the training and validation classes, and gamma and the test-time settings
    are the ones chosen on validation before (``settings`` is that run's ``selection``)."""
    split = parts.split
    train_c, val_c, unseen_c = list(split.train), list(split.val), list(split.unseen)
    refit = settings is not None
    ev = Evaluator(method, bank, parts, spec, device, train_c + val_c if refit else train_c)
    out: dict = {"val": {}, "test": {}, "selection": {}}
    names = ("test_seen", "test_unseen") if refit else PARTS
    feats = {name: ev.features(name) for name in names if getattr(parts, name) is not None}

    if refit:
        gamma = settings["gamma"]
    else:
        out["val"]["zsl"] = ev.zsl(feats["val_unseen"], parts.val_unseen.labels, val_c)
        fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", train_c, val_c, (feats["val_seen"], feats["val_unseen"]))
        gamma, out["val"]["gzsl"] = tune_gamma(ev.scores(fv, bank[cv]), lv, sv)
    out["selection"]["gamma"] = gamma

    out["test"]["seen"] = ev.zsl(feats["test_seen"], parts.test_seen.labels, train_c)  # held-out samples of trained classes
    if parts.test_unseen is None:  # trained on every class: nothing unseen to test
        return out
    out["test"]["zsl"] = ev.zsl(feats["test_unseen"], parts.test_unseen.labels, unseen_c)
    ft, lt, ct, st = ev.gzsl_inputs("test_seen", "test_unseen", ev.test_seen_classes, unseen_c,
                                    (feats["test_seen"], feats["test_unseen"]))
    out["test"]["gzsl"] = gzsl_metrics(ev.scores(ft, bank[ct]), lt, st, gamma)
    out["selection"].update(method.test_time(ev, feats, gamma, out, settings))
    return out


def streaming_zsl(ev: Evaluator, feats: np.ndarray, labels: np.ndarray, classes: list[int],
                  config: AdaptationConfig, chunk: int = 8, seed: int = 0) -> dict:
    """Samples arrive one chunk at a time in a random order; each is classified with the prototypes of that
    moment, then offered to the device's memory bank (``runtime.adaptation``), which updates them."""
    order = np.random.default_rng(seed).permutation(len(feats))
    adapter = PrototypeAdapter(ev.bank[classes], config)
    preds = np.zeros(len(feats), dtype=np.int64)
    for k in range(0, len(order), chunk):
        idx = order[k : k + chunk]
        s = ev.scores(feats[idx], adapter.prototypes)
        preds[idx] = s.argmax(axis=1)
        adapter.observe(feats[idx], s / ev.scale)
    local = _local(labels, classes)
    return {"top1": float(np.mean(preds == local)), "n": int(len(local))}
