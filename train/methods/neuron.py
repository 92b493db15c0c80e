"""Neuron: spatial and temporal evolving micro-prototypes matched to context-aware side information
(Chen, Guo, Guo, Tao, CVPR 2025; ../shared/reference/methods.md section 3).

Backbone: as the paper, first trained on the seen classes (a baseline run on the same split), then loaded with
``--init RUN`` and usually kept with ``--freeze backbone``; without ``--freeze`` it is fine-tuned. Its feature map
(N, C, T', 25) is the paper's cube feature: the ``edge`` backbones leave T' = 4 steps of 32 frames (Shift-GCN
leaves 16 of 64).

Spatial evolving micro-prototypes (``NeuronHead.spatial``): ``--prototypes`` 80 learnable prototypes; each round
assigns the time-averaged joint features J (N, C, 25) to them by a softmax over the joints of J^T P, masks at each
joint the lowest-ranked prototypes (20, 40, then 60 of 80: ``--mask-fraction`` 0.25 more each round; the mask's
edge is soft, see below), pools the joints into new per-sample prototypes and passes them through the round's
MLP; the round's vector is their mean.
Temporal evolving micro-prototypes with memory (``NeuronHead.temporal``): 80 more; round r reads the cumulative
time crop of the joint-averaged features F (N, C, T') given as fractions of T' (``--time-crops``: the paper's 5,
10 and 16 of 16 frames = 5/16, 10/16, 1), rounded up to whole steps with at least one: T' = 4 gives crops of 2, 3
and 4 steps, T' = 16 the paper's 5, 10 and 16. Each prototype attends over the crop's frames (softmax over time)
and the prototypes are updated with gates: P <- sigmoid(recall(cur)) * P + sigmoid(memory(cur)) * update(cur),
recall, memory and update each an MLP. Every round's vector is projected into the text space (a linear map shared
by the rounds of a branch) and L2-normalised: ``encode`` returns (N, G, D), G = 6 (spatial rounds 1-3, temporal
rounds 1-3), or 2 with ``--rounds 1``.

Side information (``train.text.side_information``): round r of a branch is matched to granularity r: spatial
coarse / medium / fine, temporal start / start+middle / start+middle+end (cumulative, as fp / fsp / fstp); derived
from the project's descriptions (``--side-information derived``), read from Neuron's own JSON files
(``--side-information DIR``), or the class name alone (``off``, the ablation).

Loss: per round, cross-entropy over the training classes (the ``classes`` the engine passes; the targets spread
over a mixture's same-concept classes), averaged over each branch's rounds, the two branches averaged:
1/2 [mean_r CE(spatial_r) + mean_r CE(temporal_r)], with logits = ``--logit-factor`` 0.1 x cosine, the official
factor (a flat softmax), fixed unless ``--learn-logit-factor``. It is a Neuron field of its own, not the base
``--temperature`` (which Neuron does not read), so that a Neuron run's own ``--init`` (another Neuron run, whose
method options the command line's left-out ones take) can never mix a temperature into the paper's factor. The factor
scales the gradients too: overfitting one batch of 55 synthetic classes on edge-tiny, 60 SGD steps at lr 0.05
left the loss at log 55 with 0.1, while AdamW (lr 1e-3) or a factor of 10 with the same SGD did learn; the paper
trains 30 epochs with SGD at lr 0.1. So Neuron trains with AdamW at lr 1e-3 unless ``--optimizer``/``--lr`` say
otherwise (``run_defaults``).

Score (features mode): logit_factor x (w cos(f_spatial_last, t_fine) + (1 - w) cos(f_temporal_last, t_all)), the
weighted sum of the last spatial and last temporal rounds' scores. ``score_weights`` is zero for the other rounds.
The fusion weight w is chosen on the validation classes in ``test_time`` (validation ZSL top-1 over a grid, then the mean
margin of the true class over the best other one, ties to 0.5) and stored in the ``fusion`` buffer; the engine writes best.pt again after evaluation when test time
changed the model's state, so export puts the chosen w into the bundle's scoring weights. Spatial-only (w = 1),
temporal-only (w = 0) and fused figures are all reported; the run's zsl and gzsl are the fused ones at the chosen
w, the exported model's. Until test time, w = 0.5 (per-epoch selection).

Where this differs from the official code, and why:
- the official ZSL accuracy counts a window right when either head's prediction is (an OR of two heads, an
  oracle), and its GZSL calibration is searched on the test set; here one fused score, every setting chosen on
  the validation classes;
- class text per (class, granularity) is the L2-normalised mean of its sentences' embeddings and the score the
  cosine to it; the paper averages the cosines to each sentence. The mean of cosines to unit sentences equals
  cosine-to-mean times the norm of the mean, a per-class factor that ranks a class whose sentences disagree lower
  for that reason alone; and the device's contract is one unit prototype per (class, granularity)
  (``runtime.scoring``, enrolment and adaptation all rest on it), which the cosine to the mean is exactly;
- the gates' MLPs end without a ReLU (the official ones end with one, so sigmoid(.) >= 0.5 and a gate can never
  close); the update MLPs keep it;
- the projection into the text space is linear (``--project-relu`` restores the official ReLU: a non-negative
  feature cannot point along text embeddings with negative coordinates, which a sentence encoder's have);
- the mask is continuous by default (``--mask-softness`` 0.05: a sigmoid edge about one neighbour's spacing wide
  between the kept and the masked prototypes of a joint): a hard mask flips where two similarities are within
  rounding of each other, and the exported graph sums in another order: the fp32 ONNX encoder of an untrained
  tiny model differed from PyTorch by 1.3e-5 with the hard mask (export refuses above 1e-4; a flip's effect is
  not bounded for a trained model, and INT8's noisier feature map flips more), 1.6e-7 with the soft one. ``--mask-softness 0``
  is the paper's hard mask (ranks by counting, no TopK and scatter; masked assignments zeroed where the
  official multiplies them by 1e-12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from train.methods import register_method
from train.methods.base import MethodConfig, ZeroShotMethod
from train.models import create_backbone
from train.text.side_information import SLOTS

FUSION_GRID = tuple(round(0.1 * k, 1) for k in range(11))  # w of the last spatial round; 1 - w the temporal


@dataclass
class NeuronConfig(MethodConfig):
    rounds: int = 3  # evolution rounds per branch: 3 (the paper) | 1 (ablation: one round, the finest text and the whole time)
    prototypes: int = 80  # micro-prototypes per branch (the paper's 80)
    mask_fraction: float = 0.25  # spatial: prototypes masked per joint grow by this fraction each round (20, 40, 60 of 80)
    mask_softness: float = 0.05  # width of the mask's edge in standard deviations of a joint's similarities; 0 = the paper's hard mask
    time_crops: str = "5/16,10/16,1"  # temporal: cumulative crops per round as fractions of the feature map's time steps (rounded up)
    memory: bool = True  # temporal recall and memory gates; off: each round's prototypes are the update of its crop alone
    side_information: str = "derived"  # derived (from the descriptions) | off (class name only) | DIR of Neuron's JSON (spatial/, temporal/)
    logit_factor: float = 0.1  # logit = factor x cosine (the official 0.1); Neuron does not read --temperature
    learn_logit_factor: bool = False  # make the factor a learnable parameter
    project_relu: bool = False  # ReLU after the projection into the text space, as the official code
    fusion: float = -1.0  # weight of the last spatial round's score (1 - it: the last temporal); < 0 = choose on validation


def time_crops(t_out: int, fractions: list[float]) -> list[int]:
    """Cumulative crop lengths in steps: ceil(fraction * T'), at least one step, never shorter than the previous."""
    out: list[int] = []
    for f in fractions:
        n = min(t_out, max(1, math.ceil(f * t_out - 1e-9)))
        out.append(max(n, out[-1] if out else 1))
    return out


def parse_fractions(text: str) -> list[float]:
    try:
        f = [float(Fraction(s.strip())) for s in text.split(",") if s.strip()]
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"--time-crops {text!r}: fractions separated by commas, e.g. 5/16,10/16,1") from None
    if len(f) != 3 or not all(0 < a <= b for a, b in zip(f, f[1:])) or f[0] <= 0 or f[-1] != 1:
        raise ValueError(f"--time-crops {text!r}: three increasing fractions in (0, 1], the last 1")
    return f


