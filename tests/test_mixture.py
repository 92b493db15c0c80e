"""Training on several sources: the mixture's label set, its cross-dataset split, sampling weights, and a run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runtime.synth import SYNTHETIC_CLASSES
from train.__main__ import main as train_main
from train.data.base import DataError
from train.data.classes import class_names
from train.data.mixture import concept_groups, load_mixture, mixture_split, parse_weights, source_weights
from train.text.descriptions import load_descriptions

from test_kinect_readers import sequence, write_nw_json, write_utd_mat

TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0"]


def real_root(tmp_path, per_class: int = 3):
    """A datasets folder laid out as unpack.sh does, with tiny UTD-MHAD and NW-UCLA copies the test writes."""
    rng = np.random.default_rng(0)
    for a in range(1, 28):
        for s in range(1, per_class + 1):
            seq = sequence(24) + rng.normal(0, 0.01, (24, 20, 3))
            write_utd_mat(tmp_path / "utd-mhad" / "Skeleton" / f"a{a}_s{s}_t1_skeleton.mat", seq)
    codes = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
    for label, a in enumerate(codes, 1):
        for s in range(1, per_class + 1):
            seq = sequence(20) + rng.normal(0, 0.01, (20, 20, 3))
            write_nw_json(tmp_path / "nw-ucla" / "all_sqe" / f"a{a:02d}_s{s:02d}_e00_v01.json", seq, label)
    return tmp_path


def test_mixture_label_set_words_and_split(tmp_path):
    root = real_root(tmp_path)
    parts = load_mixture("utd_mhad+synthetic", "nw_ucla", str(root), synthetic_per_class=1)
    split = parts.split
    assert split.label_set == "utd_mhad+synthetic+nw_ucla"
    names = class_names(split.label_set)
    n_synth = len(SYNTHETIC_CLASSES)
    assert len(names) == 27 + n_synth + 10 and names[0] == "right arm swipe to the left" and names[-1] == "carry"
    assert load_descriptions(split.label_set).labels == list(names)  # each class keeps its own dataset's words
    assert set(split.unseen) == set(range(27 + n_synth, 37 + n_synth))  # the held-out dataset's classes only
    assert split.val and all(c < 27 for c in split.val)  # validation classes come from the real training source
    assert set(parts.test_unseen.meta["source"]) == {"nw_ucla"} and len(parts.test_unseen) == 30
    assert "nw_ucla" not in set(parts.train.meta["source"]) | set(parts.val_unseen.meta["source"])
    assert set(parts.val_seen.meta["source"]) == {"utd_mhad"}  # model selection on real held-out samples
    assert not np.isin(parts.train.labels, split.val + split.unseen).any()


def test_single_source_gets_its_own_unseen_classes_and_bad_arguments_are_clear(tmp_path):
    s = mixture_split("utd_mhad", ["utd_mhad"], [27], None)
    assert len(s.unseen) == 5 and len(s.val) == 3 and not set(s.unseen) & set(s.val)
    assert mixture_split("a+b", ["a", "b"], [10, 5], None).unseen == ()
    with pytest.raises(DataError, match="also a training source"):
        load_mixture("utd_mhad+nw_ucla", "nw_ucla", str(tmp_path))
    with pytest.raises(DataError, match="unknown skeleton source 'nosuch'"):
        load_mixture("nosuch", None, str(tmp_path))
    with pytest.raises(DataError, match="SOURCE=WEIGHT"):
        parse_weights("synthetic:0.5")


def test_source_weights_share_the_draws():
    from train.data.base import SkeletonDataset

    seqs = [np.ones((3, 1, 25, 3), np.float32)] * 40
    src = ["a"] * 30 + ["b"] * 10
    ds = SkeletonDataset.from_sequences(seqs, [0] * 40, ["x"], "t", {"source": src})
    p = source_weights(ds, parse_weights("a=1,b=3"))
    assert np.isclose(p.sum(), 1) and np.isclose(p[:30].sum(), 0.25) and np.isclose(p[30:].sum(), 0.75)


def test_concepts_join_the_same_action_across_datasets():
    groups = concept_groups("utd_mhad+bandai_namco")
    utd, bandai = class_names("utd_mhad"), class_names("bandai_namco")
    wave_utd = utd.index("right hand wave")
    wave_bandai = 27 + bandai.index("wave right hand")
    assert groups[wave_utd] == groups[wave_bandai]
    assert groups[utd.index("squat")] != groups[wave_utd]


def test_mixture_run_trains_and_tests_on_the_held_out_dataset(tmp_path):
    root = real_root(tmp_path / "data", per_class=2)
    train_main(["--method", "pgfa", "--data", "utd_mhad+synthetic", "--holdout", "nw_ucla", "--root", str(root),
                "--per-class", "1", "--epochs", "1", "--epoch-size", "48", "--source-weights", "synthetic=0.5",
                "--out", str(tmp_path), "--name", "mix", *TINY])
    m = json.loads((tmp_path / "mix" / "metrics.json").read_text())
    assert m["split"] == "holdout-nw_ucla" and m["samples"]["test_unseen"] == 20
    assert 0 <= m["test"]["zsl"]["top1"] <= 1 and "seen" in m["test"]
    cfg = json.loads((tmp_path / "mix" / "config.json").read_text())
    assert cfg["run"]["holdout"] == "nw_ucla" and cfg["run"]["data"] == "utd_mhad+synthetic"


def test_augment_handles_one_frame_and_long_sequences():
    from train.data.loading import Augment

    rng = np.random.default_rng(0)
    one = np.ones((1, 1, 25, 3))
    assert Augment(window_frames=72)(one, rng).shape == (1, 1, 25, 3)
    long = np.ones((400, 1, 25, 3))
    lengths = {len(Augment(window_frames=72, depth_noise=0.02)(long, rng)) for _ in range(20)}
    assert min(lengths) >= 50 and max(lengths) <= 94  # cut to about the device's window, not to half of 400
    masked = Augment(mask_uncommon=1.0)(long[:10], rng)
    assert np.all(masked[:, :, [21, 22, 23, 24]] == 0) and np.all(masked[:, :, :21] != 0)


def test_pad_short_plays_a_short_action_at_its_own_pace_in_a_whole_window():
    from train.data.loading import Augment

    rng = np.random.default_rng(0)
    # a 20-frame action: the joint's height climbs one step per frame
    short = np.zeros((20, 1, 25, 3)) + 1.0
    short[:, 0, :, 1] += np.arange(20)[:, None]
    aug = Augment(window_frames=72, pad_short=1.0, rotate_deg=0.0, scale=0.0, jitter=0.0)
    for _ in range(10):
        x = aug(short, rng)
        assert 57 <= len(x) <= 87  # a window's length of real time (0.8-1.2 of it), not the action stretched
        step = np.diff(x[:, 0, 0, 1])
        moving = step > 0
        assert np.allclose(step[moving], 1.0)  # the action keeps its pace
        assert 9 <= moving.sum() <= 19  # the crop of the action (half to all of it), the rest still
    plain = Augment(window_frames=72, rotate_deg=0.0, scale=0.0, jitter=0.0)
    assert all(len(plain(short, rng)) <= 20 for _ in range(5))  # off by default: the crop alone
