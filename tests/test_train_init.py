"""--init RUN (start from another run's weights), --freeze backbone, and fine-tuning on your own recordings end to
end: a tiny base run trained here on synthetic data, recordings written with the runtime's writer, then
``python -m train --data recordings --init`` and ``python -m export`` on the result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from runtime.frames import Person
from runtime.recording import RecordingWriter
from runtime.synth import SynthConfig, generate
from train.__main__ import main as train_main
from train.checkpoint import InitError, build_method, init_from, load
from train.config import parse_args

TINY = ["--batch-size", "16", "--workers", "0", "--eval-per-class", "2"]
LABELS = {"wave_hand": "Hand waving", "jumping_jacks": "Jumping jacks", "kick": "Kicking something"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A base run: pgfa on edge-tiny, 16 frames, two steps on synthetic data."""
    out = tmp_path_factory.mktemp("runs")
    train_main(["--method", "pgfa", "--data", "synthetic", "--per-class", "1", "--epochs", "1", "--max-steps", "2",
                "--backbone", "edge-tiny", "--frames", "16", "--out", str(out), "--name", "base", *TINY])
    return out / "base"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Three labels, three examples each, as the runtime records them (15 fps)."""
    from runtime.synth import SYNTHETIC_CLASSES

    root = tmp_path_factory.mktemp("rec")
    for folder, motion in LABELS.items():
        motion = motion if motion in SYNTHETIC_CLASSES else SYNTHETIC_CLASSES[0]
        for k in range(3):
            joints = generate(motion, 100 + k, SynthConfig()).joints[::2]
            with RecordingWriter(root / folder / f"take{k}.jsonl", fps=15.0) as w:
                for i, j in enumerate(joints):
                    w.write(i / 15.0, [Person(0, j)])
    (root / "descriptions.json").write_text(json.dumps({"kick": "The person kicks forward with the right leg."}))
    return root


def backbone_state(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.backbone.state_dict().items()}


def test_init_loads_backbone_and_head_into_a_fresh_model(base):
    method, ckpt = load(base)
    torch.manual_seed(123)
    fresh = build_method(ckpt["model_args"])  # the same architecture, other random weights
    key = next(k for k, v in fresh.backbone.named_parameters() if v.ndim > 1)
    assert not torch.equal(fresh.backbone.state_dict()[key], method.backbone.state_dict()[key])
    report = init_from(fresh, base, ckpt["text_encoder"]["checksum"])
    for k, v in method.state_dict().items():
        if k != "log_scale":
            assert torch.equal(fresh.state_dict()[k], v), k
    assert set(report["loaded"]) >= {"backbone", "head"} and "log_scale" in report["not_loaded"]
    assert report["summary"].startswith(f"init from {base / 'best.pt'}") and "loaded backbone (" in report["summary"]
    other = init_from(build_method(ckpt["model_args"]), base, "another encoder's checksum")
    assert "head" in other["not_loaded"] and "another text encoder" in other["not_loaded"]["head"]


def test_options_left_out_are_the_init_runs(base):
    cfg, mcfg, _ = parse_args(["--data", "synthetic", "--init", str(base)])
    assert (cfg.method, mcfg.backbone, mcfg.frames, cfg.text_encoder) == ("pgfa", "edge-tiny", 16, "minilm")
    _, mcfg, _ = parse_args(["--init", str(base), "--temperature", "0.1", "--back", "edge-tiny"])
    assert mcfg.temperature == 0.1 and mcfg.backbone == "edge-tiny"
    _, mcfg, _ = parse_args(["--data", "synthetic"])
    assert mcfg.backbone != "edge-tiny"  # without --init, the defaults


def test_another_methods_init_run_gives_only_its_architecture(base):
    cfg = json.loads((base / "config.json").read_text())
    assert cfg["method"]["head_dropout"] == 0.1  # the pgfa base run's, not InfoCPL's 0.0
    _, mcfg, _ = parse_args(["--method", "infocpl", "--init", str(base), "--freeze", "backbone"])
    assert (mcfg.backbone, mcfg.frames, mcfg.head_dropout) == ("edge-tiny", 16, 0.0)
    _, mcfg, _ = parse_args(["--method", "infocpl", "--init", str(base), "--head-dropout", "0.2"])
    assert mcfg.head_dropout == 0.2


def test_a_method_trains_with_its_own_optimiser_unless_told(base):
    # Neuron and InfoCPL do not learn with SGD at 0.05 (their module docs); their run defaults say what they need
    cfg, _, _ = parse_args(["--method", "neuron", "--data", "synthetic"])
    assert (cfg.optimizer, cfg.lr) == ("adamw", 1e-3)
    cfg, _, _ = parse_args(["--method", "infocpl", "--init", str(base), "--freeze", "backbone"])
    assert (cfg.optimizer, cfg.lr) == ("adam", 1e-3)
    cfg, _, _ = parse_args(["--method", "neuron", "--optimizer", "sgd", "--lr", "0.1"])
    assert (cfg.optimizer, cfg.lr) == ("sgd", 0.1)
    cfg, _, _ = parse_args(["--method", "pgfa"])
    assert (cfg.optimizer, cfg.lr) == ("sgd", 0.05)
    from train.config import given_options
    from train.methods import method_class

    assert given_options("neuron", method_class("neuron"), ["--method", "neuron", "--lr", "0.01"]) == {"method", "lr"}


def test_resuming_with_another_optimiser_is_refused(tmp_path):
    from train.config import ConfigError, validate

    (tmp_path / "config.json").write_text(json.dumps({"run": {"optimizer": "sgd"}}))
    (tmp_path / "last.pt").write_bytes(b"")
    cfg, mcfg, _ = parse_args(["--method", "neuron", "--resume", str(tmp_path / "last.pt")])
    with pytest.raises(ConfigError, match=r"trained with --optimizer sgd.*resume it with adamw"):
        validate(cfg, mcfg)
    cfg, mcfg, _ = parse_args(["--method", "neuron", "--resume", str(tmp_path / "last.pt"), "--optimizer", "sgd"])
    validate(cfg, mcfg)


def test_fine_tune_on_recordings_from_a_base_run(base, recordings, tmp_path):
    train_main(["--data", "recordings", "--root", str(recordings), "--init", str(base), "--epochs", "1",
                "--max-steps", "2", "--out", str(tmp_path), "--name", "fine", *TINY])
    run = tmp_path / "fine"
    assert {"config.json", "best.pt", "last.pt", "metrics.json", "train.log", "descriptions.json"} <= {
        p.name for p in run.iterdir()}
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["run"]["init"] == str(base) and cfg["method"]["backbone"] == "edge-tiny" and cfg["method"]["frames"] == 16
    log = (run / "train.log").read_text()
    assert f"init from {base / 'best.pt'} (pgfa, edge-tiny): loaded backbone (" in log and "head (" in log
    m = json.loads((run / "metrics.json").read_text())
    assert m["init"]["loaded"]["backbone"] > 0 and m["samples"]["val_seen"] == 3 and m["samples"]["train"] == 6
    assert 0.0 <= m["test"]["seen"]["top1"] <= 1.0 and "zsl" in m["test"]
    _, ckpt = load(run)
    assert ckpt["label_set"] == "recordings" and ckpt["class_names"][:3] == ["jumping jacks", "kick", "wave hand"]
    texts = json.loads((run / "descriptions.json").read_text())["classes"]
    assert texts[1]["global"] == "The person kicks forward with the right leg." and texts[0]["global"] == "a person jumping jacks"


def test_freeze_backbone_keeps_the_init_weights_and_statistics(base, recordings, tmp_path):
    before, _ = load(base)
    train_main(["--data", "recordings", "--root", str(recordings), "--init", str(base), "--freeze", "backbone",
                "--epochs", "1", "--max-steps", "2", "--lr", "0.1", "--out", str(tmp_path), "--name", "frozen", *TINY])
    after, _ = load(tmp_path / "frozen" / "last.pt")
    for k, v in backbone_state(before).items():
        assert torch.equal(backbone_state(after)[k], v), k
    assert not torch.equal(after.head.proj, before.head.proj)  # the head trained


def test_a_mismatching_init_run_fails_clearly(base, recordings, tmp_path, capsys):
    args = ["--data", "recordings", "--root", str(recordings), "--epochs", "1", "--max-steps", "1",
            "--out", str(tmp_path), "--name", "bad", *TINY]
    with pytest.raises(SystemExit) as e:
        train_main([*args, "--init", str(base), "--streams", "joint+bone"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"--init {base}: --streams 'joint+bone' differs from the init run's 'joint'" in err
    for extra, message in ((["--init", str(tmp_path / "nosuch")], "no such run directory or checkpoint"),
                           (["--freeze", "backbone"], "--freeze backbone needs --init"),
                           (["--init", str(base), "--freeze", "head"], "--freeze head: unknown")):
        with pytest.raises(SystemExit):
            train_main([*args, *extra])
        assert message in capsys.readouterr().err
    # a bare checkpoint (no config.json beside it): the engine checks its model arguments
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(base / "best.pt", alone / "base.pt")
    with pytest.raises(SystemExit) as e:
        train_main([*args, "--init", str(alone / "base.pt"), "--frames", "16"])
    assert e.value.code == 1
    assert "--backbone 'edge' differs from the init run's 'edge-tiny'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # the failed run left nothing behind
    with pytest.raises(InitError, match="not a zsar checkpoint"):
        torch.save({"x": 1}, alone / "foreign.pt")
        init_from(load(base)[0], alone / "foreign.pt")


def test_export_a_fine_tuned_run(base, recordings, tmp_path):
    from export.__main__ import main as export_main

    train_main(["--data", "recordings", "--root", str(recordings), "--init", str(base), "--epochs", "1",
                "--max-steps", "1", "--out", str(tmp_path), "--name", "fine", *TINY])
    # export reads the class texts the run trained against (run_dir/descriptions.json)
    out = export_main(["--run", str(tmp_path / "fine"), "--out", str(tmp_path / "bundle"), "--no-int8",
                       "--no-text-encoder"])
    from runtime.bundle import load_bundle

    assert load_bundle(out).table.labels[:3] == ["jumping jacks", "kick", "wave hand"]  # the device's vocabulary
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["trained_on"] == "recordings"


def test_the_shipped_run_is_the_one_behind_the_shipped_bundle():
    """train/assets/shipped (for --init) and runtime/assets/default_bundle come from one run (docs/default_bundle.md)."""
    from runtime.bundle import DEFAULT_BUNDLE

    root = Path(__file__).resolve().parents[1] / "train" / "assets" / "shipped"
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    config = json.loads((root / "config.json").read_text())
    assert Path(manifest["model"]["run"]).name == config["run"]["name"]
    _, ckpt = load(root / "best.pt")
    assert ckpt["label_set"] == manifest["model"]["trained_on"] == config["run"]["data"]
    assert ckpt["model_args"]["method_config"]["backbone"] == manifest["model"]["backbone"]
