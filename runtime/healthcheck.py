"""python -m runtime.healthcheck [--connect tcp://127.0.0.1:5556] [--timeout 5]

Exit 0 when a heartbeat arrives on the event stream within the timeout, 1 otherwise (for container health
checks and supervisors)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import zmq

from runtime.publisher import DEFAULT_ENDPOINT


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m runtime.healthcheck", description=__doc__)
    ap.add_argument("--connect", default=DEFAULT_ENDPOINT)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args(argv)
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(args.connect)
    sock.setsockopt_string(zmq.SUBSCRIBE, "zsar.heartbeat")
    end = time.monotonic() + args.timeout
    try:
        while time.monotonic() < end:
            if sock.poll(int(max(0.0, end - time.monotonic()) * 1000)):
                _, payload = sock.recv_multipart()
                beat = json.loads(payload)
                print(f"healthy: {beat['fps_in']} fps in, {beat['people']} people, {beat['backend']}")
                return 0
        print(f"unhealthy: no heartbeat on {args.connect} within {args.timeout:.0f} s")
        return 1
    finally:
        sock.close(0)


if __name__ == "__main__":
    sys.exit(main())
