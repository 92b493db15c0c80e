"""python -m bench.results [--runs runs] [--bundle DIR] [--out docs/results.md] [--quick]

Writes docs/results.md: per training run the zero-shot results (ZSL, GZSL, PGFA's alignment), the real
motion-capture check of the bundle, its INT8 agreement, the export and runtime benchmarks, the adaptation
measurement and the generator's throughput, each with the command that produced it and the date. Training runs
are read from their run directories (their own command is rebuilt from config.json); the benchmarks and checks
are run here (a few minutes on a 2-core CPU; --quick shortens them). Raw figures go to docs/results/*.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path("docs")


LEGACY_RUN_OPTIONS = {"select_per_class": 0}  # before it existed, model selection used every held-out sample


def run_command(cfg: dict) -> str:
    """The command line that reproduces a run, from its config.json (non-default options only)."""
    from train.config import TrainConfig
    from train.methods import method_class

    # options added after a run was made are absent from its config.json: it ran as their legacy value
    run, meth = {**LEGACY_RUN_OPTIONS, **cfg["run"]}, cfg["method"]
    default_run = dataclasses.replace(TrainConfig(), **method_class(run["method"]).run_defaults)
    parts = [f"python -m train --method {run['method']} --data {run['data']}" + (f" --split {run['split']}" if run["split"] else "")]
    for k, v in run.items():
        if k in ("method", "data", "split", "name", "out", "resume", "overwrite") or getattr(default_run, k, None) == v:
            continue
        flag = k.replace("_", "-")
        parts.append(f"--{flag}" if v is True else f"--no-{flag}" if v is False else f"--{flag} {v}")
    mdefault = method_class(run["method"]).config_class()
    # with --init, an option left out is the init run's, not the default: such a run lists every flag it set
    for k, v in meth.items():
        if getattr(mdefault, k, None) != v or (run.get("init") and isinstance(v, bool)):
            parts.append(f"--{k.replace('_', '-')}" if v is True else f"--no-{k.replace('_', '-')}" if v is False
                         else f"--{k.replace('_', '-')} {v}")
    return " ".join(parts)


# Benchmarks whose runs take too long for this page's own run write docs/results/<name>.md; the page includes
# each between markers, and the benchmark replaces its section in place when it reruns (``replace_section``).
BENCH_SECTIONS = ("methods", "crossdata", "paraphrase", "encoders", "fewshot")


def bench_section(name: str, table: str) -> list[str]:
    """A benchmark's section of the results page: ``bench.<name>``'s TITLE and INTRO around its table."""
    import importlib

    mod = importlib.import_module(f"bench.{name}")
    return [f"<!-- {name}:start -->", f"## {mod.TITLE}", "", *mod.INTRO, "", table.strip(), "", f"<!-- {name}:end -->", ""]


def save_bench(name: str, out: str | Path, results: dict, table: str, page: str | Path = "",
               before: str = "\n## The shipped bundle") -> None:
    """Write a benchmark's <out>.json and <out>.md, and replace its section of the results page when given
    (a page without one gets it before the heading ``before``, else at the end)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(table + "\n")
    if page and Path(page).exists():
        replace_section(Path(page), name, table, before)
        print(f"updated {page}")


