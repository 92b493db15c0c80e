"""Class text embeddings per granularity: the semantic side every method is trained and evaluated against.

    bank = class_text_embeddings(load_descriptions("ntu120"), encoder, ("global", "head", "legs"))
    bank.shape == (120, 3, 384)

'global' averages the global sentence with its paraphrases (prompt ensembling, as open_clip averages
templates) and re-normalises; a part or phase name uses that sentence; 'label' uses the class name in a
template. Texts are what the prototype table records, so the device can reproduce them.

``names=True`` adds the label and its aliases, in the device's prompt for a bare label, to the 'global'
ensemble: users type short phrases, not sentences, and MiniLM places a short phrase away from the long
descriptions of the same motion; training against both puts the motion's features between them.
"""

from __future__ import annotations

import numpy as np

from runtime.vocab import label_prompt
from train.text.descriptions import ClassText, Descriptions
from train.text.encoders import TextEncoder, encode_cached


def name_prompts(c: ClassText) -> list[str]:
    """The label and its aliases as the device encodes a bare label (``runtime.vocab.label_prompt``)."""
    return list(dict.fromkeys(label_prompt(t) for t in (c.label, *c.aliases)))


def granularity_texts(c: ClassText, granularity: str, ensemble: bool = True, names: bool = False) -> list[str]:
    if granularity == "global":
        texts = c.all_global() if ensemble else [c.global_]
        return texts + name_prompts(c) if names else texts
    if granularity == "label":
        return [label_prompt(c.label)]
    return [c.get(granularity)]


def class_text_embeddings(d: Descriptions, encoder: TextEncoder, granularities: tuple[str, ...],
                          ensemble: bool = True, names: bool = False) -> tuple[np.ndarray, list[list[list[str]]]]:
    """(C, G, D) float32 L2-normalised embeddings, and the texts behind each (C, G) entry."""
    variants, texts = text_variants(d, encoder, granularities, ensemble, names)
    mean = variants.mean(axis=2)
    return (mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)).astype(np.float32), texts


def text_variants(d: Descriptions, encoder: TextEncoder, granularities: tuple[str, ...],
                  ensemble: bool = True, names: bool = False) -> tuple[np.ndarray, list[list[list[str]]]]:
    """(C, G, P, D): every text of every (class, granularity), P the most any has (shorter lists repeat), for
    methods that sample one wording per step (text augmentation) instead of the ensemble mean."""
    texts = [[granularity_texts(c, g, ensemble, names) for g in granularities] for c in d.classes]
    flat = [t for per_class in texts for per_g in per_class for t in per_g]
    emb = encode_cached(encoder, flat)
    p = max(len(per_g) for per_class in texts for per_g in per_class)
    out = np.zeros((len(d.classes), len(granularities), p, emb.shape[1]), dtype=np.float32)
    k = 0
    for ci, per_class in enumerate(texts):
        for gi, per_g in enumerate(per_class):
            block = emb[k : k + len(per_g)]
            out[ci, gi] = block[np.arange(p) % len(per_g)]
            k += len(per_g)
    return out, texts
