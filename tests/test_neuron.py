"""Neuron (train/methods/neuron.py) and its side information (train/text/side_information.py): the rounds' shapes,
progressive masking, cumulative time crops, the side information of real label sets and of Neuron's own files,
the fused score, and a tiny run end to end: the fusion weight chosen at test time reaches best.pt, refit.pt and
the bundle's scoring weights, and the bundle runs the camera demo (fp32 and INT8) publishing events to a real
ZeroMQ subscriber; and a run started from a baseline's backbone with --init and --freeze backbone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from runtime.bundle import load_bundle
from runtime.scoring import score
from runtime.vocab import label_prompt
from train.__main__ import main as train_main
from train.methods import neuron as neuron_module
from train.methods.neuron import (
    Neuron,
    NeuronConfig,
    choose_fusion,
    granularities_of,
    keep_mask,
    masked_counts,
    parse_fractions,
    time_crops,
)
from train.text.descriptions import ClassText, DescriptionError, Descriptions, load_descriptions
from train.text.side_information import (
    SLOTS,
    derive_side_information,
    label_only,
    match_neuron,
    read_neuron_json,
)

from conftest import SHARED

DIM = 16
TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0", "--eval-per-class", "3"]
NEURON_DIR = SHARED / "research-data" / "neuron"


def tiny(**kw) -> Neuron:
    torch.manual_seed(0)
    return Neuron(NeuronConfig(backbone="edge-tiny", frames=16, **kw), DIM).eval()


# ------------------------------------------------------------------------------------ architecture


def test_rounds_shapes_and_granularities():
    m = tiny()
    x = torch.randn(3, 3, 16, 25, 1)
    with torch.no_grad():
        fmap = m.backbone(x)
        f = m.encode(x)
        s, t = m.head.spatial(fmap), m.head.temporal(fmap)
    assert fmap.shape[2] == 4  # edge-tiny on 16 frames: T' = 4, as edge on 32
    assert f.shape == (3, 6, DIM) and torch.allclose(f.norm(dim=-1), torch.ones(3, 6), atol=1e-5)
    assert len(s) == len(t) == 3 and all(v.shape == (3, fmap.shape[1]) for v in s + t)
    assert m.granularities == SLOTS and Neuron.granularities == SLOTS
    one = tiny(rounds=1, memory=False)
    assert one.granularities == granularities_of(1) == ("spatial_fine", "temporal_start_middle_end")
    assert one.head.crops == [4] and one.head.masked == [20] and one.head.recall is None
    with torch.no_grad():
        assert one.encode(x).shape == (3, 2, DIM)
    with pytest.raises(ValueError, match="rounds"):
        tiny(rounds=2)


def test_progressive_masking_masks_more_prototypes_each_round():
    assert masked_counts(80, 0.25, 3) == [20, 40, 60]
    assert tiny().head.masked == [20, 40, 60]
    sim = torch.randn(5, 25, 80)
    kept_before = 81.0
    for masked in masked_counts(80, 0.25, 3):
        hard, soft = keep_mask(sim, masked), keep_mask(sim, masked, 0.05)
        assert (hard.sum(-1) == 80 - masked).all()
        order = sim.argsort(dim=-1, descending=True)
        assert (hard.gather(-1, order[..., : 80 - masked]) == 1).all()  # the highest kept, the lowest masked
        assert (hard.gather(-1, order[..., 80 - masked :]) == 0).all()
        assert torch.equal(soft > 0.5, hard > 0.5)  # the continuous mask selects the same prototypes
        assert soft.sum(-1).mean() < kept_before
        kept_before = float(soft.sum(-1).mean())
    assert torch.equal(keep_mask(sim, 0), torch.ones_like(sim))


def test_temporal_crops_are_cumulative():
    paper = parse_fractions("5/16,10/16,1")
    assert time_crops(16, paper) == [5, 10, 16]  # the paper's frames of Shift-GCN's 16 steps
    assert time_crops(4, paper) == [2, 3, 4]  # the edge backbones' 4 steps: rounded up
    assert time_crops(2, paper) == [1, 2, 2]  # at least one step, never shorter than the round before
    for bad in ("1/2,1", "0.5,0.25,1", "1/3,2/3,0.9", "a,b,c"):
        with pytest.raises(ValueError, match="time-crops"):
            parse_fractions(bad)
    for memory in (True, False):
        m = tiny(memory=memory)
        fmap = torch.randn(2, m.backbone.out_channels, 4, 25)
        late = fmap.clone()
        late[:, :, 3] += 5.0  # only the last step changes
        later = fmap.clone()
        later[:, :, 2:] += 5.0  # steps 2 and 3 change
        with torch.no_grad():
            a, b, c = m.head.temporal(fmap), m.head.temporal(late), m.head.temporal(later)
        assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1]) and not torch.allclose(a[2], b[2])
        assert torch.allclose(a[0], c[0]) and not torch.allclose(a[1], c[1])


def test_memory_gates_recall_the_previous_prototypes_or_take_the_update():
    m, plain = tiny(), tiny(memory=False)
    assert len(m.head.recall) == len(m.head.remember) == 3 and plain.head.recall is None
    fmap = torch.randn(2, m.backbone.out_channels, 4, 25)

    def set_gates(recall: float, remember: float) -> None:
        for gates, value in ((m.head.recall, recall), (m.head.remember, remember)):
            for g in gates:
                g[-1].weight.data.zero_()
                g[-1].bias.data.fill_(value)

    with torch.no_grad():
        set_gates(50.0, -50.0)  # recall everything, remember nothing: the prototypes never change
        for v in m.head.temporal(fmap):
            assert torch.allclose(v, m.head.temporal_prototypes.mean(0).expand(2, -1), atol=1e-5)
        set_gates(-50.0, 50.0)  # forget, take the update: what a round is without the gates
        plain.head.temporal_update.load_state_dict(m.head.temporal_update.state_dict())
        plain.head.temporal_prototypes.copy_(m.head.temporal_prototypes)
        for a, b in zip(m.head.temporal(fmap), plain.head.temporal(fmap)):
            assert torch.allclose(a, b, atol=1e-5)


# ----------------------------------------------------------------------------- side information


@pytest.mark.parametrize("label_set", ["synthetic", "ntu120"])
def test_derived_side_information_has_three_spatial_and_three_cumulative_temporal_texts(label_set):
    d = load_descriptions(label_set)
    side = derive_side_information(d, names=True)
    assert [s.label for s in side] == d.labels
    for c, s in zip(d.classes, side):
        assert len(s.spatial) == 3 and len(s.temporal) == 3 and all(slot and all(slot) for slot in s.slots())
        coarse, medium, fine = s.spatial
        assert coarse[: 1 + len(c.paraphrases)] == c.all_global() and label_prompt(c.label) in coarse
        assert len(medium) == 2 and c.parts["head"] in medium[0] and c.parts["feet"] in medium[1]
        assert fine == [c.parts[p] for p in ("head", "hands", "arms", "torso", "legs", "feet")]
        t1, t2, t3 = (x[0] for x in s.temporal)
        assert t1 == c.phases["start"] and t2.startswith(t1) and t3.startswith(t2) and t3.endswith(c.phases["end"])
    assert label_prompt(d.classes[0].label) not in derive_side_information(d)[0].spatial[0]


def test_every_label_set_and_partial_formats_derive_six_slots():
    for path in sorted((Path(__file__).parents[1] / "train/text/descriptions").glob("*.json")):
        side = derive_side_information(load_descriptions(path.stem))
        assert side and all(len(s.slots()) == 6 and all(slot and all(slot) for slot in s.slots()) for s in side)
    bare = derive_side_information(Descriptions("x", [ClassText("Wave", "The person waves.")]))[0]
    assert bare.slots() == [["The person waves."]] * 6  # no parts or phases: the global sentence everywhere
    off = label_only(load_descriptions("synthetic"))[0]
    assert off.slots() == [[label_prompt("Drink water")]] * 6


def _write_neuron(root: Path, classes: dict[str, int]) -> None:
    for kind, keys in (("spatial", ("cg", "mg", "fg")), ("temporal", ("fp", "sp", "tp"))):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for k in keys:
            data = {name: [f"{name} {k} {i}." for i in range(n)] for name, n in classes.items()}
            (root / kind / f"{kind}_{k}.json").write_text(json.dumps(data))


def test_neuron_reader_makes_the_same_structure(tmp_path):
    _write_neuron(tmp_path, {"drink water": 3, "eat meal": 3})
    side = read_neuron_json(tmp_path)
    assert [s.label for s in side] == ["drink water", "eat meal"]
    s = side[0]
    assert s.spatial[2] == ["drink water fg 0.", "drink water fg 1.", "drink water fg 2."]
    assert s.temporal[0][1] == "drink water fp 1."
    assert s.temporal[1][1] == "drink water fp 1. drink water sp 1."  # k-th sentences joined: cumulative
    assert s.temporal[2][1] == "drink water fp 1. drink water sp 1. drink water tp 1."
    d = Descriptions("two", [ClassText("Drink water", "g"), ClassText("Eat meal/snack", "g", aliases=["eat"])])
    matched = match_neuron(d, side, names=True)
    assert [m.label for m in matched] == d.labels and label_prompt("Drink water") in matched[0].spatial[0]
    with pytest.raises(DescriptionError, match="agree"):
        match_neuron(Descriptions("other", [ClassText("Kick", "g"), ClassText("Punch", "g")]), side)
    with pytest.raises(DescriptionError, match="describe 2"):
        match_neuron(Descriptions("three", [ClassText("Drink water", "g")] * 3), side)
    _write_neuron(tmp_path / "bad", {"drink water": 3})
    data = json.loads((tmp_path / "bad/temporal/temporal_sp.json").read_text())
    (tmp_path / "bad/temporal/temporal_sp.json").write_text(json.dumps({"drink water": data["drink water"][:2]}))
    with pytest.raises(DescriptionError, match="one to one"):
        read_neuron_json(tmp_path / "bad")


@pytest.mark.skipif(not NEURON_DIR.is_dir(), reason="../shared/research-data/neuron is absent")
def test_neuron_files_match_the_projects_label_sets():
    for label_set, folder in (("ntu120", "ntu"), ("ntu60", "ntu"), ("pku51", "pku")):
        d = load_descriptions(label_set)
        side = match_neuron(d, read_neuron_json(NEURON_DIR / folder))
        assert [s.label for s in side] == d.labels
        assert all(len(slot) == 10 for s in side for slot in s.slots())
    with pytest.raises(DescriptionError):
        match_neuron(load_descriptions("pku51"), read_neuron_json(NEURON_DIR / "ntu"))


def test_build_text_is_the_normalised_mean_per_round():
    from train.text.encoders import create_text_encoder, encode_cached

    enc = create_text_encoder("minilm")
    d = load_descriptions("synthetic")
    bank, texts = Neuron.build_text(NeuronConfig(), d, enc)
    assert bank.shape == (len(d), 6, 384) and np.allclose(np.linalg.norm(bank, axis=-1), 1, atol=1e-5)
    e = encode_cached(enc, texts[0][4]).mean(axis=0)
    assert np.allclose(bank[0, 4], e / np.linalg.norm(e), atol=1e-5)  # cosine to the mean of the slot's sentences
    one, _ = Neuron.build_text(NeuronConfig(rounds=1), d, enc)
    assert np.allclose(one, bank[:, [2, 5]])
    off, off_texts = Neuron.build_text(NeuronConfig(side_information="off"), d, enc)
    assert off_texts[0] == [[label_prompt("Drink water")]] * 6 and np.allclose(off[:, 0], off[:, 5])


# ---------------------------------------------------------------------------------------- scores


def test_fused_score_is_the_weighted_sum_of_the_last_rounds():
    m = tiny()
    m.fusion.fill_(0.3)
    assert m.score_weights().tolist() == pytest.approx([0, 0, 0.3, 0, 0, 0.7])
    x = torch.randn(4, 3, 16, 25, 1)
    protos = torch.nn.functional.normalize(torch.randn(5, 6, DIM), dim=-1)
    with torch.no_grad():
        f = m.encode(x)
        got = m.scores(f, protos)
    cos = torch.einsum("ngd,cgd->ncg", f, protos)
    want = m.logit_scale * (0.3 * cos[..., 2] + 0.7 * cos[..., 5])
    assert torch.allclose(got, want, atol=1e-6)
    dev = score(f.numpy(), protos.numpy(), m.score_weights().numpy(), float(m.logit_scale))  # the device's rule
    assert np.allclose(dev, want.numpy(), atol=1e-5)
    assert float(m.logit_scale) == pytest.approx(0.1) and not m.log_scale.requires_grad  # the official factor


def test_loss_reads_the_training_classes_and_averages_the_branches():
    m = tiny()
    m.train()
    bank = torch.nn.functional.normalize(torch.randn(8, 6, DIM), dim=-1)
    train = torch.tensor([1, 3, 4, 6])
    text = bank.clone()
    text[[0, 2, 5, 7]] = float("nan")
    x = torch.randn(6, 3, 16, 25, 1)
    labels = torch.tensor([1, 3, 4, 6, 1, 3])
    out = m(x, labels, text, train)
    assert torch.isfinite(out["loss"])
    assert torch.isclose(out["loss"], 0.5 * (out["loss_spatial"] + out["loss_temporal"]))
    out["loss"].backward()
    assert m.head.spatial_prototypes.grad is not None and m.head.recall[0][0].weight.grad is not None


def test_fusion_ties_in_top1_go_to_the_larger_margin_then_to_half():
    labels = np.array([0, 1])
    # every weight gets both windows right; the margin grows as the weight falls (temporal side better)
    fused, grid = choose_fusion(lambda w: np.array([[1.0, 0.5 + 0.4 * w], [0.0, 1.0]]), labels, (0.0, 0.5, 1.0))
    assert fused == 0.0 and grid["0.0"]["top1"] == grid["1.0"]["top1"] == 1.0
    assert grid["0.0"]["margin"] > grid["0.5"]["margin"] > grid["1.0"]["margin"]
    # top-1 first: a larger mean margin does not buy a wrong window
    at = {0.0: np.array([[1.0, 0.9], [0.0, 0.1]]), 1.0: np.array([[5.0, 0.0], [0.2, 0.0]])}
    fused, grid = choose_fusion(at.get, labels, (0.0, 1.0))
    assert fused == 0.0 and grid["1.0"]["margin"] > grid["0.0"]["margin"] and grid["1.0"]["top1"] == 0.5
    fused, _ = choose_fusion(lambda w: np.eye(2), labels, (0.0, 0.5, 1.0))
    assert fused == 0.5


# ----------------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch on synthetic data with a refit, the fusion grid narrowed to 0.8 so that test time moves the
    buffer away from its 0.5 default; then the bundle."""
    d = tmp_path_factory.mktemp("neuron")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(neuron_module, "FUSION_GRID", (0.8,))
        train_main(["--method", "neuron", "--data", "synthetic", "--per-class", "3", "--epochs", "1", "--out", str(d),
                    "--name", "run", "--refit", *TINY])
    export_main(["--run", str(d / "run"), "--out", str(d / "bundle"), "--no-text-encoder", "--per-class", "4",
                 "--calib", "32"])
    return d / "run", d / "bundle"


