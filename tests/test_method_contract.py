"""The method contract (train/methods/base.py) and conditioned scoring from training to the device: every method's
loss reads only the training classes' text; the engine and the evaluation never branch on a method's name; the
conditioned methods (the small ``pairwise``, and ``dynapurls``) train (and refit), export in fp32 and INT8 with
both inputs, and run in the runtime, publishing events to a real ZeroMQ subscriber."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from runtime.bundle import load_bundle
from train.__main__ import main as train_main
from train.methods import list_methods, method_class

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0", "--eval-per-class", "3"]
VOCAB = "hand waving\nclapping\njumping up\nsitting down\nfalling\nsalute\n"


@pytest.mark.parametrize("name", list_methods())
def test_every_method_loss_reads_only_the_training_classes_text(name):
    from train.engine import training_classes_only

    torch.manual_seed(0)
    cls = method_class(name)
    m = cls(cls.config_class(backbone="edge-tiny", frames=16), 16)
    bank = torch.nn.functional.normalize(torch.randn(10, len(cls.granularities), 16), dim=-1)
    train = [0, 2, 3, 5, 7]
    text = training_classes_only(bank, train)
    assert torch.isnan(text[1]).all() and torch.equal(text[2], bank[2])
    x = torch.randn(6, 3, 16, 25, 1)
    labels = torch.tensor([0, 2, 3, 5, 7, 0])
    out = m(x, labels, text, torch.tensor(train))
    assert torch.isfinite(out["loss"]), f"{name}'s loss read text of classes it must not see"
    out["loss"].backward()
    assert m.mode in ("features", "conditioned") and m.score_kind in ("cosine", "logit")


def test_engine_and_evaluation_never_branch_on_a_method():
    names = "|".join(map(re.escape, list_methods()))
    for f in ("train/engine.py", "train/evaluate.py"):
        src = (ROOT / f).read_text()
        assert not re.search(r"if .*method\.(name|test_time)\b", src), f
        assert not re.search(rf"[\"']({names})[\"']", src), f"{f} names a method"


def test_optimisers():
    from train.config import ConfigError, TrainConfig, validate
    from train.engine import _optimizer

    m = method_class("baseline")(method_class("baseline").config_class(backbone="edge-tiny", frames=16), 16)
    for name, kind in (("sgd", torch.optim.SGD), ("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam)):
        validate(TrainConfig(optimizer=name, split="base12"))
        assert type(_optimizer(TrainConfig(optimizer=name), m)) is kind
    with pytest.raises(ConfigError, match="adam"):
        validate(TrainConfig(optimizer="rmsprop", split="base12"))


# ------------------------------------------------------------------ conditioned mode, end to end


@pytest.fixture(scope="module", params=["pairwise", "dynapurls"])
def conditioned_run(tmp_path_factory, request):
    """A run of a conditioned method (two epochs, refit on train + validation classes) and its bundle (fp32 and
    INT8): the small reference method, and DynaPURLS's candidate-conditioned attention."""
    d = tmp_path_factory.mktemp(request.param)
    train_main(["--method", request.param, "--data", "synthetic", "--per-class", "3", "--epochs", "2", "--lr", "0.05",
                "--out", str(d), "--name", "run", "--refit", *TINY])
    export_main(["--run", str(d / "run"), "--out", str(d / "bundle"), "--no-text-encoder", "--per-class", "4",
                 "--calib", "32"])
    return d / "run", d / "bundle"


def test_conditioned_run_reports_selection_and_refit(conditioned_run):
    run, _ = conditioned_run
    m = json.loads((run / "metrics.json").read_text())
    assert {"zsl", "gzsl", "seen"} <= set(m["test"]) and "gzsl" in m["val"]
    r = m["refit"]
    assert r["epochs"] == m["selection"]["best_epoch"] + 1 and r["checkpoint"] == "refit.pt"
    assert {"zsl", "gzsl", "seen"} <= set(r["test"]) and (run / "refit.pt").is_file()
    assert set(m["checkpoints"]) == {"best.pt", "last.pt", "refit.pt"}
    split = m["samples"]
    assert r["classes"] > 0 and r["samples"] > split["train"]  # the validation classes joined the training data


