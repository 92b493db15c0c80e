"""Few-shot fine-tuning, the guide's second path (docs/teach.md), measured as ``bench.fewshot`` measures enrolment.

For one real dataset and the model trained without it (``bench.crossdata``'s leave-one-dataset-out run): the
dataset's people are split in two halves; k clips per class are picked from one half and written as a user's
recordings folder (``train/data/recordings.py``: one folder per label, the runtime's ``.jsonl``, and the label
set's own descriptions as ``descriptions.json``); the model is fine-tuned on them with the guide's command and
exported with its command:

    python -m train --data recordings --epochs 8 --epoch-size 600 --lr 0.005 --root DIR --init RUN
    python -m export --run FINE_TUNED --out BUNDLE --no-text-encoder

and the other half's clips are recognised through the device's scoring: with the words alone (of the model
trained without the dataset: zero-shot, the baseline), with the fine-tuned model's words, and with the
fine-tuned model's words and the same k clips enrolled (``runtime.enrolment``). Fine-tuning needs two examples of
some label (one is held out to choose the epoch), so k starts at 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from runtime.bundle import Bundle, load_bundle
from runtime.frames import Person
from runtime.recording import RecordingWriter
from train.data.recordings import label_from_folder

# the guide's command for a vocabulary of your own labels (docs/teach.md): your recordings alone, 8 epochs
FINETUNE = ["--data", "recordings", "--epochs", "8", "--epoch-size", "600", "--lr", "0.005"]
ROOT = Path(__file__).resolve().parent.parent
DESCRIPTIONS = ROOT / "train" / "text" / "descriptions"


def _folder(label: str) -> str:
    """A label as a folder name (``train.data.recordings.label_from_folder`` reads it back; '/' cannot stay)."""
    return label.replace("/", "-").replace(" ", "_")


def write_recordings(ds, picks: dict[int, np.ndarray], root: Path) -> None:
    """The picked clips as a user's recordings folder: one folder per label, one ``.jsonl`` per example."""
    for c, idx in picks.items():
        folder = root / _folder(ds.class_names[c])
        for j, i in enumerate(idx):
            seq = ds.sequence(int(i))[:, 0]
            with RecordingWriter(folder / f"take{j}.jsonl", fps=ds.fps, source=f"{ds.label_set}#{int(i)}") as w:
                for t, joints in enumerate(seq):
                    w.write(t / ds.fps, [Person(0, joints)])
    # the label set's own texts, for the labels that have examples (a description without examples is an error)
    desc = json.loads((DESCRIPTIONS / f"{ds.label_set}.json").read_text())
    have = {ds.class_names[c].lower(): label_from_folder(_folder(ds.class_names[c])) for c in picks}
    desc["classes"] = [dict(c, index=i, label=have[c["label"].lower()])  # the label as training reads the folder
                       for i, c in enumerate(x for x in desc["classes"] if x["label"].lower() in have)]
    (root / "descriptions.json").write_text(json.dumps(desc, indent=1))


def _run(cmd: list[str], log: Path) -> None:
    with log.open("w") as f:
        done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{tail}")


def finetune(ds, picks: dict[int, np.ndarray], init: Path, work: Path, recipe: list[str] = FINETUNE,
             threads: int = 2) -> tuple[Bundle, float]:
    """Fine-tune ``init`` on the picked clips with ``recipe`` (train options) and export it: the bundle and the
    training wall time (s)."""
    rec, run = work / "recordings", work / "run"
    write_recordings(ds, picks, rec)
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "train", *recipe, "--root", str(rec), "--init", str(init), "--threads", str(threads),
          "--out", str(work), "--name", "run", "--overwrite"], work / "train.log")
    seconds = time.perf_counter() - t0
    _run([sys.executable, "-m", "export", "--run", str(run), "--out", str(run / "bundle"), "--no-text-encoder"],
         work / "export.log")
    return load_bundle(run / "bundle"), seconds


def evaluate(ds, init: Path, base: Bundle, encoder, shots: list[int], repeats: int, seed: int = 1,
             recipe: list[str] = FINETUNE) -> dict:
    """Top-1 per k (>= 2) and repeat: zero-shot words of ``base``, fine-tuned words, fine-tuned words + examples."""
    from tqdm import tqdm

    from bench.features import clip_features
    from bench.fewshot import enrolled, people, recognise, words_vocabulary
    from runtime.enrolment import EXAMPLE_WEIGHT

    y, who = np.asarray(ds.labels), people(ds)
    groups = np.unique(who)
    rng = np.random.default_rng(seed)
    base_feats, base_words = clip_features(base, ds), words_vocabulary(base, ds, encoder)
    res: dict = {"words": [], "shots": {}, "train_s": []}
    todo = [(r, k) for r in range(repeats) for k in shots if k >= 2]
    bar = tqdm(total=len(todo), desc=f"fine-tune {ds.label_set}", leave=False)
    for _ in range(repeats):
        half = set(rng.permutation(groups)[: len(groups) // 2])
        pool = np.isin(who, list(half))
        test = np.where(~pool)[0]
        acc = lambda b, f, v, test=test: float((recognise(b, f[test], v) == y[test]).mean())  # noqa: E731
        res["words"].append(acc(base, base_feats, base_words))
        for k in [k for k in shots if k >= 2]:
            picks = {c: rng.choice(np.where(pool & (y == c))[0], min(k, int((pool & (y == c)).sum())), replace=False)
                     for c in range(len(ds.class_names)) if (pool & (y == c)).any()}
            with tempfile.TemporaryDirectory(prefix="zsar-finetune-") as tmp:
                bundle, seconds = finetune(ds, picks, init, Path(tmp), recipe)
                need = np.concatenate([test, *picks.values()])  # the clips scored and the clips enrolled
                feats = np.zeros((len(y), *base_feats.shape[1:]), np.float32)
                feats[need] = clip_features(bundle, ds, progress=False, cache=None, indices=need)
                words = words_vocabulary(bundle, ds, encoder)
                row = res["shots"].setdefault(str(k), {"fine-tuned words": [], "fine-tuned + enrolled": []})
                row["fine-tuned words"].append(acc(bundle, feats, words))
                row["fine-tuned + enrolled"].append(acc(bundle, feats, enrolled(bundle, words, feats, picks,
                                                                               EXAMPLE_WEIGHT)))
            res["train_s"].append(seconds)
            bar.update()
    bar.close()
    mean = lambda v: float(np.mean(v))  # noqa: E731
    return {"words": mean(res["words"]), "repeats": repeats, "train_s": mean(res["train_s"]), "recipe": recipe,
            "shots": {k: {r: mean(v) for r, v in row.items()} for k, row in res["shots"].items()}}