def masked_counts(prototypes: int, fraction: float, rounds: int) -> list[int]:
    """Prototypes masked per joint in each round: round(fraction * (r + 1) * P), at most P - 1 (one stays)."""
    return [min(prototypes - 1, round(fraction * (r + 1) * prototypes)) for r in range(rounds)]


def keep_mask(sim: torch.Tensor, masked: int, softness: float = 0.0) -> torch.Tensor:
    """(..., P) similarities -> (..., P) weights that keep the P - masked highest and mask the ``masked`` lowest.
    ``softness`` 0: hard 1.0 / 0.0, a prototype's rank being the number that score higher (comparisons only);
    > 0: sigmoid((sim - edge) / (softness * std)), the edge halfway between the last kept and the first masked
    similarity, std that of the joint's similarities (a continuous mask: the exported graph cannot flip a
    near-tie that PyTorch ranked the other way). No gradient flows through the selection, as in the official."""
    p = sim.shape[-1]
    sim = sim.detach()
    if masked <= 0:
        return torch.ones_like(sim)
    if softness <= 0:
        rank = (sim.unsqueeze(-2) > sim.unsqueeze(-1)).sum(-1)
        return (rank < p - masked).to(sim.dtype)
    top = torch.topk(sim, p - masked + 1, dim=-1).values  # descending: the last two straddle the edge
    edge = 0.5 * (top[..., -2:-1] + top[..., -1:])
    width = softness * sim.std(dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.sigmoid((sim - edge) / width)


def mlp(channels: int, final_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, channels)]
    return nn.Sequential(*layers, nn.ReLU()) if final_relu else nn.Sequential(*layers)


