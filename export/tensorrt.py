"""python -m export.tensorrt BUNDLE_DIR [--precision fp16 int8] [--max-batch 16]   (run it on the device)

Builds TensorRT engines from the bundle's ONNX files with the TensorRT Python API: an optimisation profile over
batch sizes (1 .. max, optimised for 4), a timing cache kept beside the engines (rebuilds take seconds), and a
JSON header in each engine recording the TensorRT version, the GPU and the ONNX checksum, which the runtime checks.

INT8 comes only from the bundle's explicit Q/DQ ONNX (TensorRT 11 removed implicit calibration; on 10.x the
INT8 flag is set so the Q/DQ layers run in INT8). FP16 builds from the fp32 ONNX: on 10.x with the FP16 flag;
on 11.x, where weak typing is gone, the ONNX must carry FP16 itself (convert it with ModelOpt AutoCast).
"""

from __future__ import annotations

import argparse
import json
import struct
import time
from pathlib import Path

from runtime.backends.tensorrt import engine_path, gpu_name
from runtime.bundle import load_bundle, sha256


def build_engine(bundle_dir: str | Path, precision: str, max_batch: int = 16, workspace_gb: float = 1.0) -> Path:
    import tensorrt as trt

    bundle = load_bundle(bundle_dir)
    major = int(trt.__version__.split(".")[0])
    if precision == "int8":
        if "int8" not in bundle.manifest["encoder"]:
            raise SystemExit(f"{bundle_dir}: no INT8 (Q/DQ) encoder in the bundle; export it with --int8")
        onnx_file = bundle.file("int8")
    else:
        onnx_file = bundle.file("fp32")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if major >= 11:  # always strongly typed there: tensor types and Q/DQ decide the precision
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_file)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise SystemExit(f"TensorRT could not parse {onnx_file.name}:\n{errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if major < 11:  # weak typing: precision comes from builder flags (removed in TensorRT 11)
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        if precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
            config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    spec = bundle.manifest["input"]["shape"][1:]
    name = network.get_input(0).name
    profile.set_shape(name, (1, *spec), (min(4, max_batch), *spec), (max_batch, *spec))
    if network.num_inputs > 1:  # conditioned mode: the prototype table is the second input
        p = network.get_input(1)
        dims = tuple(bundle.table.prototypes.shape[1:])
        profile.set_shape(p.name, (1, *dims), (32, *dims), (512, *dims))
    config.add_optimization_profile(profile)
    engines = Path(bundle_dir) / "engines"
    engines.mkdir(exist_ok=True)
    cache_file = engines / "timing.cache"
    cache = config.create_timing_cache(cache_file.read_bytes() if cache_file.exists() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    t0 = time.time()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise SystemExit(f"TensorRT failed to build the {precision} engine (see the log above)")
    cache_file.write_bytes(memoryview(config.get_timing_cache().serialize()))
    meta = {"tensorrt": trt.__version__, "gpu": gpu_name(), "precision": precision, "max_batch": max_batch,
            "onnx": onnx_file.name, "onnx_sha256": sha256(onnx_file), "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "build_seconds": round(time.time() - t0, 1)}
    header = json.dumps(meta).encode()
    out = engine_path(bundle, precision)
    out.write_bytes(struct.pack("<I", len(header)) + header + bytes(plan))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m export.tensorrt", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--precision", nargs="+", default=["fp16", "int8"], choices=["fp16", "int8", "fp32"])
    ap.add_argument("--max-batch", type=int, default=16)
    args = ap.parse_args(argv)
    for p in args.precision:
        t = time.time()
        out = build_engine(args.bundle, p, args.max_batch)
        print(f"{p}: wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.time() - t:.1f} s")


if __name__ == "__main__":
    main()
