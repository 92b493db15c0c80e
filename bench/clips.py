"""Clip-level zero-shot accuracy of a bundle on a labelled skeleton dataset, through the device's own path.

Each sequence is played as the device sees a person: a window every ``stride`` frames over the last
``window_seconds`` (``runtime.recognizer.Recognizer.window``: resampled by time, then ``runtime.skeleton.preprocess``),
the bundle's ONNX encoder on onnxruntime, and ``runtime.scoring`` against the vocabulary's prototypes (a
conditioned bundle's graph scores the prototypes itself). A clip's scores are the mean of its windows' scores; a clip shorter than one window's minimum coverage is scored as
one window of what there is (the device would wait for more frames).

Prototypes come from text exactly as the device makes them: ``described`` uses each class's written
descriptions (global sentence and paraphrases averaged, as the bundle's prototype table does), ``label`` the
label alone in the device's prompt ("a person {label}"), as a user typing the label would get.
"""

from __future__ import annotations

import numpy as np

from runtime.backends import create_backend
from runtime.bundle import Bundle
from runtime.recognizer import RecognizerConfig
from runtime.scoring import score
from runtime.vocab import label_prompt
from runtime.windows import sequence_windows, window_at


def clip_windows(seq: np.ndarray, fps: float, bundle: Bundle, stride: int = 4) -> np.ndarray:
    """(W, C, T, V, M) model inputs of one person's sequence (T, 25, 3) at ``fps``, windowed as the recogniser
    does (``runtime.windows``)."""
    return sequence_windows(seq, np.arange(len(seq)) / fps, bundle.spec, stride=stride,
                            min_coverage=RecognizerConfig().min_coverage)


def text_prototypes(descriptions, granularities: tuple[str, ...], mode: str, encoder=None,
                    names: bool = False) -> np.ndarray:
    """(C, G, D) prototypes of a label set's classes: 'described' (the table's recipe; ``names`` as the bundle's
    manifest says, ``text_encoder.label_text``) or 'label' (the prompt)."""
    from train.text.class_text import class_text_embeddings
    from train.text.encoders import create_text_encoder, encode_cached

    encoder = encoder or create_text_encoder("minilm")
    if mode == "described":
        return class_text_embeddings(descriptions, encoder, granularities, True, names)[0]
    e = encode_cached(encoder, [label_prompt(c.label) for c in descriptions.classes])
    return np.repeat(e[:, None], len(granularities), axis=1).astype(np.float32)


def window_scores(bundle: Bundle, backend, x: np.ndarray, prototypes: np.ndarray, batch: int = 64) -> np.ndarray:
    """(W, C) scores of windows as the recogniser reads them: weighted cosines (features mode), or a conditioned
    graph's outputs, divided by the logit scale when they are logits."""
    if bundle.mode == "features":
        feats = np.concatenate([backend.features(x[k : k + batch]) for k in range(0, len(x), batch)])
        return score(feats, prototypes, bundle.weights, 1.0)
    unit = bundle.logit_scale if bundle.score_kind == "logit" else 1.0
    return np.concatenate([backend.conditioned(x[k : k + batch], prototypes)[0] for k in range(0, len(x), batch)]) / unit


def live_window(seq: np.ndarray, fps: float, bundle: Bundle) -> np.ndarray:
    """(1, C, T, V, M): the window a live camera scores as the action ends, the person still (the first pose
    held) for a window's length before it. A short clip is not stretched over the window here: it keeps its
    own pace, as in a stream."""
    pad = int(np.ceil(bundle.spec.window_seconds * fps))
    x = np.concatenate([np.repeat(np.asarray(seq[:1], np.float64), pad, axis=0), seq])
    return window_at(x, np.arange(len(x)) / fps, len(x) - 1, bundle.spec, bundle.spec.window_seconds)[None]


def evaluate_clips(bundle: Bundle, ds, prototypes: np.ndarray, stride: int = 4, backend=None,
                   progress: bool = False, live: bool = False) -> dict:
    """Top-1/top-5 over clips (and over windows) of dataset ``ds`` whose labels index ``prototypes``;
    ``live``: also the top-1 of each clip's ``live_window``."""
    from tqdm import tqdm

    backend = backend or create_backend(bundle, "ort-cpu", "fp32")
    clip_scores, win_hits1, win_hits5, n_win, live_hits = [], 0, 0, 0, 0
    for i in tqdm(range(len(ds)), desc="clips", disable=not progress, leave=False):
        seq = ds.sequence(i)[:, 0]
        x = clip_windows(seq, ds.fps, bundle, stride)
        cos = window_scores(bundle, backend, x, prototypes)
        order = np.argsort(-cos, axis=1)
        truth = int(ds.labels[i])
        win_hits1 += int((order[:, 0] == truth).sum())
        win_hits5 += int((order[:, :5] == truth).any(axis=1).sum())
        n_win += len(cos)
        clip_scores.append(cos.mean(axis=0))
        if live:
            live_hits += int(window_scores(bundle, backend, live_window(seq, ds.fps, bundle), prototypes)[0].argmax() == truth)
    cs = np.array(clip_scores)
    order = np.argsort(-cs, axis=1)
    truth = ds.labels
    hit1 = order[:, 0] == truth
    hit5 = (order[:, :5] == truth[:, None]).any(axis=1)
    per_class = {int(c): float(hit1[truth == c].mean()) for c in np.unique(truth)}
    out = {"top1": float(hit1.mean()), "top5": float(hit5.mean()), "n": int(len(truth)),
           "chance": 1.0 / len(prototypes), "windows": {"top1": win_hits1 / n_win, "top5": win_hits5 / n_win, "n": n_win},
           "per_class_top1": per_class, "predicted": order[:, 0].tolist()}
    if live:
        out["live_top1"] = live_hits / len(truth)
    return out
