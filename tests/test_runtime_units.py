"""Runtime pieces on their own: vocabulary files, decisions, adaptation, the event schema, endpoints."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.adaptation import AdaptationConfig, PrototypeAdapter, cap_drift
from runtime.bundle import PrototypeTable
from runtime.decisions import DecisionConfig, Ended, PersonDecider, Started
from runtime.events import validate
from runtime.publisher import is_loopback
from runtime.recognizer import FrameBuffer
from runtime.vocab import VocabError, label_prompt, parse_vocab, read_vocab, resolve


# ------------------------------------------------------------------------------------------ vocabulary
def test_vocab_parsing_rules():
    text = "# comment\n\nhand waving\n  drink water   # inline comment\nC# coding | A person types.\n"
    e = parse_vocab(text, "a.txt")
    assert [x.label for x in e] == ["hand waving", "drink water", "C# coding"]
    assert e[2].description == "A person types." and e[1].description is None
    assert [x.line for x in e] == [3, 4, 5]


@pytest.mark.parametrize("text,message", [
    ("wave\nWAVE\n", r"a\.txt:2: duplicate label 'WAVE' \(first on line 1\)"),
    ("wave\n | a description\n", r"a\.txt:2: empty label"),
    ("wave |\n", r"a\.txt:1: '\|' with no description"),
    ("wave | a | b\n", r"a\.txt:1: more than one"),
    ("# only comments\n\n", r"a\.txt: no actions"),
    ("x" * 101 + "\n", r"a\.txt:1: label longer"),
])
def test_vocab_errors_name_the_line(text, message):
    with pytest.raises(VocabError, match=message):
        parse_vocab(text, "a.txt")


def test_vocab_file_errors(tmp_path):
    with pytest.raises(VocabError, match="not found"):
        read_vocab(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"wave\n\xff\xfe\n")
    with pytest.raises(VocabError, match="not UTF-8"):
        read_vocab(bad)


class FakeEncoder:
    """Stands in for the ONNX text encoder in unit tests only (the end-to-end tests use the real one)."""

    def __init__(self):
        self.seen = []

    def encode(self, texts):
        self.seen += texts
        rng = np.random.default_rng(len(self.seen))
        v = rng.normal(size=(len(texts), 4))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def table() -> PrototypeTable:
    p = np.eye(3, 4)[:, None, :].repeat(2, axis=1).astype(np.float32)
    return PrototypeTable(["Hand waving", "Clapping", "Salute"], [["a", "b"]] * 3, p, [["wave"], [], []], "probe",
                          np.zeros(4, np.float32))


def test_resolve_looks_up_labels_and_aliases_and_encodes_the_rest():
    enc = FakeEncoder()
    entries = parse_vocab("wave\nCLAPPING\njumping jacks\nsalute | The right hand touches the brow.\n")
    v = resolve(entries, table(), enc, granularities=2)
    assert v.prototypes.shape == (4, 2, 4)
    assert np.allclose(v.prototypes[0], table().prototypes[0]) and np.allclose(v.prototypes[1], table().prototypes[1])
    assert v.encoded_on_device == ["jumping jacks", "salute"]
    assert enc.seen == [label_prompt("jumping jacks"), "The right hand touches the brow."]
    with pytest.raises(VocabError, match="'jumping jacks'"):
        resolve(entries, table(), None, 2)


# ------------------------------------------------------------------------------------------- decisions
def run(decider, seq, dt=0.25):
    out = []
    for i, s in enumerate(seq):
        out += decider.update(i * dt, np.array(s, dtype=float))
    return out


def test_hysteresis_gives_one_start_and_one_end_not_a_flicker():
    d = PersonDecider(["wave", "clap"], np.array([0.3, 0.3]), DecisionConfig(smoothing=1.0, min_duration=0.5))
    noisy = [[0.2, 0.1]] * 2 + [[0.36, 0.1], [0.31, 0.1], [0.35, 0.1], [0.29, 0.1], [0.34, 0.1], [0.33, 0.1]] * 3
    events = run(d, noisy + [[0.1, 0.1]] * 3)
    starts = [e for e in events if isinstance(e, Started)]
    ends = [e for e in events if isinstance(e, Ended)]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0].label == "wave" and ends[0].reason == "ended"
    assert ends[0].duration > 3.0


def test_minimum_duration_suppresses_blips_and_switching_replaces():
    d = PersonDecider(["wave", "clap"], np.array([0.3, 0.3]), DecisionConfig(smoothing=1.0, min_duration=0.5))
    assert run(d, [[0.1, 0.1], [0.5, 0.1], [0.1, 0.1], [0.1, 0.1]]) == []  # one window is not an action
    d = PersonDecider(["wave", "clap"], np.array([0.3, 0.3]), DecisionConfig(smoothing=1.0, min_duration=0.5))
    events = run(d, [[0.5, 0.1]] * 4 + [[0.35, 0.6]] * 4)
    kinds = [(type(e).__name__, e.label) for e in events]
    assert kinds == [("Started", "wave"), ("Ended", "wave"), ("Started", "clap")]
    assert events[1].reason == "replaced"
    assert [e.reason for e in d.finish("shutdown")] == ["shutdown"]


def test_per_label_thresholds_and_unknown():
    d = PersonDecider(["wave", "clap"], np.array([0.3, 0.6]), DecisionConfig(smoothing=1.0, min_duration=0.0))
    assert run(d, [[0.1, 0.5]] * 3) == []  # 0.5 is below clap's own threshold: unknown
    assert [e.label for e in run(d, [[0.4, 0.1]])] == ["wave"]


# ------------------------------------------------------------------------------------------ adaptation
def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_memory_bank_is_bounded_confident_and_capped():
    anchors = unit(np.eye(3, 8)[:, None, :])
    cfg = AdaptationConfig(capacity=4, min_margin=0.2, class_mix=1.0, shared_shift=0.0, max_drift=0.1, min_count=1)
    a = PrototypeAdapter(anchors, cfg, ["a", "b", "c"])
    rng = np.random.default_rng(0)
    shifted = unit(anchors[0] + 0.8 * np.eye(8)[5])  # class a's windows sit away from its text anchor
    for _ in range(10):
        f = unit(shifted + 0.01 * rng.normal(size=(6, 1, 8)))
        a.observe(f, np.tile([0.8, 0.0, 0.0], (6, 1)))
    assert a.count[0] == 4 and a.count[1] == 0  # bounded per class
    p = a.prototypes[0, 0]
    assert 1 - p @ anchors[0, 0] <= 0.1 + 1e-6  # the drift cap holds
    assert p @ shifted[0] > anchors[0, 0] @ shifted[0]  # and it moved toward what the device sees
    assert np.allclose(a.prototypes[1:], anchors[1:])
    n = a.observe(f, np.tile([0.1, 0.0, 0.0], (6, 1)))  # windows with a small margin are not stored
    assert n == 0
    a.reset(anchors, ["a", "b", "c"])
    assert a.count.sum() == 0 and np.allclose(a.prototypes, anchors)


def test_bank_save_restore_refuses_another_vocabulary(tmp_path):
    anchors = unit(np.eye(3, 8)[:, None, :])
    cfg = AdaptationConfig(capacity=2, min_margin=0.0, class_mix=0.5, min_count=1, refresh_every=1)
    a = PrototypeAdapter(anchors, cfg, ["a", "b", "c"])
    a.observe(unit(np.ones((1, 1, 8))), np.array([[0.5, 0, 0]]))
    a.save(tmp_path / "bank.npz")
    b = PrototypeAdapter(anchors, cfg, ["a", "b", "c"])
    assert b.load(tmp_path / "bank.npz") and b.count[0] == 1
    assert np.allclose(b.prototypes, a.prototypes)
    c = PrototypeAdapter(anchors, AdaptationConfig(capacity=2), ["a", "b", "z"])
    assert not c.load(tmp_path / "bank.npz") and c.count.sum() == 0


def test_shared_shift_moves_every_class_alike():
    anchors = unit(np.eye(3, 8)[:, None, :])
    cfg = AdaptationConfig(capacity=4, min_margin=0.0, shared_shift=1.0, class_mix=0.0, max_drift=2.0, min_count=1,
                           refresh_every=1)
    a = PrototypeAdapter(anchors, cfg, ["a", "b", "c"])
    offset = 0.5 * np.eye(8)[7]
    f = unit(np.stack([anchors[0] + offset, anchors[1] + offset]))
    a.observe(f, np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]]))
    moved = (a.prototypes - anchors)[..., 7]
    assert np.all(moved > 0.1) and np.allclose(moved, moved[0], atol=0.05)  # class c moved too, unobserved


def test_bank_running_sums_match_the_stored_windows(tmp_path):
    """The class sums kept as windows replace each other equal the bank's contents, also after a restore."""
    rng = np.random.default_rng(1)
    anchors = unit(rng.normal(size=(4, 1, 16)))
    cfg = AdaptationConfig(capacity=3, min_margin=0.0, min_count=1, refresh_every=1)
    a = PrototypeAdapter(anchors, cfg, list("abcd"))
    for _ in range(40):  # far more windows than slots: most of them replace a less confident one
        a.observe(unit(rng.normal(size=(5, 1, 16))), rng.normal(size=(5, 4)))
    assert a.count.max() == 3
    assert np.allclose(a.sums, a.memory.sum(axis=1), atol=1e-5)
    a.save(tmp_path / "bank.npz")
    b = PrototypeAdapter(anchors, cfg, list("abcd"))
    assert b.load(tmp_path / "bank.npz")
    assert np.allclose(b.sums, a.sums, atol=1e-5) and np.allclose(b.prototypes, a.prototypes, atol=1e-6)


