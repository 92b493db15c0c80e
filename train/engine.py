"""The training loop and the zero-shot evaluation of a run (``python -m train`` calls ``run``).

Model selection uses only the validation classes carved from the seen classes: the best epoch by validation
ZSL top-1, the GZSL calibration constant, and test-time settings are all chosen there. The unseen test classes
are touched once, at the end, for the reported figures.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from runtime.adaptation import AdaptationConfig, PrototypeAdapter
from runtime.scoring import score
from runtime.skeleton import InputSpec
from train import checkpoint
from train.config import TrainConfig
from train.data.classes import class_names
from train.data.loading import Augment, Parts, SkeletonTorchDataset, load_parts, save_descriptions
from train.data.mixture import concept_groups, parse_weights, source_weights
from train.evaluate import gzsl_metrics, tune_gamma, zsl_metrics
from train.methods import method_class
from train.methods.base import MethodConfig, ZeroShotMethod
from train.methods.pgfa import aligned_prototypes
from train.text.class_text import class_text_embeddings
from train.text.descriptions import check_against, load_descriptions
from train.text.encoders import create_text_encoder

log = logging.getLogger("train")


# ------------------------------------------------------------------------------------- setup


def _dist() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def _logging(run_dir: Path | None, rank: int) -> None:
    log.handlers.clear()
    log.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    h = logging.StreamHandler()
    h.setFormatter(fmt)
    log.addHandler(h)
    if run_dir is not None:
        fh = logging.FileHandler(run_dir / "train.log")
        fh.setFormatter(fmt)
        log.addHandler(fh)
    log.propagate = False


def class_text_bank(cfg: TrainConfig, method_cls, label_set: str, names: bool = False, own=None):
    """``own``: the class texts the data brings (``Parts.descriptions``), used unless --descriptions names a file."""
    encoder = create_text_encoder(cfg.text_encoder)
    if own is not None and not cfg.descriptions:
        desc = own
    else:
        desc = load_descriptions(cfg.descriptions or label_set)
        check_against(desc, class_names(label_set) if own is None else own.labels)
    bank, texts = class_text_embeddings(desc, encoder, method_cls.granularities, method_cls.ensemble_text, names)
    return bank, texts, encoder, desc


def training_text(variants: torch.Tensor | None, bank: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The class text of one step: the ensemble mean, or with text augmentation one wording per class."""
    if variants is None:
        return bank
    c, g, p, _ = variants.shape
    pick = torch.randint(p, (c, g, 1, 1), generator=generator).expand(-1, -1, 1, variants.shape[-1])
    return torch.gather(variants, 2, pick.to(variants.device)).squeeze(2)


# ---------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def extract(method: ZeroShotMethod, ds, spec: InputSpec, device: torch.device, batch_size: int = 128) -> np.ndarray:
    method.eval()
    loader = DataLoader(SkeletonTorchDataset(ds, spec), batch_size=batch_size, shuffle=False)
    return np.concatenate([method.encode(x.to(device)).cpu().numpy() for x, _ in loader])


def _local(labels: np.ndarray, classes: list[int]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[int(c)] for c in labels])


class Evaluator:
    """Scores features against class prototypes exactly as the device does (``runtime.scoring``)."""

    def __init__(self, method: ZeroShotMethod, bank: np.ndarray, parts: Parts, spec: InputSpec, device):
        self.method, self.bank, self.parts, self.spec, self.device = method, bank, parts, spec, device
        self.weights = method.weights.cpu().numpy()

    @property
    def scale(self) -> float:
        return float(self.method.logit_scale.detach().cpu())

    def features(self, name: str) -> np.ndarray:
        return extract(self.method, getattr(self.parts, name), self.spec, self.device)

    def scores(self, feats: np.ndarray, protos: np.ndarray) -> np.ndarray:
        return score(feats, protos, self.weights, self.scale)

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


