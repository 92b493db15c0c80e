"""Checkpoints carry everything needed to rebuild the model without the training config (nanoGPT style):
method name and config, text dimension, input spec, the class texts the method was trained against."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from runtime.skeleton import InputSpec
from train.methods import method_class
from train.methods.base import ZeroShotMethod


def model_args(method: ZeroShotMethod, text_dim: int) -> dict:
    cfg = method.cfg
    spec = InputSpec(frames=cfg.frames, persons=cfg.persons, normalization=cfg.normalization)
    return {
        "method": method.name, "method_config": dataclasses.asdict(cfg), "text_dim": text_dim,
        "granularities": list(method.granularities), "input_spec": spec.to_dict(),
    }


def build_method(args: dict) -> ZeroShotMethod:
    cls = method_class(args["method"])
    known = {f.name for f in dataclasses.fields(cls.config_class)}
    values = {k: v for k, v in args["method_config"].items() if k in known}
    values.setdefault("normalization", args["input_spec"]["normalization"])  # runs made before it was a choice
    cfg = cls.config_class(**values)
    return cls(cfg, args["text_dim"])


def save(path: Path, method: ZeroShotMethod, text_dim: int, **extra) -> None:
    state = {"model_state": method.state_dict(), "model_args": model_args(method, text_dim), **extra}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load(path: str | Path) -> tuple[ZeroShotMethod, dict]:
    """Rebuild a trained method (in eval mode) and return it with the whole checkpoint dict."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no checkpoint (a run directory holds best.pt and last.pt)")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "model_args" not in ckpt:
        raise ValueError(f"{path}: not a zsar checkpoint (no model_args)")
    method = build_method(ckpt["model_args"])
    method.load_state_dict(ckpt["model_state"])
    method.eval()
    return method, ckpt
