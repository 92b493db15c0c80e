"""The text encoder as ONNX plus its tokenizer, so a device encodes new vocabulary without torch.

    python -m export.text_encoder --out runtime/assets/default_bundle/text_encoder

The graph is the transformer (BERT, or MPNet and others without token types) -> masked mean pooling -> L2
normalisation (what sentence-transformers computes for all-MiniLM-L6-v2 and all-mpnet-base-v2), inputs input_ids
and attention_mask (int64, dynamic batch and length), output embedding.
The export is checked against sentence-transformers on a set of sentences (max abs difference ~1e-7).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from train.text.encoders import DEFAULT_ENCODER, SentenceTransformerEncoder, create_text_encoder

CHECK_SENTENCES = [
    "The person raises one hand above the shoulder and waves it side to side.",
    "a person sits down",
    "Both knees bend deeply and the hips drop toward the heels, holding a crouch before rising.",
    "jumping jacks",
]


class _Pooled(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module):
        super().__init__()
        self.bert = bert
        # BERT takes token_type_ids (all zero for one sentence); MPNet's forward has no such argument
        self.token_types = "token_type_ids" in inspect.signature(bert.forward).parameters

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        extra = {"token_type_ids": torch.zeros_like(input_ids)} if self.token_types else {}
        tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


def export_text_encoder(out: str | Path, spec: str = DEFAULT_ENCODER, check: bool = True) -> dict:
    """Write model.onnx, tokenizer.json and text_encoder.json into ``out``; returns the metadata."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    enc = create_text_encoder(spec)
    if not isinstance(enc, SentenceTransformerEncoder):
        raise NotImplementedError("ONNX export is implemented for sentence-transformers encoders (BERT-style)")
    st = enc.model
    transformer = st[0]
    bert = transformer.auto_model.eval()
    tok_file = Path(enc.path) / "tokenizer.json"
    if not tok_file.exists():
        raise FileNotFoundError(f"{tok_file}: the encoder has no fast-tokenizer file to ship")
    from tokenizers import Tokenizer

    tk = Tokenizer.from_file(str(tok_file))
    max_length = int(st.max_seq_length)
    pad_token = getattr(transformer.tokenizer, "pad_token", "[PAD]") or "[PAD]"
    pad_id = int(getattr(transformer.tokenizer, "pad_token_id", 0) or 0)
    tk.enable_truncation(max_length=max_length)
    tk.enable_padding(pad_id=pad_id, pad_token=pad_token)
    sample = tk.encode_batch(CHECK_SENTENCES[:2])
    ids = torch.tensor([e.ids for e in sample], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in sample], dtype=torch.long)
    model_path = out / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            _Pooled(bert), (ids, mask), str(model_path), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "embedding": {0: "batch"}},
        )
    shutil.copyfile(tok_file, out / "tokenizer.json")
    meta = {"id": enc.id, "checksum": enc.checksum, "dim": enc.dim, "max_length": max_length,
            "pad_id": pad_id, "pad_token": pad_token}
    (out / "text_encoder.json").write_text(json.dumps(meta, indent=1))
    if check:
        meta["max_abs_diff"] = check_against_reference(out, enc)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.name != "checksums.json"}
    (out / "checksums.json").write_text(json.dumps(files, indent=1))
    return meta


def check_against_reference(directory: Path, enc, tolerance: float = 1e-5) -> float:
    from runtime.text import OnnxTextEncoder

    ref = enc.encode(CHECK_SENTENCES)
    got = OnnxTextEncoder(directory).encode(CHECK_SENTENCES)
    diff = float(np.abs(ref - got).max())
    if diff > tolerance:
        raise RuntimeError(f"ONNX text encoder differs from sentence-transformers by {diff:.2e} (> {tolerance})")
    return diff


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runtime/assets/default_bundle/text_encoder", help="output directory")
    ap.add_argument("--encoder", default=DEFAULT_ENCODER, help="minilm | st:<dir>")
    args = ap.parse_args(argv)
    meta = export_text_encoder(args.out, args.encoder)
    print(f"wrote {args.out}: {meta['id']} ({meta['dim']}-d), max |diff| vs sentence-transformers "
          f"{meta['max_abs_diff']:.1e}")


if __name__ == "__main__":
    main()
