"""Helpers for tests that run the whole runtime and listen to it with a real ZeroMQ subscriber."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import zmq

from runtime.app import App, AppConfig
from runtime.events import validate
from runtime.frames import SourceInfo
from runtime.recognizer import RecognizerConfig

VOCAB = "hand waving\nclapping\njumping up\nsitting down\nfalling\nsalute\n"


class Subscriber(threading.Thread):
    def __init__(self, endpoint: str, curve: dict | None = None):
        super().__init__(daemon=True)
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        if curve:
            self.sock.curve_secretkey, self.sock.curve_publickey = curve["secret"], curve["public"]
            self.sock.curve_serverkey = curve["server"]
        self.sock.connect(endpoint)
        self.sock.setsockopt_string(zmq.SUBSCRIBE, "zsar.")
        self.sock.setsockopt(zmq.RCVTIMEO, 200)
        self.messages: list[tuple[str, dict, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                topic, payload = self.sock.recv_multipart()
            except zmq.Again:
                continue
            self.messages.append((topic.decode(), json.loads(payload), time.monotonic()))
        self.sock.close(0)

    def of(self, kind: str) -> list[dict]:
        return [m for _, m, _ in self.messages if m["type"] == kind]

    def wait_for(self, pred, timeout: float) -> dict | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for _, m, _ in list(self.messages):
                if pred(m):
                    return m
            time.sleep(0.02)
        return None


def start(tmp_path: Path, bundle: Path, frames_factory, vocab: str = VOCAB, info: SourceInfo | None = None, **kw):
    (tmp_path / "actions.txt").write_text(vocab)
    rc = kw.pop("recognizer", RecognizerConfig(stride=6))
    cfg = AppConfig(bundle=str(bundle), vocab=str(tmp_path / "actions.txt"), bind="tcp://127.0.0.1:*",
                    recognizer=rc, **kw)
    info = info or SourceInfo("test")
    app = App(cfg, info)
    sub = Subscriber(app.publisher.endpoint)
    sub.start()
    time.sleep(0.3)  # slow joiner
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", app.run(frames_factory, info)), daemon=True)
    thread.start()
    return app, sub, thread, result


def finish(app, sub, thread, timeout: float = 30):
    thread.join(timeout)
    assert not thread.is_alive(), "the runtime did not stop"
    time.sleep(0.3)
    sub.done.set()
    sub.join(2)


def check_stream(sub: Subscriber) -> None:
    seqs = [m["seq"] for _, m, _ in sub.messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "messages lost or out of order on loopback"
    for topic, m, _ in sub.messages:
        validate(topic, m)
    assert sub.messages[0][1]["type"] == "status" and sub.messages[0][1]["event"] == "started"
    assert sub.messages[-1][1]["event"] == "stopping"
    open_actions: dict = {}
    for _, m, _ in sub.messages:
        if m["type"] == "action.start":
            assert m["person"] not in open_actions, "a second start before the first ended"
            open_actions[m["person"]] = m
        elif m["type"] == "action.end":
            s = open_actions.pop(m["person"])
            assert s["label"] == m["label"] and abs(s["start_ts"] - m["start_ts"]) < 1e-6
            assert m["duration_s"] >= 0 and m["end_ts"] >= m["start_ts"]
    assert not open_actions, "every start has its end by the time the runtime stops"


def free_endpoint() -> str:
    """A loopback TCP endpoint on a port free right now (for a runtime bound by its command line)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"tcp://127.0.0.1:{port}"


def run_demo(bundle: Path, tmp_path: Path, *flags: str, vocab: str = VOCAB, seconds: float = 4) -> tuple[int, Subscriber]:
    """``python -m runtime.camera --source demo`` on ``bundle`` for ``seconds``, heard by a subscriber connected
    before the runtime binds (so it receives everything from "started" on); its exit code and the subscriber."""
    from runtime.camera import main as camera_main

    (tmp_path / "actions.txt").write_text(vocab)
    endpoint = free_endpoint()
    sub = Subscriber(endpoint)
    sub.start()
    code = camera_main(["--bundle", str(bundle), "--vocab", str(tmp_path / "actions.txt"), "--source", "demo",
                        "--duration", str(seconds), "--bind", endpoint, *flags])
    time.sleep(0.3)
    sub.done.set()
    sub.join(2)
    return code, sub
