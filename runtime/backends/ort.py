"""onnxruntime with the CPU, CUDA or TensorRT execution provider."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.backends.base import Backend, BackendUnavailable
from runtime.backends.cpu_features import int8_dot_product
from runtime.bundle import Bundle

PROVIDERS = {"ort-cpu": "CPUExecutionProvider", "ort-cuda": "CUDAExecutionProvider",
             "ort-tensorrt": "TensorrtExecutionProvider"}


class OrtBackend(Backend):
    def __init__(self, bundle: Bundle, name: str = "ort-cpu", precision: str = "auto", threads: int = 0):
        import onnxruntime as ort

        provider = PROVIDERS[name]
        if provider not in ort.get_available_providers():
            raise BackendUnavailable(f"onnxruntime has no {provider} (installed: {', '.join(ort.get_available_providers())})")
        encoders = bundle.manifest["encoder"]
        note = ""
        if precision == "auto":  # GPUs run the fp32 graph here (TensorRT builds its own engines)
            precision = "fp32"
            if name == "ort-cpu" and "int8" in encoders:
                # INT8 pays on CPUs with 8-bit dot products only; elsewhere fp32 is as fast and exact
                flag = int8_dot_product()
                precision, note = ("int8", f"CPU has {flag}") if flag else ("fp32", "CPU lacks INT8 dot products (VNNI/dotprod)")
        if precision not in ("fp32", "int8"):
            raise BackendUnavailable(f"onnxruntime runs fp32 or int8 encoders, not {precision!r}")
        if precision not in encoders:
            raise BackendUnavailable(f"the bundle has no {precision} encoder (has {', '.join(encoders)})")
        # on the CPU the uint8-activation copy of the same Q/DQ model takes onnxruntime's fast u8 x s8 kernels
        key = "int8_u8" if precision == "int8" and name == "ort-cpu" and "int8_u8" in encoders else precision
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        # the runtime runs other threads beside inference; spinning workers would steal their cores
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers: list = [provider, "CPUExecutionProvider"] if provider != "CPUExecutionProvider" else [provider]
        if name == "ort-tensorrt":
            cache = Path(bundle.path) / "engines" / "ort-trt"
            cache.mkdir(parents=True, exist_ok=True)
            providers[0] = (provider, {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
                                       "trt_timing_cache_enable": True, "trt_fp16_enable": precision != "int8",
                                       "trt_int8_enable": precision == "int8"})
        path = bundle.file(key)  # checked against its sha256 again right before the session opens it
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types
            raise BackendUnavailable(f"cannot load {path.name} with {provider}: {e}") from e
        if self.session.get_providers()[0] != provider:
            raise BackendUnavailable(f"{provider} was requested but onnxruntime fell back to {self.session.get_providers()[0]}")
        self.name, self.precision, self.mode, self.precision_note = name, precision, bundle.mode, note
        self.inputs = [i.name for i in self.session.get_inputs()]

    def features(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.inputs[0]: np.ascontiguousarray(x, dtype=np.float32)})[0]

    def conditioned(self, x: np.ndarray, prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, emb = self.session.run(None, {self.inputs[0]: np.ascontiguousarray(x, dtype=np.float32),
                                              self.inputs[1]: np.ascontiguousarray(prototypes, dtype=np.float32)})
        return scores, emb
