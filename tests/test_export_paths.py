"""Export pieces that the end-to-end runs do not reach: every backbone exports to ONNX, calibration windows from a
recording, uint8 re-encoding of a Q/DQ model, the conditioned scoring mode, and TensorRT (GPU only)."""

from __future__ import annotations

import json
import platform
import shutil

import numpy as np
import onnx
import pytest
import torch

from export import onnx_export, quantize
from runtime.backends.cpu_features import cpu_flags, int8_dot_product
from runtime.bundle import PrototypeTable, load_bundle, sha256
from runtime.frames import Person
from runtime.recording import RecordingWriter
from runtime.skeleton import InputSpec
from runtime.synth import SynthConfig, generate
from train.methods.pgfa import PGFA


@pytest.mark.parametrize("backbone", ["edge", "stgcn", "shiftgcn"])
def test_every_backbone_exports_and_matches_pytorch(tmp_path, backbone):
    torch.manual_seed(0)
    m = PGFA(PGFA.config_class(backbone=backbone, frames=16), 32).eval()
    x = np.random.default_rng(0).normal(size=(3, 3, 16, 25, 1)).astype(np.float32)
    path = onnx_export.export_encoder(m, x, tmp_path / "e.onnx")
    p = onnx_export.parity(m, path, x)
    assert p["max_abs_diff"] < 1e-4 and p["max_abs_diff_batch1"] < 1e-4


def test_calibration_windows_from_a_recording(tmp_path):
    from calibration.select import from_recording

    path = tmp_path / "rec.jsonl"
    seq = np.concatenate([generate("Clapping", i, SynthConfig()).joints for i in range(3)])
    with RecordingWriter(path) as w:
        for i, j in enumerate(seq):
            w.write(i / 30, [Person(0, j)])
    spec = InputSpec(frames=16)
    x = from_recording(path, spec, stride_s=0.5)
    assert x.shape[1:] == (3, 16, 25, 1) and len(x) >= (len(seq) / 30 - spec.window_seconds) / 0.5
    assert np.isfinite(x).all() and np.abs(x).max() > 0.1


def test_uint8_reencoding_is_numerically_the_same_model(tmp_path):
    torch.manual_seed(0)
    m = PGFA(PGFA.config_class(backbone="edge-tiny", frames=16), 16).eval()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3, 16, 25, 1)).astype(np.float32)
    fp32 = onnx_export.export_encoder(m, x, tmp_path / "e.onnx")
    s8 = quantize.quantize(fp32, tmp_path / "s8.onnx", x)
    u8 = quantize.to_uint8_activations(s8, tmp_path / "u8.onnx")
    zps = [i for i in onnx.load(str(u8)).graph.initializer if i.name.endswith("zero_point") and i.data_type == onnx.TensorProto.UINT8]
    assert zps, "activations are uint8 in the CPU copy"
    a, b, ref = onnx_export.run_onnx(s8, x), onnx_export.run_onnx(u8, x), onnx_export.run_onnx(fp32, x)
    assert np.abs(a - ref).max() < 0.2
    if int8_dot_product():  # VNNI / dotprod: exact 32-bit accumulation, the two encodings agree
        assert np.abs(a - b).max() < 1e-2
    else:  # AVX2's u8 x s8 kernel saturates 16-bit pair sums: close to fp32 still, but not bit-alike
        assert _cos(b, ref).min() > 0.95 and np.abs(b - ref).max() < 0.3


