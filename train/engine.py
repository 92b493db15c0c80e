"""The training loop of a run (``python -m train`` calls ``run``); what is measured and chosen, and on which
classes, is ``train.evaluate``'s (its docstring states the protocol).

Model selection uses only the validation classes carved from the seen classes: the best epoch by the validation
GZSL harmonic mean H (calibrated; ``train.evaluate.validate``), the GZSL calibration constant, and the method's
test-time settings are all chosen there. The unseen test classes are touched once, at the end, for the reported
figures. ``best.pt`` is the model of the chosen epoch (trained on the training classes only); with ``--refit`` a
second model is trained from scratch on the training and validation classes for the chosen number of epochs (the
same learning-rate schedule, stopped there) and saved as ``refit.pt``; metrics.json reports both. A method whose
test time keeps a setting chosen on validation in its state (a buffer, e.g. a fusion weight of its scores) has
best.pt (and refit.pt) written again after evaluation, so that export reads the setting the figures used.

The engine talks to a method only through its hooks (``train.methods.base``): it never branches on its name.
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

from runtime.skeleton import InputSpec
from train import checkpoint
from train.config import OPTIMIZERS, TrainConfig
from train.data.base import SkeletonDataset
from train.data.classes import class_names
from train.data.loading import Augment, Parts, SkeletonTorchDataset, load_parts, save_descriptions
from train.data.mixture import concept_groups, parse_weights, source_weights
from train.evaluate import CRITERION, Evaluator, evaluate_run, selection_parts, validate
from train.methods import method_class
from train.methods.base import MethodConfig, ZeroShotMethod
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


def class_text_bank(cfg: TrainConfig, method_cls, mcfg: MethodConfig, label_set: str, own=None):
    """The class text of the run (the method's ``build_text``), its texts, the text encoder and the descriptions.
    ``own``: the class texts the data brings (``Parts.descriptions``), used unless --descriptions names a file."""
    encoder = create_text_encoder(cfg.text_encoder)
    if own is not None and not cfg.descriptions:
        desc = own
    else:
        desc = load_descriptions(cfg.descriptions or label_set)
        check_against(desc, class_names(label_set) if own is None else own.labels)
    bank, texts = method_cls.build_text(mcfg, desc, encoder)
    return bank, texts, encoder, desc


def training_classes_only(bank: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """The class text a loss sees: the rows of other classes (validation and unseen ones) are NaN, so a loss that
    reads them is NaN instead of quietly learning from text it must not see."""
    keep = torch.zeros(len(bank), dtype=torch.bool)
    keep[list(classes)] = True
    return torch.where(keep.to(bank.device).view(-1, *[1] * (bank.ndim - 1)), bank, torch.full_like(bank, float("nan")))


def training_text(variants: torch.Tensor | None, bank: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The class text of one step: the ensemble mean, or with text augmentation one wording per class."""
    if variants is None:
        return bank
    c, g, p, _ = variants.shape
    pick = torch.randint(p, (c, g, 1, 1), generator=generator).expand(-1, -1, 1, variants.shape[-1])
    return torch.gather(variants, 2, pick.to(variants.device)).squeeze(2)


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
    if cfg.optimizer == "adam":  # L2 weight decay added to the gradient (Adam's own), not decoupled as AdamW
        return torch.optim.Adam(groups, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r} ({' | '.join(OPTIMIZERS)})")


def _build_method(cfg: TrainConfig, mcfg: MethodConfig, method_cls, text_dim: int, label_set: str, device,
                  text_checksum: str | None) -> tuple[ZeroShotMethod, dict | None]:
    """A fresh method with its concept groups, --init applied and --freeze set (every method: the hooks do not
    enter into it)."""
    method = method_cls(mcfg, text_dim).to(device)
    groups = concept_groups(label_set)
    if groups is not None:
        method.class_groups = torch.from_numpy(groups)
    init = None
    if cfg.init and cfg.resume:
        log.info(f"--init {cfg.init} not applied: resuming from {cfg.resume} (the run's own weights)")
    elif cfg.init:
        init = checkpoint.init_from(method, cfg.init, text_checksum)
        log.info(init.pop("summary"))
    if cfg.freeze == "backbone":
        method.backbone.requires_grad_(False)
        log.info("backbone frozen (--freeze backbone): weights and normalisation statistics kept; the rest trains")
    return method, init


def _loader(cfg: TrainConfig, data: SkeletonDataset, spec: InputSpec, world: int, rank: int):
    window = int(round(spec.window_seconds * data.fps)) if cfg.window_crop else 0
    train_set = SkeletonTorchDataset(data, spec, Augment(window_frames=window, depth_noise=cfg.depth_noise,
                                                         mask_uncommon=cfg.mask_uncommon, pad_short=cfg.pad_short),
                                     seed=cfg.seed)
    if world > 1:
        sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed, drop_last=True)
    elif "source" in data.meta or cfg.epoch_size:  # a mixture: each source gets its share of the draws
        from torch.utils.data import WeightedRandomSampler

        p = source_weights(data, parse_weights(cfg.source_weights))
        sampler = WeightedRandomSampler(torch.from_numpy(p), cfg.epoch_size or len(train_set), replacement=True,
                                        generator=torch.Generator().manual_seed(cfg.seed))
    else:
        sampler = None
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=len(train_set) > cfg.batch_size, num_workers=cfg.workers,
                        persistent_workers=False, generator=torch.Generator().manual_seed(cfg.seed))  # workers see train_set.epoch
    return train_set, sampler, loader