def replace_section(page: Path, name: str, table: str, before: str = "\n## The shipped bundle") -> None:
    """Put ``bench.<name>``'s section into the results page: in place of the old one, else before ``before``."""
    text = page.read_text()
    section = "\n".join(bench_section(name, table))
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start in text:
        a, b = text.index(start), text.index(end) + len(end) + 1
        text = text[:a] + section + text[b:]
    elif before in text:
        text = text.replace(before, "\n" + section + before, 1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    page.write_text(text)


def fmt(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def variant(cfg: dict) -> str:
    """The method of a run and what sets it apart from its method's defaults: a static partition, one round, no
    memory gates, the class name only, one head, no attention inversion, rolled negatives, a frozen backbone."""
    run, meth = cfg["run"], cfg["method"]
    extra = [f"{meth['partition']} partition"] if meth.get("partition", "adaptive") != "adaptive" else []
    if run["method"] == "neuron":
        extra += ["one round"] if meth.get("rounds", 3) == 1 else []
        extra += ["no memory gates"] if meth.get("memory") is False else []
        extra += ["class name only"] if meth.get("side_information") == "off" else []
    if run["method"] == "infocpl":
        extra += ["one head"] if "," not in str(meth.get("topk", ",")) else []
        extra += ["no attention inversion"] if meth.get("invert_attention") is False else []
        extra += [f"{meth['negatives']} negatives"] if meth.get("negatives", "sampled") != "sampled" else []
    extra += ["frozen backbone"] if run.get("freeze") else []
    return run["method"] + (f" ({', '.join(extra)})" if extra else "")


def runs_table(run_dirs: list[Path]) -> list[str]:
    rows = ["| run | method | split | ZSL top-1 | ZSL top-5 | GZSL S | GZSL U | GZSL H | aligned ZSL top-1 | aligned GZSL S / U / H | streaming ZSL top-1 | refined ZSL top-1 | refined GZSL H | train time | date |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    cmds = []
    for d in run_dirs:
        m = json.loads((d / "metrics.json").read_text())
        cfg = json.loads((d / "config.json").read_text())
        t = dict(m["test"])
        for k in ("zsl", "gzsl"):  # Neuron's runs made before its zsl was the fused score at the chosen weight
            t[k] = t.get(f"{k}_fused", t[k])
        al = t.get("gzsl_aligned")
        aligned = "-" if al is None else " / ".join(fmt(al[k]) for k in ("seen", "unseen", "h"))
        date = time.strftime("%Y-%m-%d", time.localtime((d / "metrics.json").stat().st_mtime))
        rows.append(
            f"| `{d.name}` | {variant(cfg)} | {m['data']}/{m['split']} | {fmt(t['zsl']['top1'])} | {fmt(t['zsl']['top5'])} "
            f"| {fmt(t['gzsl']['seen'])} | {fmt(t['gzsl']['unseen'])} | {fmt(t['gzsl']['h'])} "
            f"| {fmt(t.get('zsl_aligned', {}).get('top1'))} "
            f"| {aligned} "
            f"| {fmt(t.get('zsl_streaming', {}).get('top1'))} | {fmt(t.get('zsl_refined', {}).get('top1'))} "
            f"| {fmt(t.get('gzsl_refined', {}).get('h'))} | {m['train_time_s'] / 60:.1f} min | {date} |")
        cmds.append(f"- `{d.name}`: `{run_command(cfg)}`")
    return rows + ["", "Commands:", "", *cmds]


def capture(fn, argv: list[str]) -> tuple[dict, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = fn(argv)
    return result, buf.getvalue()


def capture_process(module: str, argv: list[str]) -> tuple[dict, str]:
    """Run ``python -m module argv --json F`` in a fresh interpreter: its JSON result and what it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, "-m", module, *argv, "--json", str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"python -m {module} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text()), proc.stdout


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m bench.results", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="runs", help="folder of run directories (each with metrics.json)")
    ap.add_argument("--bundle", default="", help="bundle to check (default: the one that ships)")
    ap.add_argument("--out", default=str(DOCS / "results.md"))
    ap.add_argument("--quick", action="store_true", help="shorter benchmarks (for tests)")
    ap.add_argument("--skip", default="", help="comma-separated sections to leave out: bench,runtime,pipeline,adaptation,realmotion,synth")
    args = ap.parse_args(argv)
    out = Path(args.out)
    raw = out.parent / "results"
    raw.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    from runtime.bundle import DEFAULT_BUNDLE, load_bundle

    bundle_dir = Path(args.bundle) if args.bundle else DEFAULT_BUNDLE
    if not os.path.relpath(bundle_dir).startswith(".."):  # the page shows paths as a user in the repo types them
        bundle_dir = Path(os.path.relpath(bundle_dir))
    bundle = load_bundle(bundle_dir)
    today = time.strftime("%Y-%m-%d")
    md = ["# Results", "", f"Generated by `python -m bench.results` on {today}, on a 2-core x86 CPU (no GPU). Every",
          "figure below comes with the command that produced it; raw numbers are in `docs/results/`.", ""]

    # within-dataset zero-shot runs; cross-dataset runs (--holdout) and runs on every class have their own section
    run_dirs = sorted(p.parent for p in Path(args.runs).rglob("metrics.json")
                      if not json.loads((p.parent / "config.json").read_text())["run"].get("holdout")
                      and "zsl" in json.loads(p.read_text())["test"])
    md += ["## Zero-shot results on the synthetic splits", "",
           "Test figures on the unseen classes (ZSL: among the unseen classes; GZSL: among seen and unseen, with",
           "calibrated stacking). Every choice (best epoch, calibration constant, PGFA support factor, streaming",
           "settings, DynaPURLS's refinement settings) was made on validation classes carved out of the seen classes.",
           "Percentages.", ""]
    md += runs_table(run_dirs) if run_dirs else [
        f"(no within-dataset runs in `{args.runs}` on the machine that made this page; the last such table, synthetic",
        "runs on the v1 preprocessing, is in this file's history at commit ae8acae)"]
    md += [""]

    m = bundle.manifest
    int8 = m.get("calibration", {}).get("int8", {})
    thr = m.get("calibration", {}).get("unknown_threshold", {})
    md += ["## The shipped bundle", "",
           f"`{bundle_dir}`: {m['model']['method']} on {m['model']['backbone']}, trained on {m['model'].get('trained_on')} "
           f"split `{m['model'].get('split')}` (`{m['model']['run']}`), {len(bundle.table.labels)} labels in its "
           "prototype table.", ""]
    if int8:
        md += [f"- INT8 (Q/DQ) against fp32 on {int8['n']} held-out windows: top-1 agreement "
               f"**{100 * int8['top1_agreement']:.2f} %**, min feature cosine {int8['feature_cosine_min']:.4f}; "
               f"kept in fp32: {', '.join(int8.get('kept_fp32', []))}.",
               f"- ONNX fp32 against PyTorch: max |difference| {m['calibration']['onnx_parity']['max_abs_diff']:.1e}."]
    if thr:
        md += [f"- Unknown-action threshold {thr['value']:.3f} (weighted cosine): keeps {100 * thr['known_recall']:.1f} % of "
               f"known windows and lets {100 * thr['unknown_accepted']:.1f} % of unknown ones (left-out classes, idle) through."]
    sets = ",".join(s for s in m["prototypes"].get("label_sets", [])[1:])
    md += ["", "Made by: `python -m export --run " + m["model"]["run"] + " --out " + str(bundle_dir) +
           (f" --label-sets {sets}" if sets else "") + " --no-text-encoder` (see docs/default_bundle.md).", ""]
    terms = m["model"].get("datasets")
    if terms:
        md += ["Trained on: " + "; ".join(f"{t['name']} ({t['licence']})" for t in terms) + ".", ""]

    for name in BENCH_SECTIONS:  # written by python -m bench.<name> (training their models takes a while)
        if (raw / f"{name}.md").exists():
            md += bench_section(name, (raw / f"{name}.md").read_text())

    if "realmotion" not in skip:
        from bench.realmotion import confusion_picture
        from bench.realmotion import main as realmotion

        md += ["## Real motion: pybullet's motion-capture clips", "",
               "15 real motion-capture clips (14 actions) retargeted to a humanoid, five camera yaws each, read by",
               "`train.data.mocap` and run through the device's own windows, encoder and scoring. A clip's score is",
               "the mean over its windows. Beside it, the same bundle's figures on synthetic data.", "",
               "| vocabulary | windows top-1 | windows top-5 | clips top-1 | clips top-5 | chance top-1 | command |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        pics = []
        for describe, distract in ((False, 0), (True, 0), (True, 20)):
            cmd = ["--bundle", str(bundle_dir)] + (["--describe"] if describe else []) + (["--distractors", str(distract)] if distract else [])
            r, _ = capture(realmotion, cmd)
            name = f"realmotion{'_described' if describe else ''}{f'_{distract}distractors' if distract else ''}"
            (raw / f"{name}.json").write_text(json.dumps(r, indent=1))
            if distract == 0:
                pics.append(confusion_picture(r, out.parent / "img" / f"{name}_confusion.png"))
            what = f"{len(r['vocab_labels'])} labels" + (" with descriptions" if describe else "") + (" (20 distractors)" if distract else "")
            md.append(f"| {what} | {fmt(r['windows']['top1'])} | {fmt(r['windows']['top5'])} | {fmt(r['clips']['top1'])} "
                      f"| {fmt(r['clips']['top5'])} | {fmt(r['chance_top1'])} | `python -m bench.realmotion {' '.join(cmd[2:])}` |")
        z = m["model"].get("zero_shot", {})
        if z:
            md += ["", f"The same model on synthetic data (its run's test split): ZSL top-1 {fmt(z['zsl']['top1'])}, "
                   f"GZSL H {fmt(z['gzsl']['h'])}."]
        md += ["", *[f"![confusion]({p.relative_to(out.parent)})" for p in pics], ""]
        if (out.parent / "img" / "mocap_punch.png").exists():
            md += ["One frame of a clip as the reader makes it (`python -m train.data.render --mocap punch --yaw 90 "
                   "--frame 30 --out docs/img/mocap_punch.png`):", "", "![mocap punch](img/mocap_punch.png)", ""]

    if "bench" not in skip:
        from bench.encoder_latency import main as export_bench

        run_arg = ["--run", m["model"]["run"]] if Path(m["model"]["run"]).exists() else []
        reps = "50" if args.quick else "300"
        r, text = capture(export_bench, [str(bundle_dir), *run_arg, "--repeats", reps])
        (raw / "export_bench.json").write_text(json.dumps(r, indent=1))
        md += ["## Encoder latency (export benchmark)", "", f"`python -m bench.encoder_latency {bundle_dir} {' '.join(run_arg)} --repeats {reps}`:",
               "", "```", text.strip(), "```", ""]

    if "runtime" not in skip:
        secs = "8" if args.quick else "30"
        # in its own process, so that its resident memory is the runtime's and not this generator's (torch)
        md += ["## Runtime (everything after the pose)", "",
               "Paced at 30 frames per second with a real subscriber in another process; the encoder at the "
               "precision `--precision auto` picks on this CPU, then forced to INT8.", ""]
        for precision in ("auto", "int8"):
            r, text = capture_process("bench.runtime", ["--bundle", str(bundle_dir), "--seconds", secs,
                                                        "--precision", precision])
            (raw / f"runtime_bench_{precision}.json").write_text(json.dumps(r, indent=1))
            md += [f"`python -m bench.runtime --seconds {secs} --precision {precision}`:", "", "```", text.strip(), "```", ""]
    if (raw / "runtime.md").exists():  # how the cost grows with people and labels: python -m bench.runtime --scaling
        md += bench_section("runtime", (raw / "runtime.md").read_text())

    if "pipeline" not in skip:
        from bench.pipeline import main as pipeline_bench

        video = Path(__file__).resolve().parents[2] / "shared" / "realdata-dev" / "video" / "stgcn_ta_chi.mp4"
        if video.exists():
            reps = "1" if args.quick else "3"
            r, text = capture(pipeline_bench, ["--bundle", str(bundle_dir), "--repeats", reps])
            (raw / "pipeline_bench.json").write_text(json.dumps(r, indent=1))
            md += ["## Camera to events: MediaPipe alone against the whole runtime", "",
                   f"`python -m bench.pipeline --repeats {reps}` on the real clip `../shared/realdata-dev/video/stgcn_ta_chi.mp4`:",
                   "", "```", text.strip(), "```", ""]

    if "adaptation" not in skip:
        from bench.streameval import main as streameval

        clips = "40" if args.quick else "200"
        md += ["## On-device adaptation", "",
               "Window top-1 over the synthetic classes on a labelled stream (one person, one camera, actions one",
               "after another), with and without the memory bank, on the training distribution and on a shifted one",
               "(new body sizes, camera angles and distances, more sensor noise).", "",
               "| stream | without adaptation | with adaptation | windows | command |", "| --- | --- | --- | --- | --- |"]
        for shift in (False, True):
            cmd = ["--bundle", str(bundle_dir), "--clips", clips] + (["--shift"] if shift else [])
            r, _ = capture(streameval, cmd)
            (raw / f"adaptation_{'shifted' if shift else 'unshifted'}.json").write_text(json.dumps(r, indent=1))
            md.append(f"| {'shifted' if shift else 'unshifted'} | {fmt(r['no_adapt']['top1'])} | {fmt(r['adapt']['top1'])} "
                      f"| {r['adapt']['windows']} | `python -m bench.streameval {' '.join(cmd[2:])}` |")
        md.append("")

    if "synth" not in skip:
        from bench.generator import main as synth_bench

        _, text = capture(synth_bench, ["--seconds", "2" if args.quick else "10"])
        md += ["## Synthetic generator throughput", "", "`python -m bench.generator`:", "", "```", text.strip(), "```", ""]

    out.write_text("\n".join(md) + "\n")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
