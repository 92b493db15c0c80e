"""InfoCPL (train/methods/infocpl.py) and its codebook rule (runtime/codebook.py): the rule's size for every label
set and for a word typed on the device, the scaled top-k series and exact top-k masking, attention inversion in
the warm-up epochs only, sampled negatives that never show the sample's own action, the score as the sum of
-softplus(-s) with each candidate read alone, and a tiny run from training through export to the device: a
conditioned bundle with "logit" scores and adaptation off, whose new words get their codebook on the device by
the same rule, publishing events to a real ZeroMQ subscriber."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from runtime import codebook
from runtime.vocab import label_prompt
from train.methods.infocpl import (
    InfoCPL,
    InfoCPLConfig,
    class_scores,
    info_nce,
    rolled_negatives,
    sampled_negatives,
    scaled_topk,
    temporal_mask,
    top_k_softmax,
)
from train.text.descriptions import load_descriptions

ROOT = Path(__file__).resolve().parents[1]
DIM = 16
K = codebook.SIZE
TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0", "--eval-per-class", "3"]
NEW_WORD = "spinning on the spot"
DESCRIBED = "arms overhead | The person raises both arms straight above the head and holds them there."
VOCAB = f"hand waving\nclapping\njumping up\nsitting down\nsalute\n{NEW_WORD}\n{DESCRIBED}\n"


def tiny(**kw) -> InfoCPL:
    torch.manual_seed(0)
    return InfoCPL(InfoCPLConfig(backbone="edge-tiny", frames=16, **kw), DIM).eval()


def bank(classes: int, seed: int = 1) -> torch.Tensor:
    b = np.random.default_rng(seed).normal(size=(classes, K + 1, DIM)).astype(np.float32)
    return torch.from_numpy(b / np.linalg.norm(b, axis=-1, keepdims=True))


# ------------------------------------------------------------------------------------------ the codebook rule


@pytest.mark.parametrize("label_set", sorted(p.stem for p in (ROOT / "train/text/descriptions").glob("*.json")))
def test_the_codebook_rule_gives_at_least_40_distinct_entries_for_every_class(label_set):
    for c in load_descriptions(label_set).classes:
        texts = codebook.class_texts(c.label, c.global_, c.paraphrases, c.aliases, c.parts, c.phases)
        assert len(texts) == K + 1 and K >= 40
        assert len(set(texts[:K])) == K, c.label  # distinct codebook entries
        assert texts[0] == c.global_ and texts[K] == c.global_  # the global sentence leads; it is the motion sentence
        assert label_prompt(c.label) in texts[:K]  # the label is always in the codebook
        assert all(c.parts[p] in texts for p in codebook.PARTS) and all(c.phases[p] in texts for p in codebook.PHASES)
        assert texts == codebook.class_texts(c.label, c.global_, c.paraphrases, c.aliases, c.parts, c.phases)


def test_a_device_word_gets_a_full_codebook_from_its_label_and_description():
    bare = codebook.word_texts("Spinning on the spot")
    assert len(bare) == K + 1 and len(set(bare[:K])) == K
    assert bare[0] == "a person spinning on the spot" == bare[K]  # the label prompt, also the motion sentence
    described = codebook.word_texts("arms overhead", "The person raises both arms.")
    assert len(set(described[:K])) == K and described[0] == described[K] == "The person raises both arms."
    assert "a person arms overhead: The person raises both arms." in described
    assert InfoCPL.granularities == codebook.granularity_names() and len(InfoCPL.granularities) == K + 1
    assert InfoCPL.granularities[-1] == "motion" and InfoCPL.class_text_rule == codebook.RULE


def test_a_new_word_is_resolved_with_the_rule_one_text_per_granularity():
    from runtime.bundle import PrototypeTable
    from runtime.vocab import VocabEntry, VocabError, resolve

    class Encoder:
        def __init__(self):
            self.seen: list[str] = []

        def encode(self, texts):
            self.seen += texts
            v = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=DIM) for t in texts])
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    table = PrototypeTable(["clapping"], [["x"] * (K + 1)], bank(1).numpy(), [[]], "probe", np.zeros(DIM, np.float32))
    enc = Encoder()
    entries = [VocabEntry("clapping", None, 1), VocabEntry("spin", None, 2), VocabEntry("lift", "Arms go up.", 3)]
    v = resolve(entries, table, enc, K + 1, rule=codebook.RULE)
    assert v.prototypes.shape == (3, K + 1, DIM) and v.encoded_on_device == ["spin", "lift"]
    assert np.allclose(v.prototypes[0], table.prototypes[0])
    assert len(enc.seen) == len(set(enc.seen)) == 2 * K  # each text once (a motion sentence is entry 0 too)
    for row, (label, desc) in ((1, ("spin", None)), (2, ("lift", "Arms go up."))):
        texts = codebook.word_texts(label, desc)
        assert np.allclose(v.prototypes[row], enc.encode(texts))  # each granularity its own text
    with pytest.raises(VocabError, match="granularities"):
        resolve(entries, table, enc, 3, rule=codebook.RULE)


# ------------------------------------------------------------------------------------------- alignment


def test_the_topk_series_scales_the_papers_to_the_codebook():
    assert scaled_topk("1,5,10,15,20,25,30,35,40,45,50,55", 100) == (1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)
    assert scaled_topk("1,5,10,15,20,25,30,35,40,45,50,55", 56) == (1, 3, 6, 8, 11, 14, 17, 20, 22, 25, 28, 31)
    assert scaled_topk("1,5,10,15,20", 56) == (1, 3, 6, 8, 11)
    assert tiny().topk == scaled_topk(InfoCPLConfig.topk, K) and tiny().heads == 12
    with pytest.raises(ValueError, match="topk"):
        scaled_topk("1,five", K)


def test_top_k_masking_keeps_exactly_k_entries_per_head():
    logits = torch.randn(3, 4, K)
    for k in (1, 7, K):
        w = top_k_softmax(logits, k)
        assert ((w > 0).sum(-1) == k).all() and torch.allclose(w.sum(-1), torch.ones(3, 4))
        assert torch.equal(w.topk(k, dim=-1).indices.sort(-1).values, logits.topk(k, dim=-1).indices.sort(-1).values)
    m = tiny()
    with torch.no_grad():
        vs = m.align.project(m.encode(torch.randn(2, 3, 16, 25, 1)))
        codes = bank(5)[:, :K]
        for v, k in zip(vs, m.topk):
            w = m.align.attention(v, codes, k)
            assert w.shape == (5, 2, K) and ((w > 0).sum(-1) == k).all()
    assert all(torch.allclose(v.mean(-1), torch.zeros(2), atol=1e-5) for v in vs)  # LayerNorm, no affine


def test_attention_is_inverted_in_the_warm_up_epochs_only():
    m = tiny().train()
    for epoch, inverted in ((0, True), (14, True), (15, False), (99, False)):
        m.on_epoch(epoch, 100)  # the paper: 15 of 100 epochs
        assert m.inverted is inverted and m.sign == (-1.0 if inverted else 1.0)
    m.on_epoch(0, 100)
    assert m.eval().sign == 1.0  # evaluation, selection and export never invert
    m.train().on_epoch(0, 4)  # round(0.15 * 4) = 1 warm-up epoch
    assert m.inverted
    m.on_epoch(1, 4)
    assert not m.inverted
    off = tiny(invert_attention=False).train()
    off.on_epoch(0, 100)
    assert not off.inverted and off.sign == 1.0
    v, codes = torch.randn(1, DIM), bank(1)[:, :K]
    pick = m.align.attention(v, codes, 1, sign=-1.0)[0, 0].argmax()
    assert pick == (codes[0] @ v[0]).argmin()  # inverted, the top-1 head pools the least similar description


# -------------------------------------------------------------------------------------------------- loss


def test_sampled_negatives_never_show_the_samples_own_action():
    torch.manual_seed(0)
    m = tiny()
    labels = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4, 5, 5, 6, 7, 7, 8])
    for _ in range(50):
        idx, valid = m.negatives(labels)
        assert idx.shape == (len(labels), 8)
        assert (labels[idx][valid] != labels[:, None].expand_as(idx)[valid]).all()
        other = (labels[:, None] != labels[None, :]).sum(1)
        assert torch.equal(valid.sum(1), other.clamp(max=8))  # as many as the batch has, up to 8, no repeats
        assert all(len(set(i[v].tolist())) == int(v.sum()) for i, v in zip(idx, valid))
    m.class_groups = torch.tensor([0, 0, 1, 1, 2, 3, 4, 5, 6])  # classes 0 and 1, and 2 and 3: one concept each
    groups = m.class_groups[labels]
    for _ in range(50):
        idx, valid = m.negatives(labels)
        assert (groups[idx][valid] != groups[:, None].expand_as(idx)[valid]).all()
    idx, valid = rolled_negatives(labels[:, None] != labels[None, :])
    assert torch.equal(idx[:, 0], torch.roll(torch.arange(len(labels)), -1))  # SMIE: the next sample
    assert torch.equal(valid[:, 0], labels != torch.roll(labels, -1))
    idx, valid = sampled_negatives(torch.zeros(3, 3, dtype=torch.bool), 8)
    assert not valid.any()  # a batch of one action has no negatives


def test_the_loss_is_the_softmax_over_the_positive_and_its_negatives():
    pos = torch.tensor([[2.0, -1.0]])
    neg = torch.tensor([[[0.5, 3.0], [1.0, 0.0]]])
    valid = torch.tensor([[True, False], [True, True]])
    got = info_nce(pos, neg, valid)
    sp = F.softplus
    want0 = -torch.log(sp(pos[0, 0]).exp() / (sp(pos[0, 0]).exp() + sp(neg[0, 0, 0]).exp()))
    want1 = -torch.log(sp(pos[0, 1]).exp() / (sp(pos[0, 1]).exp() + sp(neg[0, 1]).exp().sum()))
    assert torch.allclose(got, torch.stack([want0, want1])[None])
    m = tiny(sub_loss=True).train()
    bank_ = bank(10)
    x = torch.randn(6, 3, 16, 25, 1)
    out = m(x, torch.tensor([0, 2, 3, 5, 7, 0]), bank_, torch.tensor([0, 2, 3, 5, 7]))
    assert torch.isfinite(out["loss"]) and "loss_sub" in out
    out["loss"].backward()
    sub = temporal_mask(x, 0.7)
    assert sub.shape == x.shape
    assert all(any(torch.equal(sub[0, :, t], x[0, :, u]) for u in range(16)) for t in range(16))  # frames of x
    rolled = tiny(negatives="rolled").train()
    assert torch.isfinite(rolled(x, torch.tensor([0, 2, 3, 5, 7, 0]), bank_, torch.tensor([0, 2, 3, 5, 7]))["loss"])
    with pytest.raises(ValueError, match="negatives"):
        tiny(negatives="all")


# --------------------------------------------------------------------------------------------- inference


def test_the_score_is_the_sum_of_log_sigmoids_and_each_candidate_reads_only_its_own_text():
    m = tiny()
    text = bank(6)
    with torch.no_grad():
        f = m.encode(torch.randn(4, 3, 16, 25, 1))
        logits, emb = m.conditioned(f, text)
        s, v = m.align(f, text)
        part, _ = m.conditioned(f, text[[4, 1]])
        changed = text.clone()
        changed[0, 3] = -changed[0, 3]
        changed[0, K] = bank(1, seed=5)[0, K]
        other, _ = m.conditioned(f, changed)
    assert s.shape == (m.heads, 4, 6)
    assert torch.allclose(logits, (-F.softplus(-s)).sum(0)) and torch.allclose(logits, class_scores(s))
    assert torch.allclose(logits, F.logsigmoid(s).sum(0), atol=1e-5)
    assert (logits / m.logit_scale <= 0).all() and float(m.logit_scale) == m.heads  # mean log sigmoid per head
    assert emb.shape == (4, 6, 1, DIM) and torch.allclose(emb[:, 2, 0], F.normalize(v, dim=-1))
    assert torch.allclose(part, logits[:, [4, 1]], atol=1e-5)  # no candidate sees the others
    assert torch.allclose(other[:, 1:], logits[:, 1:], atol=1e-5) and not torch.allclose(other[:, 0], logits[:, 0])


def test_configuration_is_checked():
    with pytest.raises(ValueError, match="text-augment"):
        tiny(text_augment=True)
    with pytest.raises(ValueError, match="invert-fraction"):
        tiny(invert_fraction=1.5)


# ------------------------------------------------------------------------ training -> export -> device


@pytest.fixture(scope="module")
def infocpl_run(tmp_path_factory):
    """Two epochs of the paper's optimiser (Adam) on a tiny model, and its bundle (fp32 and INT8)."""
    from export.__main__ import main as export_main
    from train.__main__ import main as train_main

    d = tmp_path_factory.mktemp("infocpl")
    train_main(["--method", "infocpl", "--data", "synthetic", "--per-class", "3", "--epochs", "2", "--optimizer",
                "adam", "--lr", "1e-3", "--weight-decay", "0", "--out", str(d), "--name", "run", *TINY])
    export_main(["--run", str(d / "run"), "--out", str(d / "bundle"), "--no-text-encoder", "--per-class", "4",
                 "--calib", "32"])
    return d / "run", d / "bundle"


