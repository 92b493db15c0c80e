"""python -m bench.runtime [--bundle DIR] [--seconds 30] [--stride 4] [--backend auto] [--people 1] [--labels 20]
python -m bench.runtime --scaling [--seconds 10]       # 1, 2, 4, 8 people and 20, 100, 1000 labels, into the results page

Measures the recogniser (everything after the pose) on the synthetic demo stream paced at 30 frames per second:
- per-stage latency of a window (preprocess, encoder, scoring, adaptation, decisions, publish): median, p95;
- recognition per window (all stages together), and windows per second when driven as fast as it can go;
- event latency: from the arrival of the frame that completes a window to a real ZeroMQ subscriber (another
  process, on loopback) receiving the prediction (p50, p99);
- resident memory of the runtime process.
``--people N`` puts N synthetic people in every frame (each its own demo stream; their windows fall due together,
so the recogniser batches them: the worst case for the last person's event); ``--labels N`` scores against N
labels (the bundle's table, then variants of its prototypes past its size). ``--scaling`` runs each setting in a
fresh process (so that resident memory is that setting's), prints the table, writes docs/results/runtime.{json,md}
and replaces its section of the results page. Benchmarks print figures; tests never time things.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from runtime.bundle import Bundle
from runtime.factory import build_recognizer, open_bundle, vocabulary
from runtime.frames import Person
from runtime.publisher import Publisher
from runtime.recognizer import STAGES, RecognizerConfig
from runtime.synth import demo_stream
from runtime.vocab import Vocabulary

PEOPLE = (1, 2, 4, 8)
LABELS = (20, 100, 1000)
TITLE = "Runtime cost against the work: people at once and vocabulary size"
INTRO = [
    "The runtime benchmark (`python -m bench.runtime`, paced at 30 frames per second, stride 4, a real subscriber in",
    "another process, the precision `--precision auto` picks) with 1, 2, 4 and 8 people in every frame (20 labels) and",
    "with 20, 100 and 1,000 labels (one person). People's windows fall due together and are batched: \"per window\" is",
    "the batch's time over its windows, \"per step\" the whole batch; event p99 is over every person's predictions.",
    "Each setting runs in its own process; memory is that process's resident size.",
]


def _subscriber(endpoint: str, ready, conn, stop_after: float) -> None:
    sock = zmq.Context().socket(zmq.SUB)
    sock.connect(endpoint)
    sock.setsockopt_string(zmq.SUBSCRIBE, "zsar.")
    sock.setsockopt(zmq.RCVTIMEO, 500)
    ready.set()
    lat, n, t_end = [], 0, time.monotonic() + stop_after
    while time.monotonic() < t_end:
        try:
            topic, payload = sock.recv_multipart()
        except zmq.Again:
            continue
        now = time.monotonic()
        e = json.loads(payload)
        n += 1
        if e["type"] == "prediction":
            lat.append((now - e["frame_ts"]) * 1000)
        if e["type"] == "status" and e["event"] == "stopping":
            break
    conn.send({"latency_ms": lat, "messages": n})
    sock.close(0)


def rss_mb() -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaled_vocabulary(bundle: Bundle, n: int, seed: int = 0) -> Vocabulary:
    """``n`` labels: the bundle's table first, then variants of its prototypes (a cost measure: what matters
    past the table's size is the number of rows, not what they mean)."""
    table = bundle.table.labels
    vocab = vocabulary(bundle, table[: min(n, len(table))])
    if n <= len(table):
        return vocab
    rng = np.random.default_rng(seed)
    base = vocab.prototypes[np.arange(n - len(table)) % len(table)]
    extra = base + 0.3 * rng.standard_normal(base.shape).astype(np.float32) / np.sqrt(base.shape[-1])
    extra /= np.linalg.norm(extra, axis=-1, keepdims=True)
    return Vocabulary(vocab.labels + [f"label {k}" for k in range(len(table), n)],
                      np.concatenate([vocab.prototypes, extra.astype(np.float32)]), [], {})


