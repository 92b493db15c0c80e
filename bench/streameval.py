"""python -m bench.streameval [--bundle DIR] [--clips 300] [--shift] [--adapt/--no-adapt]

Accuracy of the whole recogniser (windows, encoder, scoring, adaptation) on a labelled synthetic stream: one
person performs vocabulary actions one after another with idle moments between, seen by one camera. A window is
scored when it lies inside one action clip; accuracy is its top-1 over the vocabulary (the "unknown" gate is
left out so that it measures recognition, not the threshold). ``--shift`` draws the stream from a harder
distribution (new body sizes, camera angles and distances, twice the sensor noise) than training saw.

With neither --adapt nor --no-adapt, both are run on the same stream and compared.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from runtime.factory import build_recognizer, open_bundle
from runtime.frames import Person
from runtime.recognizer import RecognizerConfig
from runtime.synth import IDLE, SYNTHETIC_CLASSES, SynthConfig, generate, sample_seed
from runtime.synth.camera import sample_view


def labelled_stream(labels: list[str], clips: int, seed: int, config: SynthConfig):
    """Frames (25, 3) with their clip label (None while idle), one camera for the whole stream."""
    rng = np.random.default_rng(seed)
    view = sample_view(np.random.default_rng(seed + 1), config.yaw_deg, config.distance, config.camera_height,
                       config.pitch_deg)
    fixed = replace(config, yaw_deg=0.0, distance=(view.distance,) * 2, camera_height=(view.height,) * 2)
    for i in range(clips):
        idle = generate(IDLE, sample_seed(seed, 30_000, i), fixed).joints
        for f in idle[: int(len(idle) * rng.uniform(0.3, 0.7))]:
            yield None, f
        label = labels[int(rng.integers(len(labels)))]
        for f in generate(label, sample_seed(seed, 40_000, i), fixed).joints:
            yield label, f


def evaluate(bundle, labels: list[str], frames: list, adapt: bool, stride: int = 8) -> dict:
    index = bundle.table.index()  # names and aliases: a table of several label sets may hold a label as an alias
    rec = build_recognizer(bundle, [bundle.table.labels[index[lab.lower()]] for lab in labels],
                           RecognizerConfig(stride=stride, adapt=adapt, predictions=True))
    pub = rec.publisher
    fps = 30.0
    truth_at = []
    for i, (label, joints) in enumerate(frames):
        t = i / fps
        truth_at.append(label)
        if rec.push(t, [Person(0, joints)]):
            pub.predictions[-1]["_i"] = i
    window = int(rec.window_s * fps)
    correct = total = 0
    for p in pub.predictions:
        i = p["_i"]
        span = truth_at[max(0, i - window + 1) : i + 1]
        if span[0] is None or any(s != span[0] for s in span):
            continue  # not inside one clip
        total += 1
        correct += p["top_k"][0]["label"].lower() == span[0].lower()
    return {"top1": correct / max(total, 1), "windows": total, "adapt": adapt}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.streameval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="")
    ap.add_argument("--clips", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shift", action="store_true", help="a harder distribution than training")
    ap.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--labels", default="", help="comma-separated vocabulary (default: every synthetic class)")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args(argv)
    bundle = open_bundle(args.bundle)
    labels = [s.strip() for s in args.labels.split(",") if s.strip()] or list(SYNTHETIC_CLASSES)
    config = SynthConfig().shifted() if args.shift else SynthConfig()
    frames = list(labelled_stream(labels, args.clips, args.seed, config))
    modes = [args.adapt] if args.adapt is not None else [False, True]
    results = {("adapt" if m else "no_adapt"): evaluate(bundle, labels, frames, m) for m in modes}
    name = "shifted" if args.shift else "unshifted"
    for k, r in results.items():
        print(f"{name} stream, {len(labels)} labels, {args.clips} clips: {k:8s} top-1 {r['top1']:.3f} on {r['windows']} windows")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({name: results}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
