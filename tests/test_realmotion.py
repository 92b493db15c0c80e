"""Real motion capture (pybullet's clips): the reader's skeletons, and the results page generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runtime import skeleton as sk

pytest.importorskip("pybullet_data", reason="the motion-capture clips come with pybullet (pip install -e .[bench])")


def test_reader_gives_plausible_upright_skeletons():
    from train.data.mocap import LABELS, load_mocap, motions_dir, read_clip, view

    clip = read_clip(motions_dir() / "humanoid3d_walk.txt")
    assert clip.label == "walking" and len(clip.joints) >= 90, "a cyclic clip is repeated past a window's length"
    bones = np.median(sk.bone_lengths(clip.joints), axis=0)
    length = {sk.NTU_JOINTS[c]: bones[i] for i, (c, _) in enumerate(sk.NTU_BONES)}
    for name, (lo, hi) in {"left_elbow": (0.2, 0.35), "right_wrist": (0.15, 0.3), "left_knee": (0.35, 0.5),
                           "right_ankle": (0.35, 0.5), "head": (0.1, 0.25)}.items():
        assert lo < length[name] < hi, (name, length[name])
    j = clip.joints
    assert np.all(j[:, 3, 1] > j[:, 0, 1] + 0.3), "upright: head well above the pelvis"
    assert abs(j[..., 1].min()) < 0.05, "feet on the floor"
    assert np.all(j[:, 4, 0] > j[:, 8, 0]), "world frame: the left shoulder is on the actor's left (+x)"
    travel = j[-1, 0] - j[0, 0]
    assert travel[2] > 2.0 and abs(travel[0]) < 0.5, "the walk goes forward"
    cam = view(clip, 30)
    assert np.all(cam[..., 2] > 1.0) and np.all(cam[:, 3, 1] > cam[:, 0, 1]), "in front of the camera, y up"
    ds = load_mocap(yaws=(0,))
    assert len(ds) == 15 and len(set(ds.labels.tolist())) == len(LABELS) == 14


def test_recordings_replay_through_the_runtime_source(tmp_path):
    from runtime.sources import open_source
    from train.data.mocap import write_recordings

    paths = write_recordings(tmp_path)
    assert len(paths) == 15
    frames, info = open_source(str(paths[0]))
    first = next(frames)
    assert info.kind == "recording" and first.people[0].joints.shape == (25, 3)


def test_results_page_generator(tmp_path, bundle_dir, monkeypatch):
    from bench.results import main

    run = tmp_path / "runs" / "pgfa-x"
    run.mkdir(parents=True)
    metrics = {"method": "pgfa", "data": "synthetic", "split": "base12", "train_time_s": 600.0,
               "test": {"zsl": {"top1": 0.5, "top5": 0.9}, "gzsl": {"seen": 0.6, "unseen": 0.5, "h": 0.545},
                        "zsl_aligned": {"top1": 0.6}, "gzsl_aligned": {"seen": 0.6, "unseen": 0.55, "h": 0.57},
                        "zsl_streaming": {"top1": 0.52}}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.json").write_text(json.dumps({"run": {"method": "pgfa", "data": "synthetic", "split": "base12",
                                                         "epochs": 5}, "method": {"backbone": "edge-tiny"}}))
    monkeypatch.chdir(tmp_path)
    out = main(["--runs", str(tmp_path / "runs"), "--bundle", str(bundle_dir), "--out", str(tmp_path / "docs" / "results.md"),
                "--quick", "--skip", "bench,runtime,pipeline,adaptation,synth"])
    text = out.read_text()
    assert "| `pgfa-x` | pgfa | synthetic/base12 | 50.0 | 90.0 | 60.0 | 50.0 | 54.5 | 60.0 |" in text
    # a config.json written before --select-per-class existed: that run selected on every held-out sample
    assert "python -m train --method pgfa --data synthetic --split base12 --select-per-class 0 --epochs 5 --backbone edge-tiny" in text
    assert "Real motion" in text and "python -m bench.realmotion" in text
    assert (tmp_path / "docs" / "img" / "realmotion_confusion.png").exists()
    assert (tmp_path / "docs" / "results" / "realmotion_described.json").exists()