def test_run_reports_spatial_temporal_and_fused_figures(run):
    r, _ = run
    m = json.loads((r / "metrics.json").read_text())
    assert m["selection"]["fusion"] == 0.8
    for name in ("spatial", "temporal", "fused"):
        assert f"zsl_{name}" in m["test"] and f"gzsl_{name}" in m["test"] and f"zsl_{name}" in m["val"]
        assert f"gamma_{name}" in m["selection"]
        assert {"zsl_fused", "gzsl_fused"} <= set(m["refit"]["test"])
    assert m["test"]["zsl_spatial"]["n"] == m["test"]["zsl"]["n"]
    # the headline figures are the exported model's: the fused score at the chosen weight, its calibration
    assert m["test"]["zsl"] == m["test"]["zsl_fused"] and m["test"]["gzsl"] == m["test"]["gzsl_fused"]
    assert m["selection"]["gamma"] == m["selection"]["gamma_fused"]


def test_chosen_fusion_reaches_the_checkpoints_and_the_bundle(run):
    from export.onnx_export import run_onnx
    from train.checkpoint import load

    r, bundle = run
    for name in ("best.pt", "refit.pt"):
        model, _ = load(r / name)
        assert float(model.fusion) == pytest.approx(0.8), name
    b = load_bundle(bundle)
    assert b.mode == "features" and b.granularities == list(SLOTS)
    assert b.weights.tolist() == pytest.approx([0, 0, 0.8, 0, 0, 0.2])
    assert b.logit_scale == pytest.approx(0.1)
    cal = b.manifest["calibration"]
    assert cal["onnx_parity"]["max_abs_diff"] < 1e-4 and cal["int8"]["top1_agreement"] > 0.8
    model, _ = load(r)
    x = np.random.default_rng(0).normal(size=(3, 3, 16, 25, 1)).astype(np.float32)
    with torch.no_grad():
        ref = model.scores(model.encode(torch.from_numpy(x)), torch.from_numpy(b.table.prototypes[:5])).numpy()
    got = score(run_onnx(bundle / "encoder.onnx", x), b.table.prototypes[:5], b.weights, b.logit_scale)
    assert np.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_bundle_runs_the_demo_and_publishes_events(run, tmp_path, keep_signals, precision):
    from streamtools import run_demo

    # a threshold every score passes, so that decisions (start and end events) happen with this barely trained model
    code, sub = run_demo(run[1], tmp_path, "--backend", "ort-cpu", "--precision", precision,
                         "--unknown-threshold", "-1", "--min-duration", "0.2")
    assert code == 0
    assert sub.of("status")[0]["event"] == "started"
    preds = sub.of("prediction")
    assert preds and all(len(p["top_k"]) == 5 for p in preds)
    assert all(-1.0 <= t["score"] <= 1.0 for p in preds for t in p["top_k"])  # the fused cosine
    assert sub.of("action.start") and sub.of("action.end")