def test_conditioned_bundle_is_conditioned_with_logit_scores_and_no_adaptation(conditioned_run):
    _, bundle = conditioned_run
    b = load_bundle(bundle)
    m = b.manifest
    assert b.mode == "conditioned" and b.score_kind == "logit" and not b.adaptation_enabled
    assert m["input"]["class_text"] == "prototypes" and m["output"]["name"] == "scores"
    assert {"fp32", "int8", "int8_u8"} <= set(m["encoder"]) and "background" not in m
    cal = m["calibration"]
    assert cal["onnx_parity"]["max_abs_diff"] < 1e-4
    assert cal["int8"]["top1_agreement"] > 0.8 and cal["int8"]["feature_cosine_min"] > 0.9
    thr = cal["unknown_threshold"]
    assert thr["statistic"] == "top1_normalised_logit" and -1 <= thr["value"] <= 1
    assert "validation" in thr["source"] and thr["n_known"] > 0
    # the INT8 graph takes both inputs
    import onnx

    assert [i.name for i in onnx.load(str(bundle / "encoder.int8.onnx")).graph.input] == ["skeleton", "prototypes"]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_conditioned_bundle_scores_in_the_recogniser_as_in_pytorch(conditioned_run, precision):
    from runtime.backends import create_backend
    from runtime.publisher import PredictionCollector
    from runtime.recognizer import Recognizer, RecognizerConfig
    from runtime.recording import Person
    from runtime.synth import generate
    from runtime.vocab import VocabEntry, resolve
    from train.checkpoint import load

    run, bundle = conditioned_run
    b = load_bundle(bundle)
    labels = ["hand waving", "clapping", "jumping up", "salute"]
    vocab = resolve([VocabEntry(x, None, i) for i, x in enumerate(labels)], b.table, None, len(b.granularities))
    keep = PredictionCollector()
    rec = Recognizer(b, create_backend(b, "ort-cpu", precision), vocab, keep, RecognizerConfig(stride=4))
    assert rec.adapter is None  # the bundle turns adaptation off
    for i, j in enumerate(generate("Salute", 1).joints):
        if rec.push(i / 30, [Person(0, j)]):
            last = rec.window(0)
    model, _ = load(run)
    with torch.no_grad():
        f = model.encode(torch.from_numpy(last[None]))
        ref = (model.conditioned(f, torch.from_numpy(vocab.prototypes))[0] / model.logit_scale).numpy()[0]
    got = {t["label"]: t["score"] for t in keep.predictions[-1]["top_k"]}
    tol = 1e-3 if precision == "fp32" else 0.1
    assert np.allclose([got[x] for x in labels], ref, atol=tol)  # logit / scale: the one scale of the runtime


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_conditioned_bundle_runs_the_demo_and_publishes_events(conditioned_run, tmp_path, keep_signals, precision):
    from streamtools import run_demo

    # a threshold every score passes, so that decisions (start and end events) happen with this barely trained model
    code, sub = run_demo(conditioned_run[1], tmp_path, "--backend", "ort-cpu", "--precision", precision,
                         "--unknown-threshold", "-1", "--min-duration", "0.2", vocab=VOCAB)
    assert code == 0
    started = sub.of("status")
    assert started and started[0]["event"] == "started"
    preds = sub.of("prediction")
    assert preds and all(len(p["top_k"]) == 5 for p in preds)
    assert all(-1.0 <= t["score"] <= 1.0 for p in preds for t in p["top_k"])  # logit / scale: a tanh, or a cosine
    assert sub.of("action.start") and sub.of("action.end")
    assert any(m["type"] == "heartbeat" and precision in m["backend"] for m in (x for _, x, _ in sub.messages))