@dataclasses.dataclass
class _Fit:
    """One training of a method: what the loop needs besides the method."""

    method: ZeroShotMethod
    model: torch.nn.Module  # the method, or its DDP wrapper
    opt: torch.optim.Optimizer
    loader: DataLoader
    train_set: SkeletonTorchDataset
    sampler: object
    text: torch.Tensor  # class text with only the training classes' rows (the others NaN)
    variants: torch.Tensor | None  # text augmentation: every wording, or None
    classes: torch.Tensor  # the training classes, passed to the loss


def _epochs(cfg: TrainConfig, fit: _Fit, device, rank: int, text_rng: torch.Generator, start_epoch: int,
            stop_epoch: int, step: int, after_epoch) -> int:
    """Epochs start_epoch .. stop_epoch - 1 of a cfg.epochs schedule; ``after_epoch(epoch, record, last)`` after
    each (validation, checkpoints); True from it stops. Returns the step count."""
    method, opt, loader = fit.method, fit.opt, fit.loader
    t0 = time.time()
    for epoch in range(start_epoch, stop_epoch):
        method.train()
        if cfg.freeze == "backbone":
            method.backbone.eval()  # its batch-norm statistics stay the init run's
        method.on_epoch(epoch, cfg.epochs)
        fit.train_set.epoch = epoch
        if isinstance(fit.sampler, DistributedSampler):
            fit.sampler.set_epoch(epoch)
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{stop_epoch}", disable=rank != 0, leave=False)
        for x, y in bar:
            for g in opt.param_groups:
                g["lr"] = _lr_at(cfg, step, len(loader))
            out = fit.model(x.to(device), y.to(device), training_text(fit.variants, fit.text, text_rng), fit.classes)
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
        last = epoch == stop_epoch - 1 or bool(cfg.max_steps and step >= cfg.max_steps)
        if after_epoch(epoch, record, last, step) or last:
            break
    return step


def _text_variants(mcfg: MethodConfig, method_cls, desc, encoder, device) -> torch.Tensor | None:
    if not mcfg.text_augment:
        return None
    from train.text.class_text import text_variants

    return torch.from_numpy(text_variants(desc, encoder, method_cls.granularities, True, mcfg.label_text)[0]).to(device)


def _concat(a: SkeletonDataset, b: SkeletonDataset) -> SkeletonDataset:
    keys = set(a.meta) & set(b.meta)
    return SkeletonDataset(frames=np.concatenate([a.frames, b.frames]),
                           offsets=np.concatenate([a.offsets, a.offsets[-1] + b.offsets[1:]]),
                           labels=np.concatenate([a.labels, b.labels]), class_names=a.class_names,
                           label_set=a.label_set, meta={k: np.concatenate([a.meta[k], b.meta[k]]) for k in keys},
                           fps=a.fps)