class NeuronHead(nn.Module):
    """The cube feature (N, C, T', V) -> per round one L2-normalised vector in the text space (module doc)."""

    def __init__(self, cfg: NeuronConfig, channels: int, dim: int, t_out: int):
        super().__init__()
        rounds, p = cfg.rounds, cfg.prototypes
        fractions = parse_fractions(cfg.time_crops)
        self.crops = time_crops(t_out, fractions)[-rounds:]  # one round: the whole time
        self.masked = masked_counts(p, cfg.mask_fraction, rounds)
        self.softness = cfg.mask_softness
        self.memory = cfg.memory
        self.spatial_prototypes = nn.Parameter(torch.randn(p, channels))  # nn.Embedding's init, as the official
        self.temporal_prototypes = nn.Parameter(torch.randn(p, channels))
        self.spatial_update = nn.ModuleList(mlp(channels, True) for _ in range(rounds))
        self.temporal_update = nn.ModuleList(mlp(channels, True) for _ in range(rounds))
        self.recall = nn.ModuleList(mlp(channels, False) for _ in range(rounds)) if cfg.memory else None
        self.remember = nn.ModuleList(mlp(channels, False) for _ in range(rounds)) if cfg.memory else None
        self.drop = nn.Dropout(cfg.head_dropout) if cfg.head_dropout > 0 else nn.Identity()
        self.spatial_project = nn.Linear(channels, dim)
        self.temporal_project = nn.Linear(channels, dim)
        self.project_relu = cfg.project_relu

    def spatial(self, fmap: torch.Tensor) -> list[torch.Tensor]:
        """(N, C, T', V) -> per round (N, C): the mean of the round's evolved prototypes."""
        joints = fmap.mean(dim=2)  # (N, C, V)
        p = self.spatial_prototypes  # (P, C), then (N, P, C): matmul broadcasts (no batch size in the graph)
        out = []
        for r, update in enumerate(self.spatial_update):
            sim = torch.matmul(p, joints).transpose(1, 2)  # (N, V, P)
            corr = torch.softmax(sim, dim=1) * keep_mask(sim, self.masked[r], self.softness)  # each prototype over the joints
            p = update(torch.matmul(corr.transpose(1, 2), joints.transpose(1, 2)))  # (N, P, C)
            out.append(p.mean(dim=1))
        return out

    def temporal(self, fmap: torch.Tensor) -> list[torch.Tensor]:
        """(N, C, T', V) -> per round (N, C), round r reading the first ``crops[r]`` steps."""
        frames = fmap.mean(dim=3)  # (N, C, T')
        p = self.temporal_prototypes  # (P, C), then (N, P, C)
        out = []
        for r, update in enumerate(self.temporal_update):
            crop = frames[:, :, : self.crops[r]]  # (N, C, L)
            attn = torch.softmax(torch.matmul(p, crop), dim=2)  # (N, P, L): each prototype over time
            cur = torch.matmul(attn, crop.transpose(1, 2))  # (N, P, C)
            if self.memory:
                p = torch.sigmoid(self.recall[r](cur)) * p + torch.sigmoid(self.remember[r](cur)) * update(cur)
            else:
                p = update(cur)
            out.append(p.mean(dim=1))
        return out

    def _project(self, vectors: list[torch.Tensor], proj: nn.Linear) -> list[torch.Tensor]:
        out = []
        for v in vectors:
            z = proj(self.drop(v))
            z = torch.relu(z) if self.project_relu else z
            out.append(z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12))
        return out

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        """(N, C, T', V) -> (N, 2 * rounds, D): spatial rounds, then temporal rounds."""
        s = self._project(self.spatial(fmap), self.spatial_project)
        t = self._project(self.temporal(fmap), self.temporal_project)
        return torch.stack(s + t, dim=1)