def people_frames(people: int, count: int) -> list[list[Person]]:
    """``count`` frames, each with ``people`` synthetic people (one demo stream apiece)."""
    streams = [demo_stream(seed=3 + p) for p in range(people)]
    return [[Person(p, next(s)[1]) for p, s in enumerate(streams)] for _ in range(count)]


def _stats(v) -> dict:
    v = np.asarray(v, dtype=float)
    return {"median": round(float(np.median(v)), 3), "p95": round(float(np.percentile(v, 95)), 3)}


def measure(args) -> dict:
    bundle = open_bundle(args.bundle)
    vocab = scaled_vocabulary(bundle, args.labels)
    frames = people_frames(args.people, int(args.seconds * 30) + 300)

    # 1. as fast as it can go: throughput and stage latencies, no subscriber
    class _Null:
        def publish(self, kind, **fields):
            return fields

    rec = build_recognizer(bundle, vocab, RecognizerConfig(stride=1), _Null(), args.backend, args.precision,
                           args.threads)
    backend = rec.backend
    t0 = time.perf_counter()
    for i, people in enumerate(frames[:600]):
        rec.push(i / 30, people)
    fast_wps = rec.windows / (time.perf_counter() - t0)

    # 2. paced at 30 fps with a real subscriber in another process
    ready, (parent, child) = mp.Event(), mp.Pipe()
    sub = mp.Process(target=_subscriber, args=(args.bind, ready, child, args.seconds + 15), daemon=True)
    sub.start()
    ready.wait(10)
    pub = Publisher(args.bind, source="bench")
    time.sleep(0.5)  # ZeroMQ's slow joiner: let the subscription arrive before the first message
    rec = build_recognizer(bundle, vocab, RecognizerConfig(stride=args.stride), pub, backend,
                           tracking="multi-person" if args.people > 1 else "single-person")
    gc.freeze()  # as the runtime does once loaded (runtime.app)
    start = time.monotonic()
    for i, people in enumerate(frames[: int(args.seconds * 30)]):
        target = start + i / 30
        while time.monotonic() < target:
            time.sleep(max(0.0, min(0.002, target - time.monotonic())))
        rec.push(time.monotonic(), people)
    rec.close()
    pub.publish("status", event="stopping", message="bench done")
    result = parent.recv() if parent.poll(20) else {"latency_ms": [], "messages": 0}
    pub.close()
    sub.join(5)

    stages = {s: {"median_ms": round(float(np.median(v)), 3), "p95_ms": round(float(np.percentile(v, 95)), 3)}
              for s, v in rec.latency.items() if v}
    step = np.sum([np.asarray(rec.latency[s]) for s in STAGES], axis=0)  # one batch: every person due at once
    per_window = step / args.people
    lat = np.asarray(result["latency_ms"])
    return {
        "backend": backend.describe(), "bundle": str(bundle.path), "vocab": len(vocab.labels), "people": args.people,
        "stride": args.stride, "seconds": args.seconds, "stages": stages,
        "recognition_per_window_ms": _stats(per_window), "recognition_per_step_ms": _stats(step),
        "windows_per_s_max": round(fast_wps, 1),
        "event_latency_ms": {"p50": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
                             "p99": round(float(np.percentile(lat, 99)), 3) if len(lat) else None, "n": int(len(lat))},
        "rss_mb": round(rss_mb(), 1),
    }


