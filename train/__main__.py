"""python -m train --method NAME --data {synthetic,ntu60,ntu120,pku,SOURCES,recordings} --split NAME [--root PATH]
[--init RUN [--freeze backbone]] ... (--help)"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from train.config import ConfigError, parse_args, run_name, validate

# what a run writes before its first checkpoint: a run that fails with only these is removed again
_PRELUDE = {"config.json", "train.log", "descriptions.json"}


def _discard(run_dir: Path, before: set[str] | None, created_top: Path | None) -> None:
    """A failed run: remove what it wrote when that is only its prelude (config.json, train.log, descriptions.json)
    and the folder was absent or empty before; a folder that had content, or holds a checkpoint, is left alone."""
    if int(os.environ.get("RANK", "0")) != 0 or not run_dir.is_dir() or before:
        return
    names = {p.name for p in run_dir.iterdir()}
    if not names <= _PRELUDE:
        return
    log = logging.getLogger("train")
    for h in list(log.handlers):  # the engine's log file inside the run directory
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename).parent == run_dir.resolve():
            h.close()
            log.removeHandler(h)
    if before is None:  # the folder (and perhaps parents) made by this run
        shutil.rmtree(run_dir, ignore_errors=True)
        d = run_dir.parent
        while created_top is not None and d != created_top.parent and d.is_dir() and not any(d.iterdir()):
            d.rmdir()
            d = d.parent
    else:
        for n in names:
            (run_dir / n).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    cfg, mcfg, listing = parse_args(argv)
    if listing:
        from train.data.classes import label_set_of
        from train.data.loading import DATASETS
        from train.data.splits import available_splits
        from train.methods import list_methods
        from train.models import list_backbones

        print("methods:  ", ", ".join(list_methods()))
        print("backbones:", ", ".join(list_backbones()))
        for data in DATASETS:
            print(f"{data:10s} splits: {', '.join(available_splits(label_set_of(data)))}")
        return
    try:
        validate(cfg, mcfg)  # before the run directory exists
    except ConfigError as e:
        print(f"python -m train: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from train.checkpoint import InitError
    from train.data.base import DataError
    from train.engine import run

    cfg.name = run_name(cfg)
    run_dir = Path(cfg.resume).parent if cfg.resume else Path(cfg.out) / cfg.name
    before = set(os.listdir(run_dir)) if run_dir.is_dir() else None
    finished = [f for f in ("best.pt", "last.pt") if before and f in before]
    if finished and not cfg.resume and not cfg.overwrite:  # a run's checkpoints are never replaced by surprise
        print(f"python -m train: error: {run_dir} already holds a run ({', '.join(finished)}); choose another "
              f"--name, continue it with --resume {run_dir / 'last.pt'}, or replace it with --overwrite", file=sys.stderr)
        raise SystemExit(2)
    created_top = None
    if before is None:
        created_top = run_dir
        while not created_top.parent.exists():
            created_top = created_top.parent
    try:
        run(cfg, mcfg)
    except (DataError, InitError) as e:  # a dataset that cannot be read (the message names the file), a bad --init
        _discard(run_dir, before, created_top)
        print(f"python -m train: error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except BaseException:
        _discard(run_dir, before, created_top)
        raise


if __name__ == "__main__":
    main()
