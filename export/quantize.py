"""INT8 in explicit Q/DQ form: symmetric per-channel weights and symmetric activations, so that onnxruntime and
TensorRT 10/11 (which dropped implicit calibration) both build from the same file. The head (pooling and the
per-granularity projection, a batched MatMul whose per-channel weights onnxruntime cannot quantise, and a tiny
share of the compute) always stays in floating point, with every other module the method names in its
``float_modules`` (a conditioned method's scorer). A conditioned graph is calibrated with both inputs: the
windows, and the candidate classes' text fed with every batch. If the decisions of the INT8 model still drift from fp32,
more nodes are kept in floating point until the agreement target holds; the manifest says which."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from calibration.reader import ArrayReader

FLOAT_MODULES = ("head",)  # ZeroShotMethod.float_modules' default


def _float_rule(float_modules: tuple[str, ...] = FLOAT_MODULES):
    """Nodes of the method's floating-point modules, and the input streams (bone vectors as x - x @ parents:
    quantising that MatMul's output loses the small bones)."""
    prefixes = tuple(f"/{m}/" for m in float_modules)
    return lambda n: n.startswith(prefixes) or (n.startswith("/backbone/") and "/blocks/" not in n)


# Node groups kept in fp32: the head always, then more, in this order, when INT8 loses too much agreement.
EXCLUSION_STEPS = (
    ("head and input streams", _float_rule()),
    ("first block and input normalisation", lambda n: n.startswith(("/backbone/data_bn", "/backbone/blocks/blocks.0/"))),
    ("last block", lambda n: "/blocks/blocks." in n and n.split("/blocks/blocks.")[1].split("/")[0] == "LAST"),
)


def quantize(fp32: str | Path, out: str | Path, calib: np.ndarray, exclude: list[str] | None = None,
             float_modules: tuple[str, ...] = FLOAT_MODULES, constants: dict[str, np.ndarray] | None = None) -> Path:
    """Q/DQ INT8 of an encoder graph; the nodes of ``float_modules`` (the head), the input streams and ``exclude``
    stay in floating point. ``constants``: further graph inputs fed with every calibration batch (conditioned
    mode: {"prototypes": class text})."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = Path(out)
    rule = _float_rule(float_modules)
    head = [n for n in node_names(fp32) if rule(n)]
    exclude = list(dict.fromkeys([*head, *(exclude or [])]))
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre), str(out), ArrayReader(calib, constants=constants), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=exclude, op_types_to_quantize=["Conv", "MatMul", "Gemm"],
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )
    onnx.checker.check_model(onnx.load(str(out)))
    return out


def node_names(path: str | Path) -> list[str]:
    return [n.name for n in onnx.load(str(path)).graph.node]


def quantize_with_fallback(fp32: str | Path, out: str | Path, calib: np.ndarray,
                           agreement: Callable[[Path], float], target: float = 0.99,
                           float_modules: tuple[str, ...] = FLOAT_MODULES,
                           constants: dict[str, np.ndarray] | None = None) -> tuple[Path, list[str], list[dict]]:
    """Quantise; while agreement(int8_path) < target, keep more node groups in fp32. Returns the path, the
    excluded node names and a log of the attempts."""
    names = node_names(fp32)
    blocks = sorted({n.split("/blocks/blocks.")[1].split("/")[0] for n in names if "/blocks/blocks." in n}, key=int)
    last = blocks[-1] if blocks else None
    excluded: list[str] = []
    attempts = []
    rules = [(EXCLUSION_STEPS[0][0], _float_rule(float_modules)), *EXCLUSION_STEPS[1:]]
    steps = [
        (title, (lambda f: (lambda n: f(n.replace(f"/blocks/blocks.{last}/", "/blocks/blocks.LAST/"))))(rule))
        for title, rule in rules
    ]
    for title, rule in steps:
        excluded += [n for n in names if rule(n) and n not in excluded]
        quantize(fp32, out, calib, excluded, float_modules, constants)
        a = agreement(Path(out))
        attempts.append({"kept_in_fp32": title, "nodes_excluded": len(excluded), "top1_agreement": a})
        if a >= target:
            break
    return Path(out), excluded, attempts


def to_uint8_activations(src: str | Path, dst: str | Path) -> Path:
    """The same Q/DQ model with activations re-encoded as uint8 with zero point 128 (weights stay int8).

    Numerically identical (q_u8 = q_s8 + 128, same scales), but x86 onnxruntime runs u8 activations times s8
    weights on its fast VNNI path, where symmetric s8 x s8 is slower than fp32 on small models. TensorRT needs
    the int8 original (it accepts only signed, zero-point-0 Q/DQ), so the bundle keeps both."""
    import numpy as np
    from onnx import numpy_helper

    model = onnx.load(str(src))
    inits = {i.name: i for i in model.graph.initializer}
    weight_inputs = set(inits)
    act_zero_points = set()
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] not in weight_inputs and len(node.input) > 2:
            act_zero_points.add(node.input[2])
    for name in act_zero_points:
        z = numpy_helper.to_array(inits[name])
        if z.dtype != np.int8:
            continue
        new = numpy_helper.from_array((z.astype(np.int16) + 128).astype(np.uint8), name)
        inits[name].CopyFrom(new)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return Path(dst)