def report(out: dict) -> None:
    print(f"runtime bench: {out['backend']}, vocabulary {out['vocab']} labels, {out['people']} "
          f"{'person' if out['people'] == 1 else 'people'}, stride {out['stride']}, {out['seconds']:.0f} s at 30 fps")
    for s, v in out["stages"].items():
        print(f"  {s:11s} median {v['median_ms']:7.3f} ms   p95 {v['p95_ms']:7.3f} ms")
    r = out["recognition_per_window_ms"]
    print(f"  recognition per window (all stages): median {r['median']:.3f} ms, p95 {r['p95']:.3f} ms")
    if out["people"] > 1:
        r = out["recognition_per_step_ms"]
        print(f"  recognition per step ({out['people']} windows at once): median {r['median']:.3f} ms, p95 {r['p95']:.3f} ms")
    print(f"  windows per second, unpaced: {out['windows_per_s_max']}")
    e = out["event_latency_ms"]
    print(f"  event latency, frame -> subscriber: p50 {e['p50']} ms, p99 {e['p99']} ms over {e['n']} events")
    print(f"  resident memory: {out['rss_mb']} MB")


def scaling(args) -> dict:
    """Every setting in a fresh process; the table for the results page."""
    settings = [(p, LABELS[0]) for p in PEOPLE] + [(PEOPLE[0], n) for n in LABELS[1:]]
    runs = []
    for people, labels in settings:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            cmd = [sys.executable, "-m", "bench.runtime", "--people", str(people), "--labels", str(labels),
                   "--seconds", str(args.seconds), "--stride", str(args.stride), "--backend", args.backend,
                   "--precision", args.precision, "--threads", str(args.threads), "--bind", args.bind,
                   "--json", str(out)]
            if args.bundle:
                cmd += ["--bundle", args.bundle]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
            runs.append(json.loads(out.read_text()))
            print(f"{people} people, {labels} labels: done", flush=True)
    rows = ["| people | labels | recognition per window, median / p95 (ms) | per step, median / p95 (ms) "
            "| windows per s, unpaced | event p50 / p99 (ms) | memory (MB) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        w, st, e = r["recognition_per_window_ms"], r["recognition_per_step_ms"], r["event_latency_ms"]
        rows.append(f"| {r['people']} | {r['vocab']} | {w['median']:.2f} / {w['p95']:.2f} | {st['median']:.2f} / "
                    f"{st['p95']:.2f} | {r['windows_per_s_max']:.0f} | {ms(e['p50'])} / {ms(e['p99'])} | {r['rss_mb']:.0f} |")
    cpu = cpu_name()
    load = os.getloadavg()[0]
    busy = (" (above the core count: other work shared the CPU, and the p95 and p99 figures carry its noise)"
            if load > (os.cpu_count() or 1) else "")
    table = "\n".join(rows) + (
        f"\n\n{runs[0]['backend']}, {args.seconds:.0f} s per setting{f', on {cpu}' if cpu else ''}; 1-minute load "
        f"average {load:.1f} at the end{busy}. "
        f"Regenerate: `python -m bench.runtime --scaling --seconds {args.seconds:g}`.")
    print(table)
    results = {"settings": runs, "cpu": cpu}
    if args.out:
        from bench.results import save_bench

        save_bench("runtime", args.out, results, table, args.page, before="\n## Camera to events")
    return results


def ms(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def cpu_name() -> str:
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
    except OSError:
        return ""
    return f"{len(names)} x {names[0]}" if names else ""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the paced run (per setting)")
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--people", type=int, default=1, help="people in every frame")
    ap.add_argument("--labels", type=int, default=20, help="vocabulary size")
    ap.add_argument("--scaling", action="store_true", help=f"people {PEOPLE} and labels {LABELS}, each in its own process")
    ap.add_argument("--bind", default="tcp://127.0.0.1:5599")
    ap.add_argument("--json", default="", help="also write the results here")
    ap.add_argument("--out", default="docs/results/runtime", help="--scaling: writes <out>.json and <out>.md ('' for none)")
    ap.add_argument("--page", default="docs/results.md", help="--scaling: results page whose section is replaced")
    args = ap.parse_args(argv)
    if args.people < 1 or args.labels < 1:
        ap.error("--people and --labels must be >= 1")
    if args.scaling:
        return scaling(args)
    out = measure(args)
    report(out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
