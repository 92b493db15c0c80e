"""What every zero-shot method shares, and the method contract (ARCHITECTURE.md, "The method contract").

A method is one module with a config dataclass and a ``ZeroShotMethod`` subclass registered by name. The engine,
the evaluation protocol and export talk to it only through these hooks, each with a default (the defaults are what
baseline and PGFA use):

``mode``            "features": ``encode(x)`` gives (N, G, D) L2-normalised features and the score of class c is
                    ``logit_scale * sum_g w_g cos(f_g, p_cg)`` (``runtime.scoring``: the device computes it).
                    "conditioned": the score depends on the candidate class; ``encode(x)`` gives a window
                    representation and ``conditioned(rep, class_text)`` the logits (N, C) and the embedding scored
                    for each class (N, C, G, D). Export puts both into one graph (skeleton, class text) -> (scores,
                    embeddings); the device feeds it the prototype table.
``score_kind``      what the device's score is: "cosine" (a weighted cosine in [-1, 1]; logit = logit_scale *
                    score) or "logit" (the graph returns logits; the device divides them by ``logit_scale`` so
                    that thresholds, margins and smoothing read one scale). Features mode is always "cosine".
``shared_space``    whether window embeddings and class text live in one space, so that the device's memory-bank
                    adaptation (which moves prototypes toward confident windows) means something; False turns it off
                    in the bundle.
``build_text``      (classmethod) the class text the method trains and is scored against, from the class
                    descriptions and the text encoder: an array whose first axis is the classes, any number of
                    texts per class behind it (default (C, G, D): one ensemble embedding per granularity).
``class_text_rule`` how the device makes a word its prototype table lacks into class text: None (the default)
                    encodes its description, else its label prompt, once for every granularity; a rule name of
                    ``runtime.vocab.CLASS_TEXT_RULES`` (pure-string, in ``runtime``) makes one text per
                    granularity from the label and description, the rule ``build_text`` follows (export writes it
                    into the manifest).
``make_head``       the module between the backbone's feature map and ``encode`` (default: pooling per
                    granularity and a projection into the text space, ``train.models.heads.GranularityHead``).
``on_epoch``        called at the start of every training epoch with (epoch, epochs): schedules, curricula.
``loss``            ``loss(features, labels, class_text, classes)``: ``classes`` are the training classes, the only
                    rows of ``class_text`` a loss may read (a softmax over the seen classes never includes unseen
                    text; the engine passes the other rows as NaN, so a loss that reads them is NaN).
``test_time``       what the method does at evaluation after the plain scores (transductive or streaming
                    refinement), its settings chosen on the validation classes (``train.evaluate``); a method
                    whose test time chooses a setting of the exported model (Neuron's fusion weight) replaces
                    the plain figures and ``selection["gamma"]`` with that model's.
``score_weights``   the (G,) granularity weights of the score, and ``logit_scale``: a method with per-granularity
                    scales folds them into the weights (scale_g = logit_scale * w_g).
``run_defaults``    run options this method trains with unless the command line sets them (a dict of
                    ``TrainConfig`` fields, e.g. its optimiser): ``--help`` shows them as the defaults.
``float_modules``   top-level modules that INT8 export keeps in floating point (the head, scorers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from runtime.skeleton import NORMALIZATION_ID
from train.models import create_backbone
from train.models.heads import GranularityHead

MODES = ("features", "conditioned")
SCORE_KINDS = ("cosine", "logit")


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
    """Base: subclasses set ``granularities`` and implement ``loss``; the other hooks have defaults (module doc)."""

    name = "base"
    config_class = MethodConfig
    mode = "features"  # MODES
    score_kind = "cosine"  # SCORE_KINDS
    score_range = (-1.0, 1.0)  # the device's statistic (a cosine; logit / scale) lies in it: the bundle's scoring.range
    run_defaults: dict = {}  # run options (TrainConfig fields) this method trains with unless the command line says
    shared_space = True  # window embeddings and class text in one space: on-device adaptation makes sense
    granularities: tuple[str, ...] = ("global",)
    ensemble_text = True  # global text = global sentence + paraphrases, averaged
    float_modules: tuple[str, ...] = ("head",)  # kept in floating point by INT8 export
    class_text_rule: str | None = None  # a new word's per-granularity texts on the device (module doc)

    def __init__(self, cfg: MethodConfig, text_dim: int):
        super().__init__()
        self.cfg = cfg
        self.backbone = create_backbone(cfg.backbone, streams=cfg.streams)
        with torch.no_grad():  # the head needs the feature map's length
            t_out = self.backbone(torch.zeros(1, 3, cfg.frames, 25, cfg.persons)).shape[2]
        self.head = self.make_head(text_dim, t_out)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)), requires_grad=cfg.learn_temperature)
        self.register_buffer("weights", torch.full((len(self.granularities),), 1.0 / len(self.granularities)))
        # class -> concept id (a mixture of datasets names one action in several ways: ``train.data.concepts``);
        # losses that treat same-class pairs as positives use it; None: every class is its own concept
        self.class_groups: torch.Tensor | None = None

    def make_head(self, text_dim: int, t_out: int) -> nn.Module:
        """The head on the backbone's feature map (N, C, T', 25), ``t_out`` = T' (module doc). Default: pooling
        per granularity and a projection into the text space."""
        return GranularityHead(self.granularities, self.backbone.out_channels, text_dim, t_out, self.cfg.head_dropout)

    # ------------------------------------------------------------------------------------------ text
    @classmethod
    def build_text(cls, cfg: MethodConfig, descriptions, encoder) -> tuple[np.ndarray, list]:
        """The class text this method trains and is scored against: (C, ...) float32, and the texts behind it
        (per class, per slot, the list of sentences). Default: (C, G, D), per granularity the normalised mean of
        its sentences (``train.text.class_text``), the label and aliases in the global ensemble with
        ``label_text``. Export builds the device's prototype table with the same hook."""
        from train.text.class_text import class_text_embeddings

        return class_text_embeddings(descriptions, encoder, cls.granularities, cls.ensemble_text,
                                     bool(getattr(cfg, "label_text", False)))

    # ------------------------------------------------------------------------------------- training
    def on_epoch(self, epoch: int, epochs: int) -> None:
        """Called at the start of every training epoch (0-based ``epoch`` of ``epochs``). Default: nothing."""

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
        """(N, 3, T, 25, M) -> (N, G, D), L2-normalised: what export turns into the device's encoder (features
        mode), or the window representation that ``conditioned`` scores (conditioned mode)."""
        return self.head(self.backbone(x))

    def conditioned(self, features: torch.Tensor, class_text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditioned mode: ``encode``'s output (N, ...) and class text (C, ...) -> logits (N, C) and the
        embedding scored for each class (N, C, G, D). Features mode has no such step."""
        raise NotImplementedError(f"{self.name} scores in {self.mode} mode")

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, class_text: torch.Tensor | None = None,
                classes: torch.Tensor | None = None):
        """encode(x); with labels, class text and the training classes, the training losses instead (so DDP
        sees one forward)."""
        features = self.encode(x)
        return features if labels is None else self.loss(features, labels, class_text, classes)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def score_weights(self) -> torch.Tensor:
        """(G,) granularity weights of the score (the manifest's scoring.weights)."""
        return self.weights

    def scores(self, features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """Logits (N, C) of features against class text, in either mode."""
        if self.mode == "conditioned":
            return self.conditioned(features, prototypes)[0]
        return scores(features, prototypes, self.score_weights(), self.logit_scale)

    def loss(self, features: torch.Tensor, labels: torch.Tensor, class_text: torch.Tensor,
             classes: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss": scalar, ...}. ``classes``: the training classes, the only rows of ``class_text`` to read."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------ test time
    def test_time(self, ev, feats: dict[str, np.ndarray], gamma: float, out: dict,
                  settings: dict | None = None) -> dict:
        """Refinement after the plain scores (``train.evaluate.evaluate_run`` calls it). ``ev`` is the Evaluator,
        ``feats`` the window representations of the parts (val_seen, val_unseen, test_seen, test_unseen),
        ``gamma`` the GZSL calibration constant. Write figures into ``out["val"]`` and ``out["test"]``; return
        the settings chosen on the validation classes (they go to ``out["selection"]``). With ``settings`` (a
        refit model has no validation classes left) apply those instead of choosing. Default: nothing."""
        return {}