def choose_fusion(scores_at, labels: np.ndarray, grid=None) -> tuple[float, dict]:
    """The fusion weight with the best validation ZSL top-1 (``scores_at(w)``: (N, C) scores, ``labels`` local
    class indices); a few validation classes are often all right at every weight (compose's: top-1 1.0), so equal
    top-1s are told apart by the mean margin of the true class over the best other one, and equal both by the
    nearness to 0.5. Returns the weight and every weight's figures."""
    grid = FUSION_GRID if grid is None else grid
    tried = {}
    for w in sorted(grid, key=lambda w: abs(w - 0.5)):
        s = scores_at(w)
        rows = np.arange(len(s))
        true = s[rows, labels]
        masked = s.copy()
        masked[rows, labels] = -np.inf
        margin = float((true - masked.max(1)).mean()) if s.shape[1] > 1 else 0.0  # one class: nothing to beat
        tried[w] = {"top1": float((s.argmax(1) == labels).mean()), "margin": margin}
    best = max(tried, key=lambda w: (tried[w]["top1"], tried[w]["margin"]))  # max keeps the first: nearest 0.5
    return best, {str(w): tried[w] for w in sorted(tried)}


def granularities_of(rounds: int) -> tuple[str, ...]:
    """Round r of a branch <-> slot r of the side information; one round: the last slot of each branch."""
    if rounds not in (1, 3):
        raise ValueError(f"--rounds {rounds}: use 3 (the paper) or 1 (the ablation)")
    return SLOTS[3 - rounds : 3] + SLOTS[6 - rounds :]


