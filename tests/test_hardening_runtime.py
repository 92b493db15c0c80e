"""Hardening of the runtime (issue 18): looping sources stop and keep their pace, the vocabulary watcher survives
any error, a recognition failure exits non-zero with a status event, status events at start-up reach subscribers
that are already waiting (and late ones learn the last status from the heartbeat), and the command line refuses
out-of-range values with a clear message."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import zmq

from runtime.app import App, AppConfig, VocabularyWatcher
from runtime.camera import main as camera_main
from runtime.camera import parser
from runtime.decisions import DecisionConfig
from runtime.frames import Person, SourceInfo
from runtime.recognizer import Recognizer, RecognizerConfig
from runtime.recording import RecordingWriter
from runtime.sources import SourceError, demo_source, recording_source
from runtime.synth import SynthConfig, generate

from streamtools import VOCAB, check_stream, finish, free_endpoint, start


class Listener(threading.Thread):
    """A plain SUB socket (default reconnect interval, as any subscriber has), connected before or after the
    runtime binds."""

    def __init__(self, endpoint: str):
        super().__init__(daemon=True)
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVTIMEO, 100)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.sock.setsockopt_string(zmq.SUBSCRIBE, "zsar.")
        self.messages: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                _, payload = self.sock.recv_multipart()
            except zmq.Again:
                continue
            self.messages.append(json.loads(payload))
        self.sock.close(0)

    def stop(self) -> None:
        time.sleep(0.3)
        self.done.set()
        self.join(2)

    def of(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def status(self) -> list[str]:
        return [m["event"] for m in self.of("status")]


@pytest.fixture
def watchdog(keep_signals):
    """SIGTERM this process after ``seconds`` (the runtime's own handler stops it): a test of a runtime that
    never stops fails instead of hanging."""
    timers = []

    def arm(seconds: float):
        t = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGTERM))
        t.daemon = True
        t.start()
        timers.append(t)
        return t

    yield arm
    for t in timers:
        t.cancel()


def write_recording(path: Path, frames: int, fps: float = 30.0) -> Path:
    joints = generate("Hand waving", 3, SynthConfig(noise=0.3)).joints
    with RecordingWriter(path, source="rec") as w:
        for i in range(frames):
            w.write(i / fps, [Person(0, joints[i % len(joints)])])
    return path


def stop_in_time(app, thread, seconds: float) -> bool:
    """Whether the runtime stopped on its own within ``seconds``; stop it anyway so that nothing keeps running."""
    thread.join(seconds)
    stopped = not thread.is_alive()
    app.stop()
    thread.join(10)
    return stopped


# ------------------------------------------------------------------------- 2: --loop with --duration, pacing
def test_loop_with_duration_stops(tmp_path, bundle_dir):
    t0 = time.monotonic()
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=1), loop=True, duration=2)
    assert stop_in_time(app, thread, 12), "--loop --duration 2 never stopped"
    finish(app, sub, thread)
    assert result["code"] == 0 and time.monotonic() - t0 < 8
    assert max(b["fps_in"] for b in sub.of("heartbeat")) < 48, "the demo is fed at its own 30 fps"
    check_stream(sub)


def test_cli_loop_of_a_recording_stops_at_its_duration(tmp_path, bundle_dir, watchdog):
    rec = write_recording(tmp_path / "rec.jsonl", 20)
    (tmp_path / "actions.txt").write_text(VOCAB)
    watchdog(20)
    t0 = time.monotonic()
    code = camera_main(["--bundle", str(bundle_dir), "--vocab", str(tmp_path / "actions.txt"), "--source", str(rec),
                        "--loop", "--duration", "2", "--bind", "tcp://127.0.0.1:*"])
    assert time.monotonic() - t0 < 15, "stopped by the watchdog, not by --duration"
    assert code == 0


@pytest.mark.parametrize("frames", [1, 2])
def test_looped_short_recording_is_paced_at_its_rate(tmp_path, bundle_dir, frames):
    rec = write_recording(tmp_path / "rec.jsonl", frames)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: recording_source(rec), loop=True, duration=3.5)
    assert stop_in_time(app, thread, 15), "never stopped"
    finish(app, sub, thread)
    beats = sub.of("heartbeat")
    assert len(beats) >= 2 and all(12 < b["fps_in"] < 48 for b in beats), [b["fps_in"] for b in beats]


def test_loop_keeps_time_running_forward(tmp_path, bundle_dir):
    rec = write_recording(tmp_path / "rec.jsonl", 30)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: recording_source(rec), loop=True, duration=1.0,
                                     realtime=False)
    seen: list[float] = []
    push = app.recognizer.push
    app.recognizer.push = lambda t, people: (seen.append(t), push(t, people))[1]
    assert stop_in_time(app, thread, 15)
    finish(app, sub, thread)
    assert len(seen) > 60, "several passes"
    assert all(b > a for a, b in zip(seen, seen[1:])), "a new pass continues the timeline, it does not go back"


def test_looping_an_empty_recording_does_not_spin(tmp_path, bundle_dir):
    rec = write_recording(tmp_path / "rec.jsonl", 0)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: recording_source(rec), loop=True)
    assert stop_in_time(app, thread, 8), "an empty source looped forever"
    finish(app, sub, thread)
    assert result["code"] == 2
    err = [m for m in sub.of("status") if m["event"] == "source_error"]
    assert err and "no frames" in err[0]["message"]


def test_a_looped_source_that_cannot_be_reopened_is_a_source_error(tmp_path, bundle_dir):
    rec = write_recording(tmp_path / "rec.jsonl", 10)
    opened = []

    def frames():
        opened.append(1)
        if len(opened) > 1:
            raise SourceError("camera unplugged")
        return recording_source(rec)

    app, sub, thread, result = start(tmp_path, bundle_dir, frames, loop=True)
    assert stop_in_time(app, thread, 8)
    finish(app, sub, thread)
    assert result["code"] == 2
    assert [m["message"] for m in sub.of("status") if m["event"] == "source_error"] == ["camera unplugged"]
    check_stream(sub)


# --------------------------------------------------------------------- 3: the watcher survives any error
def test_vocabulary_replaced_by_a_folder_is_reported_and_watching_goes_on(tmp_path, bundle_dir, monkeypatch):
    import runtime.app

    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=5), duration=10)
    vocab = tmp_path / "actions.txt"

    def errors():
        return [m for m in sub.of("status") if m["event"] == "vocabulary_error"]

    try:
        time.sleep(0.8)
        vocab.unlink()
        vocab.mkdir()
        assert sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_error", 3)
        assert "directory" in errors()[0]["message"].lower()
        assert app.watcher.is_alive()
        # an error the watcher does not expect (here: encoding the vocabulary crashes) is reported too
        vocabulary = runtime.app.vocabulary
        monkeypatch.setattr(runtime.app, "vocabulary", lambda *a: (_ for _ in ()).throw(RuntimeError("encoder crashed")))
        vocab.rmdir()
        vocab.write_text("hand waving\n")
        assert sub.wait_for(lambda m: m["type"] == "status" and "encoder crashed" in m.get("message", ""), 3)
        assert app.watcher.is_alive()
        monkeypatch.setattr(runtime.app, "vocabulary", vocabulary)
        time.sleep(0.05)
        vocab.write_text("hand waving\nclapping\n")
        loaded = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_loaded", 3)
        assert loaded and loaded["labels"] == ["hand waving", "clapping"], "a later valid edit is picked up"
    finally:
        app.stop()
    finish(app, sub, thread)
    check_stream(sub)


def test_watcher_reports_unexpected_errors_and_lives_on(tmp_path, caplog):
    path = tmp_path / "actions.txt"
    path.write_text("hand waving\n")
    events, swapped = [], []
    outcomes = [RuntimeError("boom"), SimpleNamespace(labels=["a"], encoded_on_device=[], enrolled={}, fingerprint="x")]

    def load():
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    app = SimpleNamespace(config=SimpleNamespace(vocab=str(path)), load_vocabulary=load,
                          publisher=SimpleNamespace(publish=lambda kind, **f: events.append((kind, f))),
                          recognizer=SimpleNamespace(set_vocabulary=swapped.append))
    w = VocabularyWatcher(app, interval=0.02)
    w.start()
    try:
        time.sleep(0.1)
        path.write_text("hand waving\nclapping\n")
        deadline = time.monotonic() + 3
        while not any(f.get("event") == "vocabulary_error" for _, f in events) and time.monotonic() < deadline:
            time.sleep(0.02)
        path.write_text("a\n")
        while not swapped and time.monotonic() < deadline:
            time.sleep(0.02)
        assert w.is_alive()
    finally:
        w.stop_event.set()
        w.join(2)
    errors = [f for k, f in events if k == "status" and f["event"] == "vocabulary_error"]
    assert errors and "boom" in errors[0]["message"]
    assert swapped and any(f.get("event") == "vocabulary_loaded" for _, f in events)
    assert "boom" in caplog.text


# ------------------------------------------------------------- 4: a recognition failure exits non-zero
def test_recognition_failure_exits_non_zero_with_a_status(tmp_path, bundle_dir):
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=2), duration=10)

    def boom(*_a, **_k):
        raise RuntimeError("CUDA error: out of memory")

    setattr(app.backend, "features" if app.bundle.mode == "features" else "conditioned", boom)
    assert stop_in_time(app, thread, 15)
    finish(app, sub, thread)
    assert result["code"] not in (0, None)
    err = [m for m in sub.of("status") if m["event"] == "recognition_error"]
    assert err and "out of memory" in err[0]["message"] and "recognition" in err[0]["message"]
    assert sub.of("status")[-1]["event"] == "stopping"
    check_stream(sub)


def test_cli_recognition_failure_exit_code(tmp_path, bundle_dir, monkeypatch, watchdog):
    def boom(self, t, pids):
        raise ValueError("window of -1 s")

    monkeypatch.setattr(Recognizer, "_infer", boom)
    (tmp_path / "actions.txt").write_text(VOCAB)
    watchdog(30)
    code = camera_main(["--bundle", str(bundle_dir), "--vocab", str(tmp_path / "actions.txt"), "--source", "demo",
                        "--duration", "10", "--bind", "tcp://127.0.0.1:*"])
    assert code == 3


@pytest.mark.parametrize("bad, what", [(dict(recognizer=RecognizerConfig(top_k=0)), "top_k"),
                                       (dict(recognizer=RecognizerConfig(window_seconds=-1)), "window"),
                                       (dict(recognizer=RecognizerConfig(stride=0)), "stride"),
                                       (dict(speed=0.0), "speed"), (dict(duration=-1.0), "duration")])
def test_app_refuses_settings_that_would_fail_later(tmp_path, bundle_dir, bad, what):
    (tmp_path / "actions.txt").write_text(VOCAB)
    kw = dict(bundle=str(bundle_dir), vocab=str(tmp_path / "actions.txt"), bind="tcp://127.0.0.1:*")
    with pytest.raises(ValueError, match=what):
        App(AppConfig(**{**kw, **bad}), SourceInfo("t"))


@pytest.mark.parametrize("bad", [dict(smoothing=7.0), dict(smoothing=0.0), dict(min_duration=-3.0),
                                 dict(smoothing=float("nan"))])
def test_decision_config_checks_its_ranges(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DecisionConfig(**bad)


# ------------------------------------------------------------------------- 9: status at start-up
def test_subscriber_waiting_before_startup_gets_started(tmp_path, bundle_dir, keep_signals):
    endpoint = free_endpoint()
    sub = Listener(endpoint)  # connects before the runtime binds
    sub.start()
    (tmp_path / "actions.txt").write_text(VOCAB)
    code = camera_main(["--bundle", str(bundle_dir), "--vocab", str(tmp_path / "actions.txt"), "--source", "demo",
                        "--duration", "1.5", "--bind", endpoint])
    sub.stop()
    assert code == 0
    assert sub.messages and sub.messages[0]["seq"] == 1
    assert sub.messages[0]["type"] == "status" and sub.messages[0]["event"] == "started"


def test_fast_failure_reaches_a_waiting_subscriber(tmp_path, bundle_dir, keep_signals):
    rec = write_recording(tmp_path / "rec.jsonl", 3)
    lines = rec.read_text().splitlines()
    lines[1] = '{"t": 0.0, "people": [{"id": 0, "joints": [1, 2]}]}'
    rec.write_text("\n".join(lines) + "\n")
    endpoint = free_endpoint()
    sub = Listener(endpoint)
    sub.start()
    (tmp_path / "actions.txt").write_text(VOCAB)
    code = camera_main(["--bundle", str(bundle_dir), "--vocab", str(tmp_path / "actions.txt"), "--source", str(rec),
                        "--bind", endpoint])
    sub.stop()
    assert code == 2
    assert sub.status() == ["started", "source_error", "stopping"]
    assert "expected 75" in sub.of("status")[1]["message"]


def test_late_subscriber_learns_the_last_status_from_the_heartbeat(tmp_path, bundle_dir):
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=3), duration=4.5)
    try:
        time.sleep(1.0)
        late = Listener(app.publisher.endpoint)
        late.start()
        time.sleep(1.5)
        (tmp_path / "actions.txt").write_text("hand waving\nhand waving\n")  # a broken edit
        assert sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_error", 3)
        time.sleep(1.3)
    finally:
        app.stop()
    finish(app, sub, thread)
    late.stop()
    assert not any(m["type"] == "status" and m["event"] == "started" for m in late.messages)
    beats = late.of("heartbeat")
    assert beats[0]["last_status"]["event"] == "started" and beats[0]["last_status"]["seq"] == 1
    assert beats[-1]["last_status"]["event"] == "vocabulary_error"
    assert "duplicate label" in beats[-1]["last_status"]["message"]
    check_stream(sub)


# ------------------------------------------------------------------ 11: the command line checks ranges
BAD = [
    (["--speed", "0"], "--speed"), (["--speed", "-1"], "--speed"), (["--top-k", "0"], "--top-k"),
    (["--window", "-1"], "--window"), (["--smoothing", "7"], "--smoothing"), (["--smoothing", "0"], "--smoothing"),
    (["--min-duration", "-3"], "--min-duration"), (["--stride", "0"], "--stride"),
    (["--duration", "-1"], "--duration"), (["--unknown-threshold", "nan"], "--unknown-threshold"),
    (["--threshold", "wave"], "--threshold"), (["--threshold", "wave=abc"], "--threshold"),
    (["--threshold", "=0.5"], "--threshold"), (["--threshold", "wave=inf"], "--threshold"),
    (["--max-people", "0"], "--max-people"), (["--threads", "-1"], "--threads"), (["--max-fps", "-5"], "--max-fps"),
    (["--fov", "0"], "--fov"), (["--speed", "nan"], "--speed"), (["--duration", "inf"], "--duration"),
]


@pytest.mark.parametrize("argv, option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_cli_refuses_out_of_range_values(argv, option, capsys):
    with pytest.raises(SystemExit) as e:
        parser().parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err
    assert any(w in err for w in ("must be", "expects")), err


def test_cli_accepts_values_at_the_edges():
    args = parser().parse_args(["--window", "0", "--smoothing", "1", "--min-duration", "0", "--duration", "0",
                                "--threads", "0", "--max-fps", "0", "--unknown-threshold", "-1",
                                "--threshold", "hand waving=0.4", "--threshold", "a=b=0.2", "--speed", "0.25"])
    assert args.thresholds == [("hand waving", 0.4), ("a=b", 0.2)]
    assert args.window_seconds == 0 and args.smoothing == 1 and args.speed == 0.25


@pytest.mark.parametrize("rc, named", [(RecognizerConfig(unknown_threshold=5.0), "--unknown-threshold 5.0"),
                                       (RecognizerConfig(thresholds={"hand waving": -3.0}), "--threshold hand waving=-3.0")])
def test_thresholds_outside_the_bundles_score_range_are_refused(tmp_path, bundle_dir, rc, named, caplog):
    # the range is the bundle's (a cosine's [-1, 1] here; InfoCPL's scores lie in (-inf, 0], tests/test_infocpl.py)
    (tmp_path / "actions.txt").write_text(VOCAB)
    with pytest.raises(ValueError, match=rf"{named}.*must be a score in \[-1, 1\].*cosine"):
        App(AppConfig(bundle=str(bundle_dir), vocab=str(tmp_path / "actions.txt"), bind="tcp://127.0.0.1:*",
                      recognizer=rc), SourceInfo("t"))
    code = camera_main(["--bundle", str(bundle_dir), "--vocab", str(tmp_path / "actions.txt"), "--source", "demo",
                        "--duration", "1", "--bind", "tcp://127.0.0.1:*", "--unknown-threshold", "1.5"])
    assert code == 2 and "--unknown-threshold 1.5: a threshold must be a score in [-1, 1]" in caplog.text


def test_threshold_for_a_label_not_in_the_vocabulary_warns(tmp_path, bundle_dir, caplog):
    (tmp_path / "actions.txt").write_text(VOCAB)
    cfg = AppConfig(bundle=str(bundle_dir), vocab=str(tmp_path / "actions.txt"), bind="tcp://127.0.0.1:*",
                    recognizer=RecognizerConfig(thresholds={"nosuch": 0.5, "Hand Waving": 0.4}))
    with caplog.at_level(logging.WARNING, logger="runtime"):
        app = App(cfg, SourceInfo("t"))
    app.publisher.close()
    assert "'nosuch'" in caplog.text and "not in the vocabulary" in caplog.text
    assert "Hand Waving" not in caplog.text, "labels match regardless of case"