def refit_data(parts: Parts) -> SkeletonDataset:
    """Training data of the refit: the training part and the validation classes' samples (val_unseen), the latter
    capped per class at the training part's median samples per class, so that no class weighs more than it
    would have as a training class. Held-out samples of the training classes (val_seen) stay out."""
    cap = int(np.median(np.bincount(parts.train.labels)[np.unique(parts.train.labels)]))
    labels = parts.val_unseen.labels
    keep = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        keep[np.flatnonzero(labels == c)[:cap]] = True
    return _concat(parts.train, parts.val_unseen.subset(keep))


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
    bank_np, texts, encoder, desc = class_text_bank(cfg, method_cls, mcfg, label_set, parts.descriptions)
    if parts.descriptions is not None and run_dir is not None:  # the texts have no file of their own: export reads this
        save_descriptions(desc, run_dir / "descriptions.json")
    bank = torch.from_numpy(bank_np).to(device)
    variants = _text_variants(mcfg, method_cls, desc, encoder, device)
    text_rng = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    spec = InputSpec(frames=mcfg.frames, persons=mcfg.persons, normalization=mcfg.normalization)
    text_dim = bank_np.shape[-1]

    train_c = list(parts.split.train)
    method, init = _build_method(cfg, mcfg, method_cls, text_dim, label_set, device, encoder.checksum)
    if method.class_groups is not None:
        groups = method.class_groups.numpy()
        log.info(f"{len(groups)} classes in {len(set(groups.tolist()))} concepts (train/data/concepts.json)")
    log.info(f"{cfg.method} on {mcfg.backbone}: {sum(p.numel() for p in method.parameters()) / 1e6:.2f} M parameters, "
             f"text {encoder.id} ({text_dim}-d), granularities {', '.join(method.granularities)}, {method.mode} mode")
    opt = _optimizer(cfg, method)
    start_epoch, best, history, step = 0, {"val_h": -1.0, "val_zsl_top1": -1.0, "epoch": -1}, [], 0
    if cfg.resume:
        ckpt = torch.load(cfg.resume, map_location="cpu", weights_only=False)
        method.load_state_dict(ckpt["model_state"])
        opt.load_state_dict(ckpt["optimizer_state"])
        start_epoch, best, history, step = ckpt["epoch"] + 1, ckpt["best"], ckpt["history"], ckpt["step"]
        log.info(f"resumed from {cfg.resume} at epoch {start_epoch}")
    model = torch.nn.parallel.DistributedDataParallel(method) if world > 1 else method
    train_set, sampler, loader = _loader(cfg, parts.train, spec, world, rank)
    fit = _Fit(method, model, opt, loader, train_set, sampler, training_classes_only(bank, train_c),
               None if variants is None else training_classes_only(variants, train_c), torch.tensor(train_c, dtype=torch.long))
    # per-epoch model selection sees at most select_per_class samples of each seen class (the final evaluation
    # uses them all): on a 2-core CPU validating on every held-out seen sample cost a third of each epoch
    ev = Evaluator(method, bank_np, selection_parts(parts, cfg.select_per_class), spec, device)
    t0 = time.time()
    extra = {"texts": texts, "label_set": label_set, "class_names": parts.class_names(),
             "text_encoder": {"id": encoder.id, "checksum": encoder.checksum, "spec": cfg.text_encoder},
             "descriptions": desc.source, "split": dataclasses.asdict(parts.split)}

    def after_epoch(epoch: int, record: dict, last: bool, step: int) -> bool:
        nonlocal best
        if rank == 0 and ((epoch + 1) % cfg.eval_every == 0 or last):
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
        return False

    _epochs(cfg, fit, device, rank, text_rng, start_epoch, cfg.epochs, step, after_epoch)
    if world > 1:
        dist.barrier()
    refit = cfg.refit and len(parts.split.val) > 0
    if cfg.refit and not refit:
        log.info("--refit: the split has no validation classes, so there is nothing to add; not refitted")
    if rank != 0:
        if refit:
            _refit(cfg, mcfg, method_cls, parts, bank, desc, encoder, spec, device, rank, world, best["epoch"], None, extra)
        dist.destroy_process_group()
        return None

    train_time = time.time() - t0
    best_model, _ = checkpoint.load(run_dir / "best.pt")
    best_model.to(device)
    before = _state_copy(best_model)
    metrics = evaluate_run(best_model, bank_np, parts, spec, device)
    if _state_changed(before, best_model):  # test time stored a setting chosen on validation: export needs it
        checkpoint.update_state(run_dir / "best.pt", best_model)
    metrics["selection"].update(best_epoch=best["epoch"], val_h=best["val_h"], val_zsl_top1=best["val_zsl_top1"],
                                criterion=CRITERION)
    metrics.update(history=history, train_time_s=round(train_time, 1), total_time_s=round(time.time() - t0, 1),
                   method=cfg.method, data=cfg.data, split=parts.split.name, backbone=mcfg.backbone,
                   samples={k: len(getattr(parts, k) or ()) for k in ("train", "val_seen", "val_unseen", "test_seen", "test_unseen")},
                   checkpoints={"best.pt": f"epoch {best['epoch']}, chosen by {CRITERION}; trained on the training "
                                           "classes only (the figures under test)",
                                "last.pt": "the last epoch, with the optimiser state (for --resume)"})
    if init is not None:
        metrics["init"] = init
    if refit:
        refit_model = _refit(cfg, mcfg, method_cls, parts, bank, desc, encoder, spec, device, rank, world,
                             best["epoch"], run_dir, extra)
        before = _state_copy(refit_model)
        refit_metrics = evaluate_run(refit_model, bank_np, parts, spec, device, settings=metrics["selection"])
        if _state_changed(before, refit_model):
            checkpoint.update_state(run_dir / "refit.pt", refit_model)
        metrics["refit"] = {
            "epochs": best["epoch"] + 1, "classes": len(train_c) + len(parts.split.val),
            "samples": len(refit_data(parts)), "checkpoint": "refit.pt",
            "settings": "gamma and test-time settings chosen on validation by the selection run",
            "test": refit_metrics["test"],
        }
        metrics["checkpoints"]["refit.pt"] = (f"trained again from scratch on the training and validation classes for "
                                              f"the chosen {best['epoch'] + 1} epochs (the figures under refit)")
        metrics["total_time_s"] = round(time.time() - t0, 1)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    lines = _summary(metrics["test"])
    if refit:
        lines.append("refit on train + validation classes: " + " | ".join(_summary(metrics["refit"]["test"])))
    log.info("test: " + " | ".join(lines) + f"\nwrote {run_dir / 'metrics.json'}")
    if world > 1:
        dist.destroy_process_group()
    return run_dir