@pytest.fixture
def bundle_with_text_encoder(infocpl_run, bundle_dir, tmp_path):
    """The run's bundle with the shipped bundle's text encoder (the same MiniLM; linked, not copied)."""
    _, bundle = infocpl_run
    out = tmp_path / "bundle"
    shutil.copytree(bundle, out)

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(bundle_dir / "text_encoder", out / "text_encoder", copy_function=link)
    return out


def test_the_bundle_is_conditioned_with_logit_scores_no_adaptation_and_the_codebook_rule(infocpl_run):
    from runtime.bundle import load_bundle

    _, bundle = infocpl_run
    b = load_bundle(bundle)
    m = b.manifest
    assert b.mode == "conditioned" and b.score_kind == "logit" and not b.adaptation_enabled
    assert b.granularities == list(codebook.granularity_names()) and b.table.prototypes.shape[1:] == (K + 1, 384)
    assert b.class_text_rule == codebook.RULE and b.logit_scale == 12.0  # the number of heads
    assert b.table.texts[0] == codebook.class_texts(*_fields(b.table.labels[0]))
    cal = m["calibration"]
    assert cal["onnx_parity"]["max_abs_diff"] < 1e-4 and {"fp32", "int8", "int8_u8"} <= set(m["encoder"])
    thr = cal["unknown_threshold"]
    # the statistic is the mean over heads of log sigmoid(s): a log-probability, never above 0
    assert thr["statistic"] == "top1_normalised_logit" and -np.inf < thr["value"] <= 0 and thr["n_known"] > 0
    assert m["scoring"]["range"] == [None, 0.0] and b.score_range == (-np.inf, 0.0)


