"""python -m export --run RUN_DIR --out BUNDLE_DIR [--vocab FILE] [--int8/--no-int8] [--calib N | --calib-recording F]

Writes a model bundle (ARCHITECTURE.md, contract 1) from a training run:
  encoder.onnx        the skeleton encoder, fp32, dynamic batch, checked against PyTorch on real inputs; for a
                      conditioned-mode method (skeleton, class text) -> (scores, embeddings)
  encoder.int8.onnx   Q/DQ INT8 (symmetric int8 activations and per-channel weights): TensorRT 10/11, ORT-TRT
  encoder.int8-u8.onnx  the same with activations re-encoded as uint8 (zero point 128): fast on CPU onnxruntime
  prototypes.npz      labels, texts, prototypes of the run's label set (+ --label-sets, + --vocab entries)
  background.npy      features of 512 real held-out windows (puts enrolled examples on the text prototypes' scale;
                      features mode only)
  text_encoder/       ONNX text encoder + tokenizer (--no-text-encoder leaves it for setup to make)
  manifest.json       everything the device needs, with checksums and calibration results (the INT8 agreement on
                      validation windows; the unknown-action threshold from the validation parts against the run's
                      seen classes, calibration.threshold: test windows and test classes are never used)

The arguments are checked before anything is written. The bundle is built in a temporary folder beside BUNDLE_DIR,
loaded back as the device would load it, and only then swapped in: a failed export leaves a previous bundle as it
was. A BUNDLE_DIR that exists, is not empty and is not a bundle is refused unless --overwrite is given.

Example (the default bundle that ships with the runtime):
  python -m export --run runs/pgfa-synthetic-ship --out runtime/assets/default_bundle --label-sets ntu120 --no-text-encoder
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from calibration import agreement, select, threshold
from export import onnx_export, quantize
from export.bundle import build_table, manifest_for, write_manifest
from runtime.bundle import MANIFEST
from runtime.scoring import score
from runtime.skeleton import InputSpec
from train import checkpoint
from train.data.loading import load_parts
from train.text.descriptions import load_descriptions
from train.text.encoders import create_text_encoder

BACKGROUND_WINDOWS = 512


class ExportError(Exception):
    """A bad argument or an output folder that must not be replaced: one line on stderr, exit status 2."""


def is_bundle(d: Path) -> bool:
    """Whether ``d`` holds a model bundle (a manifest.json of some zsar.bundle schema): one export may replace."""
    try:
        m = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and str(m.get("schema", "")).startswith("zsar.bundle/")


def _check_out(out: Path, run_dir: Path, overwrite: bool) -> Path:
    """The folder to write (a link's target), after checking that writing it destroys nothing it must not."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out}: exists and is not a directory")
    real_out, real_run, cwd = out.resolve(), run_dir.resolve(), Path.cwd().resolve()
    if real_out == real_run or real_out in real_run.parents:
        raise ExportError(f"--out {out}: would replace the training run {run_dir} that it is exported from")
    if real_out == cwd or real_out in cwd.parents:
        raise ExportError(f"--out {out}: is the current directory or holds it; name the bundle folder itself")
    if out.is_dir() and any(out.iterdir()) and not is_bundle(out) and not overwrite:
        raise ExportError(f"--out {out}: exists, is not empty and is not a model bundle (no {MANIFEST}); "
                          "refusing to replace it (choose another folder, or pass --overwrite)")
    parent = real_out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"--out {out}: cannot write in {parent}")
    return real_out  # a link's target: the bundle is replaced where the link points


