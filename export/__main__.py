"""python -m export --run RUN_DIR --out BUNDLE_DIR [--vocab FILE] [--int8/--no-int8] [--calib N | --calib-recording F]

Writes a model bundle (ARCHITECTURE.md, contract 1) from a training run:
  encoder.onnx        the skeleton encoder, fp32, dynamic batch, checked against PyTorch on real inputs
  encoder.int8.onnx   Q/DQ INT8 (symmetric int8 activations and per-channel weights): TensorRT 10/11, ORT-TRT
  encoder.int8-u8.onnx  the same with activations re-encoded as uint8 (zero point 128): fast on CPU onnxruntime
  prototypes.npz      labels, texts, prototypes of the run's label set (+ --label-sets, + --vocab entries)
  text_encoder/       ONNX text encoder + tokenizer (--no-text-encoder leaves it for setup to make)
  manifest.json       everything the device needs, with checksums and calibration results

Example (the default bundle that ships with the runtime):
  python -m export --run runs/pgfa-synthetic-ship --out runtime/assets/default_bundle --label-sets ntu120 --no-text-encoder
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from calibration import agreement, select, threshold
from export import onnx_export, quantize
from export.bundle import build_table, manifest_for, write_manifest
from runtime.skeleton import InputSpec, preprocess
from runtime.synth import IDLE, SynthConfig, generate, sample_seed
from train import checkpoint
from train.data.loading import load_parts
from train.text.encoders import create_text_encoder


def _held_out(parts, spec, n_per_part: int = 400):
    """Held-out windows (never used for calibration) and their labels: validation and test parts."""
    xs, ys = [], []
    for name in ("val_seen", "val_unseen", "test_seen", "test_unseen"):
        ds = getattr(parts, name)
        idx = select.balanced_indices(ds.labels, n_per_part, seed=1)
        xs.append(np.stack([preprocess(ds.sequence(i), spec) for i in idx]))
        ys.append(ds.labels[idx])
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def _idle_windows(spec, n: int = 64) -> np.ndarray:
    return np.stack([preprocess(generate(IDLE, sample_seed(7, 0, i), SynthConfig()).joints[:, None], spec)
                     for i in range(n)]).astype(np.float32)


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="training run directory (holds best.pt, config.json)")
    ap.add_argument("--out", required=True, help="bundle directory to write (replaced if it exists)")
    ap.add_argument("--vocab", help="actions.txt whose labels are added to the prototype table")
    ap.add_argument("--label-sets", default="", help="extra description sets for the table, e.g. ntu120,pku51")
    ap.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True, help="also write the INT8 encoder")
    ap.add_argument("--calib", type=int, default=256, help="calibration windows from the run's seen classes")
    ap.add_argument("--calib-recording", help="calibrate from a skeleton recording of your own camera instead")
    ap.add_argument("--agreement-target", type=float, default=0.99, help="INT8 top-1 agreement to reach")
    ap.add_argument("--unknown-recall", type=float, default=0.9, help="known windows kept by the unknown threshold")
    ap.add_argument("--text-encoder", action=argparse.BooleanOptionalAction, default=True,
                    help="write the ONNX text encoder into the bundle (90 MB)")
    ap.add_argument("--per-class", type=int, default=12, help="synthetic runs: samples per class for calibration data")
    args = ap.parse_args(argv)
    t0 = time.time()
    run_dir = Path(args.run)
    method, ckpt = checkpoint.load(run_dir)
    cfg = json.loads((run_dir / "config.json").read_text())["run"]
    spec = InputSpec.from_dict(ckpt["model_args"]["input_spec"])
    granularities = tuple(ckpt["model_args"]["granularities"])
    encoder = create_text_encoder(ckpt["text_encoder"]["spec"])
    if encoder.checksum != ckpt["text_encoder"]["checksum"]:
        raise SystemExit(f"the installed text encoder {encoder.id} is not the one {run_dir} was trained with")

    out = Path(args.out)
    keep_text_encoder = out / "text_encoder"
    if out.exists():
        for f in out.iterdir():
            if f != keep_text_encoder:
                shutil.rmtree(f) if f.is_dir() else f.unlink()
    out.mkdir(parents=True, exist_ok=True)

    print(f"data for calibration and checks from {cfg['data']}/{cfg['split']} ...")
    parts = load_parts(cfg["data"], cfg["split"], cfg["root"] or None, cfg["protocol"], args.per_class,
                       max(args.per_class // 2, 4), cfg["seed"], cfg["split_file"] or None)
    held_x, held_y = _held_out(parts, spec)
    calib = (select.from_recording(args.calib_recording, spec, n=args.calib) if args.calib_recording
             else select.from_dataset(parts.train, spec, args.calib))

    # prototype table: the run's label set first, then extra sets, then vocabulary entries
    label_set = ckpt["label_set"]
    extra_sets = [s for s in args.label_sets.split(",") if s and s != label_set]
    vocab_entries = []
    if args.vocab:
        from runtime.vocab import read_vocab

        vocab_entries = [(e.label, e.description) for e in read_vocab(args.vocab)]
    table = build_table(encoder, granularities, method.ensemble_text, [label_set, *extra_sets], vocab_entries)
    table.save(out / "prototypes.npz")
    n_set = len(ckpt["class_names"])
    set_protos = table.prototypes[:n_set]
    weights, scale = method.weights.numpy(), float(method.logit_scale.detach())

    fp32 = onnx_export.export_encoder(method, held_x, out / "encoder.onnx")
    par = onnx_export.parity(method, fp32, held_x[:128])
    print(f"encoder.onnx: max |ONNX - PyTorch| = {par['max_abs_diff']:.2e} on {par['n']} held-out windows")
    if par["max_abs_diff"] > 1e-4:
        raise SystemExit(f"ONNX export differs from PyTorch by {par['max_abs_diff']:.2e} (> 1e-4)")
    f32 = onnx_export.run_onnx(fp32, held_x)
    calibration: dict = {"onnx_parity": par, "calibration_windows": int(len(calib)),
                         "calibration_source": args.calib_recording or f"{cfg['data']} training classes"}
    files = ["encoder.onnx", "prototypes.npz"]
    if args.int8:
        def agree(path: Path) -> float:
            return agreement.compare(f32, onnx_export.run_onnx(path, held_x), set_protos, weights, scale)["top1_agreement"]

        q, excluded, attempts = quantize.quantize_with_fallback(fp32, out / "encoder.int8.onnx", calib, agree,
                                                                args.agreement_target)
        q_u8 = quantize.to_uint8_activations(q, out / "encoder.int8-u8.onnx")
        report = agreement.compare(f32, onnx_export.run_onnx(q, held_x), set_protos, weights, scale, ckpt["class_names"])
        report_u8 = agreement.compare(f32, onnx_export.run_onnx(q_u8, held_x), set_protos, weights, scale)
        report.update(nodes_kept_fp32=len(excluded), kept_fp32=[a["kept_in_fp32"] for a in attempts], attempts=attempts,
                      uint8_activations={k: report_u8[k] for k in ("top1_agreement", "feature_cosine_min")})
        calibration["int8"] = report
        files += ["encoder.int8.onnx", "encoder.int8-u8.onnx"]
        print(f"encoder.int8.onnx: top-1 agreement {report['top1_agreement']:.4f}, min feature cosine "
              f"{report['feature_cosine_min']:.4f}; kept in fp32: {', '.join(report['kept_fp32'])} ({len(excluded)} nodes); "
              f"uint8-activation copy agreement {report_u8['top1_agreement']:.4f}")

    # "no known action" threshold: known = held-out windows against the label set; unknown = the same windows
    # with their own class removed from the candidates, and idle windows
    known = threshold.top_cosine(f32, set_protos, weights)
    unknown = np.concatenate([threshold.top_cosine(f32, set_protos, weights, exclude=held_y),
                              threshold.top_cosine(onnx_export.run_onnx(fp32, _idle_windows(spec)), set_protos, weights)])
    calibration["unknown_threshold"] = threshold.calibrate_unknown(known, unknown, args.unknown_recall)

    if args.text_encoder:
        from export.text_encoder import export_text_encoder

        meta = export_text_encoder(keep_text_encoder, ckpt["text_encoder"]["spec"])
        print(f"text_encoder/: {meta['id']}, max |diff| vs sentence-transformers {meta['max_abs_diff']:.1e}")
    metrics_file = run_dir / "metrics.json"
    manifest = manifest_for(method, ckpt, run_dir, encoder, spec.to_dict(), granularities, table.prototypes.shape[-1],
                            args.int8, json.loads(metrics_file.read_text()) if metrics_file.exists() else None)
    manifest["calibration"] = calibration
    manifest["prototypes"].update(labels=len(table.labels), label_sets=[label_set, *extra_sets])
    write_manifest(out, manifest, files)
    thr = calibration["unknown_threshold"]
    print(f"unknown threshold {thr['value']:.3f}: keeps {thr['known_recall']:.1%} of known windows, lets "
          f"{thr['unknown_accepted']:.1%} of unknown ones through")
    sizes = ", ".join(f"{f} {(out / f).stat().st_size / 1e6:.2f} MB" for f in files)
    print(f"wrote bundle {out} ({len(table.labels)} labels; {sizes}) in {time.time() - t0:.0f} s")
    return out


if __name__ == "__main__":
    main()