def test_thresholds_are_checked_against_the_log_probability_range(infocpl_run):
    from runtime.bundle import load_bundle
    from runtime.decisions import DecisionConfig
    from runtime.recognizer import RecognizerConfig, check_thresholds

    b = load_bundle(infocpl_run[1])
    check_thresholds(RecognizerConfig(unknown_threshold=-3.5, thresholds={"salute": 0.0}), b)  # below -1: fine here
    with pytest.raises(ValueError, match=r"--unknown-threshold 0.5: a threshold must be a score in \(-inf, 0\]"):
        check_thresholds(RecognizerConfig(unknown_threshold=0.5), b)
    # the project's default threshold (a cosine's 0.3) counts only where the bundle has no calibrated one
    check_thresholds(RecognizerConfig(), b)
    b.manifest["calibration"].pop("unknown_threshold")
    with pytest.raises(ValueError, match=r"--default-threshold 0.3: a threshold must be a score in \(-inf, 0\]"):
        check_thresholds(RecognizerConfig(), b)
    check_thresholds(RecognizerConfig(decisions=DecisionConfig(default_threshold=-2.0)), b)
    # a logit bundle made before scoring.range existed: no bounds assumed
    b.manifest["scoring"].pop("range")
    assert b.score_range == (-np.inf, np.inf)