def evaluate_run(method: ZeroShotMethod, bank: np.ndarray, parts: Parts, spec: InputSpec, device) -> dict:
    """Validation-tuned settings, then the test figures: ZSL, GZSL, and test-time variants."""
    ev = Evaluator(method, bank, parts, spec, device)
    split = parts.split
    train_c, val_c, unseen_c = list(split.train), list(split.val), list(split.unseen)
    out: dict = {"val": {}, "test": {}, "selection": {}}

    f_vs, f_vu = ev.features("val_seen"), ev.features("val_unseen")
    f_ts = ev.features("test_seen")
    out["val"]["zsl"] = ev.zsl(f_vu, parts.val_unseen.labels, val_c)
    fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", train_c, val_c, (f_vs, f_vu))
    gamma, out["val"]["gzsl"] = tune_gamma(ev.scores(fv, bank[cv]), lv, sv)
    out["selection"]["gamma"] = gamma

    out["test"]["seen"] = ev.zsl(f_ts, parts.test_seen.labels, train_c)  # held-out samples of the trained classes
    if parts.test_unseen is None:  # trained on every class: nothing unseen to test
        return out
    f_tu = ev.features("test_unseen")
    out["test"]["zsl"] = ev.zsl(f_tu, parts.test_unseen.labels, unseen_c)
    ft, lt, ct, st = ev.gzsl_inputs("test_seen", "test_unseen", train_c, unseen_c, (f_ts, f_tu))
    out["test"]["gzsl"] = gzsl_metrics(ev.scores(ft, bank[ct]), lt, st, gamma)

    if method.test_time == "pgfa":
        out["selection"].update(_pgfa_test_time(ev, method, parts, (f_vs, f_vu, f_ts, f_tu), gamma, out))
    return out


def _pgfa_test_time(ev: Evaluator, method, parts: Parts, feats, gamma: float, out: dict) -> dict:
    """PGFA's alignment, transductive and streaming; every setting chosen on the validation classes."""
    f_vs, f_vu, f_ts, f_tu = feats
    split, bank = parts.split, ev.bank
    train_c, val_c, unseen_c = list(split.train), list(split.val), list(split.unseen)
    chosen: dict = {}
    alpha = getattr(method.cfg, "support_factor", 0.0)
    grid = [alpha] if alpha > 0 else [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]

    def zsl_aligned(f, labels, classes, a):
        p = aligned_prototypes(f, bank[classes], ev.scores(f, bank[classes]), a)
        return ev.zsl(f, labels, classes, p)

    best = max(grid, key=lambda a: zsl_aligned(f_vu, parts.val_unseen.labels, val_c, a)["top1"])
    chosen["support_factor"] = best
    out["val"]["zsl_aligned"] = zsl_aligned(f_vu, parts.val_unseen.labels, val_c, best)
    out["test"]["zsl_aligned"] = zsl_aligned(f_tu, parts.test_unseen.labels, unseen_c, best)

    # GZSL: calibrated pseudo-labels, then only the unseen prototypes move; gamma re-tuned on validation
    def gzsl_aligned_scores(f, classes, seen, g):
        protos = bank[classes]
        s = ev.scores(f, protos) - g * seen[None, :]
        p = aligned_prototypes(f, protos, s, best, classes=np.flatnonzero(~seen))
        return ev.scores(f, p)

    fv, lv, cv, sv = ev.gzsl_inputs("val_seen", "val_unseen", train_c, val_c, (f_vs, f_vu))
    chosen["gamma_aligned"], out["val"]["gzsl_aligned"] = tune_gamma(gzsl_aligned_scores(fv, cv, sv, gamma), lv, sv)
    ft, lt, ct, st = ev.gzsl_inputs("test_seen", "test_unseen", train_c, unseen_c, (f_ts, f_tu))
    out["test"]["gzsl_aligned"] = gzsl_metrics(gzsl_aligned_scores(ft, ct, st, gamma), lt, st, chosen["gamma_aligned"])

    # streaming: the device's memory bank; its mixing and confidence settings chosen on validation
    capacity = getattr(method.cfg, "stream_capacity", 16)
    # PGFA-style replacement (class_mix) and the device's shared shift, with or without a confidence margin
    settings = [AdaptationConfig(capacity=capacity, min_margin=mm, class_mix=cm, shared_shift=ss, max_drift=2.0)
                for cm, ss in ((1.0, 0.0), (0.5, 0.0), (0.0, 0.25), (0.0, 0.5)) for mm in (0.0, 0.05)]
    best_s = max(settings, key=lambda a: streaming_zsl(ev, f_vu, parts.val_unseen.labels, val_c, a)["top1"])
    chosen["streaming"] = dataclasses.asdict(best_s)
    out["val"]["zsl_streaming"] = streaming_zsl(ev, f_vu, parts.val_unseen.labels, val_c, best_s)
    out["test"]["zsl_streaming"] = streaming_zsl(ev, f_tu, parts.test_unseen.labels, unseen_c, best_s)
    return chosen


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


# ------------------------------------------------------------------------------------- training


