"""The runtime end to end with a real ZeroMQ subscriber on loopback: schema, ordering, start/end pairing,
heartbeats; vocabulary edits while running; corrupt bundles; sources that end, stall or fail; CURVE."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from runtime.bundle import BundleError, load_bundle
from runtime.camera import main as camera_main
from runtime.frames import Frame, Person
from runtime.recognizer import RecognizerConfig
from runtime.recording import RecordingWriter, read_recording
from runtime.sources import demo_source, open_source
from runtime.synth import SynthConfig, generate

from streamtools import check_stream, finish, start


def test_demo_stream_to_a_real_subscriber(tmp_path, bundle_dir):
    # at twice real time: much faster and the motion no longer looks like the actions it is (a model reading
    # motion is speed-sensitive)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=4), speed=2.0, duration=9)
    finish(app, sub, thread)
    assert result["code"] == 0
    check_stream(sub)
    beats = sub.of("heartbeat")
    assert len(beats) >= 7, "a heartbeat every second"
    assert beats[-1]["fps_in"] > 30 and beats[-1]["latency_ms"]["encoder"] > 0 and beats[-1]["tracking"] == "single-person"
    preds = sub.of("prediction")
    assert len(preds) > 20 and {len(p["top_k"]) for p in preds} == {5}
    assert all(p["top_k"][0]["score"] >= p["top_k"][1]["score"] for p in preds)
    assert len(sub.of("action.start")) >= 1 and len(sub.of("action.end")) >= 1


def recorded_clip(tmp_path: Path, label: str = "Hand waving", seconds_idle: float = 1.0) -> Path:
    """A recording: idle, one clear action, idle."""
    path = tmp_path / "clip.jsonl"
    idle = generate("idle", 1, SynthConfig(noise=0.3)).joints
    act = generate(label, 2, SynthConfig(noise=0.3, yaw_deg=0)).joints
    seq = np.concatenate([idle[: int(30 * seconds_idle)], act, act, idle[: int(30 * seconds_idle)]])
    with RecordingWriter(path, source="clip") as w:
        for i, j in enumerate(seq):
            w.write(i / 30, [Person(0, j)])
    return path


def test_windows_are_scored_against_the_adapted_prototypes(bundle_dir):
    """The prototypes adaptation moves are the ones the next window is scored with (no stale scoring matrix)."""
    from runtime.adaptation import AdaptationConfig
    from runtime.factory import build_recognizer
    from runtime.scoring import score

    b = load_bundle(bundle_dir)
    adapt = AdaptationConfig(min_margin=0.0, min_count=1, min_classes=1, refresh_every=1, max_drift=0.5)
    rec = build_recognizer(b, b.table.labels[:6], RecognizerConfig(stride=4, adaptation=adapt))
    backend, vocab, keep, labels = rec.backend, rec.vocab, rec.publisher, rec.vocab.labels
    frames = [j for name in ("Salute", "Hand waving", "Kicking something") for j in generate(name, 1).joints]
    checked = 0
    for i, joints in enumerate(frames):
        before = rec.prototypes
        if rec.push(i / 30, [Person(0, joints)]) and not np.array_equal(before, vocab.prototypes):
            cos = score(backend.features(rec.window(0)[None]), before, b.weights, 1.0)[0]
            got = {t["label"]: t["score"] for t in keep.predictions[-1]["top_k"]}
            assert np.allclose([got[x] for x in got], [cos[labels.index(x)] for x in got], atol=2e-4)
            checked += 1
    assert checked >= 5 and not np.allclose(rec.prototypes, vocab.prototypes)  # adaptation did move them


def test_recording_roundtrip_and_replay(tmp_path, bundle_dir):
    path = recorded_clip(tmp_path)
    frames = list(read_recording(path))
    assert len(frames) > 100 and frames[0].people[0].joints.shape == (25, 3)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), realtime=False,
                                     save_skeletons=str(tmp_path / "again.jsonl"))
    finish(app, sub, thread)
    assert result["code"] == 0
    check_stream(sub)
    assert sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "source_ended", 1)
    ended = [m for _, m, _ in sub.messages if m["type"] == "status" and m["event"] == "source_ended"][-1]
    assert ended["windows_scored"] > 10 and ended["best"]["label"] and "windows" in ended["message"]
    again = list(read_recording(tmp_path / "again.jsonl"))
    assert len(again) == len(frames)
    assert np.allclose(again[50].people[0].joints, frames[50].people[0].joints, atol=1e-3)


def test_source_that_fails_midway_reports_and_flushes(tmp_path, bundle_dir):
    path = recorded_clip(tmp_path)
    lines = path.read_text().splitlines()
    lines.insert(120, '{"t": 4.0, "people": [{"id": 0, "joints": [1, 2]}]}')
    path.write_text("\n".join(lines) + "\n")
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), realtime=False)
    finish(app, sub, thread)
    assert result["code"] == 2
    err = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "source_error", 1)
    assert err and "clip.jsonl:121" in err["message"] and "expected 75" in err["message"]
    check_stream(sub)  # what was decided before the failure still ends cleanly


def stalling(frames: list[np.ndarray], stall: threading.Event):
    for i, f in enumerate(frames):
        yield Frame(i / 30, [Person(0, f)])
    stall.wait(30)  # the camera stops delivering


def test_source_that_stalls_keeps_heartbeats_and_loses_the_person(tmp_path, bundle_dir):
    frames = list(generate("Clapping", 3, SynthConfig(noise=0.3)).joints) * 2
    stall = threading.Event()
    rc = RecognizerConfig(stride=6, person_timeout=1.0)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: stalling(frames, stall), recognizer=rc, speed=2.0)
    time.sleep(len(frames) / 60 + 0.5)
    assert sub.wait_for(lambda m: m["type"] == "heartbeat" and m["fps_in"] == 0, 4), "heartbeats go on while stalled"
    assert sub.wait_for(lambda m: m["type"] == "heartbeat" and m["people"] == 0, 4), "the stale track is dropped"
    app.stop()
    stall.set()
    finish(app, sub, thread)
    check_stream(sub)
    ends = sub.of("action.end")
    assert all(e["reason"] in ("person_lost", "ended", "replaced") for e in ends)


def test_vocabulary_hot_reload_and_broken_edit(tmp_path, bundle_dir):
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=5), duration=8)
    time.sleep(1.0)
    t_edit = time.monotonic()
    (tmp_path / "actions.txt").write_text("hand waving\njumping jacks | The person jumps, arms and legs spreading out.\n")
    loaded = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_loaded", 3)
    assert loaded and loaded["labels"] == ["hand waving", "jumping jacks"]
    assert loaded["encoded_on_device"] == ["jumping jacks"]
    recv = next(r for _, m, r in sub.messages if m is loaded)
    assert recv - t_edit < 1.0, "reloaded within a second"
    time.sleep(0.8)
    (tmp_path / "actions.txt").write_text("hand waving\nhand waving\n")
    err = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_error", 3)
    assert err and "actions.txt:2: duplicate label" in err["message"]
    time.sleep(1.0)
    finish(app, sub, thread)
    later = [m for _, m, r in sub.messages if m["type"] == "prediction" and r > recv + 0.5]
    assert later and all({x["label"] for x in p["top_k"]} <= {"hand waving", "jumping jacks"} for p in later)
    beats = sub.of("heartbeat")
    assert beats[-1]["vocab_size"] == 2, "the last good vocabulary stays after a broken edit"
    check_stream(sub)


def test_camera_cli_errors_are_clear(tmp_path, bundle_dir, caplog):
    bad = tmp_path / "bad.txt"
    bad.write_text("wave\n | no label\n")
    assert camera_main(["--bundle", str(bundle_dir), "--vocab", str(bad), "--source", "demo", "--duration", "1"]) == 2
    assert "bad.txt:2: empty label" in caplog.text
    assert camera_main(["--bundle", str(tmp_path / "nope"), "--source", "demo"]) == 2
    assert "no manifest.json" in caplog.text
    assert camera_main(["--bundle", str(bundle_dir), "--source", str(tmp_path / "x.skeleton")]) == 2
    assert "no such NTU skeleton file" in caplog.text
    assert camera_main(["--bundle", str(bundle_dir), "--source", "demo", "--bind", "tcp://0.0.0.0:5590"]) == 2
    assert "beyond loopback" in caplog.text


def test_corrupt_or_mismatched_bundles_are_refused(tmp_path, bundle_dir):
    def copy(name):
        d = tmp_path / name
        shutil.copytree(bundle_dir, d, ignore=shutil.ignore_patterns("text_encoder", "engines"))
        return d

    d = copy("edited")
    data = bytearray((d / "encoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "encoder.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"encoder\.onnx does not match its sha256"):
        load_bundle(d)
    d = copy("missing")
    (d / "prototypes.npz").unlink()
    with pytest.raises(BundleError, match=r"file prototypes\.npz listed in the manifest is missing"):
        load_bundle(d)
    d = copy("schema")
    m = json.loads((d / "manifest.json").read_text())
    m["schema"] = "zsar.bundle/9"
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"schema 'zsar.bundle/9' is not supported"):
        load_bundle(d)
    d = copy("checksum")
    m = json.loads((d / "manifest.json").read_text())
    m["files"]["encoder.onnx"]["sha256"] = "0" * 64
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"encoder\.onnx does not match"):
        load_bundle(d)
    d = copy("truncated")
    (d / "manifest.json").write_text('{"schema": "zsar.bundle/1",\n "files": ')
    with pytest.raises(BundleError, match=r"invalid JSON at line 2"):
        load_bundle(d)
    d = copy("normalisation")
    m = json.loads((d / "manifest.json").read_text())
    m["input"]["normalization"] = "other/2"
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="normalization"):
        load_bundle(d)


def test_text_encoder_probe_guards_against_the_wrong_encoder(tmp_path, bundle_dir):
    from runtime.text import OnnxTextEncoder

    b = load_bundle(bundle_dir)
    enc = OnnxTextEncoder(b.text_encoder_dir())
    enc.check_probe(b.table.probe_text, b.table.probe_embedding)
    with pytest.raises(BundleError, match="not the encoder the prototype table was built with"):
        enc.check_probe(b.table.probe_text, -b.table.probe_embedding)
    # new vocabulary encoded on the device lands where the table's own prototypes are
    v = enc.encode([b.table.texts[0][0]])[0]
    assert v @ b.table.prototypes[0, 0] > 0.8


def test_open_source_picks_the_right_kind(tmp_path):
    frames, info = open_source("demo")
    assert info.kind == "synthetic" and next(frames).people[0].joints.shape == (25, 3)
    path = recorded_clip(tmp_path)
    frames, info = open_source(str(path))
    assert info.kind == "recording" and info.name == "clip"


def test_curve_encrypts_and_authenticates(tmp_path):
    import zmq
    import zmq.auth

    from runtime.keys import main as make_keys
    from runtime.publisher import Publisher

    make_keys([str(tmp_path / "keys"), "--client", "app"])
    pub = Publisher("tcp://127.0.0.1:*", source="secure", curve_dir=tmp_path / "keys")
    server_public, _ = zmq.auth.load_certificate(str(tmp_path / "keys" / "server.key"))
    client_public, client_secret = zmq.auth.load_certificate(str(tmp_path / "keys" / "client_secrets" / "app.key_secret"))
    ctx = zmq.Context.instance()
    good, plain = ctx.socket(zmq.SUB), ctx.socket(zmq.SUB)
    good.curve_secretkey, good.curve_publickey, good.curve_serverkey = client_secret, client_public, server_public
    for s in (good, plain):
        s.connect(pub.endpoint)
        s.setsockopt_string(zmq.SUBSCRIBE, "zsar.")
        s.setsockopt(zmq.RCVTIMEO, 300)
    time.sleep(0.5)
    received = 0
    for _ in range(10):
        pub.publish("status", event="started", message="hello")
        try:
            topic, payload = good.recv_multipart()
            received += json.loads(payload)["message"] == "hello"
        except zmq.Again:
            pass
    assert received > 0, "an authorised client decrypts the stream"
    with pytest.raises(zmq.Again):
        plain.recv_multipart()  # a client without keys gets nothing
    for s in (good, plain):
        s.close(0)
    pub.close()


def test_silence_is_explained_when_nothing_reaches_its_threshold(tmp_path, bundle_dir):
    """A clip where every window stays under the threshold ends with a status that says so, with the best score."""
    path = recorded_clip(tmp_path)
    rc = RecognizerConfig(stride=6, unknown_threshold=0.99)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), realtime=False, recognizer=rc)
    finish(app, sub, thread)
    assert result["code"] == 0
    ended = [m for _, m, _ in sub.messages if m["type"] == "status" and m["event"] == "source_ended"]
    assert ended and ended[-1]["actions_decided"] == 0 and ended[-1]["windows_scored"] > 10
    assert "no action decided" in ended[-1]["message"] and "under its threshold 0.990" in ended[-1]["message"]
    assert ended[-1]["best"]["score"] < ended[-1]["best"]["threshold"] == 0.99
    beats = [m for _, m, _ in sub.messages if m["type"] == "heartbeat"]
    assert all("windows_total" in b and "actions_total" in b and "best" in b for b in beats)