def check_args(args: argparse.Namespace) -> tuple[Path, Path, list[tuple[str, str | None]]]:
    """Every argument checked before anything is written: (run directory, bundle folder, vocabulary entries)."""
    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise ExportError(f"--run {run_dir}: no such directory (a training run directory holds best.pt and config.json)")
    for name in ("best.pt", "config.json"):
        if not (run_dir / name).is_file():
            raise ExportError(f"--run {run_dir}: not a training run directory (no {name})")
    try:
        run_cfg = json.loads((run_dir / "config.json").read_text())["run"]
    except (OSError, ValueError, KeyError, TypeError):
        run_cfg = None
    if not isinstance(run_cfg, dict):
        raise ExportError(f"--run {run_dir}: config.json is not a training run's configuration")
    vocab_entries: list[tuple[str, str | None]] = []
    if args.vocab:
        from runtime.vocab import VocabError, read_vocab

        try:
            vocab_entries = [(e.label, e.description) for e in read_vocab(args.vocab)]
        except VocabError as e:
            raise ExportError(f"--vocab {e}") from None
    from train.text.descriptions import DescriptionError, load_descriptions

    for ls in (s for s in args.label_sets.split(",") if s):
        try:
            load_descriptions(ls)
        except DescriptionError as e:
            raise ExportError(f"--label-sets {ls}: {e}") from None
    if args.calib_recording and not Path(args.calib_recording).is_file():
        raise ExportError(f"--calib-recording {args.calib_recording}: no such file")
    for flag, value, ok in (("--calib", args.calib, args.calib >= 1), ("--per-class", args.per_class, args.per_class >= 1),
                            ("--agreement-target", args.agreement_target, 0 < args.agreement_target <= 1),
                            ("--unknown-recall", args.unknown_recall, 0 < args.unknown_recall < 1)):
        if not ok:
            raise ExportError(f"{flag} {value}: out of range")
    return run_dir, _check_out(Path(args.out), run_dir, args.overwrite), vocab_entries


def _carry_text_encoder(old: Path, new: Path, encoder) -> None:
    """--no-text-encoder: keep the previous bundle's text encoder when it is the run's (hard links where possible)."""
    if not (old / "text_encoder.json").is_file():
        return
    try:
        meta = json.loads((old / "text_encoder.json").read_text())
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict) or (meta.get("id"), meta.get("checksum")) != (encoder.id, encoder.checksum):
        print(f"{old}: not the run's text encoder ({encoder.id}); not kept (make it with "
              "python -m export.text_encoder)")
        return

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(old, new, copy_function=link_or_copy)