def test_a_non_finite_window_is_never_stored():
    anchors = unit(np.eye(3, 8)[:, None, :])
    a = PrototypeAdapter(anchors, AdaptationConfig(min_margin=0.0, min_count=1, refresh_every=1), ["a", "b", "c"])
    bad = np.full((1, 1, 8), np.nan, dtype=np.float32)
    assert a.observe(bad, np.array([[0.9, 0.1, 0.0]])) == 0  # NaN features
    assert a.observe(unit(np.ones((1, 1, 8))), np.full((1, 3), np.nan)) == 0  # NaN scores
    a.observe(unit(anchors[:2] + 0.1), np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]]))
    assert np.isfinite(a.sums).all() and np.isfinite(a.prototypes).all()


def test_prototypes_update_every_few_stored_windows():
    anchors = unit(np.eye(3, 8)[:, None, :])
    cfg = AdaptationConfig(capacity=8, min_margin=0.0, shared_shift=1.0, max_drift=2.0, min_count=1, refresh_every=3)
    a = PrototypeAdapter(anchors, cfg, ["a", "b", "c"])
    f = unit(np.stack([anchors[0] + 0.5 * np.eye(8)[7], anchors[1] + 0.5 * np.eye(8)[7]]))
    cos = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]])
    a.observe(f, cos)  # 2 stored: not yet
    assert np.array_equal(a.prototypes, anchors)
    a.observe(f[:1], cos[:1])  # the third: the prototypes move
    assert not np.allclose(a.prototypes, anchors)


