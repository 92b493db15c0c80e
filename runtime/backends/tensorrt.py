"""Native TensorRT: runs an engine that ``python -m export.tensorrt BUNDLE`` built on this device.

Engines are per-device artefacts: each file starts with a JSON header (4-byte little-endian length, then JSON)
recording the TensorRT version, the GPU and the sha256 of the ONNX it was built from; an engine made for another
TensorRT, GPU or model is refused with a message saying so. Memory and streams go through cuda-python (no torch).
Uses the name-based I/O API of TensorRT 10/11 (set_tensor_address, execute_async_v3).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from runtime.backends.base import Backend, BackendUnavailable
from runtime.bundle import Bundle, sha256


def read_engine(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    if len(data) < 4:
        raise BackendUnavailable(f"{path}: not an engine file")
    n = struct.unpack("<I", data[:4])[0]
    try:
        meta = json.loads(data[4 : 4 + n])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BackendUnavailable(f"{path}: no metadata header (was it built by python -m export.tensorrt?)") from e
    return meta, data[4 + n :]


def engine_path(bundle: Bundle, precision: str) -> Path:
    return bundle.path / "engines" / f"encoder.{precision}.engine"


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError as e:
            raise BackendUnavailable("cuda-python is not installed (pip install cuda-python)") from e
    return cudart


def _check(result):
    err = result[0]
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return result[1] if len(result) == 2 else result[1:]


def gpu_name() -> str:
    cudart = _cudart()
    props = _check(cudart.cudaGetDeviceProperties(0))
    name = props.name
    return name.decode().rstrip("\x00") if isinstance(name, bytes) else str(name)


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, bundle: Bundle, precision: str = "auto"):
        try:
            import tensorrt as trt
        except ImportError as e:
            raise BackendUnavailable("the tensorrt Python package is not installed") from e
        cudart = _cudart()
        if int(cudart.cudaGetDeviceCount()[0]) != 0 or cudart.cudaGetDeviceCount()[1] < 1:
            raise BackendUnavailable("no CUDA device")
        candidates = ["int8", "fp16"] if precision == "auto" else [precision]
        path = next((engine_path(bundle, p) for p in candidates if engine_path(bundle, p).exists()), None)
        if path is None:
            raise BackendUnavailable(f"no engine in {bundle.path / 'engines'}: build one on this device with "
                                     f"`python -m export.tensorrt {bundle.path}`")
        meta, plan = read_engine(path)
        here = {"tensorrt": trt.__version__, "gpu": gpu_name()}
        for key, value in here.items():
            if meta.get(key) != value:
                raise BackendUnavailable(f"{path.name} was built for {key} {meta.get(key)}, this device has {value}: "
                                         f"rebuild with `python -m export.tensorrt {bundle.path}`")
        onnx_file = bundle.path / meta["onnx"]
        if not onnx_file.exists() or sha256(onnx_file) != meta["onnx_sha256"]:
            raise BackendUnavailable(f"{path.name} was built from another model than {meta['onnx']}: rebuild it")
        self.trt, self.cudart = trt, cudart
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(plan)
        if self.engine is None:
            raise BackendUnavailable(f"{path.name}: TensorRT could not deserialise the engine")
        self.context = self.engine.create_execution_context()
        self.stream = _check(cudart.cudaStreamCreate())
        self.precision, self.mode = meta["precision"], bundle.mode
        self.max_batch = int(meta["max_batch"])
        self.names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in self.names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in self.names if n not in self.inputs]
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device pointer, bytes)

    def _device(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self.cudart.cudaFree(ptr))
            ptr = _check(self.cudart.cudaMalloc(nbytes))
            self._buffers[name] = (ptr, nbytes)
        return int(ptr)

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        cudart = self.cudart
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name, arr in feeds.items():
            arr = np.ascontiguousarray(arr, dtype=np.float32)
            self.context.set_input_shape(name, arr.shape)
            ptr = self._device(name, arr.nbytes)
            _check(cudart.cudaMemcpyAsync(ptr, arr.ctypes.data, arr.nbytes, h2d, self.stream))
            self.context.set_tensor_address(name, ptr)
        outs = []
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            out = np.empty(shape, dtype=np.float32)
            self.context.set_tensor_address(name, self._device(name, out.nbytes))
            outs.append(out)
        if not self.context.execute_async_v3(self.stream):
            raise RuntimeError("TensorRT execution failed")
        for name, out in zip(self.outputs, outs):
            _check(cudart.cudaMemcpyAsync(out.ctypes.data, self._buffers[name][0], out.nbytes, d2h, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        return outs

    def features(self, x: np.ndarray) -> np.ndarray:
        parts = [self._run({self.inputs[0]: x[i : i + self.max_batch]})[0] for i in range(0, len(x), self.max_batch)]
        return np.concatenate(parts)

    def conditioned(self, x: np.ndarray, prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, emb = self._run({self.inputs[0]: x, self.inputs[1]: prototypes})
        return scores, emb

    def __del__(self):
        for ptr, _ in getattr(self, "_buffers", {}).values():
            try:
                self.cudart.cudaFree(ptr)
            except Exception:  # interpreter shutdown
                pass
