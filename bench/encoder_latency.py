"""python -m bench.encoder_latency BUNDLE_DIR [--run RUN_DIR] [--threads 2] [--repeats 200]

Latency of the skeleton encoder at batch 1 and batch 8 (median and p95, milliseconds) in PyTorch eager (when the
training run is given), ONNX fp32 and ONNX INT8 on onnxruntime CPU, and on CUDA / TensorRT when present; model
sizes, and the INT8 agreement recorded in the manifest. One session at a time, with thread spinning off as in the
runtime. Inputs are real preprocessed windows from the synthetic generator.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from runtime.bundle import load_bundle
from runtime.skeleton import preprocess
from runtime.synth import SYNTHETIC_CLASSES, generate


def windows(spec, n: int = 16) -> np.ndarray:
    return np.stack([preprocess(generate(SYNTHETIC_CLASSES[i % len(SYNTHETIC_CLASSES)], i).joints[:, None], spec)
                     for i in range(n)]).astype(np.float32)


def timeit(fn, x: np.ndarray, repeats: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        fn(x)
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        t.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(float(np.median(t)), 3), "p95_ms": round(float(np.percentile(t, 95)), 3)}


def ort_session(path: Path, provider: str, threads: int):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.log_severity_level = 3
    # as the runtime runs it: worker threads do not spin (they would steal the cores MediaPipe needs)
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), o, providers=[provider])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.encoder_latency", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle")
    ap.add_argument("--run", help="training run, to time PyTorch eager too")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    b = load_bundle(args.bundle)
    x = windows(b.spec)
    rows: dict[str, dict] = {}
    if args.run:
        import torch

        from train import checkpoint

        torch.set_num_threads(args.threads)
        method, _ = checkpoint.load(args.run)

        def eager(v):
            with torch.no_grad():
                return method.encode(torch.from_numpy(v))

        rows["pytorch eager fp32"] = {f"batch{n}": timeit(eager, x[:n], args.repeats) for n in (1, 8)}
    providers = ["CPUExecutionProvider"] + [p for p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
                                            if p in ort.get_available_providers()]
    for provider in providers:
        for precision, file in b.manifest["encoder"].items():
            if provider != "CPUExecutionProvider" and precision == "int8_u8":
                continue
            s = ort_session(b.path / file, provider, args.threads)
            inp = s.get_inputs()[0].name
            fn = (lambda sess, name: (lambda v: sess.run(None, {name: v})))(s, inp)
            rows[f"onnxruntime {provider.replace('ExecutionProvider', '')} {precision}"] = {
                f"batch{n}": timeit(fn, x[:n], args.repeats) for n in (1, 8)}
            del s
    sizes = {f: round((b.path / f).stat().st_size / 1e6, 2) for f in b.manifest["encoder"].values()}
    int8 = b.manifest.get("calibration", {}).get("int8", {})
    print(f"bundle {b.path} ({b.manifest['model']['method']}/{b.manifest['model']['backbone']}, input "
          f"{b.manifest['input']['shape']}), {args.threads} threads, {args.repeats} repeats")
    print(f"{'':34s} {'batch 1 median':>15s} {'p95':>8s} {'batch 8 median':>15s} {'p95':>8s}")
    for name, r in rows.items():
        print(f"{name:34s} {r['batch1']['median_ms']:13.2f}ms {r['batch1']['p95_ms']:6.2f}ms "
              f"{r['batch8']['median_ms']:13.2f}ms {r['batch8']['p95_ms']:6.2f}ms")
    print("sizes: " + ", ".join(f"{k} {v} MB" for k, v in sizes.items()))
    if int8:
        print(f"INT8 agreement: top-1 {int8['top1_agreement']:.4f} on {int8['n']} held-out windows, "
              f"min feature cosine {int8['feature_cosine_min']:.4f}")
    out = {"latency": rows, "sizes_mb": sizes, "int8": {k: int8.get(k) for k in ("top1_agreement", "n", "feature_cosine_min")},
           "threads": args.threads}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