def _cos(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (p * q).sum(-1) / np.linalg.norm(p, axis=-1) / np.linalg.norm(q, axis=-1)


def test_cpu_feature_detection_reads_cpuinfo(tmp_path):
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n")
    vnni = tmp_path / "vnni"
    vnni.write_text("processor\t: 0\nflags\t\t: avx2 avx512f avx512_vnni\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp\n")
    assert cpu_flags(avx2) == {"fpu", "sse2", "avx2", "fma"}
    if platform.system() != "Darwin":
        assert int8_dot_product(avx2) is None
        assert int8_dot_product(vnni) == "avx512_vnni" and int8_dot_product(arm) == "asimddp"
        assert int8_dot_product(tmp_path / "missing") is None


class _Conditioned(torch.nn.Module):
    """A text-conditioned head for the test: each class's prototype re-weights the pooled feature."""

    def __init__(self):
        super().__init__()
        self.m = PGFA(PGFA.config_class(backbone="edge-tiny", frames=16), 8).eval()

    def forward(self, skeleton, prototypes):
        f = self.m.encode(skeleton)  # (N, 1, D)
        emb = torch.nn.functional.normalize(f.unsqueeze(1) * (1 + prototypes.unsqueeze(0)), dim=-1)  # (N, K, 1, D)
        scores = (emb * prototypes.unsqueeze(0)).sum(-1).mean(-1)  # (N, K)
        return scores, emb


def test_conditioned_mode_runs_through_the_recogniser(tmp_path, bundle_dir):
    from runtime.backends import create_backend
    from runtime.publisher import PredictionCollector
    from runtime.recognizer import Recognizer, RecognizerConfig
    from runtime.vocab import VocabEntry, resolve

    d = tmp_path / "cond"
    shutil.copytree(bundle_dir, d, ignore=shutil.ignore_patterns("text_encoder", "engines", "encoder*.onnx"))
    model = _Conditioned().eval()
    protos = np.random.default_rng(0).normal(size=(4, 1, 8)).astype(np.float32)
    protos /= np.linalg.norm(protos, axis=-1, keepdims=True)
    x = np.zeros((2, 3, 16, 25, 1), np.float32)
    torch.onnx.export(model, (torch.from_numpy(x), torch.from_numpy(protos)), str(d / "encoder.onnx"), dynamo=False,
                      opset_version=17, input_names=["skeleton", "prototypes"], output_names=["scores", "embeddings"],
                      dynamic_axes={"skeleton": {0: "batch"}, "prototypes": {0: "classes"}, "scores": {0: "batch", 1: "classes"},
                                    "embeddings": {0: "batch", 1: "classes"}})
    PrototypeTable(["a", "b", "c", "d"], [["a"]] * 4, protos, [[]] * 4, "probe", np.zeros(8, np.float32)).save(d / "prototypes.npz")
    m = json.loads((d / "manifest.json").read_text())
    m["scoring"] = {"mode": "conditioned", "weights": [1.0], "logit_scale": 10.0}
    m["encoder"] = {"fp32": "encoder.onnx"}
    m["input"].update(frames=16, persons=1)
    m["output"] = {"name": "scores", "granularities": ["global"], "dim": 8}
    m.pop("background", None)  # the shipped bundle's reference windows are of its own 384-d features
    m["files"] = {f: {"sha256": sha256(d / f), "bytes": (d / f).stat().st_size} for f in ("encoder.onnx", "prototypes.npz")}
    (d / "manifest.json").write_text(json.dumps(m))
    b = load_bundle(d)
    assert b.mode == "conditioned"

    keep = PredictionCollector()
    vocab = resolve([VocabEntry(x, None, i) for i, x in enumerate("abcd")], b.table, None, 1)
    # no adaptation: it refines the prototypes after each window is published, so the prototypes after the last
    # window are not the ones its scores were made with (the cause of this test's earlier flakiness)
    rec = Recognizer(b, create_backend(b, "ort-cpu"), vocab, keep, RecognizerConfig(stride=4, adapt=False))
    for i, j in enumerate(generate("Salute", 1).joints):
        if rec.push(i / 30, [Person(0, j)]):
            last = rec.window(0)  # the window the last prediction scored (later frames would make another)
    assert keep.predictions and len(keep.predictions[0]["top_k"]) == 4
    with torch.no_grad():
        window = torch.from_numpy(last[None])
        ref = model(window, torch.from_numpy(rec.prototypes))[0].numpy()[0]
    got = {t["label"]: t["score"] for t in keep.predictions[-1]["top_k"]}
    assert np.allclose([got[x] for x in "abcd"], ref, atol=1e-3)


def _gpu() -> bool:
    try:
        import tensorrt  # noqa: F401

        from runtime.backends.tensorrt import gpu_name

        gpu_name()
        return True
    except Exception:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu(), reason="needs TensorRT and an NVIDIA GPU")
def test_tensorrt_engines_build_and_match_onnx(tmp_path, bundle_dir):
    from export.tensorrt import build_engine
    from runtime.backends import create_backend

    d = tmp_path / "b"
    shutil.copytree(bundle_dir, d, ignore=shutil.ignore_patterns("text_encoder", "engines"))
    b = load_bundle(d)
    x = np.stack([__import__("runtime.skeleton", fromlist=["x"]).preprocess(generate("Salute", i).joints[:, None], b.spec)
                  for i in range(8)])
    ref = create_backend(b, "ort-cpu", "fp32").features(x)
    for precision in ("fp16", "int8"):
        build_engine(d, precision)
        trt = create_backend(load_bundle(d), "tensorrt", precision)
        got = trt.features(x)
        cos = (got * ref).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(ref, axis=-1))
        assert cos.min() > 0.99, (precision, cos.min())
    # an engine made for another TensorRT is refused, saying so
    eng = d / "engines" / "encoder.fp16.engine"
    data = eng.read_bytes()
    n = int.from_bytes(data[:4], "little")
    meta = json.loads(data[4 : 4 + n])
    meta["tensorrt"] = "0.0.1"
    head = json.dumps(meta).encode()
    eng.write_bytes(len(head).to_bytes(4, "little") + head + data[4 + n :])
    from runtime.backends.base import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="was built for tensorrt 0.0.1"):
        create_backend(load_bundle(d), "tensorrt", "fp16")
