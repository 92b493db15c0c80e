"""Writing a model bundle from a training run (the reading side, and the schema, live in ``runtime.bundle``)."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from runtime.adaptation import AdaptationConfig
from runtime.bundle import MANIFEST, SCHEMA, PrototypeTable, load_bundle, sha256
from runtime.vocab import LABEL_PROMPT, word_texts
from train.data.classes import class_names
from train.text.class_text import class_text_embeddings
from train.text.descriptions import Descriptions, load_descriptions
from train.text.encoders import TextEncoder, encode_cached

PROBE_TEXT = "A person raises one hand above the head and waves it from side to side."


def build_table(encoder: TextEncoder, granularities: tuple[str, ...], ensemble: bool, label_sets: list[str],
                extra: list[tuple[str, str | None]] = (), names: bool = False, text_fn=None,
                rule: str | None = None) -> PrototypeTable:
    """Prototypes for every class of the label sets (first set wins on duplicate labels), then for extra
    (label, description) entries, e.g. from a vocabulary file. ``text_fn(descriptions) -> (embeddings, texts)``:
    the method's ``build_text``, so the table holds what the model was trained against (default: the ensemble
    recipe of ``train.text.class_text`` with ``names``). Extra entries get the texts the device would give them
    (``runtime.vocab.word_texts``, with the method's class text ``rule``)."""
    if text_fn is None:
        def text_fn(d):
            return class_text_embeddings(d, encoder, granularities, ensemble, names)

    labels, texts, protos, aliases, seen = [], [], [], [], set()
    for ls in label_sets:
        d = load_descriptions(ls)
        emb, tx = text_fn(d)
        for c, e, t in zip(d.classes, emb, tx):
            if c.label.lower() in seen:
                continue
            seen.add(c.label.lower())
            labels.append(c.label)
            texts.append([g[0] for g in t])
            protos.append(e)
            aliases.append([a for a in c.aliases if a not in seen])
            seen.update(c.aliases)
    for label, description in extra:
        if label.lower() in seen:
            continue
        seen.add(label.lower())
        per_g = word_texts(label, description, len(granularities), LABEL_PROMPT, rule)
        labels.append(label)
        texts.append(per_g)
        protos.append(encode_cached(encoder, per_g))
        aliases.append([])
    probe = encode_cached(encoder, [PROBE_TEXT])[0]
    return PrototypeTable(labels=labels, texts=texts, prototypes=np.stack(protos).astype(np.float32),
                          aliases=aliases, probe_text=PROBE_TEXT, probe_embedding=probe)


def write_manifest(out: Path, manifest: dict, files: list[str]) -> dict:
    manifest = dict(manifest)
    manifest["schema"] = SCHEMA
    manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest["files"] = {f: {"sha256": sha256(out / f), "bytes": (out / f).stat().st_size} for f in files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    load_bundle(out)  # what the device will do: refuse a bundle that does not check out
    return manifest


def scoring_for(method) -> dict:
    """The manifest's scoring block, from the method's hooks: its mode, what a score is (``score``: "cosine", a
    weighted cosine; or "logit", the graph's output, which the device divides by ``logit_scale``), the interval a
    score lies in (``range``, null for an open end), the granularity weights and the logit scale (``prob`` =
    softmax(logit_scale * score))."""
    lo, hi = method.score_range
    return {"mode": method.mode, "score": method.score_kind, "weights": method.score_weights().tolist(),
            "logit_scale": float(method.logit_scale.detach()),
            "range": [None if math.isinf(lo) else lo, None if math.isinf(hi) else hi]}


def manifest_for(method, ckpt: dict, run_dir: Path, encoder: TextEncoder, spec_dict: dict, granularities, dim: int,
                 int8: bool, run_metrics: dict | None) -> dict:
    test = (run_metrics or {}).get("test", {})
    conditioned = method.mode == "conditioned"
    output = {"name": "scores", "embeddings": "embeddings"} if conditioned else {"name": "features"}
    return {
        "model": {
            "method": ckpt["model_args"]["method"], "backbone": method.cfg.backbone,
            "run": str(run_dir), "trained_on": ckpt.get("label_set"), "split": ckpt.get("split", {}).get("name"),
            # Neuron's runs made before its zsl was the fused score at the chosen weight: the fused figures
            "zero_shot": {k: test.get(f"{k}_fused", test[k]) for k in ("zsl", "gzsl") if k in test},
        },
        "input": {**spec_dict, "name": "skeleton", "shape": ["batch", spec_dict["channels"], spec_dict["frames"],
                                                             spec_dict["joints"], spec_dict["persons"]],
                  **({"class_text": "prototypes"} if conditioned else {})},
        "output": {**output, "granularities": list(granularities), "dim": dim},
        "scoring": scoring_for(method),
        "encoder": {"fp32": "encoder.onnx", **({"int8": "encoder.int8.onnx", "int8_u8": "encoder.int8-u8.onnx"} if int8 else {})},
        "prototypes": {"file": "prototypes.npz"},
        "text_encoder": {
            "id": encoder.id, "checksum": encoder.checksum, "dir": "text_encoder",
            "generated_by": "python -m export.text_encoder --out <bundle>/text_encoder",
            "label_prompt": LABEL_PROMPT,
            "label_text": bool(getattr(method.cfg, "label_text", False)),  # table recipe: labels in the ensemble
            # how the device makes a new word's per-granularity texts (runtime.vocab.word_texts); none: one text
            **({"class_text_rule": method.class_text_rule} if getattr(method, "class_text_rule", None) else {}),
        },
        # a method without a shared feature space (its embeddings are not comparable with class text) has none
        "adaptation": {"enabled": bool(method.shared_space), **dataclasses.asdict(AdaptationConfig())},
    }


def descriptions_for(label_set: str) -> Descriptions:
    d = load_descriptions(label_set)
    assert d.labels == list(class_names(label_set))
    return d