def swap_in(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` at ``out`` (same parent): the previous one is renamed aside, then removed;
    if the new one cannot be renamed in, the previous one is put back."""
    if not out.exists():
        new.rename(out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if old.exists():
        print(f"warning: could not remove the previous bundle, set aside as {old}", file=sys.stderr)


def dataset_terms(label_sets: list[str]) -> list[dict]:
    """The terms each training source puts on a model trained on it (a model inherits its data's licences)."""
    from train.data.sources import get_source, list_sources

    known = set(list_sources())
    terms = []
    for ls in label_sets:
        if ls in known:
            src = get_source(ls)
            terms.append({"name": ls, "licence": src.licence})
        elif ls == "synthetic":
            terms.append({"name": ls, "licence": "generated by this project (MIT)"})
        else:
            terms.append({"name": ls, "licence": "see the dataset's own terms"})
    return terms


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="training run directory (holds best.pt, config.json)")
    ap.add_argument("--out", required=True,
                    help="bundle directory to write; a previous bundle there is replaced once the new one checks out")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace --out even when it is a non-empty folder that is not a bundle (its files are deleted)")
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
    try:
        return export(args)
    except ExportError as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def export(args: argparse.Namespace) -> Path:
    t0 = time.time()
    run_dir, out, vocab_entries = check_args(args)  # before anything is written
    try:
        method, ckpt = checkpoint.load(run_dir)
    except (ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise ExportError(f"--run {run_dir}: cannot read best.pt ({e})") from None
    cfg = json.loads((run_dir / "config.json").read_text())["run"]
    spec = InputSpec.from_dict(ckpt["model_args"]["input_spec"])
    granularities = tuple(ckpt["model_args"]["granularities"])
    encoder = create_text_encoder(ckpt["text_encoder"]["spec"])
    if encoder.checksum != ckpt["text_encoder"]["checksum"]:
        raise ExportError(f"the installed text encoder {encoder.id} is not the one {run_dir} was trained with")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.new-{uuid.uuid4().hex[:8]}"  # same filesystem: the renames are atomic
    tmp.mkdir()  # (not mkdtemp: the bundle keeps the usual permissions, not 0700)
    try:
        _build(args, tmp, run_dir, method, ckpt, cfg, spec, granularities, encoder, vocab_entries, out)
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote bundle {out} in {time.time() - t0:.0f} s")
    return out


def _build(args, out: Path, run_dir: Path, method, ckpt, cfg, spec, granularities, encoder, vocab_entries,
           previous: Path) -> None:
    """Everything of the bundle into ``out`` (a fresh folder), checked by loading it as the device does."""
    keep_text_encoder = out / "text_encoder"
    print(f"data for calibration and checks from {cfg['data']}/{cfg['split']} ...")
    parts = load_parts(cfg["data"], cfg["split"], cfg["root"] or None, cfg["protocol"], args.per_class,
                       max(args.per_class // 2, 4), cfg["seed"], cfg["split_file"] or None, cfg.get("holdout") or None)
    held = threshold.validation_sets(parts, spec)  # validation windows only: never INT8 calibration, never test
    held_x = held.x
    calib_source = parts.train
    if "source" in calib_source.meta and (calib_source.meta["source"] != "synthetic").any():
        calib_source = calib_source.subset(calib_source.meta["source"] != "synthetic")  # real people's windows
    calib = (select.from_recording(args.calib_recording, spec, n=args.calib) if args.calib_recording
             else select.from_dataset(calib_source, spec, args.calib))

    # prototype table: the run's label set first, then extra sets, then vocabulary entries; the method's own text
    label_set = ckpt["label_set"]
    extra_sets = [s for s in args.label_sets.split(",") if s and s != label_set]

    def text_fn(d):
        return method.build_text(method.cfg, d, encoder)

    # a run whose data brought its own class texts (train/data/recordings.py) wrote them beside its checkpoint
    run_texts = str(run_dir / "descriptions.json") if (run_dir / "descriptions.json").is_file() else label_set
    table = build_table(encoder, granularities, method.ensemble_text, [run_texts, *extra_sets], vocab_entries,
                        text_fn=text_fn, rule=method.class_text_rule)
    table.save(out / "prototypes.npz")
    # the run's own classes (a mixture may repeat a label that the table holds once)
    set_protos = text_fn(load_descriptions(run_texts))[0]
    weights, scale = method.score_weights().detach().numpy(), float(method.logit_scale.detach())
    conditioned = method.mode == "conditioned"
    unit = scale if method.score_kind == "logit" else 1.0  # graph score / unit = the device's statistic
    seen_text = set_protos[held.classes]  # a conditioned graph's INT8 calibration: the seen classes' text

    def statistic(path, x, protos):
        """The device's statistic (N, K) of windows against class text, from an exported graph."""
        if conditioned:
            return onnx_export.run_conditioned(path, x, protos)[0] / unit
        return score(onnx_export.run_onnx(path, x), protos, weights, 1.0)

    fp32 = onnx_export.export_encoder(method, held_x, out / "encoder.onnx", class_text=set_protos)
    par = onnx_export.parity(method, fp32, held_x[:128], class_text=set_protos)
    print(f"encoder.onnx: max |ONNX - PyTorch| = {par['max_abs_diff']:.2e} on {par['n']} held-out windows")
    if par["max_abs_diff"] > 1e-4:
        raise SystemExit(f"ONNX export differs from PyTorch by {par['max_abs_diff']:.2e} (> 1e-4)")
    calibration: dict = {"onnx_parity": par, "calibration_windows": int(len(calib)),
                         "calibration_source": args.calib_recording or f"{cfg['data']} training classes"
                                               + (" (real sources only)" if calib_source is not parts.train else "")}
    files = ["encoder.onnx", "prototypes.npz"]
    if conditioned:  # scores and the embedding each window's best class was scored with
        s32, e32 = onnx_export.run_conditioned(fp32, held_x, set_protos)
        s32 = s32 / unit
    else:
        f32 = onnx_export.run_onnx(fp32, held_x)
        # real held-out windows' features: the reference that puts enrolled examples on the text prototypes' scale
        # (runtime.enrolment); 512 windows of fp16 are a few hundred KB. A conditioned model has no feature space
        # to enrol into (the runtime refuses enrolment for it), so it has none.
        files.append("background.npy")
        pick = np.random.default_rng(0).permutation(len(f32))[:BACKGROUND_WINDOWS]
        np.save(out / "background.npy", f32[np.sort(pick)].astype(np.float16))
    if args.int8:
        def report_for(path: Path, labels=None) -> dict:
            if conditioned:
                s8, e8 = onnx_export.run_conditioned(path, held_x, set_protos, pick=s32.argmax(1))
                return agreement.compare_scores(s32, s8 / unit, e32, e8, labels)
            return agreement.compare(f32, onnx_export.run_onnx(path, held_x), set_protos, weights, scale, labels)

        q, excluded, attempts = quantize.quantize_with_fallback(
            fp32, out / "encoder.int8.onnx", calib, lambda path: report_for(path)["top1_agreement"],
            args.agreement_target, method.float_modules,
            {onnx_export.TEXT_INPUT: seen_text} if conditioned else None)
        q_u8 = quantize.to_uint8_activations(q, out / "encoder.int8-u8.onnx")
        report = report_for(q, ckpt["class_names"])
        report_u8 = report_for(q_u8)
        report.update(nodes_kept_fp32=len(excluded), kept_fp32=[a["kept_in_fp32"] for a in attempts], attempts=attempts,
                      uint8_activations={k: report_u8[k] for k in ("top1_agreement", "feature_cosine_min")})
        calibration["int8"] = report
        files += ["encoder.int8.onnx", "encoder.int8-u8.onnx"]
        print(f"encoder.int8.onnx: top-1 agreement {report['top1_agreement']:.4f}, min feature cosine "
              f"{report['feature_cosine_min']:.4f}; kept in fp32: {', '.join(report['kept_fp32'])} ({len(excluded)} nodes); "
              f"uint8-activation copy agreement {report_u8['top1_agreement']:.4f}")

    # "no known action" threshold, from the validation parts against the run's seen classes (calibration.threshold)
    calibration["unknown_threshold"] = threshold.unknown_threshold(
        lambda x: statistic(fp32, x, seen_text), held, threshold.idle_windows(spec), args.unknown_recall,
        "top1_normalised_logit" if method.score_kind == "logit" else "top1_weighted_cosine")

    if args.text_encoder:
        from export.text_encoder import export_text_encoder

        meta = export_text_encoder(keep_text_encoder, ckpt["text_encoder"]["spec"])
        print(f"text_encoder/: {meta['id']}, max |diff| vs sentence-transformers {meta['max_abs_diff']:.1e}")
    else:
        _carry_text_encoder(previous / "text_encoder", keep_text_encoder, encoder)
    metrics_file = run_dir / "metrics.json"
    manifest = manifest_for(method, ckpt, run_dir, encoder, spec.to_dict(), granularities, table.prototypes.shape[-1],
                            args.int8, json.loads(metrics_file.read_text()) if metrics_file.exists() else None)
    manifest["calibration"] = calibration
    if "background.npy" in files:
        manifest["background"] = {"file": "background.npy", "windows": int(min(len(held_x), BACKGROUND_WINDOWS)),
                                  "source": "held-out validation windows of the run's classes"}
    trained = [s for s in label_set.split("+") if s != cfg.get("holdout")]
    manifest["model"]["trained_on"] = "+".join(trained)
    manifest["model"]["datasets"] = dataset_terms(trained)
    manifest["prototypes"].update(labels=len(table.labels), label_sets=[label_set, *extra_sets])
    write_manifest(out, manifest, files)
    thr = calibration["unknown_threshold"]
    print(f"unknown threshold {thr['value']:.3f}: keeps {thr['known_recall']:.1%} of known windows, lets "
          f"{thr['unknown_accepted']:.1%} of unknown ones through")
    sizes = ", ".join(f"{f} {(out / f).stat().st_size / 1e6:.2f} MB" for f in files)
    print(f"bundle checked: {len(table.labels)} labels; {sizes}")


if __name__ == "__main__":
    main()
