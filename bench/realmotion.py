"""python -m bench.realmotion [--bundle DIR] [--describe] [--distractors 20] [--out results/realmotion]

Zero-shot recognition of real motion capture (the pybullet humanoid clips, ``train.data.mocap``, five camera
yaws each) by a bundle, through exactly what the device runs: the recogniser's windows and preprocessing, the
bundle's ONNX encoder on onnxruntime, and its scoring against a vocabulary of the clips' labels in plain words
(``--describe`` adds a one-sentence description to each, as a user would after '|'; ``--distractors N`` mixes in
N other labels from the bundle's table). Adaptation is off, so every clip is scored by the same model.

Reports top-1 and top-5 per window and per clip (a clip's score is the mean of its windows' scores) and writes
the clip-level confusion matrix as a picture.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from runtime.backends import create_backend
from runtime.factory import build_recognizer, open_bundle, text_encoder, vocabulary
from runtime.frames import Person
from runtime.recognizer import RecognizerConfig
from runtime.vocab import VocabEntry
from train.data.mocap import DESCRIPTIONS, LABELS, load_mocap


def vocab_entries(bundle, describe: bool, distractors: int, seed: int = 0) -> list[VocabEntry]:
    entries = [VocabEntry(lab, DESCRIPTIONS[lab] if describe else None, i + 1) for i, lab in enumerate(LABELS)]
    if distractors:
        taken = {e.label.lower() for e in entries}
        pool = [lab for lab in bundle.table.labels if lab.lower() not in taken]
        pick = np.random.default_rng(seed).choice(len(pool), size=min(distractors, len(pool)), replace=False)
        entries += [VocabEntry(pool[i], None, len(entries) + k + 1) for k, i in enumerate(sorted(pick))]
    return entries


def evaluate(bundle_dir: str | None, describe: bool, distractors: int, stride: int = 4) -> dict:
    bundle = open_bundle(bundle_dir)
    entries = vocab_entries(bundle, describe, distractors)
    encoder = None
    if any(e.description or e.label.lower() not in bundle.table.index() for e in entries):
        encoder = text_encoder(bundle)
    vocab = vocabulary(bundle, entries, encoder)
    backend = create_backend(bundle, "ort-cpu")  # one session for every clip
    ds = load_mocap()
    n_lab = len(LABELS)
    win_hits1 = win_hits5 = n_win = 0
    clip_scores, clip_truth = [], []
    for i in range(len(ds)):
        # top_k = the whole vocabulary, so that every window's full score vector comes out
        rec = build_recognizer(bundle, vocab, RecognizerConfig(stride=stride, adapt=False, top_k=len(vocab.labels)),
                               backend=backend)
        keep = rec.publisher
        for k, joints in enumerate(ds.sequence(i)[:, 0]):
            rec.push(k / ds.fps, [Person(0, joints)])
        truth = int(ds.labels[i])
        scores = np.full((max(len(keep.predictions), 1), len(vocab.labels)), -1.0)
        for w, p in enumerate(keep.predictions):
            top = [vocab.labels.index(x["label"]) for x in p["top_k"]]
            win_hits1 += top[0] == truth
            win_hits5 += truth in top[:5]
            n_win += 1
            scores[w, top] = [x["score"] for x in p["top_k"]]
        clip_scores.append(scores.mean(axis=0) if keep.predictions else scores[0])
        clip_truth.append(truth)
    cs, ct = np.array(clip_scores), np.array(clip_truth)
    order = np.argsort(-cs, axis=1)
    confusion = np.zeros((n_lab, len(vocab.labels)), dtype=int)
    for t, o in zip(ct, order):
        confusion[t, o[0]] += 1
    return {
        "vocabulary": len(vocab.labels), "describe": describe, "distractors": distractors, "stride": stride,
        "windows": {"top1": win_hits1 / max(n_win, 1), "top5": win_hits5 / max(n_win, 1), "n": n_win},
        "clips": {"top1": float(np.mean(order[:, 0] == ct)), "top5": float(np.mean([t in o[:5] for t, o in zip(ct, order)])),
                  "n": int(len(ct))},
        "chance_top1": 1 / len(vocab.labels), "labels": list(LABELS), "vocab_labels": vocab.labels,
        "confusion": confusion.tolist(), "bundle": str(bundle.path),
    }


def confusion_picture(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(result["confusion"])
    rows, cols = result["labels"], result["vocab_labels"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.42 * len(cols), 1.5 + 0.42 * len(rows)))
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(cm.max(), 1))
    ax.set_xticks(range(len(cols)), cols, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for (r, c), v in np.ndenumerate(cm):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted (clip level)")
    ax.set_ylabel("true")
    ax.set_title(f"real motion capture, clip top-1 {result['clips']['top1']:.2f} "
                 f"({'with descriptions' if result['describe'] else 'labels only'})", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.realmotion", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="", help="bundle directory (default: the one that ships)")
    ap.add_argument("--describe", action="store_true", help="give each label a one-sentence description")
    ap.add_argument("--distractors", type=int, default=0, help="other labels from the bundle's table to mix in")
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--out", default="", help="write <out>.json and <out>_confusion.png")
    args = ap.parse_args(argv)
    r = evaluate(args.bundle or None, args.describe, args.distractors, args.stride)
    print(f"real motion capture, {len(LABELS)} labels{' with descriptions' if args.describe else ''}"
          f"{f' + {args.distractors} distractors' if args.distractors else ''} (chance {r['chance_top1']:.3f}):")
    print(f"  windows: top-1 {r['windows']['top1']:.3f}  top-5 {r['windows']['top5']:.3f}  ({r['windows']['n']} windows)")
    print(f"  clips:   top-1 {r['clips']['top1']:.3f}  top-5 {r['clips']['top5']:.3f}  ({r['clips']['n']} clip views)")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(r, indent=1))
        print(f"  wrote {out.with_suffix('.json')} and {confusion_picture(r, Path(str(out) + '_confusion.png'))}")
    return r


if __name__ == "__main__":
    main()
