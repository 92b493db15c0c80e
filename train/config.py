"""Run configuration: a dataclass with defaults, every field a command-line flag.

    python -m train --method pgfa --data synthetic --split base12 --epochs 20 --lr 0.05
    python -m train --method baseline --data ntu60 --root /data/nturgbd_skeletons --split 55_5 --backbone stgcn
    python -m train --data recordings --root my_actions --init train/assets/shipped --epochs 3 --epoch-size 600

With ``--init RUN``, the method and its options (backbone, streams, frames, ...) and the text encoder default to
the init run's (its config.json); an option given on the command line wins, except that the backbone, its input
streams, frames, persons and normalization must be the init run's (the weights were trained for them). When the
init run is another method's (a baseline's backbone for Neuron), only those architecture options and the text
encoder are its; the rest are this method's own defaults (a baseline's head dropout is not InfoCPL's).

Method fields (backbone, frames, temperature, ...) come from the method's own config dataclass and are added
to the command line once ``--method`` is known. The resolved configuration is written next to the checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import typing
from dataclasses import dataclass, fields
from pathlib import Path

from runtime.cli import field_comments

OPTIMIZERS = ("sgd", "adamw", "adam")
DEFAULT_SPLITS = {"synthetic": "base12", "ntu60": "55_5", "ntu120": "110_10", "pku": "46_5"}


@dataclass
class TrainConfig:
    method: str = "pgfa"  # zero-shot method (python -m train --list)
    data: str = "synthetic"  # synthetic | ntu60 | ntu120 | pku | real sources joined by '+' (utd_mhad+nw_ucla+synthetic) | recordings (your own, --root DIR; train/data/recordings.py)
    holdout: str = ""  # a real source to test on, zero-shot, with its own labels (cross-dataset benchmark)
    source_weights: str = ""  # mixtures: sampling weight per source, e.g. synthetic=0.5,bandai_namco=0.7 (default 1)
    epoch_size: int = 0  # samples drawn per epoch (0: the training set's size)
    window_crop: bool = True  # long sequences: train on crops about as long as the device's window
    depth_noise: float = 0.0  # metres of smooth noise along the camera axis (monocular depth error, as MediaPipe)
    mask_uncommon: float = 0.0  # chance per sample of dropping hand tips and thumbs (for inputs that keep them)
    pad_short: float = 0.0  # chance per sample that a sequence shorter than the device's window plays at its own pace inside a whole window (still before and after), as a stream shows it
    split: str = ""  # zero-shot split name; default per dataset (synthetic: base12, ntu60: 55_5, ...)
    root: str = ""  # dataset location: NTU .skeleton folder or .npz archive; PKU folder (skeleton/, label/); real sources: their folder or its parent (default ~/.cache/zsar/datasets)
    protocol: str = "xsub"  # official evaluation split: xsub | xview | xset
    split_file: str = ""  # PKU-MMD official cross-subject.txt / cross-view.txt
    text_encoder: str = "minilm"  # minilm | st:<dir> | clip:<arch>:<checkpoint>
    descriptions: str = ""  # class description file; default: the label set's own
    per_class: int = 60  # synthetic: training samples per class (in a mixture too)
    eval_per_class: int = 60  # synthetic: validation and test samples per class
    epochs: int = 16
    batch_size: int = 64
    optimizer: str = "sgd"  # sgd | adamw | adam
    lr: float = 0.05
    weight_decay: float = 5e-4
    warmup_epochs: int = 2
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    workers: int = 1  # data-loading processes
    threads: int = 0  # torch CPU threads (0: leave as is)
    out: str = "runs"  # parent folder of run directories
    name: str = ""  # run directory name (default: method-data-split-time)
    resume: str = ""  # a last.pt to continue from
    overwrite: bool = False  # train into the folder of a finished run (its --name), replacing its checkpoints
    init: str = ""  # a run directory (its best.pt) or checkpoint to start from: backbone, and head where it fits; method options left out are its
    freeze: str = ""  # with --init: 'backbone' trains only the head (backbone weights and statistics kept)
    max_steps: int = 0  # stop after this many optimisation steps (smoke tests); 0 = no limit
    eval_every: int = 1  # epochs between validations
    select_per_class: int = 20  # per-epoch model selection: held-out samples per seen class (0: all)
    refit: bool = False  # after selection, train again on the training and validation classes for the chosen epochs (refit.pt; metrics.json reports both)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_fields(parser: argparse.ArgumentParser, cls, group_title: str) -> None:
    group = parser.add_argument_group(group_title)
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    for f in fields(cls):
        typ = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        helptext = comments.get(f.name, "(default: %(default)s)")  # the formatter appends defaults to comments
        if typ is bool:
            group.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=default, help=helptext)
        else:
            base = typ if typ in (int, float, str) else str
            group.add_argument(_flag(f.name), type=base, default=default, help=helptext)


def from_namespace(cls, ns: argparse.Namespace):
    return cls(**{f.name: getattr(ns, f.name) for f in fields(cls)})


INIT_RUN_FIELDS = ("text_encoder",)  # run options that default to the --init run's (with every method option)


def _parser(method: str, mcls=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train and evaluate a zero-shot skeleton action recogniser. Each run writes a directory "
                    "with config.json, checkpoints (best.pt, last.pt), metrics.json and train.log.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--list", action="store_true", help="list methods, backbones, datasets and splits")
    add_fields(parser, TrainConfig, "run")
    if mcls is not None:
        add_fields(parser, mcls.config_class, f"method {method}")
        unknown = set(mcls.run_defaults) - {f.name for f in fields(TrainConfig)}
        if unknown:
            raise ValueError(f"{method}: run_defaults names no run option: {', '.join(sorted(unknown))}")
        parser.set_defaults(**mcls.run_defaults)  # a method's own run defaults (its optimiser); flags still win
    return parser


def given_options(method: str, mcls, argv: list[str] | None) -> set[str]:
    """The options (field names) given on the command line, as opposed to left at their defaults."""
    parser = _parser(method, mcls)
    parser._defaults.clear()  # the method's run defaults (set_defaults) are not options given either
    for a in parser._actions:
        a.default = argparse.SUPPRESS  # an option left out then leaves no attribute
    return set(vars(parser.parse_args(argv)))


def parse_args(argv: list[str] | None = None):
    """Two passes: the first finds --method (and --init), the second knows that method's own options."""
    from train.checkpoint import init_run_config
    from train.methods import list_methods, method_class

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--method", default=None)
    pre.add_argument("--init", default="")
    pre.add_argument("--list", action="store_true")
    known, _ = pre.parse_known_args(argv)
    init_cfg = init_run_config(known.init) if known.init else None
    method = known.method or (init_cfg["run"].get("method") if init_cfg else None) or TrainConfig.method
    parser = _parser(method)
    if method not in list_methods():
        parser.error(f"unknown method {method!r}; available: {', '.join(list_methods())}")
    mcls = method_class(method)
    parser = _parser(method, mcls)
    ns = parser.parse_args(argv)
    ns.method = method
    if init_cfg:  # what the command line leaves out is the init run's
        from train.checkpoint import ARCHITECTURE_FIELDS

        given = given_options(method, mcls, argv)
        names = [f.name for f in fields(mcls.config_class)]
        if init_cfg["run"].get("method") != method:  # another method's head options are not this one's defaults
            names = [n for n in names if n in ARCHITECTURE_FIELDS]
        names += list(INIT_RUN_FIELDS)
        for name in names:
            section = init_cfg["run"] if name in INIT_RUN_FIELDS else init_cfg["method"]
            if name not in given and name in section:
                setattr(ns, name, section[name])
    cfg = from_namespace(TrainConfig, ns)
    if not cfg.split:
        cfg.split = DEFAULT_SPLITS.get(cfg.data, "")
    return cfg, from_namespace(mcls.config_class, ns), ns.list


