"""python -m bench.methods [--runs runs]

The zero-shot methods side by side, from the metrics.json of their runs (nothing is trained here; the commands
that made the runs are listed under the tables):

- synthetic splits ``compose`` (its 4 unseen classes are new combinations of seen arm and leg motions) and
  ``base12`` (12 varied everyday and exercise actions unseen), the same budget for every method and three seeds
  each: mean and spread (sample standard deviation) of ZSL top-1 and GZSL H, and each method's test-time variant
  (PGFA's transductive alignment, DynaPURLS's dynamic refinement); Neuron's spatial and temporal branches alone;
- the real cross-dataset benchmark: trained on three real datasets and the generator, tested on the fourth with
  its own labels (the test part of the run: windows of the held-out dataset's sequences, the same protocol for
  every method), one seed per held-out dataset.

Variants are found by run name (``SYNTHETIC`` and ``REAL`` below). Writes docs/results/methods.{json,md} and
replaces its section of the results page.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

TITLE = "Methods compared"
INTRO = [
    "The same training budget for every method; every choice (epoch, calibration, test-time settings, Neuron's",
    "fusion weight) made on validation classes carved from the seen ones. ZSL top-1 and GZSL H in percent; mean",
    "± sample standard deviation over seeds. *Test time*: PGFA's transductive alignment, DynaPURLS's streaming",
    "dynamic refinement. DynaPURLS: end to end on the project's 10 granularities (global, six body parts, three",
    "phases), scored with the global granularity; *static*: fixed joint groups and time thirds instead of",
    "text-queried attention. *Frozen backbone*: the backbone of a seen-class run (the baseline's with the same",
    "seed and split; on real data the baseline's leave-one-out run, PGFA's for DynaPURLS), only the head trained;",
    "Neuron and InfoCPL always train so, as their papers. Neuron: 3 spatial and 3 temporal rounds against side",
    "information derived from the descriptions, the last rounds' scores fused by a weight chosen on validation;",
    "its ablations: one round, no memory gates, the class name as the only text. InfoCPL: a 56-entry codebook",
    "per class, 12 heads; its ablations: one head over the whole codebook, no attention inversion, SMIE's rolled",
    "in-batch negative instead of 8 sampled ones.",
]

SPLITS = {"compose": "4 unseen classes, new combinations of seen arm and leg motions",
          "base12": "12 unseen classes, varied everyday and exercise actions"}
# variant -> run directory name (synthetic: cmp-<split>-<name>-s<seed>; real: a path under --runs per holdout)
SYNTHETIC = {
    "baseline": "baseline",
    "pgfa": "pgfa",
    "dynapurls": "dynapurls",
    "dynapurls, static partition": "dynapurls-static",
    "dynapurls, frozen backbone": "dynapurls-frozen",
    "neuron": "neuron",
    "neuron, one round": "neuron-rounds1",
    "neuron, no memory gates": "neuron-nomemory",
    "neuron, class name only": "neuron-sideoff",
    "infocpl": "infocpl",
    "infocpl, one head": "infocpl-onehead",
    "infocpl, no attention inversion": "infocpl-noinvert",
    "infocpl, rolled negatives": "infocpl-rolled",
}
REAL_SETS = ("kinder_gator", "utd_mhad", "nw_ucla", "bandai_namco")
NAMES = {"kinder_gator": "Kinder-Gator", "utd_mhad": "UTD-MHAD", "nw_ucla": "NW-UCLA", "bandai_namco": "Bandai-Namco"}
REAL = {
    "baseline": "dynapurls/baseline-{h}",
    "pgfa": "pgfa/xdata-{h}",  # the methods' 8-epoch budget (runs/xdata-* follow the shipped recipe, 32 epochs)
    "dynapurls": "dynapurls/xdata-{h}",
    "dynapurls, static partition": "dynapurls/static-{h}",
    "dynapurls, frozen backbone": "dynapurls/frozen-{h}",
    "neuron": "neuron/xdata-{h}",
    "neuron, one round": "neuron/rounds1-{h}",
    "neuron, no memory gates": "neuron/nomemory-{h}",
    "neuron, class name only": "neuron/sideoff-{h}",
    "infocpl": "infocpl/xdata-{h}",
    "infocpl, one head": "infocpl/onehead-{h}",
    "infocpl, no attention inversion": "infocpl/noinvert-{h}",
    "infocpl, rolled negatives": "infocpl/rolled-{h}",
}
TEST_TIME = {"pgfa": ("zsl_aligned", "gzsl_aligned"), "dynapurls": ("zsl_refined", "gzsl_refined")}
BRANCHES = ("spatial", "temporal")  # Neuron's branches alone (w = 1, w = 0)


def _metrics(d: Path) -> dict:
    m = json.loads((d / "metrics.json").read_text())
    m["_config"] = json.loads((d / "config.json").read_text())
    return m


def _figures(m: dict) -> dict:
    t = m["test"]
    zsl_tt, gzsl_tt = TEST_TIME.get(m["method"], (None, None))
    fused = "_fused" if "zsl_fused" in t else ""  # Neuron: at the chosen weight (runs before it said so in zsl)
    out = {"zsl": t[f"zsl{fused}"]["top1"], "gzsl_h": t[f"gzsl{fused}"]["h"],
           "zsl_tt": t[zsl_tt]["top1"] if zsl_tt in t else None,
           "gzsl_h_tt": t[gzsl_tt]["h"] if gzsl_tt in t else None,
           "train_min": m["train_time_s"] / 60}
    for b in BRANCHES:
        if f"zsl_{b}" in t:
            out[f"zsl_{b}"], out[f"gzsl_h_{b}"] = t[f"zsl_{b}"]["top1"], t[f"gzsl_{b}"]["h"]
    if "fusion" in m.get("selection", {}):
        out["fusion"] = m["selection"]["fusion"]
    return out


def _stat(values: list) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return "-"
    if len(v) == 1:
        return f"{100 * v[0]:.1f}"
    return f"{100 * statistics.mean(v):.1f} ± {100 * statistics.stdev(v):.1f}"


def collect(runs: Path) -> dict:
    out: dict = {"synthetic": {}, "real": {}, "commands": {}}
    names = [p.parent.name for p in runs.glob("*/metrics.json")]
    for split in SPLITS:
        for variant, name in SYNTHETIC.items():
            dirs = sorted(runs / n for n in names if re.fullmatch(rf"cmp-{split}-{name}-s\d+", n))
            if dirs:
                ms = [_metrics(d) for d in dirs]
                out["synthetic"].setdefault(split, {})[variant] = {d.name: _figures(m) for d, m in zip(dirs, ms)}
                out["commands"].setdefault(f"synthetic: {variant}", _command(ms[0]))
    for variant, pattern in REAL.items():
        per = {}
        for h in REAL_SETS:
            d = runs / pattern.format(h=h)
            if (d / "metrics.json").is_file():
                m = _metrics(d)
                per[h] = _figures(m)
                out["commands"].setdefault(f"real: {variant}", _command(m))
        if per:
            out["real"][variant] = per
    return out


def _command(m: dict) -> str:
    from bench.results import run_command

    return run_command(m["_config"])


def markdown(r: dict) -> list[str]:
    lines = []
    for split, runs_of in r["synthetic"].items():
        lines += [f"### Synthetic, split {split} ({SPLITS[split]})", "",
                  "| method | seeds | ZSL top-1 | GZSL H | test-time ZSL top-1 | test-time GZSL H | train time (median) |",
                  "|---|---|---|---|---|---|---|"]
        for variant, runs in runs_of.items():
            f = list(runs.values())
            lines.append(f"| {variant} | {len(f)} | {_stat([x['zsl'] for x in f])} | {_stat([x['gzsl_h'] for x in f])} "
                         f"| {_stat([x['zsl_tt'] for x in f])} | {_stat([x['gzsl_h_tt'] for x in f])} "
                         f"| {statistics.median(x['train_min'] for x in f):.1f} min |")
        lines.append("")
    branches = [(split, v, runs) for split, runs_of in r["synthetic"].items() for v, runs in runs_of.items()
                if any("zsl_spatial" in x for x in runs.values())]
    if branches:
        lines += ["### Neuron's branches: the last spatial round alone, the last temporal round alone, fused", "",
                  "| split | variant | spatial ZSL / H | temporal ZSL / H | fused ZSL / H | fusion weights chosen |",
                  "|---|---|---|---|---|---|"]
        def cell(f: list, k: str) -> str:
            return f"{_stat([x.get(f'zsl{k}') for x in f])} / {_stat([x.get(f'gzsl_h{k}') for x in f])}"

        for split, v, runs in branches:
            f = list(runs.values())
            weights = ", ".join(str(x.get("fusion", "-")) for x in f)
            lines.append(f"| {split} | {v} | {cell(f, '_spatial')} | {cell(f, '_temporal')} | {cell(f, '')} | {weights} |")
        lines.append("")
    if r["real"]:
        lines += ["### Real people: cross-dataset, held-out dataset's own labels (ZSL top-1; test time in brackets)", "",
                  "| method | " + " | ".join(NAMES[h] for h in REAL_SETS) + " | mean |",
                  "|---|" + "---|" * (len(REAL_SETS) + 1)]
        for variant, per in r["real"].items():
            cells, plain, tts = [], [], []
            for h in REAL_SETS:
                if h not in per:
                    cells.append("-")
                    continue
                x = per[h]
                plain.append(x["zsl"])
                tts.append(x["zsl_tt"])
                tt = "" if x["zsl_tt"] is None else f" ({100 * x['zsl_tt']:.1f})"
                cells.append(f"{100 * x['zsl']:.1f}{tt}")
            mean = "-"
            if len(plain) == len(REAL_SETS):
                mean = f"{100 * statistics.mean(plain):.1f}"
                if None not in tts:
                    mean += f" ({100 * statistics.mean(tts):.1f})"
            lines.append(f"| {variant} | " + " | ".join(cells) + f" | {mean} |")
        lines.append("")
    lines += ["Commands (one seed and split shown; the others differ by `--seed` and `--split` (and `--init`), the real "
              "runs by `--holdout`):", ""]
    lines += [f"- {k}: `{v}`" for k, v in r["commands"].items()]
    return lines


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.methods", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="folder of run directories")
    ap.add_argument("--out", default="docs/results/methods", help="writes <out>.json and <out>.md")
    ap.add_argument("--page", default="docs/results.md", help="results page whose section is replaced ('' for none)")
    args = ap.parse_args(argv)
    r = collect(Path(args.runs))
    table = "\n".join(markdown(r))
    print(table)
    from bench.results import save_bench

    save_bench("methods", args.out, r, table, args.page)
    return r


if __name__ == "__main__":
    main()
