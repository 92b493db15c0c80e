"""python -m bench.pipeline [--video clip.mp4] [--bundle DIR]

End-to-end speed of the camera side on a video file, every frame processed (no real-time pacing):
  1. MediaPipe alone: decode + pose, the ceiling;
  2. the product, ``python -m runtime.camera --source VIDEO --no-realtime``: capture thread, pose loop (pose,
     NTU mapping, tracking), recognition thread (windows, encoder, scoring, adaptation, decisions), ZeroMQ;
  3-5. the same work with capture inline and recognition in a thread (the design), inline in the pose loop,
     or in a separate process (skeletons over a pipe): which arrangement keeps pose fastest on this machine.
Prints frames per second (median of repeated runs), each relative to MediaPipe alone, per-stage latency and
the process's CPU use (CPU seconds per wall second; 2.0 = both cores busy).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from runtime.factory import build_recognizer, open_bundle
from runtime.frames import Person
from runtime.pose import create_pose_backend
from runtime.recognizer import STAGES, Recognizer, RecognizerConfig
from runtime.skeleton import ntu_from_mediapipe
from runtime.tracker import Tracker, keypoint_box


class _Null:
    def publish(self, kind, **fields):
        return fields


def frames_of(video: str) -> list[np.ndarray]:
    cap = cv2.VideoCapture(video)
    out = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    if not out:
        raise SystemExit(f"{video}: no frames")
    return out


def make_recognizer(bundle_dir: str | None, threads: int) -> Recognizer:
    bundle = open_bundle(bundle_dir)
    return build_recognizer(bundle, bundle.table.labels[:20], RecognizerConfig(stride=8), _Null(), threads=threads)


def pose_loop(video: str, on_frame=None) -> tuple[float, dict]:
    """Decode + pose (+ mapping and tracking when on_frame is given); returns frames/s and stage times."""
    cap = cv2.VideoCapture(video)
    pose = create_pose_backend("solutions")
    tracker = Tracker()
    fps_src = cap.get(cv2.CAP_PROP_FPS) or 30.0
    times = {"decode": [], "pose": [], "mapping": [], "handover": []}
    n, t0 = 0, time.perf_counter()
    while True:
        a = time.perf_counter()
        ok, img = cap.read()
        if not ok:
            break
        b = time.perf_counter()
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        dets = pose.detect(rgb, int(n / fps_src * 1000))
        c = time.perf_counter()
        times["decode"].append((b - a) * 1000)
        times["pose"].append((c - b) * 1000)
        if on_frame is not None:
            h, w = img.shape[:2]
            ids = tracker.update(n / fps_src, [keypoint_box(d.image) for d in dets])
            people = [Person(pid, ntu_from_mediapipe(d.world, image=d.image, image_size=(w, h))[0]) for pid, d in zip(ids, dets)]
            d_ = time.perf_counter()
            on_frame(n / fps_src, people)
            e = time.perf_counter()
            times["mapping"].append((d_ - c) * 1000)
            times["handover"].append((e - d_) * 1000)
        n += 1
    pose.close()
    return n / (time.perf_counter() - t0), times


def _recognition_process(conn, bundle_dir, threads):
    rec = make_recognizer(bundle_dir, threads)
    while True:
        item = conn.recv()
        if item is None:
            break
        rec.push(*item)
    conn.send({s: list(v) for s, v in rec.latency.items()})


def run_camera(args) -> tuple[float, dict]:
    """The product: python -m runtime.camera --source VIDEO --no-realtime (capture thread, pose loop,
    recognition thread, ZeroMQ publishing, heartbeat)."""
    from runtime.app import App, AppConfig
    from runtime.sources import open_source

    frames, info = open_source(args.video, realtime=False)
    # no subscriber waits here: the 0.5 s start-up grace for subscribers (runtime.publisher) is start-up latency,
    # not throughput, and on a clip of seconds it would count as several percent of the frame rate
    app = App(AppConfig(bundle=args.bundle, bind="tcp://127.0.0.1:*", realtime=False, startup_grace_s=0.0,
                        recognizer=RecognizerConfig(stride=8)), info)
    t0 = time.perf_counter()
    app.run(lambda: frames, info)
    return info.state.frames / (time.perf_counter() - t0), {}


def run_threaded(args) -> tuple[float, dict]:
    """Recognition in its own thread, fed through a queue (what runtime.app does)."""
    import queue

    rec = make_recognizer(args.bundle or None, args.threads)
    q: queue.Queue = queue.Queue(maxsize=64)

    def worker() -> None:
        while (item := q.get()) is not None:
            rec.push(*item)

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    fps, times = pose_loop(args.video, lambda ts, people: q.put((ts, people)))
    q.put(None)
    th.join()
    times.update({f"recognition: {s}": list(rec.latency[s]) for s in STAGES})
    return fps, times


def run_process(args) -> tuple[float, dict]:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_recognition_process, args=(child, args.bundle or None, args.threads))
    proc.start()
    fps, times = pose_loop(args.video, lambda ts, people: parent.send((ts, people)))
    parent.send(None)
    parent.recv()
    proc.join()
    return fps, times


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata-dev" / "video" / "stgcn_ta_chi.mp4"))
    ap.add_argument("--bundle", default="")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads for recognition")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if not Path(args.video).exists():
        raise SystemExit(f"{args.video}: no such video (pass --video)")
    variants = {
        "mediapipe alone": lambda: pose_loop(args.video),
        "python -m runtime.camera": lambda: run_camera(args),
        "runtime, recognition thread": lambda: run_threaded(args),
        "runtime, recognition inline": lambda: pose_loop(args.video, make_recognizer(args.bundle or None, args.threads).push),
        "runtime, recognition process": lambda: run_process(args),
    }
    results: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    stage_times: dict = {}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            c0, w0 = cpu_seconds(), time.perf_counter()
            fps, times = fn()
            cpu[name].append((cpu_seconds() - c0) / (time.perf_counter() - w0))
            results[name].append(fps)
            if name in ("mediapipe alone", "runtime, recognition thread"):
                stage_times.update({k: v for k, v in times.items() if v})
    base = float(np.median(results["mediapipe alone"]))
    print(f"{args.video}: {len(frames_of(args.video))} frames, every frame processed, median of {args.repeats} runs")
    for k, v in results.items():
        f = float(np.median(v))
        print(f"  {k:30s} {f:6.1f} frames/s  ({100 * f / base:5.1f} % of MediaPipe alone)  CPU {np.median(cpu[k]):.2f} cores")
    print("  per-stage latency, median / p95 (ms):")
    for k, v in stage_times.items():
        if v:
            print(f"    {k:26s} {np.median(v):7.2f} / {np.percentile(v, 95):7.2f}")
    return {k: float(np.median(v)) for k, v in results.items()}


if __name__ == "__main__":
    main()