def test_cap_drift_keeps_within_the_cone():
    anchor = unit(np.array([1.0, 0, 0]))
    p = unit(np.array([0.0, 1.0, 0]))
    q = cap_drift(p, anchor, 0.05)
    assert abs((1 - q @ anchor) - 0.05) < 1e-9 and abs(np.linalg.norm(q) - 1) < 1e-9


def test_frame_buffer_keeps_the_newest_frames_across_its_compactions():
    buf = FrameBuffer(capacity=5, joints=2)
    for i in range(23):  # the storage (10 rows) fills and compacts several times
        buf.append(i / 10, np.full((2, 3), i))
        assert len(buf) == min(i + 1, 5) and buf.last_t == i / 10
        assert buf.first_t == max(0, i - 4) / 10
    ts, joints = buf.since(19.5 / 10)
    assert np.allclose(ts, [2.0, 2.1, 2.2]) and joints[:, 0, 0].tolist() == [20, 21, 22]
    ts, _ = buf.since(-1.0)  # earlier than anything held: the whole buffer, never the dropped frames
    assert np.allclose(ts, [1.8, 1.9, 2.0, 2.1, 2.2])
    buf.append(2.3, np.array([[np.nan, 1.0, 1.0], [2.0, 2.0, 2.0]]))  # a non-finite joint is a missing one
    assert buf.since(2.3)[1][0].tolist() == [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]
    with pytest.raises(ValueError, match="joints must be"):
        buf.append(2.4, np.zeros((25, 3)))


# --------------------------------------------------------------------------------------------- schema
def test_schema_validator_rejects_what_subscribers_could_not_read():
    ok = {"schema": "zsar.event/1", "type": "action.start", "seq": 1, "ts": 1.0, "mono": 2.0, "source": "cam",
          "person": 0, "label": "wave", "score": 0.5, "start_ts": 1.0, "start_wall": 3.0}
    validate("zsar.action.start", ok)
    with pytest.raises(ValueError, match="missing 'label'"):
        validate("zsar.action.start", {k: v for k, v in ok.items() if k != "label"})
    with pytest.raises(ValueError, match="expected 'zsar.action.start'"):
        validate("zsar.action.end", ok)
    with pytest.raises(ValueError, match="'seq' is str"):
        validate("zsar.action.start", {**ok, "seq": "1"})


def test_loopback_detection():
    assert is_loopback("tcp://127.0.0.1:5556") and is_loopback("tcp://localhost:1") and is_loopback("ipc:///tmp/x")
    assert not is_loopback("tcp://0.0.0.0:5556") and not is_loopback("tcp://*:5556") and not is_loopback("tcp://10.0.0.2:1")
