"""python -m bench.armgestures [--bundle DIR] [--clips DIR]

The camera path on real video: the nine labelled arm-gesture clips of ../shared/realdata-dev/video/arm_gestures
(one person; raise both arms out to the sides, wave one hand, raise both arms forward; three takes each) go
through what ``python -m runtime.camera --source FILE`` runs (OpenCV capture, MediaPipe Pose, the 33 -> NTU-25
mapping with the root's camera position recovered), then the device's windows and scoring (``bench.clips``).

Vocabularies: the labels file's own plain words ("raise both arms sideways", ...), alone and with distractors
(every other label of the bundle's prototype table). MediaPipe's skeletons are cached per clip under
~/.cache/zsar/armgestures (keyed by the MediaPipe version), since pose extraction is the slow part.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from runtime.bundle import DEFAULT_BUNDLE, load_bundle

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "realdata-dev" / "video" / "arm_gestures"


def mediapipe_sequences(clips: Path) -> tuple[list[np.ndarray], list[str], list[str]]:
    """(T, 25, 3) per clip (frames without a person are all zero), the label of each, and the file names."""
    import mediapipe

    from runtime.sources.video import open_video_source

    cache = Path.home() / ".cache" / "zsar" / "armgestures"
    cache.mkdir(parents=True, exist_ok=True)
    rows = list(csv.DictReader((clips / "labels.csv").open()))
    seqs, labels, names = [], [], []
    for row in rows:
        f = clips / row["file"]
        key = cache / f"{f.stem}_mp{mediapipe.__version__}.npy"
        if key.exists():
            seq = np.load(key)
        else:
            frames, _ = open_video_source(str(f), realtime=False)
            seq = np.stack([fr.people[0].joints if fr.people else np.zeros((25, 3)) for fr in frames])
            np.save(key, seq)
        seqs.append(seq)
        labels.append(row["label"].replace("_", " "))
        names.append(row["file"])
    return seqs, labels, names


def arm_gesture_dataset(clips: Path = CLIPS):
    """The clips as a labelled dataset (MediaPipe skeletons), the labels' plain words as a vocabulary, and the
    file names."""
    from train.data.base import SkeletonDataset
    from train.text.descriptions import ClassText, Descriptions

    seqs, labels, names = mediapipe_sequences(clips)
    classes = sorted(set(labels), key=labels.index)
    ds = SkeletonDataset.from_sequences([s[:, None].astype(np.float32) for s in seqs],
                                        [classes.index(lab) for lab in labels], classes, "arm_gestures")
    return ds, Descriptions("arm_gestures", [ClassText(c, c) for c in classes]), names


def evaluate(bundle_dir: str | None, clips: Path = CLIPS, distractors: bool = True) -> dict:
    from bench.clips import evaluate_clips, text_prototypes

    bundle = load_bundle(bundle_dir or DEFAULT_BUNDLE)
    ds, vocab, names = arm_gesture_dataset(clips)
    classes = list(ds.class_names)
    out = {"clips": names, "labels": [classes[y] for y in ds.labels], "classes": classes}
    r = evaluate_clips(bundle, ds, text_prototypes(vocab, bundle.granularities, "label"))
    out["plain_words"] = r
    if distractors:
        others = [lab for lab in bundle.table.labels if lab.lower() not in classes]
        table = bundle.table.index()
        extra = np.stack([bundle.table.prototypes[table[lab.lower()]] for lab in others])
        protos = np.concatenate([text_prototypes(vocab, bundle.granularities, "label"), extra])
        r2 = evaluate_clips(bundle, ds, protos)
        r2["predicted_labels"] = [(classes + others)[p] for p in r2["predicted"]]
        out["with_table_distractors"] = r2 | {"vocabulary": len(protos)}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.armgestures", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="", help="bundle directory (default: the one that ships)")
    ap.add_argument("--clips", default=str(CLIPS), help="folder with the clips and labels.csv")
    ap.add_argument("--out", default="", help="write the result as JSON here")
    args = ap.parse_args(argv)
    r = evaluate(args.bundle or None, Path(args.clips))
    p = r["plain_words"]
    print(f"arm gestures, {len(r['clips'])} clips, vocabulary = the 3 labels in plain words: "
          f"{round(p['top1'] * p['n'])}/{p['n']} clips right")
    for name, lab, pred in zip(r["clips"], r["labels"], p["predicted"]):
        print(f"  {name}: {lab:28s} -> {r['classes'][pred]}")
    if "with_table_distractors" in r:
        d = r["with_table_distractors"]
        print(f"with the bundle's {d['vocabulary'] - 3} other labels as distractors: {round(d['top1'] * d['n'])}/{d['n']} "
              f"clips right; predicted: {', '.join(d['predicted_labels'])}")
    if args.out:
        Path(args.out).write_text(json.dumps(r, indent=1))
    return r


if __name__ == "__main__":
    main()