def _lr_at(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up, then cosine decay to 1 % of the base rate."""
    total = max(cfg.epochs * steps_per_epoch, 1)
    warm = cfg.warmup_epochs * steps_per_epoch
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(total - warm, 1)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _optimizer(cfg: TrainConfig, method: ZeroShotMethod) -> torch.optim.Optimizer:
    decay = [p for n, p in method.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in method.named_parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r} (sgd | adamw)")


def run(cfg: TrainConfig, mcfg: MethodConfig) -> Path | None:
    rank, world = _dist()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + rank)
    np.random.seed(cfg.seed + rank)
    device = _device(cfg.device)
    method_cls = method_class(cfg.method)

    run_dir = None
    if rank == 0:
        name = cfg.name or f"{cfg.method}-{cfg.data}-{cfg.split}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_dir = Path(cfg.resume).parent if cfg.resume else Path(cfg.out) / name
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps({"run": dataclasses.asdict(cfg), "method": dataclasses.asdict(mcfg)}, indent=1))
    _logging(run_dir, rank)
    log.info(f"run {run_dir} | method {cfg.method} | data {cfg.data}/{cfg.split} | device {device} | world {world}")

    parts = load_parts(cfg.data, cfg.split, cfg.root or None, cfg.protocol, cfg.per_class, cfg.eval_per_class,
                       cfg.seed, cfg.split_file or None, cfg.holdout or None)
    label_set = parts.split.label_set
    log.info(f"{parts.describe()}\nsamples: {parts.summary()}")
    bank_np, texts, encoder, desc = class_text_bank(cfg, method_cls, label_set, mcfg.label_text, parts.descriptions)
    if parts.descriptions is not None and run_dir is not None:  # the texts have no file of their own: export reads this
        save_descriptions(desc, run_dir / "descriptions.json")
    bank = torch.from_numpy(bank_np).to(device)
    variants = None
    if mcfg.text_augment:
        from train.text.class_text import text_variants

        variants = torch.from_numpy(text_variants(desc, encoder, method_cls.granularities, True,
                                                  mcfg.label_text)[0]).to(device)
    text_rng = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    spec = InputSpec(frames=mcfg.frames, persons=mcfg.persons, normalization=mcfg.normalization)

    method = method_cls(mcfg, bank_np.shape[-1]).to(device)
    method.train_classes = torch.tensor(list(parts.split.train), dtype=torch.long)
    groups = concept_groups(label_set)
    if groups is not None:
        method.class_groups = torch.from_numpy(groups)
        log.info(f"{len(groups)} classes in {len(set(groups.tolist()))} concepts (train/data/concepts.json)")
    log.info(f"{cfg.method} on {mcfg.backbone}: {sum(p.numel() for p in method.parameters()) / 1e6:.2f} M parameters, "
             f"text {encoder.id} ({bank_np.shape[-1]}-d), granularities {', '.join(method.granularities)}")
    init = None
    if cfg.init and cfg.resume:
        log.info(f"--init {cfg.init} not applied: resuming from {cfg.resume} (the run's own weights)")
    elif cfg.init:
        init = checkpoint.init_from(method, cfg.init, encoder.checksum)
        log.info(init.pop("summary"))
    if cfg.freeze == "backbone":
        method.backbone.requires_grad_(False)
        log.info("backbone frozen (--freeze backbone): weights and normalisation statistics kept; the rest trains")
    opt = _optimizer(cfg, method)
    start_epoch, best, history, step = 0, {"val_h": -1.0, "val_zsl_top1": -1.0, "epoch": -1}, [], 0
    if cfg.resume:
        ckpt = torch.load(cfg.resume, map_location="cpu", weights_only=False)
        method.load_state_dict(ckpt["model_state"])
        opt.load_state_dict(ckpt["optimizer_state"])
        start_epoch, best, history, step = ckpt["epoch"] + 1, ckpt["best"], ckpt["history"], ckpt["step"]
        log.info(f"resumed from {cfg.resume} at epoch {start_epoch}")
    model = torch.nn.parallel.DistributedDataParallel(method) if world > 1 else method

    window = int(round(spec.window_seconds * parts.train.fps)) if cfg.window_crop else 0
    train_set = SkeletonTorchDataset(parts.train, spec, Augment(window_frames=window, depth_noise=cfg.depth_noise,
                                                                 mask_uncommon=cfg.mask_uncommon),
                                     seed=cfg.seed)
    if world > 1:
        sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed, drop_last=True)
    elif "source" in parts.train.meta or cfg.epoch_size:  # a mixture: each source gets its share of the draws
        from torch.utils.data import WeightedRandomSampler

        p = source_weights(parts.train, parse_weights(cfg.source_weights))
        sampler = WeightedRandomSampler(torch.from_numpy(p), cfg.epoch_size or len(train_set), replacement=True,
                                        generator=torch.Generator().manual_seed(cfg.seed))
    else:
        sampler = None
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=len(train_set) > cfg.batch_size, num_workers=cfg.workers,
                        persistent_workers=False, generator=torch.Generator().manual_seed(cfg.seed))  # workers see train_set.epoch
    # per-epoch model selection sees at most select_per_class samples of each seen class (the final evaluation
    # uses them all): on a 2-core CPU validating on every held-out seen sample cost a third of each epoch
    ev = Evaluator(method, bank_np, selection_parts(parts, cfg.select_per_class), spec, device)
    text_dim = bank_np.shape[-1]
    t0 = time.time()
    extra = {"texts": texts, "label_set": label_set, "class_names": parts.class_names(),
             "text_encoder": {"id": encoder.id, "checksum": encoder.checksum, "spec": cfg.text_encoder},
             "descriptions": desc.source, "split": dataclasses.asdict(parts.split)}
    for epoch in range(start_epoch, cfg.epochs):
        method.train()
        if cfg.freeze == "backbone":
            method.backbone.eval()  # its batch-norm statistics stay the init run's
        train_set.epoch = epoch
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=rank != 0, leave=False)
        for x, y in bar:
            for g in opt.param_groups:
                g["lr"] = _lr_at(cfg, step, len(loader))
            out = model(x.to(device), y.to(device), training_text(variants, bank, text_rng))
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            opt.step()
            step += 1
            losses.append(float(out["loss"].detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            if cfg.max_steps and step >= cfg.max_steps:
                break
        record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else float("nan"),
                  "lr": opt.param_groups[0]["lr"], "time_s": round(time.time() - t0, 1),
                  "logit_scale": round(float(method.logit_scale.detach()), 3)}
        last_epoch = epoch == cfg.epochs - 1 or (cfg.max_steps and step >= cfg.max_steps)
        if rank == 0 and ((epoch + 1) % cfg.eval_every == 0 or last_epoch):
            val = validate(ev)
            record.update(val)
            if val["val_h"] > best["val_h"]:
                best = {"val_h": val["val_h"], "val_zsl_top1": val["val_zsl_top1"], "epoch": epoch}
                checkpoint.save(run_dir / "best.pt", method, text_dim, epoch=epoch, **extra)
        history.append(record)
        if rank == 0:
            log.info(" | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
            checkpoint.save(run_dir / "last.pt", method, text_dim, epoch=epoch, step=step, best=best, history=history,
                            optimizer_state=opt.state_dict(), **extra)
        if last_epoch:
            break
    if world > 1:
        dist.barrier()
    if rank != 0:
        dist.destroy_process_group()
        return None

    train_time = time.time() - t0
    best_model, _ = checkpoint.load(run_dir / "best.pt")
    best_model.to(device)
    metrics = evaluate_run(best_model, bank_np, parts, spec, device)
    metrics["selection"].update(best_epoch=best["epoch"], val_h=best["val_h"], val_zsl_top1=best["val_zsl_top1"],
                                criterion="validation GZSL harmonic mean (calibrated), validation classes only")
    metrics.update(history=history, train_time_s=round(train_time, 1), total_time_s=round(time.time() - t0, 1),
                   method=cfg.method, data=cfg.data, split=parts.split.name, backbone=mcfg.backbone,
                   samples={k: len(getattr(parts, k) or ()) for k in ("train", "val_seen", "val_unseen", "test_seen", "test_unseen")})
    if init is not None:
        metrics["init"] = init
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    t = metrics["test"]
    lines = [f"seen classes, held-out samples: top-1 {t['seen']['top1']:.3f}"]
    if "zsl" in t:
        lines += [f"ZSL top-1 {t['zsl']['top1']:.3f} top-5 {t['zsl']['top5']:.3f}",
                  f"GZSL S {t['gzsl']['seen']:.3f} U {t['gzsl']['unseen']:.3f} H {t['gzsl']['h']:.3f}"]
    if "zsl_aligned" in t:
        lines.append(f"aligned: ZSL top-1 {t['zsl_aligned']['top1']:.3f}, GZSL S {t['gzsl_aligned']['seen']:.3f} "
                     f"U {t['gzsl_aligned']['unseen']:.3f} H {t['gzsl_aligned']['h']:.3f}; "
                     f"streaming ZSL top-1 {t['zsl_streaming']['top1']:.3f}")
    log.info("test: " + " | ".join(lines) + f"\nwrote {run_dir / 'metrics.json'}")
    if world > 1:
        dist.destroy_process_group()
    return run_dir
