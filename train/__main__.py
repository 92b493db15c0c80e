"""python -m train --method NAME --data {synthetic,ntu60,ntu120,pku} --split NAME [--root PATH] ... (--help)"""

from __future__ import annotations

from train.config import parse_args


def main(argv: list[str] | None = None) -> None:
    cfg, mcfg, listing = parse_args(argv)
    if listing:
        from train.data.splits import available_splits
        from train.methods import list_methods
        from train.models import list_backbones

        print("methods:  ", ", ".join(list_methods()))
        print("backbones:", ", ".join(list_backbones()))
        for data, ls in (("synthetic", "synthetic"), ("ntu60", "ntu60"), ("ntu120", "ntu120"), ("pku", "pku51")):
            print(f"{data:10s} splits: {', '.join(available_splits(ls))}")
        return
    from train.engine import run

    run(cfg, mcfg)


if __name__ == "__main__":
    main()