def test_init_from_a_baseline_with_frozen_backbone(tmp_path):
    from train.checkpoint import load

    train_main(["--method", "baseline", "--data", "synthetic", "--per-class", "1", "--epochs", "1", "--max-steps", "2",
                "--out", str(tmp_path), "--name", "base", *TINY])
    # backbone and frames come from the init run (a baseline's: another method, so nothing of its head)
    train_main(["--method", "neuron", "--data", "synthetic", "--per-class", "1", "--epochs", "1", "--max-steps", "2",
                "--init", str(tmp_path / "base"), "--freeze", "backbone", "--out", str(tmp_path), "--name", "neuron",
                "--batch-size", "16", "--workers", "0", "--eval-per-class", "3"])
    base, _ = load(tmp_path / "base")
    model, ckpt = load(tmp_path / "neuron")
    assert ckpt["model_args"]["method_config"]["backbone"] == "edge-tiny"
    for k, v in base.backbone.state_dict().items():
        assert torch.equal(v, model.backbone.state_dict()[k]), k  # frozen: weights and statistics kept
    assert float(model.logit_scale) == pytest.approx(0.1)
    init = json.loads((tmp_path / "neuron" / "metrics.json").read_text())["init"]
    assert "backbone" in init["loaded"] and "head" in init["not_loaded"]
