"""The training engine end to end on tiny data: synthetic, NTU and PKU in their real file formats, resume,
and two-process DDP through torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from runtime.synth import SYNTHETIC_CLASSES, SynthConfig, generate
from train.__main__ import main as train_main
from train.checkpoint import load
from train.data.loading import CACHE_VERSION
from train.evaluate import gzsl_metrics, tune_gamma, zsl_metrics
from train.methods.pgfa import aligned_prototypes, soft_contrastive_loss

from formats import write_ntu_skeleton, write_pku_labels, write_pku_sequence

TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0", "--eval-per-class", "3"]


def read_metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def check_metrics(m: dict, aligned: bool) -> None:
    for key in ("top1", "top5"):
        assert 0.0 <= m["test"]["zsl"][key] <= 1.0
    for key in ("seen", "unseen", "h", "gamma"):
        assert key in m["test"]["gzsl"]
    assert m["selection"]["best_epoch"] >= 0 and "gamma" in m["selection"]
    assert len(m["history"]) >= 1 and all(np.isfinite(h["loss"]) for h in m["history"])
    if aligned:
        assert {"zsl_aligned", "gzsl_aligned", "zsl_streaming"} <= set(m["test"])


def test_synthetic_run_learns_and_writes_a_complete_run_directory(tmp_path):
    train_main(["--method", "pgfa", "--data", "synthetic", "--per-class", "6", "--epochs", "4", "--lr", "0.05",
                "--out", str(tmp_path), "--name", "run", *TINY])
    run = tmp_path / "run"
    assert {"config.json", "best.pt", "last.pt", "metrics.json", "train.log"} <= {p.name for p in run.iterdir()}
    m = read_metrics(run)
    check_metrics(m, aligned=True)
    losses = [h["loss"] for h in m["history"]]
    assert losses[-1] < losses[0], f"the loss does not fall: {losses}"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["run"]["method"] == "pgfa" and cfg["method"]["backbone"] == "edge-tiny"
    model, ckpt = load(run)  # rebuilt from the checkpoint alone
    x = torch.zeros(2, 3, 16, 25, 1)
    assert model.encode(x).shape == (2, 1, 384)
    assert ckpt["label_set"] == "synthetic" and len(ckpt["class_names"]) == len(SYNTHETIC_CLASSES)
    assert ckpt["text_encoder"]["id"] == "all-MiniLM-L6-v2"


def test_resume_continues_from_last_checkpoint(tmp_path):
    args = ["--method", "baseline", "--data", "synthetic", "--per-class", "3", "--out", str(tmp_path), "--name", "r", *TINY]
    train_main([*args, "--epochs", "1"])
    train_main([*args, "--epochs", "2", "--resume", str(tmp_path / "r" / "last.pt")])
    m = read_metrics(tmp_path / "r")
    assert [h["epoch"] for h in m["history"]] == [0, 1]
    check_metrics(m, aligned=False)


def _sequence_for(name: str, seed: int) -> np.ndarray:
    """A plausible motion for any class: the synthetic program when one exists, else a wave."""
    from runtime.synth import SYNTHETIC_CLASSES

    label = name if name in SYNTHETIC_CLASSES else "Hand waving"
    return generate(label, seed, SynthConfig(noise=0.3)).joints[::3][:14]


def test_ntu_raw_path_end_to_end(tmp_path):
    from train.data.classes import class_names

    root = tmp_path / "nturgbd"
    root.mkdir()
    for a, name in enumerate(class_names("ntu60")):
        for performer in (1, 2, 3):  # 1 and 2 train in the cross-subject protocol, 3 tests
            seq = _sequence_for(name, a * 10 + performer)
            write_ntu_skeleton(root / f"S001C001P{performer:03d}R001A{a + 1:03d}.skeleton", [seq])
    train_main(["--method", "pgfa", "--data", "ntu60", "--root", str(root), "--split", "55_5", "--epochs", "1",
                "--out", str(tmp_path), "--name", "ntu", *TINY])
    m = read_metrics(tmp_path / "ntu")
    check_metrics(m, aligned=True)
    assert m["samples"]["test_unseen"] == 5 and m["samples"]["val_unseen"] == 10
    assert (root / f".zsar_ntu60_v{CACHE_VERSION}.npz").exists()  # parsed once, cached beside the data


def test_pku_path_end_to_end(tmp_path):
    from train.data.classes import class_names

    root = tmp_path / "pku"
    (root / "skeleton").mkdir(parents=True)
    (root / "label").mkdir()
    names = class_names("pku51")
    for seq_id in ("0002-L", "0003-M", "0300-R"):  # 0300 is a cross-subject test sequence
        frames, rows, t = [], [], 1
        for a, name in enumerate(names):
            seg = _sequence_for(name, a)
            full = np.zeros((len(seg), 2, 25, 3), np.float32)
            full[:, 0] = seg
            frames.append(full)
            rows.append((a + 1, t, t + len(seg) - 1, 1))
            t += len(seg)
        write_pku_sequence(root / "skeleton" / f"{seq_id}.txt", np.concatenate(frames))
        write_pku_labels(root / "label" / f"{seq_id}.txt", rows)
    train_main(["--method", "baseline", "--data", "pku", "--root", str(root), "--split", "46_5", "--epochs", "1",
                "--out", str(tmp_path), "--name", "pku", *TINY])
    m = read_metrics(tmp_path / "pku")
    check_metrics(m, aligned=False)
    assert m["samples"]["test_unseen"] == 5


@pytest.mark.timeout(900)
def test_torchrun_ddp_two_cpu_processes(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "train", "--method", "pgfa", "--data", "synthetic", "--per-class", "3", "--epochs", "1",
           "--out", str(tmp_path), "--name", "ddp", *TINY]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=850, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    log = (tmp_path / "ddp" / "train.log").read_text()
    assert "world 2" in log
    check_metrics(read_metrics(tmp_path / "ddp"), aligned=True)


# ---------------------------------------------------------------------------- metrics and losses


def test_zsl_and_gzsl_metrics():
    scores = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.5, 0.0, 1.0], [2.0, 0.0, 1.9]])
    labels = np.array([0, 1, 2, 2])
    z = zsl_metrics(scores, labels)
    assert z["top1"] == 0.75 and z["top5"] == 1.0
    seen = np.array([True, False, False])
    g0 = gzsl_metrics(scores, labels, seen, 0.0)
    assert g0["seen"] == 1.0 and g0["unseen"] == pytest.approx(2 / 3)
    gamma, best = tune_gamma(scores, labels, seen)
    assert best["h"] >= g0["h"]
    assert gzsl_metrics(scores, labels, seen, 0.2)["unseen"] == 1.0  # calibrated stacking fixes sample 4


def test_soft_contrastive_loss_prefers_correct_alignment():
    labels = torch.tensor([0, 0, 1, 2])
    same = (labels[:, None] == labels[None, :]).float()
    good = soft_contrastive_loss(10 * same, same > 0, 10.0)
    bad = soft_contrastive_loss(10 * (1 - same), same > 0, 10.0)
    assert good < bad and good < 0.1


def test_aligned_prototypes_move_to_confident_pseudo_class_means():
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8)
    feats = centres[[0, 0, 0, 1, 1, 2]] + 0.05 * rng.normal(size=(6, 8))
    feats = (feats / np.linalg.norm(feats, axis=1, keepdims=True))[:, None]
    text = np.roll(centres, 1, axis=1) * 0.5 + centres * 0.5
    text = (text / np.linalg.norm(text, axis=1, keepdims=True))[:, None]
    s = 10 * np.einsum("ngd,cgd->nc", feats, text)
    p = aligned_prototypes(feats, text, s, 1.0)
    assert np.allclose(np.linalg.norm(p, axis=-1), 1.0)
    assert p[0, 0] @ centres[0] > text[0, 0] @ centres[0]
    only_first = aligned_prototypes(feats, text, s, 1.0, classes=[0])
    assert np.allclose(only_first[1:], text[1:])


def test_input_streams_are_computed_inside_the_graph_and_export(tmp_path):
    """Bone and motion streams come from the joint window inside the model, so the device feeds what it always
    feeds; the exported graph matches PyTorch."""
    from export import onnx_export
    from train.methods import method_class

    cls = method_class("pgfa")
    cfg = cls.config_class(backbone="edge-tiny", frames=16, streams="joint+bone+motion")
    method = cls(cfg, 384).eval()
    assert method.backbone.data_bn.num_features == 9 * 25
    x = torch.randn(4, 3, 16, 25, 1)
    x[:, :, :, 21:] = 0  # the joints the common input drops
    path = onnx_export.export_encoder(method, x.numpy(), tmp_path / "enc.onnx")
    assert onnx_export.parity(method, path, x.numpy())["max_abs_diff"] < 1e-4
    bone = method.backbone.expand(x[..., 0])[:, 3:6]
    assert torch.allclose(bone[:, :, :, 1], x[:, :, :, 1, 0] - x[:, :, :, 0, 0])  # spine mid minus spine base
    motion = method.backbone.expand(x[..., 0])[:, 6:]
    assert torch.all(motion[:, :, 0] == 0) and torch.allclose(motion[:, :, 5], x[:, :, 5, :, 0] - x[:, :, 4, :, 0])
    with pytest.raises(ValueError, match="unknown input streams"):
        cls(cls.config_class(backbone="edge-tiny", streams="joint+colour"), 384)
