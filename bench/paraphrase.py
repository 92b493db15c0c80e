"""python -m bench.paraphrase [--runs DIR] [--bundle DIR]

The paraphrase benchmark: does the device understand a user's own words as well as its training labels?

For each of the four real datasets, the model trained without it (``bench.crossdata``'s leave-one-dataset-out
runs, ``runs/xdata-NAME/bundle``) scores the held-out clips against two kinds of vocabulary, both made by the
device's own rule (``runtime.factory.vocabulary``):

- canonical: the dataset's labels, which the prototype table holds with their written descriptions;
- paraphrased: the same actions in plain user words (``bench/paraphrases/NAME.json``, three phrasings per label,
  written for this benchmark and kept apart from every training text), which the device encodes itself.

The gap is canonical top-1 minus the mean top-1 of the three paraphrased vocabularies. The same for the shipped
bundle on the nine arm-gesture videos through MediaPipe, with the plain words of their labels file and the
three paraphrase sets of ``bench/paraphrases/arm_gestures.json``.

Clip scores come from cached mean window features (``bench.features``): a clip's score is the mean of its
windows' scores, as in ``bench.clips``. Writes docs/results/paraphrase.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.crossdata import NAMES, REAL, label_text
from bench.features import clip_features, top1
from runtime.bundle import DEFAULT_BUNDLE, Bundle, load_bundle
from runtime.factory import vocabulary

PARAPHRASES = Path(__file__).parent / "paraphrases"

TITLE = "Users' own words: the paraphrase benchmark"
INTRO = [
    "Each held-out dataset is scored by the model trained without it, once with its labels (the prototype table's",
    "described prototypes) and once with each of three plain-user phrasings per label written for this benchmark",
    "and never trained on (`bench/paraphrases/`), which the device encodes with its text encoder. Gap = canonical",
    "top-1 minus the mean of the three paraphrased top-1. Percentages of clips; the arm-gesture videos in clips of 9.",
]


def load_paraphrases(label_set: str) -> dict[str, list[str]]:
    """label -> its held-out plain phrasings."""
    path = PARAPHRASES / f"{label_set}.json"
    return json.loads(path.read_text())["classes"]


def device_prototypes(bundle: Bundle, labels: list[str], encoder, canonical: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """(C, G, D) prototypes for vocabulary lines as the device makes them (``runtime.factory.vocabulary``).

    ``canonical`` (lower-cased label -> (G, D)) stands in for the table's row of a label the bundle's own table
    lacks (a leave-one-dataset-out bundle's table holds only its training label sets)."""
    vocab = vocabulary(bundle, labels, encoder)
    protos = vocab.prototypes.copy()
    for i, lab in enumerate(labels):
        if canonical and lab.lower() in canonical and lab in vocab.encoded_on_device:
            protos[i] = canonical[lab.lower()]
    return protos


def canonical_prototypes(label_set: str, bundle: Bundle, encoder) -> dict[str, np.ndarray]:
    """What a full table (the shipped recipe) holds for a label set's classes, by the bundle's text recipe."""
    from train.text.class_text import class_text_embeddings
    from train.text.descriptions import load_descriptions

    d = load_descriptions(label_set)
    emb = class_text_embeddings(d, encoder, tuple(bundle.granularities), True, label_text(bundle))[0]
    return {c.label.lower(): e for c, e in zip(d.classes, emb)}


def score_vocabularies(bundle: Bundle, feats: np.ndarray, labels: np.ndarray, classes: list[str],
                       paraphrases: dict[str, list[str]], encoder, canonical=None) -> dict:
    """Top-1 with the canonical labels and with each paraphrase set; the gap."""
    w = bundle.weights
    out = {"canonical": top1(feats, device_prototypes(bundle, classes, encoder, canonical), w, labels)}
    sets = [[paraphrases[c][k] for c in classes] for k in range(min(len(v) for v in paraphrases.values()))]
    out["paraphrased"] = [top1(feats, device_prototypes(bundle, s, encoder), w, labels) for s in sets]
    out["paraphrased_mean"] = float(np.mean(out["paraphrased"]))
    out["gap"] = out["canonical"] - out["paraphrased_mean"]
    out["n"] = int(len(labels))
    return out


def evaluate(runs: Path, bundle_dir: Path, encoder, held: tuple[str, ...] = REAL, root: str | None = None) -> dict:
    from bench.armgestures import CLIPS, arm_gesture_dataset
    from train.data.mixture import load_source

    results: dict = {"lodo": {}, "arm_gestures": {}}
    for h in held:
        bdir = runs / f"xdata-{h}" / "bundle"
        if not (bdir / "manifest.json").exists():
            print(f"skipping {h}: no {bdir} (make it with python -m bench.crossdata --only {h})")
            continue
        bundle = load_bundle(bdir)
        ds = load_source(h, root)
        feats = clip_features(bundle, ds)
        r = score_vocabularies(bundle, feats, np.asarray(ds.labels), list(ds.class_names), load_paraphrases(h), encoder,
                               canonical_prototypes(h, bundle, encoder))
        results["lodo"][h] = r
        print(f"{NAMES[h]} (trained without it): canonical {100 * r['canonical']:.1f}, paraphrased "
              f"{', '.join(f'{100 * p:.1f}' for p in r['paraphrased'])}; gap {100 * r['gap']:.1f} points", flush=True)
    if CLIPS.is_dir():
        ds = arm_gesture_dataset(CLIPS)[0]
        for name, bdir in [("shipped", bundle_dir)] + [(f"without {h}", runs / f"xdata-{h}" / "bundle") for h in held]:
            if not (Path(bdir) / "manifest.json").exists():
                continue
            bundle = load_bundle(bdir)
            if bundle.manifest["text_encoder"]["checksum"] != encoder.checksum:
                print(f"skipping the {name} bundle on the arm gestures: made with another text encoder "
                      f"({bundle.manifest['text_encoder']['id']})")
                continue
            feats = clip_features(bundle, ds, progress=False)
            r = score_vocabularies(bundle, feats, np.asarray(ds.labels), list(ds.class_names),
                                   load_paraphrases("arm_gestures"), encoder)
            results["arm_gestures"][name] = r
            print(f"arm gestures, {name} bundle: plain words {round(9 * r['canonical'])}/9, paraphrased "
                  f"{', '.join(f'{round(9 * p)}/9' for p in r['paraphrased'])}", flush=True)
    if results["lodo"]:
        rs = list(results["lodo"].values())
        results["mean"] = {k: float(np.mean([r[k] for r in rs])) for k in ("canonical", "paraphrased_mean", "gap")}
    return results


def markdown(results: dict) -> list[str]:
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = ["| held-out dataset | clips | canonical labels top-1 | paraphrased top-1 (sets 1 / 2 / 3) | mean | gap |",
             "|---|---|---|---|---|---|"]
    for h, r in results["lodo"].items():
        lines.append(f"| {NAMES[h]} | {r['n']} | {pct(r['canonical'])} | {' / '.join(pct(p) for p in r['paraphrased'])} "
                     f"| {pct(r['paraphrased_mean'])} | **{pct(r['gap'])}** |")
    if "mean" in results:
        m = results["mean"]
        lines.append(f"| mean of the four | | {pct(m['canonical'])} | | {pct(m['paraphrased_mean'])} | **{pct(m['gap'])}** |")
    if results["arm_gestures"]:
        lines += ["", "| bundle | arm-gesture videos, labels file's plain words | paraphrased (sets 1 / 2 / 3) |",
                  "|---|---|---|"]
        for name, r in results["arm_gestures"].items():
            lines.append(f"| {name} | {round(9 * r['canonical'])}/9 | "
                         f"{' / '.join(f'{round(9 * p)}/9' for p in r['paraphrased'])} |")
    return lines


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.paraphrase", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="where bench.crossdata's leave-one-dataset-out runs live")
    ap.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="the bundle scored on the arm-gesture videos")
    ap.add_argument("--root", default="", help="folder holding the unpacked datasets (default ~/.cache/zsar/datasets)")
    ap.add_argument("--only", default="", help="comma-separated held-out datasets (default: all four)")
    ap.add_argument("--text-encoder", default="minilm", help="the Python text encoder the bundles were made with")
    ap.add_argument("--out", default="docs/results/paraphrase", help="writes <out>.json and <out>.md ('' for none)")
    ap.add_argument("--page", default="docs/results.md", help="results page whose paraphrase section is replaced")
    args = ap.parse_args(argv)

    from train.text.encoders import create_text_encoder

    encoder = create_text_encoder(args.text_encoder)
    held = tuple(h for h in args.only.split(",") if h) or REAL
    results = evaluate(Path(args.runs), Path(args.bundle), encoder, held, args.root or None)
    table = "\n".join(markdown(results))
    print(table)
    if args.out:
        from bench.results import save_bench

        table += ("\n\nRegenerate: `python -m bench.paraphrase` (after `python -m bench.crossdata`, which trains "
                  "the four models).")
        save_bench("paraphrase", args.out, results, table, args.page)
    return results


if __name__ == "__main__":
    main()
