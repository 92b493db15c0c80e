"""Checkpoints carry everything needed to rebuild the model without the training config (nanoGPT style):
method name and config, text dimension, input spec, the class texts the method was trained against."""

from __future__ import annotations

import dataclasses
import json
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


def update_state(path: Path, method: ZeroShotMethod) -> None:
    """Write ``method``'s current weights and buffers into an existing checkpoint, its other entries kept (a
    setting that a method's test time chose on validation and stored in a buffer, for export)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    state["model_state"] = method.state_dict()
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


# ------------------------------------------------------------------------------------- --init

# what the backbone's weights were trained for: another value would feed them inputs they never saw
ARCHITECTURE_FIELDS = ("backbone", "streams", "frames", "persons", "normalization")


class InitError(ValueError):
    """``--init`` cannot be used; the message names the run and the field or tensor."""


def init_checkpoint(path: str | Path) -> Path:
    """The checkpoint ``--init`` names: RUN_DIR/best.pt, or a .pt file itself."""
    p = Path(path).expanduser()
    if p.is_dir():
        if not (p / "best.pt").is_file():
            raise InitError(f"--init {path}: no best.pt in it (a training run directory holds best.pt)")
        return p / "best.pt"
    if not p.is_file():
        raise InitError(f"--init {path}: no such run directory or checkpoint")
    return p


def init_run_config(path: str | Path) -> dict | None:
    """The init run's config.json ({"run": ..., "method": ...}) beside its checkpoint; None when there is none."""
    try:
        cfg = json.loads((init_checkpoint(path).parent / "config.json").read_text())
    except (InitError, OSError, ValueError):
        return None
    ok = isinstance(cfg, dict) and isinstance(cfg.get("run"), dict) and isinstance(cfg.get("method"), dict)
    return cfg if ok else None


def check_architecture(theirs: dict, mine: dict, where: str) -> None:
    """InitError naming the first of ARCHITECTURE_FIELDS where this run's model config differs from the init run's."""
    for f in ARCHITECTURE_FIELDS:
        if f in theirs and f in mine and theirs[f] != mine[f]:
            raise InitError(f"--init {where}: --{f} {mine[f]!r} differs from the init run's {theirs[f]!r}; its weights "
                            f"need the same {', '.join(ARCHITECTURE_FIELDS)} (leave --{f} out to take the init run's)")


def init_from(method: ZeroShotMethod, path: str | Path, text_checksum: str | None = None) -> dict:
    """Start ``method`` from another run's weights (``--init``): the backbone always (same architecture, else
    InitError), every other module (the head: the projection into the text space) where all its tensors have the
    same names and shapes and the run used the same text encoder; ``log_scale`` stays this run's (--temperature).
    Returns what was loaded and why the rest was not, with a one-line ``summary`` for the log."""
    ckpt_path = init_checkpoint(path)
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    except Exception as e:  # a damaged or foreign file: torch raises many kinds
        raise InitError(f"--init {path}: cannot read {ckpt_path} ({e})") from None
    if not isinstance(ckpt, dict) or "model_args" not in ckpt or "model_state" not in ckpt:
        raise InitError(f"--init {path}: {ckpt_path} is not a zsar checkpoint (no model_args)")
    args = ckpt["model_args"]
    theirs = dict(args.get("method_config", {}))
    theirs.setdefault("normalization", args.get("input_spec", {}).get("normalization"))
    check_architecture(theirs, dataclasses.asdict(method.cfg), str(path))
    state, own = ckpt["model_state"], method.state_dict()
    groups: dict[str, list[str]] = {"backbone": [], "head": []}  # in this order in the log
    for k in own:
        groups.setdefault(k.split(".")[0], []).append(k)
    groups = {g: keys for g, keys in groups.items() if keys}

    def mismatch(keys: list[str]) -> str | None:
        for k in keys:
            if k not in state:
                return f"{k} is not in the init run"
            if tuple(state[k].shape) != tuple(own[k].shape):
                return f"{k} is {tuple(state[k].shape)} there, {tuple(own[k].shape)} here"
        return None

    their_text = (ckpt.get("text_encoder") or {}).get("checksum")
    take, loaded, skipped = {}, {}, {}
    for g, keys in groups.items():
        why = mismatch(keys)
        if g == "backbone" and why:
            raise InitError(f"--init {path}: the backbone differs ({why})")
        if g == "log_scale":
            why = "this run's --temperature"
        elif g != "backbone" and text_checksum and their_text and their_text != text_checksum and why is None:
            why = f"trained against another text encoder ({(ckpt.get('text_encoder') or {}).get('id')})"
        if why:
            skipped[g] = why
            continue
        take.update({k: state[k] for k in keys})
        loaded[g] = len(keys)
    method.load_state_dict(take, strict=False)
    unused = sorted({k.split(".")[0] for k in state} - set(groups))
    summary = (f"init from {ckpt_path} ({args.get('method')}, {theirs.get('backbone')}): loaded "
               + ", ".join(f"{g} ({n} tensors)" for g, n in loaded.items())
               + ("; not loaded: " + "; ".join(f"{g} ({w})" for g, w in skipped.items()) if skipped else "")
               + (f"; in the init run only: {', '.join(unused)}" if unused else ""))
    return {"from": str(ckpt_path), "method": args.get("method"), "loaded": loaded, "not_loaded": skipped,
            "summary": summary}
