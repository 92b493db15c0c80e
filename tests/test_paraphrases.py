"""The paraphrase benchmark's held-out phrasings: complete, plain, and apart from every training text; and the
benchmark builds its vocabularies by the device's own rule."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from bench.paraphrase import PARAPHRASES, device_prototypes, load_paraphrases
from train.data.classes import class_names
from train.text.descriptions import load_descriptions

from conftest import REALDATA

ROOT = Path(__file__).resolve().parents[1]
SETS = ["synthetic", "ntu120", "kinder_gator", "utd_mhad", "nw_ucla", "bandai_namco"]


def _norm(text: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", text.lower())
    text = re.sub(r"^(a person|the person|person) ", "", " ".join(text.split()))
    return text


def _training_texts() -> set[str]:
    """Every string of every description file and class list (what training and the table may see)."""
    out: set[str] = set()

    def walk(x):
        if isinstance(x, str):
            out.add(_norm(x))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for f in (ROOT / "train" / "text" / "descriptions").glob("*.json"):
        walk(json.loads(f.read_text())["classes"])
    for f in (ROOT / "train" / "data" / "classes").glob("*.txt"):
        out.update(_norm(line) for line in f.read_text().splitlines() if line.strip())
    return out


@pytest.mark.parametrize("label_set", SETS)
def test_three_plain_phrasings_per_label_never_trained_on(label_set):
    para = load_paraphrases(label_set)
    labels = [c.label for c in load_descriptions(label_set).classes] if label_set == "synthetic" else class_names(label_set)
    assert list(para) == list(labels)
    training = _training_texts()
    seen: dict[str, str] = {}
    for label, phrases in para.items():
        assert len(phrases) == 3 and len(set(phrases)) == 3, label
        for p in phrases:
            assert p == p.lower() and not p.endswith(".") and 2 <= len(p.split()) <= 8, p
            assert _norm(p) not in training, f"{p!r} ({label}) is training text"
            assert seen.setdefault(p, label) == label, f"{p!r} names two labels"


def test_arm_gesture_phrasings_cover_the_labels_file(realdata):
    rows = list(csv.DictReader((REALDATA / "video" / "arm_gestures" / "labels.csv").open()))
    labels = {r["label"].replace("_", " ") for r in rows}
    para = load_paraphrases("arm_gestures")
    assert set(para) == labels and all(len(set(v)) == 3 for v in para.values())
    training = _training_texts()
    assert not any(_norm(p) in training for v in para.values() for p in v)


def test_benchmark_vocabularies_follow_the_device_rule(bundle_dir):
    """A table label gets the table's row; a phrasing the table lacks is encoded on the device, as in the runtime."""
    from runtime.bundle import load_bundle
    from runtime.text import OnnxTextEncoder
    from runtime.vocab import label_prompt

    bundle = load_bundle(bundle_dir)
    encoder = OnnxTextEncoder(bundle.text_encoder_dir())
    label = bundle.table.labels[0]
    phrase = load_paraphrases("ntu120")["Drink water"][0]
    protos = device_prototypes(bundle, [label, phrase], encoder)
    assert np.allclose(protos[0], bundle.table.prototypes[0])
    assert np.allclose(protos[1, 0], encoder.encode([label_prompt(phrase)])[0], atol=1e-6)
    assert sorted(p.stem for p in PARAPHRASES.glob("*.json")) == sorted([*SETS, "arm_gestures"])