def _fields(label: str) -> tuple:
    c = load_descriptions("synthetic").by_label(label)
    return c.label, c.global_, c.paraphrases, c.aliases, c.parts, c.phases


def test_a_word_not_in_the_table_gets_its_codebook_on_the_device_and_scores(bundle_with_text_encoder):
    from runtime.backends import create_backend
    from runtime.bundle import load_bundle
    from runtime.factory import text_encoder, vocabulary
    from runtime.publisher import PredictionCollector
    from runtime.recognizer import Recognizer, RecognizerConfig
    from runtime.recording import Person
    from runtime.synth import generate
    from runtime.vocab import parse_vocab
    from train.checkpoint import load

    b = load_bundle(bundle_with_text_encoder)
    enc = text_encoder(b)
    vocab = vocabulary(b, parse_vocab(VOCAB), enc)
    assert vocab.encoded_on_device == [NEW_WORD, "arms overhead"]
    assert np.allclose(vocab.prototypes[5], enc.encode(codebook.word_texts(NEW_WORD)), atol=1e-6)
    assert np.allclose(vocab.prototypes[6], enc.encode(codebook.word_texts(*DESCRIBED.split(" | "))), atol=1e-6)
    keep = PredictionCollector()
    rec = Recognizer(b, create_backend(b, "ort-cpu", "fp32"), vocab, keep, RecognizerConfig(stride=4, top_k=7))
    assert rec.adapter is None
    for i, j in enumerate(generate("Salute", 1).joints):
        if rec.push(i / 30, [Person(0, j)]):
            last = rec.window(0)
    got = {t["label"]: t["score"] for t in keep.predictions[-1]["top_k"]}
    assert set(got) == set(vocab.labels) and all(np.isfinite(v) and v <= 0 for v in got.values())
    model, _ = load(Path(b.manifest["model"]["run"]))
    with torch.no_grad():
        ref = (model.conditioned(model.encode(torch.from_numpy(last[None])), torch.from_numpy(vocab.prototypes))[0]
               / model.logit_scale).numpy()[0]
    assert np.allclose([got[x] for x in vocab.labels], ref, atol=1e-3)  # the new words score as in PyTorch


def test_the_demo_publishes_events_and_says_adaptation_is_off(bundle_with_text_encoder, tmp_path, keep_signals,
                                                               caplog):
    from streamtools import run_demo

    caplog.set_level(logging.INFO, logger="runtime")
    # a threshold every score passes, so that decisions happen with this barely trained model (scores <= 0)
    code, sub = run_demo(bundle_with_text_encoder, tmp_path, "--backend", "ort-cpu", "--precision", "int8",
                         "--unknown-threshold", "-100", "--min-duration", "0.2", vocab=VOCAB)
    assert code == 0
    started = sub.of("status")
    assert started and started[0]["event"] == "started"
    assert started[0]["encoded_on_device"] == [NEW_WORD, "arms overhead"]
    preds = sub.of("prediction")
    assert preds and all(len(p["top_k"]) == 5 for p in preds)
    assert all(t["score"] <= 0 for p in preds for t in p["top_k"])  # mean log sigmoid per head
    assert sub.of("action.start") and sub.of("action.end")
    assert "adaptation off" in caplog.text
