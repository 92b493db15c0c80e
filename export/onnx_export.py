"""A trained method's skeleton encoder to ONNX (fp32), checked against PyTorch on real inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from train.methods.base import ZeroShotMethod

INPUT, OUTPUT = "skeleton", "features"


class _Encoder(torch.nn.Module):
    def __init__(self, method: ZeroShotMethod):
        super().__init__()
        self.method = method

    def forward(self, skeleton: torch.Tensor) -> torch.Tensor:
        return self.method.encode(skeleton)


def export_encoder(method: ZeroShotMethod, sample: np.ndarray, path: str | Path, opset: int = 17) -> Path:
    """Write the encoder with a dynamic batch axis; ``sample`` (N, C, T, V, M) traces it."""
    path = Path(path)
    method = method.eval()
    with torch.no_grad():
        torch.onnx.export(
            _Encoder(method), (torch.from_numpy(sample[:2]),), str(path), dynamo=False, opset_version=opset,
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
    s = session(path_or_session) if isinstance(path_or_session, (str, Path)) else path_or_session
    return np.concatenate([s.run(None, {INPUT: inputs[i : i + batch]})[0] for i in range(0, len(inputs), batch)])


@torch.no_grad()
def run_torch(method: ZeroShotMethod, inputs: np.ndarray, batch: int = 64) -> np.ndarray:
    method = method.eval()
    return np.concatenate([method.encode(torch.from_numpy(inputs[i : i + batch])).numpy() for i in range(0, len(inputs), batch)])


def parity(method: ZeroShotMethod, path: str | Path, inputs: np.ndarray) -> dict:
    """Max |difference| between ONNX Runtime and PyTorch features, batched and one at a time."""
    ref = run_torch(method, inputs)
    got = run_onnx(path, inputs)
    single = np.concatenate([run_onnx(path, inputs[i : i + 1]) for i in range(min(8, len(inputs)))])
    return {"max_abs_diff": float(np.abs(ref - got).max()),
            "max_abs_diff_batch1": float(np.abs(ref[: len(single)] - single).max()), "n": int(len(inputs))}
