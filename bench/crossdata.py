"""python -m bench.crossdata [--root DIR] [--baseline-bundle DIR] [--shipped-bundle DIR] [--retrain]

The cross-dataset zero-shot benchmark of real motion. For each of the four real datasets (Kinder-Gator,
UTD-MHAD, NW-UCLA, Bandai-Namco): train on the other three plus the synthetic generator (``python -m train
--data A+B+C+synthetic --holdout D``), export the run (fp32 ONNX), then test on the held-out dataset with its
own labels as the vocabulary, through the device's windows and scoring (``bench.clips``): clip top-1 and top-5,
the top-1 of the live window (``bench.clips.live_window``: what a camera scores as the action ends), chance, and
the same split into classes whose concept the training data held ("seen concept", ``train/data/concepts.json``)
and new concepts. Vocabularies: the classes' written descriptions (the prototype
table's recipe) and the bare labels (what a user typing the label gets). Also the pybullet motion-capture clips
(``train.data.mocap``), the two real NTU samples of ../shared/realdata-dev, and its nine arm-gesture videos
through MediaPipe (``bench.armgestures``). The same table for a baseline
bundle (the synthetic-only bundle that shipped before) and the shipped bundle, side by side.

Writes docs/results/crossdata.json and docs/results/crossdata.md (included in docs/results.md by
``python -m bench.results``). Runs already in --runs are reused unless --retrain.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.armgestures import CLIPS, arm_gesture_dataset
from runtime.bundle import load_bundle

TITLE = "Real people: the cross-dataset zero-shot benchmark"
INTRO = [
    "For each of the four real datasets, a model trained on the other three plus the synthetic generator is",
    "tested on the held-out dataset with its own labels as the vocabulary, through the device's windows,",
    "encoder (ONNX fp32) and scoring; a clip's score is the mean over its windows. *Described*: the classes'",
    "written descriptions (what the prototype table holds); *bare labels*: the label alone, as a user would",
    "type it. *Live*: one window per clip, the one a camera scores just as the action ends, the person still",
    "before it (a clip shorter than a window keeps its pace instead of being stretched over the window).",
    "Seen / new concept: whether the training data held the same action under another name",
    "(`train/data/concepts.json`). Beside it, the synthetic-only bundle that shipped before and the shipped",
    "bundle (which trained on all four, so its row is not zero-shot). Percentages; command and wall times below.",
]

REAL = ("kinder_gator", "utd_mhad", "nw_ucla", "bandai_namco")
NAMES = {"kinder_gator": "Kinder-Gator", "utd_mhad": "UTD-MHAD", "nw_ucla": "NW-UCLA", "bandai_namco": "Bandai-Namco"}
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def train_args(holdout: str | None, args) -> list[str]:
    sources = [s for s in REAL if s != holdout] + ["synthetic"]
    out = ["--method", args.method, "--data", "+".join(sources), "--backbone", args.backbone,
           "--epochs", str(args.epochs), "--epoch-size", str(args.epoch_size), "--per-class", str(args.per_class),
           "--source-weights", args.source_weights, "--depth-noise", str(args.depth_noise), "--pad-short", str(args.pad_short),
           "--streams", args.streams,
           "--threads", "2"]
    if holdout:
        out += ["--holdout", holdout]
    if args.root:
        out += ["--root", args.root]
    return out + list(args.train_extra)


def train_and_export(name: str, holdout: str | None, args) -> tuple[Path, float]:
    """Train (unless the run exists) and export fp32 to <run>/bundle; returns the bundle and the run's training
    wall time (from its metrics, so that a reused run reports it too)."""
    run = Path(args.runs) / name
    if args.retrain or not (run / "best.pt").exists():
        cmd = [sys.executable, "-m", "train", *train_args(holdout, args), "--out", args.runs, "--name", name, "--overwrite"]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    bundle = run / "bundle"
    if args.retrain or not (bundle / "manifest.json").exists():
        cmd = [sys.executable, "-m", "export", "--run", str(run), "--out", str(bundle), "--no-int8",
               "--no-text-encoder", "--calib", "32"]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return bundle, float(json.loads((run / "metrics.json").read_text()).get("total_time_s", float("nan")))


def _ntu_samples():
    from runtime.formats import read_ntu_skeleton
    from train.data.base import SkeletonDataset

    files = sorted((SHARED / "realdata-dev" / "ntu").glob("*.skeleton"))
    if not files:
        return None
    seqs, labels = [], []
    for f in files:
        s = read_ntu_skeleton(f)
        seqs.append(s.joints[:, :1].astype(np.float32))  # the device scores each person on their own
        labels.append(int(f.stem[-3:]) - 1)
    from train.data.classes import class_names

    return SkeletonDataset.from_sequences(seqs, labels, list(class_names("ntu60")), "ntu60", fps=30.0)


def _mocap_descriptions():
    from train.data.mocap import DESCRIPTIONS, LABELS
    from train.text.descriptions import ClassText, Descriptions

    return Descriptions("mocap", [ClassText(lab, DESCRIPTIONS[lab]) for lab in LABELS])


def label_text(bundle) -> bool:
    """Whether the bundle's table holds labels and aliases in its text ensemble (``train.text.class_text``)."""
    return bool(bundle.manifest.get("text_encoder", {}).get("label_text", False))