class ConfigError(ValueError):
    """A run's settings cannot work (an unknown name, a missing path): one line, before anything is written."""


def run_name(cfg: TrainConfig) -> str:
    """The run directory's name: --name, else method-data-split-time."""
    return cfg.name or f"{cfg.method}-{cfg.data}-{cfg.split}-{time.strftime('%Y%m%d-%H%M%S')}"


def validate_init(cfg: TrainConfig, mcfg=None) -> None:
    """--init and --freeze: the checkpoint exists and, where its config.json says, the model options match."""
    from train.checkpoint import InitError, check_architecture, init_checkpoint, init_run_config

    if cfg.freeze not in ("", "backbone"):
        raise ConfigError(f"--freeze {cfg.freeze}: unknown; use backbone (or leave it out)")
    if cfg.freeze and not cfg.init:
        raise ConfigError("--freeze backbone needs --init RUN (the backbone to keep)")
    if not cfg.init:
        return
    try:
        init_checkpoint(cfg.init)
        theirs = init_run_config(cfg.init)
        if theirs is not None and mcfg is not None:
            check_architecture(theirs["method"], dataclasses.asdict(mcfg), cfg.init)
    except InitError as e:
        raise ConfigError(str(e)) from None


def validate(cfg: TrainConfig, mcfg=None) -> None:
    """Check what can be checked without reading a dataset: names (data, split, sources, protocol, optimizer) and
    that the paths given exist; with ``mcfg`` also --init against the method's options. Raises ConfigError naming
    the flag."""
    from train.data.base import DataError
    from train.data.loading import DATASETS
    from train.data.sources import get_source, list_sources

    validate_init(cfg, mcfg)

    real = list_sources()
    known = (f"known: {', '.join(DATASETS)} (alone), or sources joined by '+' from synthetic, {', '.join(real)} "
             "(e.g. utd_mhad+nw_ucla+synthetic)")
    if cfg.root and not Path(cfg.root).expanduser().exists():
        raise ConfigError(f"--root {cfg.root}: no such file or directory")
    for flag, value in (("--split-file", cfg.split_file), ("--resume", cfg.resume)):
        if value and not Path(value).expanduser().is_file():
            raise ConfigError(f"{flag} {value}: no such file")
    for flag, value in (("--batch-size", cfg.batch_size), ("--per-class", cfg.per_class),
                        ("--eval-per-class", cfg.eval_per_class)):
        if value < 1:
            raise ConfigError(f"{flag} {value}: must be at least 1")
    if cfg.optimizer not in OPTIMIZERS:
        raise ConfigError(f"--optimizer {cfg.optimizer}: unknown; use {', '.join(OPTIMIZERS[:-1])} or {OPTIMIZERS[-1]}")
    saved = Path(cfg.resume).expanduser().parent / "config.json" if cfg.resume else None
    if saved is not None and saved.is_file():  # the optimiser state in last.pt only fits the optimiser that made it
        theirs = json.loads(saved.read_text()).get("run", {}).get("optimizer", "sgd")
        if theirs != cfg.optimizer:
            raise ConfigError(f"--resume {cfg.resume}: the run trained with --optimizer {theirs}, this command would "
                              f"resume it with {cfg.optimizer}; give --optimizer {theirs} (and the run's --lr)")
    if cfg.data in DATASETS and not cfg.holdout:
        from train.data.classes import label_set_of
        from train.data.splits import available_splits, get_split

        label_set = label_set_of(cfg.data)
        try:
            get_split(label_set, cfg.split)
        except KeyError:
            raise ConfigError(f"--split {cfg.split}: unknown for --data {cfg.data}; available: "
                              f"{', '.join(available_splits(label_set))}") from None
        protocols = {"synthetic": None, "ntu60": ("xsub", "xview", "xset"), "ntu120": ("xsub", "xview", "xset"),
                     "pku": ("xsub", "xview")}
        if protocols[cfg.data] and cfg.protocol not in protocols[cfg.data]:
            raise ConfigError(f"--protocol {cfg.protocol}: unknown for --data {cfg.data}; use "
                              f"{' or '.join(protocols[cfg.data])}")
        if cfg.data != "synthetic" and not cfg.root:
            raise ConfigError(f"--root is required for --data {cfg.data}: the dataset is licensed and not shipped")
        if cfg.data in ("ntu60", "ntu120") and not (Path(cfg.root).is_dir() or cfg.root.endswith(".npz")):
            raise ConfigError(f"--root {cfg.root}: neither a folder of .skeleton files nor an .npz archive")
        if cfg.data == "pku" and not Path(cfg.root).is_dir():
            raise ConfigError(f"--root {cfg.root}: not a folder (PKU-MMD's folder holds skeleton/ and label/)")
        return
    sources = cfg.data.split("+")
    for s in sources:
        if s != "synthetic" and s not in real:
            what = f"{s!r} cannot be mixed" if s in DATASETS else f"unknown dataset {s!r}"
            raise ConfigError(f"--data {cfg.data}: {what}; {known}")
    if cfg.holdout and cfg.holdout not in real:
        raise ConfigError(f"--holdout {cfg.holdout}: not a real skeleton source; known: {', '.join(real)}")
    from train.data.mixture import datasets_root, mixture_sources

    try:
        sources = mixture_sources(cfg.data, cfg.holdout or None)  # a source named twice, or also the holdout
    except DataError as e:
        raise ConfigError(str(e)) from None
    for s in sources:
        if s != "synthetic":
            if get_source(s).parts is not None and not cfg.root:  # the user's own data: no default location
                raise ConfigError(f"--root is required for --data {cfg.data}: the folder of your {s}")
            try:
                get_source(s).find_root(datasets_root(cfg.root or None))
            except DataError as e:
                raise ConfigError(f"--root: {e}" + ("" if cfg.root else " (the default; set --root or ZSAR_DATASETS)")) from None
