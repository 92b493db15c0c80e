"""DynaPURLS (train/methods/dynapurls.py) and its dynamic refinement (train/methods/refinement.py): the token map and
the static partition, candidate-conditioned scoring that no label reaches (permuting the labels of the test
windows leaves every score of the whole evaluation, refinement included, unchanged), and the refinement's memory
moving only the classes it may move. Training, export and the runtime's events are in test_method_contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from runtime.skeleton import InputSpec
from train.data.loading import load_parts
from train.evaluate import Evaluator, evaluate_run
from train.methods.dynapurls import (
    DynaPURLS,
    DynaPURLSConfig,
    granularities_of,
    segment_weights,
    static_pooling,
)
from train.methods.refinement import RefineConfig, refine_stream

DIM = 16


def tiny(**kw) -> DynaPURLS:
    torch.manual_seed(0)
    return DynaPURLS(DynaPURLSConfig(backbone="edge-tiny", frames=16, **kw), DIM).eval()


def bank(classes: int, g: int) -> np.ndarray:
    b = np.random.default_rng(1).normal(size=(classes, g, DIM)).astype(np.float32)
    return b / np.linalg.norm(b, axis=-1, keepdims=True)


def test_segments_and_static_partition():
    w = segment_weights(4, 3)  # the edge backbones leave 4 time steps: 0-1, 1-2, 2-3
    assert torch.allclose(w, torch.tensor([[0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5]]))
    assert torch.allclose(segment_weights(16, 3).sum(1), torch.ones(3))
    g = granularities_of("six")
    assert len(g) == 10 and len(granularities_of("four")) == 8
    s = static_pooling(g, 3).view(len(g), 3, 25)
    assert torch.allclose(s.sum(dim=(1, 2)), torch.ones(len(g)))
    assert (s[g.index("start"), 1:] == 0).all() and (s[g.index("end"), :2] == 0).all()
    assert (s[g.index("head"), :, 12] == 0).all() and (s[g.index("head"), :, 3] > 0).all()  # hip out, head in
    with pytest.raises(ValueError, match="parts"):
        granularities_of("three")


def test_modes_follow_the_partition():
    a, s = tiny(), tiny(partition="static")
    assert (a.mode, a.score_kind, s.mode, s.score_kind) == ("conditioned", "logit", "features", "cosine")
    x = torch.randn(3, 3, 16, 25, 1)
    with torch.no_grad():
        assert a.encode(x).shape == (3, 3 * 25, a.backbone.out_channels)  # tokens
        assert s.encode(x).shape == (3, 10, DIM)
    assert tiny(parts="four").granularities == granularities_of("four")
    w = tiny(score="all").score_weights()
    assert torch.isclose(w.sum(), torch.tensor(1.0)) and (w > 0).all()
    assert tiny().score_weights().tolist() == [1.0] + [0.0] * 9


def test_a_candidate_is_scored_with_its_own_descriptions_only():
    m = tiny()
    text = torch.from_numpy(bank(6, 10))
    x = torch.randn(4, 3, 16, 25, 1)
    with torch.no_grad():
        tok = m.encode(x)
        full, emb = m.conditioned(tok, text)
        part, _ = m.conditioned(tok, text[[4, 1]])
        changed = text.clone()
        changed[0] = torch.from_numpy(bank(1, 10))[0] * -1
        other, _ = m.conditioned(tok, changed)
    assert emb.shape == (4, 6, 1, DIM)  # the score reads the global granularity: one query per candidate
    assert torch.allclose(part, full[:, [4, 1]], atol=1e-5)  # no candidate sees the others
    assert torch.allclose(other[:, 1:], full[:, 1:], atol=1e-5) and not torch.allclose(other[:, 0], full[:, 0])
    assert not torch.allclose(emb[:, 0], emb[:, 1])  # each candidate pools the tokens its own way


@pytest.mark.parametrize("partition", ["adaptive", "static"])
def test_inference_never_sees_labels(partition):
    """The whole evaluation (plain scores, GZSL, streaming refinement) with the test windows' labels permuted:
    every score computed is the same; only the figures, which compare scores with labels, change."""
    m = tiny(partition=partition, refine_threshold=0.0, refine_capacity=4, refine_lr=1e-2, refine_batch=4)
    parts = load_parts("synthetic", "compose", per_class=2, eval_per_class=3, seed=0)
    b = bank(len(parts.class_names()), 10)
    spec = InputSpec(frames=16)
    calls: list[np.ndarray] = []
    import train.methods.refinement as refinement

    real_stream = refinement.refine_stream

    def recording(*a, **k):
        out = real_stream(*a, **k)
        calls.append(out.copy())
        return out

    real_scores = Evaluator.scores

    def scores(self, feats, protos, batch=256):
        out = real_scores(self, feats, protos, batch)
        calls.append(out.copy())
        return out

    def evaluate(p):
        calls.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(refinement, "refine_stream", recording)
            mp.setattr(Evaluator, "scores", scores)
            out = evaluate_run(m, b, p, spec, torch.device("cpu"))
        return out, list(calls)

    first, a = evaluate(parts)
    labels = parts.test_unseen.labels
    perm = labels[np.random.default_rng(0).permutation(len(labels))]
    assert not np.array_equal(perm, labels)
    second, b_ = evaluate(dataclasses.replace(parts, test_unseen=dataclasses.replace(parts.test_unseen, labels=perm)))
    assert len(a) == len(b_) and len(a) >= 6
    for x, y in zip(a, b_):
        assert np.array_equal(x, y)
    assert "zsl_refined" in first["test"] and "gzsl_refined" in first["test"]
    assert first["selection"]["refinement"] == second["selection"]["refinement"]
    assert set(first["selection"]["refinement"]) == {"zsl", "gzsl", "gamma_refined"}


def test_refinement_moves_only_the_classes_it_may_and_only_from_its_memory():
    rng = np.random.default_rng(0)
    text = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(4, 1, 8)).astype(np.float32)), dim=-1)
    emb = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(40, 1, 1, 8)).astype(np.float32)), dim=-1)
    emb = emb.expand(-1, 4, -1, -1)
    embed = lambda idx: emb[torch.from_numpy(np.asarray(idx))]  # noqa: E731
    scales = torch.tensor([10.0])
    plain = ((emb * text[None]).sum(-1) * scales).sum(-1).numpy()
    offset = np.array([0.5, 0.5, 0.0, 0.0], dtype=np.float32)
    adapt = np.array([False, False, True, True])
    cfg = RefineConfig(capacity=4, threshold=0.0, lr=0.1, steps=2, batch=8)
    out = refine_stream(embed, 40, text, scales, adapt, offset, cfg)
    assert np.allclose(out[:, :2], plain[:, :2] - 0.5, atol=1e-5)  # seen classes: never moved, calibrated
    assert not np.allclose(out[:, 2:], plain[:, 2:], atol=1e-3)  # unseen classes: moved
    nothing = refine_stream(embed, 40, text, scales, adapt, offset, dataclasses.replace(cfg, threshold=1.0))
    assert np.allclose(nothing, plain - offset, atol=1e-5)  # nothing confident enough: nothing learned
    again = refine_stream(embed, 40, text, scales, adapt, offset, cfg)
    assert np.array_equal(out, again)  # the stream's order is seeded: a rerun gives the same figures