@register_method("neuron")
class Neuron(ZeroShotMethod):
    config_class = NeuronConfig
    granularities = granularities_of(3)
    ensemble_text = True
    # the official factor 0.1 gives a flat softmax whose gradients SGD at 0.05 barely moves (module doc)
    run_defaults = {"optimizer": "adamw", "lr": 1e-3}
    float_modules = ("head",)  # prototypes, masks, gates and projections stay fp32 under INT8

    def __init__(self, cfg: NeuronConfig, text_dim: int):
        # not ZeroShotMethod.__init__: its GranularityHead pools named body parts and phases, which these
        # granularities are not; what it sets besides the head is set here
        nn.Module.__init__(self)
        if cfg.text_augment:
            raise ValueError("neuron: --text-augment is not supported (the class text is Neuron's side information)")
        if not 0 < cfg.mask_fraction * cfg.rounds < 1:
            raise ValueError(f"--mask-fraction {cfg.mask_fraction}: the last round must mask some prototypes, not all")
        if cfg.fusion > 1:
            raise ValueError(f"--fusion {cfg.fusion}: a weight in [0, 1], or < 0 to choose it on validation")
        self.cfg = cfg
        self.granularities = granularities_of(cfg.rounds)
        self.backbone = create_backbone(cfg.backbone, streams=cfg.streams)
        with torch.no_grad():  # the temporal crops need the feature map's length
            t_out = self.backbone(torch.zeros(1, 3, cfg.frames, 25, cfg.persons)).shape[2]
        self.head = NeuronHead(cfg, self.backbone.out_channels, text_dim, t_out)
        self.log_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_factor)), requires_grad=cfg.learn_logit_factor)
        # w of the fused score; a buffer, so the checkpoint carries the value test time chose to export
        self.register_buffer("fusion", torch.tensor(cfg.fusion if cfg.fusion >= 0 else 0.5))
        self.class_groups: torch.Tensor | None = None

    @classmethod
    def build_text(cls, cfg, descriptions, encoder):
        """(C, G, D): per class the side information of each round's granularity (``train.text.side_information``)."""
        from train.text import side_information as si

        if cfg.side_information == "off":
            side = si.label_only(descriptions)
        elif cfg.side_information == "derived":
            side = si.derive_side_information(descriptions, bool(cfg.label_text))
        else:
            side = si.match_neuron(descriptions, si.read_neuron_json(cfg.side_information), bool(cfg.label_text))
        return si.side_information_embeddings(side, encoder, tuple(SLOTS.index(g) for g in granularities_of(cfg.rounds)))

    # ------------------------------------------------------------------------------------ scoring
    @property
    def fused(self) -> tuple[int, int]:
        """Indices of the last spatial and the last temporal round."""
        r = self.cfg.rounds
        return r - 1, 2 * r - 1

    def fusion_weights(self, w: float | torch.Tensor) -> torch.Tensor:
        """(G,): w for the last spatial round, 1 - w for the last temporal, 0 elsewhere."""
        out = torch.zeros(len(self.granularities))
        s, t = self.fused
        out[s], out[t] = float(w), 1.0 - float(w)
        return out

    def score_weights(self) -> torch.Tensor:
        return self.fusion_weights(self.fusion.detach().cpu())

    # ------------------------------------------------------------------------------------- loss
    def loss(self, features, labels, class_text, classes):
        """1/2 [mean over spatial rounds + mean over temporal rounds] of the cross-entropy over the training
        classes (only their rows of ``class_text`` are read)."""
        cls = classes.to(labels.device)
        text = class_text[cls]  # (K, G, D)
        logits = self.logit_scale * torch.einsum("bgd,kgd->gbk", features, text)  # (G, B, K)
        same = self.same_concept_as(labels, cls).float()
        target = same / same.sum(dim=1, keepdim=True)
        ce = -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean(-1)  # (G,)
        r = self.cfg.rounds
        spatial, temporal = ce[:r].mean(), ce[r:].mean()
        return {"loss": 0.5 * (spatial + temporal), "loss_spatial": spatial.detach(), "loss_temporal": temporal.detach()}

    # -------------------------------------------------------------------------------- test time
    def test_time(self, ev, feats, gamma, out, settings=None):
        """The fusion weight, chosen on the validation classes (validation ZSL top-1, then the mean margin of
        the true class; ties to 0.5) unless
        ``--fusion`` fixes it or ``settings`` (a refit) gives it; ZSL and GZSL for the spatial round alone, the
        temporal round alone and the fused score, each GZSL with its calibration tuned on validation. Sets the
        ``fusion`` buffer (the engine saves it into the checkpoint that export reads)."""
        from train.evaluate import _local, gzsl_metrics, tune_gamma

        parts = ev.parts
        train_c, val_c, unseen_c = list(parts.split.train), list(parts.split.val), list(parts.split.unseen)
        validate = settings is None

        def use(w: float) -> None:
            ev.weights = self.fusion_weights(w).numpy()

        if not validate:
            fused = float(settings["fusion"])
        elif self.cfg.fusion >= 0:
            fused = float(self.cfg.fusion)
        else:
            def scores_at(w: float) -> np.ndarray:
                use(w)
                return ev.scores(feats["val_unseen"], ev.bank[val_c])

            fused, out["val"]["fusion_grid"] = choose_fusion(scores_at, _local(parts.val_unseen.labels, val_c))
        chosen: dict = {"fusion": fused}
        for name, w in (("spatial", 1.0), ("temporal", 0.0), ("fused", fused)):
            use(w)
            if validate:
                out["val"][f"zsl_{name}"] = ev.zsl(feats["val_unseen"], parts.val_unseen.labels, val_c)
                fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", train_c, val_c,
                                                (feats["val_seen"], feats["val_unseen"]))
                chosen[f"gamma_{name}"], out["val"][f"gzsl_{name}"] = tune_gamma(ev.scores(fv, ev.bank[cv]), lv, sv)
            else:
                chosen[f"gamma_{name}"] = settings[f"gamma_{name}"]
            out["test"][f"zsl_{name}"] = ev.zsl(feats["test_unseen"], parts.test_unseen.labels, unseen_c)
            ft, lt, ct, st = ev.gzsl_inputs("test_seen", "test_unseen", ev.test_seen_classes, unseen_c,
                                            (feats["test_seen"], feats["test_unseen"]))
            out["test"][f"gzsl_{name}"] = gzsl_metrics(ev.scores(ft, ev.bank[ct]), lt, st, chosen[f"gamma_{name}"])
        self.fusion.fill_(fused)
        use(fused)
        # the headline figures are the model's as exported, the fused score at the chosen weight (the engine
        # made them at 0.5, before the choice); its calibration is the fused one's
        for part in ("val", "test"):
            if "zsl_fused" in out[part]:
                out[part]["zsl"], out[part]["gzsl"] = out[part]["zsl_fused"], out[part]["gzsl_fused"]
        out["test"]["seen"] = ev.zsl(feats["test_seen"], parts.test_seen.labels, train_c)
        chosen["gamma"] = chosen["gamma_fused"]
        return chosen

