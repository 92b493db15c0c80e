"""python -m bench.generator [--seconds 10]

Generator throughput on one core: sequences per second for the Kinect-like output and with the MediaPipe
projection, over all classes in turn (median of one-second rounds)."""

from __future__ import annotations

import argparse
import time

import numpy as np

from runtime.synth import SYNTHETIC_CLASSES, generate


def rate(mediapipe: bool, seconds: float) -> tuple[float, float]:
    rounds, frames, i = [], [], 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0, n, f = time.perf_counter(), 0, 0
        while time.perf_counter() - t0 < 1.0:
            s = generate(SYNTHETIC_CLASSES[i % len(SYNTHETIC_CLASSES)], i, mediapipe=mediapipe)
            n, f, i = n + 1, f + len(s.joints), i + 1
        dt = time.perf_counter() - t0
        rounds.append(n / dt)
        frames.append(f / dt)
    return float(np.median(rounds)), float(np.median(frames))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.generator", description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    for mp in (False, True):
        seqs, frames = rate(mp, args.seconds / 2)
        print(f"{'NTU-25 + MediaPipe-33' if mp else 'NTU-25 (Kinect-like)':24s}: {seqs:6.0f} sequences/s "
              f"({frames:7.0f} frames/s), median of 1 s rounds")


if __name__ == "__main__":
    main()
