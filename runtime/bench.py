"""python -m runtime.bench [--bundle DIR] [--seconds 30] [--stride 4] [--backend auto]

Measures the recogniser (everything after the pose) on the synthetic demo stream paced at 30 frames per second:
- per-stage latency of a window (preprocess, encoder, scoring, adaptation, decisions, publish): median, p95;
- recognition per window (all stages together), and windows per second when driven as fast as it can go;
- event latency: from the arrival of the frame that completes a window to a real ZeroMQ subscriber (another
  process, on loopback) receiving the prediction (p50, p99);
- resident memory of the runtime process.
Benchmarks print figures; tests never time things.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import resource
import time

import numpy as np
import zmq

from runtime.backends import create_backend
from runtime.bundle import load_bundle
from runtime.publisher import Publisher
from runtime.recognizer import STAGES, Recognizer, RecognizerConfig
from runtime.recording import Person
from runtime.synth import demo_stream
from runtime.vocab import VocabEntry, resolve


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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m runtime.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default="")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the paced run")
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--bind", default="tcp://127.0.0.1:5599")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args(argv)
    bundle = load_bundle(args.bundle) if args.bundle else load_bundle()
    backend = create_backend(bundle, args.backend, args.precision, args.threads)
    labels = bundle.table.labels[:20]
    vocab = resolve([VocabEntry(lab, None, i) for i, lab in enumerate(labels)], bundle.table, None,
                    len(bundle.granularities))
    stream = demo_stream(seed=3)
    frames = [next(stream)[1] for _ in range(int(args.seconds * 30) + 300)]

    # 1. as fast as it can go: throughput and stage latencies, no subscriber
    class _Null:
        def publish(self, kind, **fields):
            return fields

    rec = Recognizer(bundle, backend, vocab, _Null(), RecognizerConfig(stride=1))
    t0 = time.perf_counter()
    for i, f in enumerate(frames[:600]):
        rec.push(i / 30, [Person(0, f)])
    fast_wps = rec.windows / (time.perf_counter() - t0)

    # 2. paced at 30 fps with a real subscriber in another process
    ready, (parent, child) = mp.Event(), mp.Pipe()
    sub = mp.Process(target=_subscriber, args=(args.bind, ready, child, args.seconds + 15), daemon=True)
    sub.start()
    ready.wait(10)
    pub = Publisher(args.bind, source="bench")
    time.sleep(0.5)  # ZeroMQ's slow joiner: let the subscription arrive before the first message
    rec = Recognizer(bundle, backend, vocab, pub, RecognizerConfig(stride=args.stride))
    gc.freeze()  # as the runtime does once loaded (runtime.app)
    start = time.monotonic()
    for i, f in enumerate(frames[: int(args.seconds * 30)]):
        target = start + i / 30
        while time.monotonic() < target:
            time.sleep(max(0.0, min(0.002, target - time.monotonic())))
        rec.push(time.monotonic(), [Person(0, f)])
    rec.close()
    pub.publish("status", event="stopping", message="bench done")
    result = parent.recv() if parent.poll(20) else {"latency_ms": [], "messages": 0}
    pub.close()
    sub.join(5)

    stages = {s: {"median_ms": round(float(np.median(v)), 3), "p95_ms": round(float(np.percentile(v, 95)), 3)}
              for s, v in rec.latency.items() if v}
    total = np.sum([np.asarray(rec.latency[s]) for s in STAGES], axis=0)
    lat = np.asarray(result["latency_ms"])
    out = {
        "backend": backend.describe(), "bundle": str(bundle.path), "vocab": len(labels), "stride": args.stride,
        "stages": stages,
        "recognition_per_window_ms": {"median": round(float(np.median(total)), 3), "p95": round(float(np.percentile(total, 95)), 3)},
        "windows_per_s_max": round(fast_wps, 1),
        "event_latency_ms": {"p50": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
                             "p99": round(float(np.percentile(lat, 99)), 3) if len(lat) else None, "n": int(len(lat))},
        "rss_mb": round(rss_mb(), 1),
    }
    print(f"runtime bench: {out['backend']}, vocabulary {len(labels)} labels, stride {args.stride}, "
          f"{args.seconds:.0f} s at 30 fps")
    for s, v in stages.items():
        print(f"  {s:11s} median {v['median_ms']:7.3f} ms   p95 {v['p95_ms']:7.3f} ms")
    r = out["recognition_per_window_ms"]
    print(f"  recognition per window (all stages): median {r['median']:.3f} ms, p95 {r['p95']:.3f} ms")
    print(f"  windows per second, unpaced: {out['windows_per_s_max']}")
    e = out["event_latency_ms"]
    print(f"  event latency, frame -> subscriber: p50 {e['p50']} ms, p99 {e['p99']} ms over {e['n']} events")
    print(f"  resident memory: {out['rss_mb']} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
