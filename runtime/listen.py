"""python -m runtime.listen [--connect tcp://127.0.0.1:5556] [--topic zsar.action] [--json]
                          [--server-key KEYS/server.key --client-key KEYS/client_secrets/NAME.key_secret]

Print the event stream for humans (or raw JSON lines with --json). A stream encrypted with CURVE (the runtime's
--curve KEYS) needs the runtime's public key and this client's key pair, both made by python -m runtime.keys.
A connection the publisher refuses (no keys for an encrypted stream, a client key it does not know, the wrong
server key) ends with a message saying which, instead of waiting forever."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

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


def _fail(message: str):
    print(f"python -m runtime.listen: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def curve_keys(server_key: str, client_key: str) -> dict:
    """The socket options of a CURVE client from runtime.keys files; SystemExit with the reason otherwise."""
    from zmq.auth import load_certificate

    def load(path: str, what: str) -> tuple[bytes, bytes | None]:
        try:
            return load_certificate(path)
        except (OSError, ValueError) as e:
            _fail(f"{what} {path}: {e}")

    server_public, server_secret = load(server_key, "--server-key")
    if server_secret:
        print(f"warning: {server_key} holds the runtime's secret key; subscribers need only the public half "
              "(server.key)", file=sys.stderr)
    public, secret = load(client_key, "--client-key")
    if not secret:
        _fail(f"--client-key {client_key} has no secret key: pass this client's NAME.key_secret from the keys' "
              "client_secrets/ folder (python -m runtime.keys KEYS --client NAME)")
    if os.name == "posix" and stat.S_IMODE(os.stat(client_key).st_mode) & 0o077:
        print(f"warning: {client_key} is readable by other users: chmod 600 {client_key}", file=sys.stderr)
    return {"curve_serverkey": server_public, "curve_publickey": public, "curve_secretkey": secret}


HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
NO_DETAIL_ATTEMPTS = 5


def handshake_failure(event: dict, endpoint: str, curve: bool) -> str:
    """Why the publisher at ``endpoint`` refused this subscriber, from a socket-monitor event."""
    kind, value = event["event"], event["value"]
    keys = "--server-key KEYS/server.key --client-key KEYS/client_secrets/NAME.key_secret"
    if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return (f"the publisher at {endpoint} refused this client key: it is not authorised (status {value}); its "
                "public key must be in the runtime's KEYS/clients/ (python -m runtime.keys KEYS --client NAME) "
                "when the runtime starts")
    if kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        if curve:
            return f"the publisher at {endpoint} does not encrypt with CURVE: drop --server-key and --client-key"
        return (f"the publisher at {endpoint} encrypts its stream with CURVE (runtime --curve KEYS): pass {keys}")
    if curve:
        return (f"the CURVE handshake with {endpoint} failed: is --server-key the public key of the keys the runtime "
                "runs with (KEYS/server.key), and does the runtime encrypt (--curve KEYS)?")
    return (f"the handshake with {endpoint} failed (ZeroMQ {zmq.Event(kind).name}, {value}); a publisher that "
            f"encrypts with CURVE (runtime --curve KEYS) refuses plain subscribers: pass {keys}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m runtime.listen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connect", default=DEFAULT_ENDPOINT)
    ap.add_argument("--topic", action="append", help="topic prefix to subscribe to (repeatable; default: all)")
    ap.add_argument("--json", action="store_true", help="print raw JSON lines")
    ap.add_argument("--count", type=int, default=0, help="exit after this many messages")
    ap.add_argument("--server-key", metavar="FILE",
                    help="CURVE: the runtime's public key (KEYS/server.key from python -m runtime.keys)")
    ap.add_argument("--client-key", metavar="FILE",
                    help="CURVE: this client's key pair (KEYS/client_secrets/NAME.key_secret)")
    args = ap.parse_args(argv)
    if bool(args.server_key) != bool(args.client_key):
        ap.error("an encrypted stream needs both --server-key and --client-key")
    curve = curve_keys(args.server_key, args.client_key) if args.server_key else {}
    sock = zmq.Context.instance().socket(zmq.SUB)
    for option, value in curve.items():
        setattr(sock, option, value)
    monitor = sock.get_monitor_socket(HANDSHAKE_EVENTS)
    sock.connect(args.connect)
    for t in args.topic or ["zsar."]:
        sock.setsockopt_string(zmq.SUBSCRIBE, t)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    n, code, failures = 0, 0, 0
    try:
        while not (args.count and n >= args.count):
            ready = dict(poller.poll(500))
            if monitor in ready:
                event = recv_monitor_message(monitor)
                # a refusal without detail can be a race (the publisher hangs up before its reason arrives):
                # ZeroMQ reconnects every 0.1 s, so wait for a reason for a few attempts before giving up
                failures += event["event"] == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                if event["event"] & HANDSHAKE_EVENTS and (event["event"] != zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                                          or failures >= NO_DETAIL_ATTEMPTS):
                    print(f"python -m runtime.listen: {handshake_failure(event, args.connect, bool(curve))}",
                          file=sys.stderr, flush=True)
                    code = 2
                    break
            if sock not in ready:
                continue
            topic, payload = sock.recv_multipart()
            e = json.loads(payload)
            if args.json:
                print(json.dumps({"topic": topic.decode(), **e}), flush=True)
            else:
                print(f"{time.strftime('%H:%M:%S', time.localtime(e['ts']))} {describe(topic.decode(), e)}", flush=True)
            n += 1
    except KeyboardInterrupt:
        pass
    finally:
        sock.disable_monitor()
        monitor.close(0)
        sock.close(0)
    sys.exit(code)


if __name__ == "__main__":
    main()
