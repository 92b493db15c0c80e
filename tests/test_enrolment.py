"""Enrolment (issue 19): examples from recordings the tests write become prototypes through the device's own
encoder; a running runtime picks a new store up; a store of another encoder or a corrupt one is refused with a
clear error while the runtime keeps its last good prototypes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from runtime.bundle import load_bundle
from runtime.enrol import main as enrol
from runtime.enrolment import (
    EnrolmentError,
    EnrolmentStore,
    apply_examples,
    calibrated,
    combine,
    default_store,
    load_store,
    open_store,
)
from runtime.frames import Person
from runtime.recording import RecordingWriter
from runtime.scoring import score
from runtime.sources import recording_source
from runtime.synth import SynthConfig, generate
from runtime.vocab import VocabEntry, Vocabulary, resolve

from streamtools import check_stream, finish, start

VOCAB = "hand waving\nclapping\njumping up\nsitting down\n"


def write_motion(path: Path, label: str, seed: int, fps: float = 30.0, repeats: int = 1, person: int = 0) -> Path:
    joints = generate(label, seed, SynthConfig(noise=0.3)).joints
    joints = np.concatenate([joints] * repeats)
    with RecordingWriter(path, source="test") as w:
        for i, j in enumerate(joints):
            w.write(i / fps, [Person(person, j)])
    return path


def vocabulary(bundle, text: str = VOCAB) -> Vocabulary:
    entries = [VocabEntry(x, None, i + 1) for i, x in enumerate(text.split("\n")) if x]
    return resolve(entries, bundle.table, None, len(bundle.granularities))


@pytest.fixture
def squats(tmp_path) -> list[Path]:
    return [write_motion(tmp_path / f"squat{i}.jsonl", "Squatting down", seed=i) for i in range(3)]


def test_enrol_from_recordings_stores_features_tied_to_the_encoder(tmp_path, bundle_dir, squats, capsys):
    (tmp_path / "actions.txt").write_text(VOCAB)
    vocab = str(tmp_path / "actions.txt")
    assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--label", "deep knee bend", *map(str, squats[:2])]) == 0
    assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--label", "Deep knee bend", str(squats[2]),
                  "--start", "0.5", "--end", "1.5"]) == 0
    bundle = load_bundle(bundle_dir)
    store = load_store(default_store(vocab), bundle.encoder_sha256)
    assert store.path == tmp_path / "actions.enrolled.npz"
    assert store.counts() == {"deep knee bend": 3}, "one action is one label, whatever its case"
    g, d = bundle.table.prototypes.shape[1:]
    assert store.features.shape == (3, g, d)
    assert np.allclose(np.linalg.norm(store.features, axis=-1), 1, atol=1e-5)
    assert "[0.5:1.5]" in store.sources[2]
    # the cut example is other frames than the whole file: other features
    whole = EnrolmentStore(tmp_path / "x.npz", bundle.encoder_sha256)
    from runtime.backends import create_backend
    from runtime.enrol import from_recording
    from runtime.enrolment import example_features

    joints, ts, _ = from_recording(squats[2], None, None, None)
    whole.add("x", example_features(create_backend(bundle, "auto"), bundle, joints, ts), "")
    assert float((whole.features[0] * store.features[2]).sum()) < 0.9999
    out = capsys.readouterr().out
    assert "not in" in out and "examples alone" in out
    assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--list"]) == 0
    assert "'deep knee bend' (3)" in capsys.readouterr().out
    assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--remove", "DEEP KNEE BEND"]) == 0
    assert load_store(default_store(vocab)).counts() == {}
    assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--remove", "deep knee bend"]) == 2


def test_guided_capture_records_count_examples_from_a_source(tmp_path, bundle_dir, capsys):
    rec = write_motion(tmp_path / "long.jsonl", "Hand waving", seed=1, repeats=4)
    store = tmp_path / "mine.npz"
    assert enrol(["--bundle", str(bundle_dir), "--store", str(store), "--label", "hello wave", "--source", str(rec),
                  "--count", "2", "--countdown", "0.3", "--seconds", "1.0", "--no-realtime"]) == 0
    s = load_store(store)
    assert s.counts() == {"hello wave": 2}
    assert "example 2/2 stored" in capsys.readouterr().out
    # the source runs out before the third example: an error, the two stored ones are kept
    assert enrol(["--bundle", str(bundle_dir), "--store", str(store), "--label", "hello wave", "--source", str(rec),
                  "--count", "9", "--countdown", "0.3", "--seconds", "1.5", "--no-realtime"]) == 2
    assert "ended" in capsys.readouterr().err
    assert load_store(store).counts()["hello wave"] > 2


def test_bad_examples_are_refused_naming_the_file(tmp_path, bundle_dir, squats, capsys):
    store = tmp_path / "s.npz"
    base = ["--bundle", str(bundle_dir), "--store", str(store), "--label", "squat"]
    assert enrol([*base, str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: no such recording" in capsys.readouterr().err
    empty = tmp_path / "nobody.jsonl"
    with RecordingWriter(empty) as w:
        for i in range(20):
            w.write(i / 30, [])
    assert enrol([*base, str(squats[0]), str(empty)]) == 2
    assert "nobody.jsonl: 0 frames of any person" in capsys.readouterr().err
    assert not store.exists(), "a bad file among several stores nothing"
    broken = tmp_path / "broken.jsonl"
    broken.write_text(squats[0].read_text().replace('"t":0.1,', '"t":"soon",', 1))
    assert enrol([*base, str(broken)]) == 2
    assert "broken.jsonl:" in capsys.readouterr().err
    assert enrol([*base, str(squats[0]), "--person", "7"]) == 2
    assert "frames of person 7" in capsys.readouterr().err
    assert enrol([*base[:-2], "--label", "a | b", str(squats[0])]) == 2
    assert "--label" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        enrol([*base, str(squats[0]), "--source", "0"])


def test_store_of_another_encoder_or_corrupt_is_refused(tmp_path, bundle_dir):
    bundle = load_bundle(bundle_dir)
    s = EnrolmentStore(tmp_path / "s.npz", "0" * 64)
    s.add("wave", np.ones(bundle.table.prototypes.shape[1:]), "test")
    s.save()
    with pytest.raises(EnrolmentError, match="another skeleton encoder"):
        load_store(s.path, bundle.encoder_sha256)
    with pytest.raises(EnrolmentError, match="another skeleton encoder"):
        open_store(s.path, bundle.encoder_sha256)
    assert enrol(["--bundle", str(bundle_dir), "--store", str(s.path), "--list"]) == 2
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(EnrolmentError, match="bad.npz: not an enrolment store"):
        load_store(bad)
    np.savez(bad, format=np.array("zsar.enrolment/1"), encoder_sha256=np.array("x"), labels=np.array(["a"]),
             features=np.full((1, 1, 4), np.nan, np.float32), sources=np.array(["s"]))
    with pytest.raises(EnrolmentError, match="'features' has NaN"):
        load_store(bad)
    np.savez(bad, format=np.array("zsar.enrolment/1"), labels=np.array(["a"]))
    with pytest.raises(EnrolmentError, match="field 'encoder_sha256' missing"):
        load_store(bad)


def test_examples_join_words_and_stand_alone(bundle_dir):
    bundle = load_bundle(bundle_dir)
    words = vocabulary(bundle)
    g, d = words.prototypes.shape[1:]
    rng = np.random.default_rng(0)
    ex = rng.normal(size=(3, g, d)).astype(np.float32)
    store = EnrolmentStore(Path("mem.npz"), bundle.encoder_sha256)
    for e in ex:
        store.add("Clapping", e, "test")
    store.add("my own gesture", ex[0] + 0.1, "test")
    v = apply_examples(words, store, bundle)
    assert v.labels == [*words.labels, "my own gesture"] and v.enrolled == {"Clapping": 3, "my own gesture": 1}
    i = words.labels.index("clapping")
    assert np.allclose(v.prototypes[i], combine(words.prototypes[i], store.examples("clapping")))
    mean = store.examples("clapping").mean(0)
    assert (v.prototypes[i] * mean).sum() > (words.prototypes[i] * mean).sum(), "the examples pull the prototype"
    assert np.allclose(v.prototypes[-1], store.examples("my own gesture")[0], atol=1e-6)
    # only enrolled labels are re-scaled; on the bundle's reference windows they have the text prototypes' mean
    assert np.all(v.score_scale[:i] == 1) and np.all(v.score_offset[:i] == 0) and v.score_scale[i] != 1
    bg = bundle.background()
    bg = bg / np.linalg.norm(bg, axis=-1, keepdims=True)
    on = np.array([lab in ("clapping", "my own gesture") for lab in v.labels])
    s = score(bg, v.prototypes[on], bundle.weights, 1.0) * v.score_scale[on] + v.score_offset[on]
    assert abs(s.mean() - score(bg, bundle.table.prototypes, bundle.weights, 1.0).mean()) < 1e-4
    # the floor: an enrolled label with words scores at least what its words alone score, and where the mapped
    # combined prototype scores higher it keeps that; labels without examples are untouched
    assert v.floor_rows.tolist() == [i]
    got = calibrated(score(bg, v.prototypes, bundle.weights, 1.0), bg, v, bundle.weights)
    alone = score(bg, words.prototypes, bundle.weights, 1.0)
    mapped = score(bg, v.prototypes[i : i + 1], bundle.weights, 1.0)[:, 0] * v.score_scale[i] + v.score_offset[i]
    assert np.allclose(got[:, i], np.maximum(mapped, alone[:, i]), atol=1e-6)
    assert (mapped < alone[:, i]).any() and (mapped > alone[:, i]).any(), "both sides of the floor are exercised"
    assert np.allclose(got[:, :i], alone[:, :i], atol=1e-6) and np.allclose(got[:, i + 1 : -1], alone[:, i + 1 :], atol=1e-6)
    own = score(bg, v.prototypes[-1:], bundle.weights, 1.0)[:, 0] * v.score_scale[-1] + v.score_offset[-1]
    assert np.allclose(got[:, -1], own, atol=1e-6), "a label of examples alone has no words to floor it"
    assert calibrated(alone, bg, words, bundle.weights) is alone
    # more examples weigh more
    store2 = EnrolmentStore(Path("mem.npz"), bundle.encoder_sha256)
    store2.add("clapping", ex[0], "test")
    one = apply_examples(words, store2, bundle).prototypes[i]
    e0 = ex[0] / np.linalg.norm(ex[0], axis=-1, keepdims=True)
    assert (one * e0).sum() < (combine(words.prototypes[i], np.repeat(ex[:1], 5, 0)) * e0).sum()
    # a conditioned-mode bundle has no prototypes for examples: the vocabulary is left as it was
    conditioned = dataclasses.replace(bundle, manifest={**bundle.manifest, "scoring": {**bundle.manifest["scoring"],
                                                                                         "mode": "conditioned"}})
    assert apply_examples(words, store, conditioned) is words


def test_running_runtime_picks_up_enrolment_and_survives_a_corrupt_store(tmp_path, bundle_dir):
    rec = write_motion(tmp_path / "squat.jsonl", "Squatting down", seed=4, repeats=2)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: recording_source(rec), vocab=VOCAB, loop=True,
                                     duration=20)
    vocab = str(tmp_path / "actions.txt")
    try:
        time.sleep(0.8)
        assert app.recognizer.vocab.enrolled == {}
        t0 = time.monotonic()
        assert enrol(["--bundle", str(bundle_dir), "--vocab", vocab, "--label", "deep knee bend", str(rec)]) == 0
        loaded = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_loaded", 3)
        assert loaded and loaded["enrolled"] == {"deep knee bend": 1} and "deep knee bend" in loaded["labels"]
        assert time.monotonic() - t0 < 2.5, "enrolment takes effect within a second of the store changing"
        started = sub.wait_for(lambda m: m["type"] == "action.start" and m["label"] == "deep knee bend", 6)
        assert started, "the enrolled action is recognised on the motion it was enrolled from"
        good = app.recognizer.vocab
        default_store(vocab).write_bytes(b"garbage")
        err = sub.wait_for(lambda m: m["type"] == "status" and m["event"] == "vocabulary_error", 3)
        assert err and "actions.enrolled.npz: not an enrolment store" in err["message"]
        assert app.recognizer.vocab is good, "the last good prototypes are kept"
    finally:
        app.stop()
    finish(app, sub, thread)
    check_stream(sub)


def test_recogniser_floors_an_enrolled_label_at_its_words(bundle_dir, squats):
    """On the device's own path: each window's score of an enrolled label with words is the larger of its mapped
    combined score and what its words alone score there; the other labels score as with words alone."""
    from runtime.backends import create_backend
    from runtime.enrolment import example_features
    from runtime.factory import build_recognizer
    from runtime.recognizer import RecognizerConfig

    bundle = load_bundle(bundle_dir)
    words = vocabulary(bundle)
    motion = generate("Squatting down", 2, SynthConfig(noise=0.3)).joints
    squat = example_features(create_backend(bundle, "ort-cpu"), bundle, motion, np.arange(len(motion)) / 30)
    store = EnrolmentStore(Path("mem.npz"), bundle.encoder_sha256)
    store.add("clapping", -squat, "test")  # examples opposite to the motion: the floor has to hold its windows up
    store.add("clapping", -squat + 0.1, "test")
    store.add("deep knee bend", squat, "test")  # examples alone: no words, no floor
    v = apply_examples(words, store, bundle)
    cfg = RecognizerConfig(stride=4, top_k=len(v.labels), adapt=False)
    rec, plain = build_recognizer(bundle, v, cfg), build_recognizer(bundle, words, cfg)
    i = v.labels.index("clapping")
    checked = floored = 0
    for t, joints in enumerate(motion):
        scored = rec.push(t / 30, [Person(0, joints)]), plain.push(t / 30, [Person(0, joints)])
        if all(scored):
            got = {x["label"]: x["score"] for x in rec.publisher.predictions[-1]["top_k"]}
            alone = {x["label"]: x["score"] for x in plain.publisher.predictions[-1]["top_k"]}
            f = rec.backend.features(rec.window(0)[None])
            mapped = score(f, v.prototypes[i : i + 1], bundle.weights, 1.0)[0, 0] * v.score_scale[i] + v.score_offset[i]
            assert got["clapping"] == pytest.approx(max(mapped, alone["clapping"]), abs=2e-4)
            assert all(got[x] == pytest.approx(alone[x], abs=2e-4) for x in alone if x != "clapping")
            floored += mapped < alone["clapping"]
            checked += 1
    assert checked >= 5 and floored >= 1
