"""python -m bench.fewshot [--shots 1,3,5] [--repeats 5] [--runs DIR] [--bundle DIR]

Few-shot recognition through the device's own enrolment and scoring: how much do a few recorded examples per
action add to the words alone?

For each of the four real datasets, its people (subjects; Bandai-Namco has one actor, so its performance styles
stand in for people) are split in two halves: examples are enrolled from one half, 1, 3 or 5 clips per class
picked at random, and every clip of the other half is recognised with the dataset's labels as the vocabulary.
The prototypes are made by ``runtime.enrolment.apply_examples`` (the runtime's rule, score calibration included)
from the examples' features (``runtime.enrolment.example_features``: the mean of the device's window features
over a clip, which ``bench.features`` caches per clip); a clip is scored as ``bench.clips`` does (mean over its
windows). Repeated over ``--repeats`` random splits and example draws; the mean is reported.

Two models per dataset:

* the model trained without the dataset (``bench.crossdata``'s leave-one-dataset-out runs): new people, new
  actions, a new sensor, as for a user's own actions;
* the shipped bundle, which trained on these datasets (80 % of every class's clips, all people): its words are
  not zero-shot here, so this row says what examples add for actions the model already knows.

A third row per dataset: the model trained without it, fine-tuned on the same kind of examples with the
guide's commands (``bench.finetune``: k clips per class written as a recordings folder, ``python -m train --data
recordings --epochs 8 --init ...``, ``python -m export``), then those examples enrolled in the fine-tuned bundle:
both of a user's paths together. ``--finetune-repeats`` random splits (0: skip; about a minute each).

Also measured: the example weight of the prototype rule (``--weights``, the runtime's ``EXAMPLE_WEIGHT`` is the
one chosen), examples alone, and a mixed vocabulary (half the classes enrolled with 5 examples, half with words
only) with and without the score calibration.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import numpy as np

from bench.crossdata import NAMES, REAL
from bench.features import clip_features
from bench.finetune import FINETUNE as FINETUNE_RECIPE
from runtime.bundle import DEFAULT_BUNDLE, Bundle, load_bundle
from runtime.enrolment import EXAMPLE_WEIGHT, EnrolmentStore, apply_examples, calibrated
from runtime.scoring import score
from runtime.vocab import Vocabulary

TITLE = "Your own actions: few-shot enrolment and fine-tuning"
FINETUNED = "trained without it, fine-tuned + enrolled"
INTRO = [
    "Examples enrolled with the runtime's own rule (`runtime.enrolment`) from half of each dataset's people, the",
    "other half recognised with the dataset's labels as the vocabulary (clip top-1, %, mean over random splits and",
    "draws). \"Trained without it\" is the leave-one-dataset-out model: new people and new actions, the case of a",
    "user's own actions. \"Fine-tuned + enrolled\": that model fine-tuned on the examples with the commands of",
    "docs/teach.md, the examples then enrolled in it. The shipped bundle trained on these datasets, so its",
    "words-alone figure is not zero-shot.",
]


def people(ds) -> np.ndarray:
    """Who performed each clip: the subject, or for a single-actor dataset the performance style."""
    for key in ("subject", "style"):
        if key in ds.meta and len(set(ds.meta[key])) > 1:
            return np.asarray(ds.meta[key])
    raise SystemExit(f"{ds.label_set}: no subject or style to split people by")


def recognise(bundle: Bundle, feats: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """Predicted class per clip: mean window features against the vocabulary, as the recogniser scores."""
    return calibrated(score(feats, vocab.prototypes, bundle.weights, 1.0), feats, vocab, bundle.weights).argmax(axis=1)


def enrolled(bundle: Bundle, words: Vocabulary, feats: np.ndarray, picks: dict[int, np.ndarray],
             weight: float | None, calibrate: bool = True) -> Vocabulary:
    """The vocabulary with the picked clips enrolled (``weight`` None: examples alone, no words)."""
    store = EnrolmentStore(Path("<bench>"), bundle.encoder_sha256)
    for c, idx in picks.items():
        for i in idx:
            store.add(words.labels[c] if weight is not None else f"#{c}", feats[i], "bench")
    if weight is None:  # examples alone (classes without examples keep their words), in the words' order
        rest = [c for c in range(len(words.labels)) if c not in picks]
        bare = Vocabulary([words.labels[c] for c in rest], words.prototypes[rest], [], {})
        v = apply_examples(bare, store, bundle)
        order = [v.labels.index(f"#{c}" if c in picks else words.labels[c]) for c in range(len(words.labels))]
        v.prototypes, v.labels = v.prototypes[order], [words.labels[c] for c in range(len(words.labels))]
        v.score_scale, v.score_offset = v.score_scale[order], v.score_offset[order]
    else:
        v = apply_examples(words, store, bundle, weight)
    if not calibrate:
        v.score_scale = v.score_offset = None
    return v


def evaluate(bundle: Bundle, ds, words: Vocabulary, shots: list[int], weights: list[float], repeats: int,
             seed: int = 0) -> dict:
    feats = clip_features(bundle, ds)
    y = np.asarray(ds.labels)
    who = people(ds)
    groups = np.unique(who)
    rng = np.random.default_rng(seed)
    acc = lambda v, idx: float((recognise(bundle, feats[idx], v) == y[idx]).mean())  # noqa: E731
    res: dict = {"words": [], "shots": {}, "mixed": {}}
    for _ in range(repeats):
        half = set(rng.permutation(groups)[: len(groups) // 2])
        pool = np.isin(who, list(half))
        test = np.where(~pool)[0]
        res["words"].append(acc(words, test))
        for k in shots:
            picks = {c: rng.choice(np.where(pool & (y == c))[0], min(k, int((pool & (y == c)).sum())), replace=False)
                     for c in range(len(words.labels)) if (pool & (y == c)).any()}
            row = res["shots"].setdefault(str(k), {})
            for w in weights:
                row.setdefault(f"{w:g}", []).append(acc(enrolled(bundle, words, feats, picks, w), test))
            row.setdefault("examples only", []).append(acc(enrolled(bundle, words, feats, picks, None), test))
            if k == max(shots):  # half the classes enrolled, half words only
                half_cls = rng.permutation(len(words.labels))[: len(words.labels) // 2]
                sub = {c: picks[c] for c in half_cls if c in picks}
                on = np.isin(y[test], half_cls)
                for cal in (True, False):
                    p = recognise(bundle, feats[test], enrolled(bundle, words, feats, sub, EXAMPLE_WEIGHT, cal))
                    m = res["mixed"].setdefault("calibrated" if cal else "not calibrated", {"enrolled": [], "words": []})
                    m["enrolled"].append(float((p[on] == y[test][on]).mean()))
                    m["words"].append(float((p[~on] == y[test][~on]).mean()))
                m = res["mixed"].setdefault("words alone", {"enrolled": [], "words": []})
                p = recognise(bundle, feats[test], words)
                m["enrolled"].append(float((p[on] == y[test][on]).mean()))
                m["words"].append(float((p[~on] == y[test][~on]).mean()))
    mean = lambda v: float(np.mean(v))  # noqa: E731
    return {"people": int(len(groups)), "clips": int(len(y)), "classes": len(words.labels),
            "words": mean(res["words"]),
            "shots": {k: {r: mean(v) for r, v in row.items()} for k, row in res["shots"].items()},
            "mixed": {r: {k: mean(v) for k, v in m.items()} for r, m in res["mixed"].items()}}


def words_vocabulary(bundle: Bundle, ds, encoder) -> Vocabulary:
    """The dataset's labels as the device resolves them (the table's described prototypes, as bench.paraphrase)."""
    from bench.paraphrase import canonical_prototypes, device_prototypes

    classes = list(ds.class_names)
    protos = device_prototypes(bundle, classes, encoder, canonical_prototypes(ds.label_set, bundle, encoder))
    return Vocabulary(classes, protos, [], {})


def markdown(results: dict, shots: list[int]) -> list[str]:
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    w = f"{EXAMPLE_WEIGHT:g}"
    head = ["| dataset (people, classes) | model | words alone | " + " | ".join(f"{k} example{'s' if k > 1 else ''}"
                                                                           for k in shots) + f" | {max(shots)}-shot gain |",
            "|---|---|---|" + "---|" * len(shots) + "---|"]
    rows, rules, mixed = [], [], []
    tuned = ["| dataset | fine-tuned on k examples per class: words / words + the k enrolled | training wall time |",
             "|---|---|---|"]
    for h, per in results["datasets"].items():
        for model, r in per.items():
            if model == FINETUNED:
                got = {k: r["shots"][str(k)]["fine-tuned + enrolled"] for k in shots if str(k) in r["shots"]}
                rows.append(f"| {NAMES[h]} | {model} ({r['repeats']} splits) | {pct(r['words'])} | "
                            + " | ".join(pct(got[k]) if k in got else "—" for k in shots)
                            + f" | **{100 * (got[max(shots)] - r['words']):+.1f}** |")
                tuned.append(f"| {NAMES[h]} | " + ", ".join(
                    f"k = {k}: {pct(r['shots'][str(k)]['fine-tuned words'])} / {pct(got[k])}" for k in got)
                             + f" | {r['train_s']:.0f} s |")
                continue
            top = r["shots"][str(max(shots))][w]
            rows.append(f"| {NAMES[h]} ({r['people']}, {r['classes']}) | {model} | {pct(r['words'])} | "
                        + " | ".join(pct(r["shots"][str(k)][w]) for k in shots)
                        + f" | **{100 * (top - r['words']):+.1f}** |")
            names = list(r["shots"][str(max(shots))])
            if not rules:
                rules += ["| dataset | model | " + " | ".join(
                    f"weight {n}" if n != "examples only" else n for n in names) + " |", "|---|---|" + "---|" * len(names)]
            rules.append(f"| {NAMES[h]} | {model} | " + " | ".join(
                " / ".join(pct(r["shots"][str(k)][n]) for k in shots) for n in names) + " |")
            mx = r["mixed"]
            if not mixed:
                mixed += ["| dataset | model | " + " | ".join(f"{n}: enrolled / words-only classes" for n in mx) + " |",
                          "|---|---|" + "---|" * len(mx)]
            mixed.append(f"| {NAMES[h]} | {model} | " + " | ".join(
                f"{pct(m['enrolled'])} / {pct(m['words'])}" for m in mx.values()) + " |")
    notes = []
    if len(tuned) > 2:
        recipe = " ".join(next(r.get("recipe", FINETUNE_RECIPE) for per in results["datasets"].values()
                               for m, r in per.items() if m == FINETUNED))
        notes = ["", "Fine-tuned rows: the model trained without the dataset, fine-tuned on the k examples per class with "
                 f"the commands of docs/teach.md (`bench.finetune`: `python -m train {recipe} --root DIR --init RUN`, "
                 "then `python -m export`), then the same examples enrolled; its own random "
                 "splits, so its words-alone column is the zero-shot model's on those splits. A label needs two "
                 "examples to fine-tune (one checks the model), so there is no 1-example figure.", ""] + tuned
    return (head + rows + notes
            + ["", f"Prototype rule: normalise(text + {w} x n / (n + 1) x mean of the n examples) "
               "(`runtime.enrolment.EXAMPLE_WEIGHT`), its scores mapped onto the text scale and floored at the "
               "words' own score."
               f" The rule measured, top-1 with {' / '.join(map(str, shots))} examples per class:", ""] + rules
            + ["", f"A mixed vocabulary: half the classes enrolled with {max(shots)} examples, half with words only; "
               "top-1 on the clips of each half. Without the score calibration an enrolled label wins the clips of the "
               "others (example prototypes score every window higher than text does):", ""] + mixed)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.fewshot", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="where bench.crossdata's leave-one-dataset-out runs live")
    ap.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="the shipped bundle (trained on the datasets)")
    ap.add_argument("--root", default="", help="folder holding the unpacked datasets (default ~/.cache/zsar/datasets)")
    ap.add_argument("--only", default="", help="comma-separated datasets (default: all four)")
    ap.add_argument("--shots", default="1,3,5", help="examples per class")
    ap.add_argument("--weights", default="1,2,3,4", help="example weights of the prototype rule to compare")
    ap.add_argument("--repeats", type=int, default=5, help="random splits of the people and draws of examples")
    ap.add_argument("--finetune-repeats", type=int, default=3,
                    help="random splits for the fine-tuned rows (bench.finetune; 0: skip them)")
    ap.add_argument("--finetune-args", default="",
                    help=f"train options of the fine-tuned rows (default: the guide's, '{' '.join(FINETUNE_RECIPE)}')")
    ap.add_argument("--text-encoder", default="minilm", help="the Python text encoder the bundles were made with")
    ap.add_argument("--out", default="docs/results/fewshot", help="writes <out>.json and <out>.md ('' for none)")
    ap.add_argument("--page", default="docs/results.md", help="results page whose few-shot section is replaced")
    args = ap.parse_args(argv)
    shots = [int(k) for k in args.shots.split(",")]
    weights = sorted({float(w) for w in args.weights.split(",")} | {EXAMPLE_WEIGHT})

    from train.data.mixture import load_source
    from train.text.encoders import create_text_encoder

    encoder = create_text_encoder(args.text_encoder)
    results: dict = {"datasets": {}, "shots": shots, "example_weight": EXAMPLE_WEIGHT, "repeats": args.repeats}
    for h in [x for x in args.only.split(",") if x] or REAL:
        ds = load_source(h, args.root or None)
        for model, bdir in (("trained without it", Path(args.runs) / f"xdata-{h}" / "bundle"), ("shipped", Path(args.bundle))):
            if not (bdir / "manifest.json").exists():
                print(f"skipping {h} with {bdir}: no bundle (python -m bench.crossdata --only {h} makes it)")
                continue
            bundle = load_bundle(bdir)
            r = evaluate(bundle, ds, words_vocabulary(bundle, ds, encoder), shots, weights, args.repeats)
            results["datasets"].setdefault(h, {})[model] = r
            best = r["shots"][str(max(shots))][f"{EXAMPLE_WEIGHT:g}"]
            print(f"{NAMES[h]}, {model}: words {100 * r['words']:.1f}, {max(shots)} examples {100 * best:.1f}", flush=True)
            if model == "trained without it" and args.finetune_repeats and max(shots) >= 2:
                from bench.finetune import evaluate as finetuned

                f = finetuned(ds, Path(args.runs) / f"xdata-{h}", bundle, encoder, shots, args.finetune_repeats,
                              recipe=shlex.split(args.finetune_args) if args.finetune_args else FINETUNE_RECIPE)
                results["datasets"][h][FINETUNED] = f
                print(f"{NAMES[h]}, {FINETUNED}: words {100 * f['words']:.1f}, {max(shots)} examples "
                      f"{100 * f['shots'][str(max(shots))]['fine-tuned + enrolled']:.1f} "
                      f"(fine-tuning {f['train_s']:.0f} s)", flush=True)
    table = "\n".join(markdown(results, shots))
    print(table)
    if args.out:
        from bench.results import save_bench

        table += "\n\nRegenerate: `python -m bench.fewshot` (after `python -m bench.crossdata`, which trains the four models)."
        save_bench("fewshot", args.out, results, table, args.page)
    return results


if __name__ == "__main__":
    main()
