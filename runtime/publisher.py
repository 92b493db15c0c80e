"""The ZeroMQ PUB side of the event stream: binds (loopback by default), stamps the common fields, sends
``[topic, json]``. Binding beyond loopback is an explicit choice; CURVE encryption with client authentication
is available for it (keys made by ``python -m runtime.keys``).

Status at start-up (ZeroMQ's "slow joiner": a PUB socket drops what it sends before a subscriber's connection and
subscription have arrived, and a subscriber that waits for the runtime reconnects only every 100 ms by default):
  - the first event waits until ``grace_s`` after binding, so a subscriber that is already waiting gets
    everything from the ``started`` status on, a fast failure included;
  - every heartbeat carries ``last_status`` (event, message, seq, ts of the latest status event), so a
    subscriber that connects later learns the state within a heartbeat (last-value cache, without duplicates
    in the sequence numbers)."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import zmq

from runtime.events import SCHEMA, TOPICS

log = logging.getLogger("runtime")
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5556"


def is_loopback(endpoint: str) -> bool:
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    host = urlparse(endpoint).hostname or ""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # '*', an interface name or a hostname: wider than loopback


class Publisher:
    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, source: str = "", allow_wide: bool = False,
                 curve_dir: str | Path | None = None, hwm: int = 1000, context: zmq.Context | None = None,
                 grace_s: float = 0.0):
        if not is_loopback(endpoint) and not allow_wide:
            raise ValueError(f"{endpoint} binds beyond loopback: pass --bind-wide to allow it (and consider --curve)")
        self.ctx = context or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.setsockopt(zmq.SNDHWM, hwm)
        self.sock.setsockopt(zmq.LINGER, 1000)  # on close, give queued events a second to leave
        self.auth = None
        if curve_dir is not None:
            self._curve(Path(curve_dir))
        elif not is_loopback(endpoint):
            log.warning(f"publishing on {endpoint} without encryption: anyone on the network can subscribe")
        try:
            self.sock.bind(endpoint)
        except zmq.ZMQError as e:
            self.sock.close(0)
            raise OSError(f"cannot bind the event stream to {endpoint}: {e}") from e
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.source = source
        self.seq = 0
        self.lock = threading.Lock()  # the heartbeat and the recogniser publish from different threads
        self.ready_at = time.monotonic() + grace_s  # no event before this (subscribers connecting)
        self.last_status: dict | None = None

    def _curve(self, directory: Path) -> None:
        from zmq.auth import load_certificate
        from zmq.auth.thread import ThreadAuthenticator

        secret = directory / "server.key_secret"
        clients = directory / "clients"
        if not secret.exists() or not clients.is_dir():
            raise FileNotFoundError(f"{directory}: needs server.key_secret and a clients/ folder of allowed public "
                                    "keys (python -m runtime.keys makes them)")
        self.auth = ThreadAuthenticator(self.ctx)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(clients))
        public, secret_key = load_certificate(str(secret))
        self.sock.curve_secretkey = secret_key
        self.sock.curve_publickey = public
        self.sock.curve_server = True

    def publish(self, kind: str, **fields) -> dict:
        with self.lock:
            if self.ready_at:
                wait = self.ready_at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.ready_at = 0.0
            self.seq += 1
            if kind == "heartbeat" and self.last_status is not None:
                fields = {**fields, "last_status": self.last_status}
            payload = {"schema": SCHEMA, "type": kind, "seq": self.seq, "ts": time.time(), "mono": time.monotonic(),
                       "source": self.source, **fields}
            self.sock.send_multipart([TOPICS[kind].encode(), json.dumps(payload).encode()])
            if kind == "status":
                self.last_status = {"event": payload.get("event"), "message": payload.get("message"),
                                    "seq": payload["seq"], "ts": payload["ts"]}
        return payload

    def close(self) -> None:
        self.sock.close()
        if self.auth is not None:
            self.auth.stop()


class PredictionCollector:
    """An in-process stand-in for the event stream that keeps the predictions (what a subscriber would
    receive), for evaluations and tests that drive a Recognizer directly."""

    def __init__(self):
        self.predictions: list[dict] = []

    def publish(self, kind: str, **fields) -> dict:
        if kind == "prediction":
            self.predictions.append(fields)
        return fields