def evaluate_bundle(bundle_dir: Path, targets: dict, encoder) -> dict:
    """Every target (name -> (dataset, descriptions)) in both vocabulary modes."""
    from bench.clips import evaluate_clips, text_prototypes

    bundle = load_bundle(bundle_dir)
    out = {}
    for name, (ds, desc) in targets.items():
        out[name] = {}
        for mode in ("described", "label"):
            protos = text_prototypes(desc, bundle.granularities, mode, encoder, label_text(bundle))
            r = evaluate_clips(bundle, ds, protos, progress=True, live=mode == "described")
            out[name][mode] = r
            print(f"  {bundle_dir} on {name} ({mode}): clip top-1 {r['top1']:.3f} top-5 {r['top5']:.3f} "
                  f"(chance {r['chance']:.3f}, {r['n']} clips)", flush=True)
    return out


def concept_split(result: dict, ds, train_sets: list[str], test_set: str) -> dict:
    """Clip top-1 over the classes whose concept the training label sets hold, and over the new ones."""
    from train.data.concepts import concepts_seen

    seen = concepts_seen(train_sets, test_set)
    pred = np.array(result["predicted"])
    is_seen = np.array([seen[ds.class_names[c]] for c in ds.labels])
    hit = pred == ds.labels
    return {"seen_concept": {"top1": float(hit[is_seen].mean()) if is_seen.any() else None,
                             "classes": sum(seen.values()), "clips": int(is_seen.sum())},
            "new_concept": {"top1": float(hit[~is_seen].mean()) if (~is_seen).any() else None,
                            "classes": len(seen) - sum(seen.values()), "clips": int((~is_seen).sum())}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.crossdata", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="", help="folder holding the unpacked datasets (default ~/.cache/zsar/datasets)")
    ap.add_argument("--runs", default="runs", help="where the leave-one-dataset-out runs live")
    ap.add_argument("--baseline-bundle", default="", help="a bundle to compare against (the synthetic-only one)")
    ap.add_argument("--shipped-bundle", default="runtime/assets/default_bundle", help="the shipped bundle")
    ap.add_argument("--only", default="", help="comma-separated held-out datasets (default: all four)")
    ap.add_argument("--retrain", action="store_true", help="train and export again even where a run exists")
    ap.add_argument("--method", default="pgfa")
    ap.add_argument("--backbone", default="edge-small")
    ap.add_argument("--epochs", type=int, default=32)
    ap.add_argument("--epoch-size", type=int, default=4000)
    ap.add_argument("--per-class", type=int, default=20, help="synthetic samples per class in the mixture")
    ap.add_argument("--source-weights", default="synthetic=0.5")
    ap.add_argument("--depth-noise", type=float, default=0.02)
    ap.add_argument("--pad-short", type=float, default=0.5, help="short actions played at their own pace in a window")
    ap.add_argument("--streams", default="joint+bone+motion", help="what the backbone reads (see python -m train --help)")
    ap.add_argument("--out", default="docs/results/crossdata", help="writes <out>.json and <out>.md")
    ap.add_argument("--page", default="docs/results.md", help="results page whose cross-dataset section is replaced")
    ap.add_argument("train_extra", nargs="*", help="further `python -m train` options, after --")
    args = ap.parse_args(argv)

    from train.data.mixture import load_source
    from train.text.descriptions import load_descriptions
    from train.text.encoders import create_text_encoder

    encoder = create_text_encoder("minilm")
    held = [h for h in (args.only.split(",") if args.only else REAL) if h]
    data = {h: load_source(h, args.root or None) for h in held}
    extra = {"mocap": None, "ntu_samples": None}
    from train.data.mocap import load_mocap

    extra["mocap"] = (load_mocap(), _mocap_descriptions())
    ntu = _ntu_samples()
    if ntu is not None:
        d = load_descriptions("ntu60")
        extra["ntu_samples"] = (ntu, d)
    if CLIPS.is_dir():  # the camera path: real video through MediaPipe
        extra["arm_gestures"] = arm_gesture_dataset(CLIPS)[:2]
    extra = {k: v for k, v in extra.items() if v is not None}

    results: dict = {"lodo": {}, "baseline": {}, "shipped": {}, "commands": {}, "wall_s": {}}
    for h in held:
        bundle, wall = train_and_export(f"xdata-{h}", h, args)
        results["commands"][h] = "python -m train " + " ".join(train_args(h, args))
        results["wall_s"][h] = round(wall, 1)
        r = evaluate_bundle(bundle, {h: (data[h], load_descriptions(h)), **extra}, encoder)
        train_sets = [s for s in REAL if s != h] + ["synthetic"]
        r[h]["concepts"] = concept_split(r[h]["described"], data[h], train_sets, h)
        results["lodo"][h] = r
    for key, path in (("baseline", args.baseline_bundle), ("shipped", args.shipped_bundle)):
        if not path:
            continue
        targets = {h: (data[h], load_descriptions(h)) for h in held}
        r = evaluate_bundle(Path(path), {**targets, **extra}, encoder)
        manifest = json.loads((Path(path) / "manifest.json").read_text())
        trained = [s for s in str(manifest["model"].get("trained_on", "")).split("+") if s]
        for h in held:
            r[h]["concepts"] = concept_split(r[h]["described"], data[h], trained, h)
        r["trained_on"] = trained
        results[key] = r
    table = "\n".join(markdown(results, held, args))
    print(table)
    from bench.results import save_bench

    save_bench("crossdata", args.out, _without(results, "predicted"), table, args.page)  # no per-clip lists
    return results


def _without(obj, key: str):
    """A copy of nested dicts and lists with every ``key`` left out."""
    if isinstance(obj, dict):
        return {k: _without(v, key) for k, v in obj.items() if k != key}
    if isinstance(obj, list):
        return [_without(v, key) for v in obj]
    return obj


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def markdown(results: dict, held: list[str], args=None) -> list[str]:
    lines = ["| held-out dataset | classes | chance | model | clip top-1 (described) | top-5 | top-1 (bare labels) | "
             "live top-1 (described) | seen-concept top-1 (classes) | new-concept top-1 (classes) |", "|---" * 10 + "|"]
    for h in held:
        for key, label in (("baseline", "synthetic-only bundle (before)"), ("lodo", "trained without it"),
                           ("shipped", "shipped bundle (trained with it)")):
            r = results[key].get(h) if key != "lodo" else results["lodo"].get(h, {}).get(h)
            if not r:
                continue
            d, lab, c = r["described"], r["label"], r["concepts"]
            lines.append(f"| {NAMES[h]} | {len(d['per_class_top1'])} | {_pct(d['chance'])} | {label} | "
                         f"**{_pct(d['top1'])}** | {_pct(d['top5'])} | {_pct(lab['top1'])} | {_pct(d.get('live_top1'))} | "
                         f"{_pct(c['seen_concept']['top1'])} ({c['seen_concept']['classes']}) | "
                         f"{_pct(c['new_concept']['top1'])} ({c['new_concept']['classes']}) |")
    lines += ["", "| model | mocap clips top-1 (described) | top-5 | top-1 (bare labels) | NTU samples top-1 / top-5 "
              "(of 60, described) | arm-gesture videos via MediaPipe (of 9, plain words) |", "|---|---|---|---|---|---|"]
    rows = [(f"trained without {NAMES[h]}", results["lodo"][h]) for h in held if h in results["lodo"]]
    rows += [(name, results[k]) for k, name in (("baseline", "synthetic-only bundle (before)"),
                                                 ("shipped", "shipped bundle")) if results[k]]
    for name, r in rows:
        m, n = r.get("mocap"), r.get("ntu_samples")
        ntu = f"{_pct(n['described']['top1'])} / {_pct(n['described']['top5'])}" if n else "-"
        a = r.get("arm_gestures")
        arm = f"{round(a['label']['top1'] * a['label']['n'])}/{a['label']['n']}" if a else "-"
        lines.append(f"| {name} | {_pct(m['described']['top1'])} | {_pct(m['described']['top5'])} | "
                     f"{_pct(m['label']['top1'])} | {ntu} | {arm} |")
    if results.get("commands"):
        lines += ["", "Training commands (each followed by `python -m export --run runs/xdata-NAME --out runs/xdata-NAME/bundle "
                  "--no-int8 --no-text-encoder`) and their training wall times (on this 2-core CPU):", ""]
        lines += [f"- {NAMES[h]} held out ({results['wall_s'][h] / 60:.1f} min): `{c}`" for h, c in results["commands"].items()]
    if args is not None:
        cmd = "python -m bench.crossdata" + (f" --baseline-bundle {args.baseline_bundle}" if args.baseline_bundle else "")
        lines += ["", f"Regenerate: `{cmd}` (add `--retrain` to train again)."]
    return lines


if __name__ == "__main__":
    main()
