"""python -m runtime.listen [--connect tcp://127.0.0.1:5556] [--topic zsar.action] [--json]

Print the event stream for humans (or raw JSON lines with --json)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import zmq

from runtime.publisher import DEFAULT_ENDPOINT


def describe(topic: str, e: dict) -> str:
    t = e["type"]
    who = f"[{e['source']}#{e.get('person', '-')}]"
    if t == "prediction":
        top = ", ".join(f"{x['label']} {x['score']:.2f}" for x in e["top_k"][:3])
        return f"{who} {'unknown' if e['unknown'] else e['label']:<28s} | {top}"
    if t == "action.start":
        return f"{who} START {e['label']} (score {e['score']:.2f})"
    if t == "action.end":
        return f"{who} END   {e['label']} after {e['duration_s']:.1f} s ({e['reason']})"
    if t == "heartbeat":
        lat = e["latency_ms"]
        return (f"[{e['source']}] heartbeat: {e['fps_in']:.1f} fps in, {e['windows_per_s']:.1f} windows/s, "
                f"{e['people']} people, encoder {lat.get('encoder', 0):.1f} ms, {e['backend']}")
    return f"[{e['source']}] status {e['event']}: {e['message']}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m runtime.listen", description=__doc__)
    ap.add_argument("--connect", default=DEFAULT_ENDPOINT)
    ap.add_argument("--topic", action="append", help="topic prefix to subscribe to (repeatable; default: all)")
    ap.add_argument("--json", action="store_true", help="print raw JSON lines")
    ap.add_argument("--count", type=int, default=0, help="exit after this many messages")
    args = ap.parse_args(argv)
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.connect(args.connect)
    for t in args.topic or ["zsar."]:
        sock.setsockopt_string(zmq.SUBSCRIBE, t)
    n = 0
    try:
        while True:
            topic, payload = sock.recv_multipart()
            e = json.loads(payload)
            if args.json:
                print(json.dumps({"topic": topic.decode(), **e}), flush=True)
            else:
                print(f"{time.strftime('%H:%M:%S', time.localtime(e['ts']))} {describe(topic.decode(), e)}", flush=True)
            n += 1
            if args.count and n >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sock.close(0)
    sys.exit(0)


if __name__ == "__main__":
    main()
