"""A trained method's graph to ONNX (fp32), checked against PyTorch on real inputs.

Features mode: skeleton (N, C, T, V, M) -> features (N, G, D).
Conditioned mode: (skeleton, prototypes (K, ...): the candidate classes' text) -> (scores (N, K): the method's
logits or cosines, as its ``score_kind`` says; embeddings (N, K, G, D): what it scored for each class).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from train.methods.base import ZeroShotMethod

INPUT, OUTPUT = "skeleton", "features"
TEXT_INPUT, SCORES, EMBEDDINGS = "prototypes", "scores", "embeddings"


class _Encoder(torch.nn.Module):
    def __init__(self, method: ZeroShotMethod):
        super().__init__()
        self.method = method

    def forward(self, skeleton: torch.Tensor) -> torch.Tensor:
        return self.method.encode(skeleton)


class _Conditioned(torch.nn.Module):
    def __init__(self, method: ZeroShotMethod):
        super().__init__()
        self.method = method

    def forward(self, skeleton: torch.Tensor, prototypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.method.conditioned(self.method.encode(skeleton), prototypes)


def export_encoder(method: ZeroShotMethod, sample: np.ndarray, path: str | Path, opset: int = 17,
                   class_text: np.ndarray | None = None) -> Path:
    """Write the method's graph with a dynamic batch axis (and class axis); ``sample`` (N, C, T, V, M) traces it,
    with ``class_text`` (K, ...) in conditioned mode."""
    path = Path(path)
    method = method.eval()
    x = torch.from_numpy(sample[:2])
    with torch.no_grad():
        if method.mode == "conditioned":
            if class_text is None:
                raise ValueError(f"{method.name} scores in conditioned mode: export needs class text to trace it")
            torch.onnx.export(
                _Conditioned(method), (x, torch.from_numpy(np.ascontiguousarray(class_text[:3], dtype=np.float32))),
                str(path), dynamo=False, opset_version=opset, input_names=[INPUT, TEXT_INPUT],
                output_names=[SCORES, EMBEDDINGS],
                dynamic_axes={INPUT: {0: "batch"}, TEXT_INPUT: {0: "classes"}, SCORES: {0: "batch", 1: "classes"},
                              EMBEDDINGS: {0: "batch", 1: "classes"}},
            )
        else:
            torch.onnx.export(
                _Encoder(method), (x,), str(path), dynamo=False, opset_version=opset,
                input_names=[INPUT], output_names=[OUTPUT],
                dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            )
    onnx.checker.check_model(onnx.load(str(path)))
    return path


def session(path: str | Path, threads: int = 0):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(path_or_session, inputs: np.ndarray, batch: int = 64) -> np.ndarray:
    """Features mode: the features (N, G, D) of windows."""
    s = session(path_or_session) if isinstance(path_or_session, (str, Path)) else path_or_session
    return np.concatenate([s.run(None, {INPUT: inputs[i : i + batch]})[0] for i in range(0, len(inputs), batch)])


def run_conditioned(path_or_session, inputs: np.ndarray, class_text: np.ndarray, batch: int = 64,
                    pick: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Conditioned mode: scores (N, K) and, per window, the embedding scored for one class (N, G, D): its best
    class, or ``pick`` (N,) (what the device hands to adaptation; all K would be N x K x G x D)."""
    s = session(path_or_session) if isinstance(path_or_session, (str, Path)) else path_or_session
    text = np.ascontiguousarray(class_text, dtype=np.float32)
    scores, emb = [], []
    for i in range(0, len(inputs), batch):
        sc, e = s.run(None, {INPUT: inputs[i : i + batch], TEXT_INPUT: text})
        k = sc.argmax(1) if pick is None else pick[i : i + batch]
        scores.append(sc)
        emb.append(e[np.arange(len(e)), k])
    return np.concatenate(scores), np.concatenate(emb)


@torch.no_grad()
def run_torch(method: ZeroShotMethod, inputs: np.ndarray, batch: int = 64,
              class_text: np.ndarray | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """What the exported graph computes, in PyTorch: features, or (scores, all embeddings) in conditioned mode."""
    method = method.eval()
    if method.mode == "conditioned":
        text = torch.from_numpy(np.ascontiguousarray(class_text, dtype=np.float32))
        outs = [method.conditioned(method.encode(torch.from_numpy(inputs[i : i + batch])), text)
                for i in range(0, len(inputs), batch)]
        return np.concatenate([o[0].numpy() for o in outs]), np.concatenate([o[1].numpy() for o in outs])
    return np.concatenate([method.encode(torch.from_numpy(inputs[i : i + batch])).numpy() for i in range(0, len(inputs), batch)])


def parity(method: ZeroShotMethod, path: str | Path, inputs: np.ndarray, class_text: np.ndarray | None = None) -> dict:
    """Max |difference| between ONNX Runtime and PyTorch outputs, batched and one at a time (conditioned mode:
    the scores divided by the logit scale when they are logits, and the embeddings)."""
    if method.mode == "conditioned":
        unit = float(method.logit_scale.detach()) if method.score_kind == "logit" else 1.0
        ref_s, ref_e = run_torch(method, inputs, class_text=class_text)
        ref_e = ref_e[np.arange(len(ref_e)), ref_s.argmax(1)]
        got_s, got_e = run_conditioned(path, inputs, class_text, pick=ref_s.argmax(1))
        one_s, one_e = zip(*(run_conditioned(path, inputs[i : i + 1], class_text, pick=ref_s[i : i + 1].argmax(1))
                             for i in range(min(8, len(inputs)))))
        one_s, one_e = np.concatenate(one_s), np.concatenate(one_e)
        n1 = len(one_s)
        return {"max_abs_diff": float(max(np.abs(ref_s - got_s).max() / unit, np.abs(ref_e - got_e).max())),
                "max_abs_diff_batch1": float(max(np.abs(ref_s[:n1] - one_s).max() / unit,
                                                 np.abs(ref_e[:n1] - one_e).max())),
                "n": int(len(inputs))}
    ref = run_torch(method, inputs)
    got = run_onnx(path, inputs)
    single = np.concatenate([run_onnx(path, inputs[i : i + 1]) for i in range(min(8, len(inputs)))])
    return {"max_abs_diff": float(np.abs(ref - got).max()),
            "max_abs_diff_batch1": float(np.abs(ref[: len(single)] - single).max()), "n": int(len(inputs))}