def _state_copy(method: ZeroShotMethod) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in method.state_dict().items()}


def _state_changed(before: dict[str, torch.Tensor], method: ZeroShotMethod) -> bool:
    """Whether evaluation (a method's test_time) changed any weight or buffer since ``before``."""
    return any(not torch.equal(before[k], v) for k, v in method.state_dict().items())


def _summary(t: dict) -> list[str]:
    lines = [f"seen classes, held-out samples: top-1 {t['seen']['top1']:.3f}"]
    if "zsl" in t:
        lines += [f"ZSL top-1 {t['zsl']['top1']:.3f} top-5 {t['zsl']['top5']:.3f}",
                  f"GZSL S {t['gzsl']['seen']:.3f} U {t['gzsl']['unseen']:.3f} H {t['gzsl']['h']:.3f}"]
    if "zsl_aligned" in t:
        lines.append(f"aligned: ZSL top-1 {t['zsl_aligned']['top1']:.3f}, GZSL S {t['gzsl_aligned']['seen']:.3f} "
                     f"U {t['gzsl_aligned']['unseen']:.3f} H {t['gzsl_aligned']['h']:.3f}; "
                     f"streaming ZSL top-1 {t['zsl_streaming']['top1']:.3f}")
    return lines


def _refit(cfg: TrainConfig, mcfg: MethodConfig, method_cls, parts: Parts, bank: torch.Tensor, desc, encoder,
           spec: InputSpec, device, rank: int, world: int, best_epoch: int, run_dir: Path | None,
           extra: dict) -> ZeroShotMethod:
    """--refit: a fresh model (same seed, same --init) trained on the training and validation classes for the
    chosen number of epochs, on the same learning-rate schedule stopped there; saved as refit.pt."""
    torch.manual_seed(cfg.seed + rank)
    np.random.seed(cfg.seed + rank)
    classes = list(parts.split.train) + list(parts.split.val)
    data = refit_data(parts)
    log.info(f"refit: {len(classes)} classes (training + validation), {len(data)} samples, {best_epoch + 1} epochs")
    method, _ = _build_method(cfg, mcfg, method_cls, bank.shape[-1], parts.split.label_set, device, encoder.checksum)
    opt = _optimizer(cfg, method)
    model = torch.nn.parallel.DistributedDataParallel(method) if world > 1 else method
    train_set, sampler, loader = _loader(cfg, data, spec, world, rank)
    variants = _text_variants(mcfg, method_cls, desc, encoder, device)
    fit = _Fit(method, model, opt, loader, train_set, sampler, training_classes_only(bank, classes),
               None if variants is None else training_classes_only(variants, classes), torch.tensor(classes, dtype=torch.long))
    history: list[dict] = []

    def after_epoch(epoch: int, record: dict, last: bool, step: int) -> bool:
        history.append(record)
        log.info("refit " + " | ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
        return False

    _epochs(cfg, fit, device, rank, torch.Generator().manual_seed(cfg.seed + 1000 * rank), 0, best_epoch + 1, 0,
            after_epoch)
    if world > 1:
        dist.barrier()
    if run_dir is not None:
        checkpoint.save(run_dir / "refit.pt", method, bank.shape[-1], epoch=best_epoch, refit=True,
                        refit_classes=classes, history=history, **extra)
    return method.eval()
