"""From a dataset name to the five parts a zero-shot run needs, and the torch side (augmentation, batches).

Parts (all raw skeleton sequences, labels are global class indices of the label set):
    train       samples of the training classes (seen minus validation)
    val_seen    held-out samples of the training classes   (GZSL calibration)
    val_unseen  samples of the validation classes           (model selection, calibration, test-time tuning)
    test_seen   test samples of the training classes         (GZSL seen accuracy)
    test_unseen test samples of the unseen classes           (ZSL, GZSL unseen accuracy)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from runtime.skeleton import UNCOMMON_JOINTS, InputSpec, preprocess
from train.data.base import DataError, SkeletonDataset
from train.data.classes import label_set_of
from train.data.splits import ZeroShotSplit, get_split

if TYPE_CHECKING:
    from train.text.descriptions import Descriptions

DATASETS = ("synthetic", "ntu60", "ntu120", "pku")  # with a split from splits.json; real sources: train.data.mixture


@dataclass
class Parts:
    train: SkeletonDataset
    val_seen: SkeletonDataset
    val_unseen: SkeletonDataset
    test_seen: SkeletonDataset
    test_unseen: SkeletonDataset | None  # None: no unseen classes (a run trained on every class)
    split: ZeroShotSplit
    # the class texts that come with the data (a source whose classes are its own, as recordings); None: the
    # label set's own description file (train/text/descriptions/)
    descriptions: Descriptions | None = None

    def summary(self) -> str:
        return ", ".join(f"{k} {len(getattr(self, k) or ())}" for k in ("train", "val_seen", "val_unseen", "test_seen", "test_unseen"))

    def class_names(self) -> list[str]:
        """The run's classes, in label order."""
        if self.descriptions is not None:
            return list(self.descriptions.labels)
        from train.data.classes import class_names

        return list(class_names(self.split.label_set))

    def describe(self) -> str:
        """The split in one line (``ZeroShotSplit.describe``, with the data's own class names where it has them)."""
        if self.descriptions is None:
            return self.split.describe()
        s, names = self.split, self.class_names()
        return (f"{s.label_set}/{s.name}: {len(s.train)} train, {len(s.val)} val, {len(s.unseen)} unseen "
                f"({', '.join(names[c] for c in s.unseen[:6])}{', ...' if len(s.unseen) > 6 else ''})")


def save_descriptions(d: Descriptions, path: str | Path) -> None:
    """Class texts in the project schema (zsar.descriptions/1), complete, so that ``load_descriptions(path)`` (and
    export, and ``--descriptions``) read back exactly the texts a run trained against: a field a class lacks is
    its global sentence, which is what ``ClassText.get`` falls back to."""
    from train.text.descriptions import PARTS, PHASES, SCHEMA

    classes = [{"index": i, "label": c.label, "global": c.global_, "parts": {p: c.get(p) for p in PARTS},
                "phases": {p: c.get(p) for p in PHASES}, "paraphrases": list(c.paraphrases) or [c.global_],
                "aliases": list(c.aliases)} for i, c in enumerate(d.classes)]
    doc = {"schema": SCHEMA, "label_set": d.label_set, "source": d.source, "classes": classes}
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _by_classes(ds: SkeletonDataset, classes) -> np.ndarray:
    return np.isin(ds.labels, list(classes))


def _hold_out(mask: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(mask)
    rng = np.random.default_rng(seed)
    take = rng.choice(idx, size=max(1, int(round(fraction * len(idx)))), replace=False) if len(idx) > 1 else idx[:0]
    held = np.zeros_like(mask)
    held[take] = True
    return mask & ~held, held


def split_parts(train_part: SkeletonDataset, test_part: SkeletonDataset, split: ZeroShotSplit,
                val_fraction: float = 0.1, seed: int = 0) -> Parts:
    """Parts from an official train/test evaluation split of a real dataset."""
    train_mask, val_seen = _hold_out(_by_classes(train_part, split.train), val_fraction, seed)
    parts = {
        "train": train_part.subset(train_mask),
        "val_seen": train_part.subset(val_seen),
        "val_unseen": train_part.subset(_by_classes(train_part, split.val)),
        "test_seen": test_part.subset(_by_classes(test_part, split.train)),
        "test_unseen": test_part.subset(_by_classes(test_part, split.unseen)),
    }
    return Parts(split=split, **parts)


def load_parts(data: str, split_name: str, root: str | None = None, protocol: str = "xsub", per_class: int = 60,
               eval_per_class: int = 20, seed: int = 0, split_file: str | None = None,
               holdout: str | None = None) -> Parts:
    """``data``: a dataset of DATASETS with a named split, or real sources (and 'synthetic') joined by '+',
    optionally with a ``holdout`` source to test on (``train.data.mixture``)."""
    if data not in DATASETS or holdout:
        from train.data.mixture import load_mixture

        return load_mixture(data, holdout, root, per_class, seed, eval_per_class)
    label_set = label_set_of(data)
    split = get_split(label_set, split_name)
    if data == "synthetic":
        from train.data.synthetic import make_synthetic

        def make(n, part, classes):
            return make_synthetic(n, part, seed, [_name(label_set, c) for c in classes], progress=True)

        return Parts(
            train=make(per_class, "train", split.train), val_seen=make(eval_per_class, "val", split.train),
            val_unseen=make(eval_per_class, "val", split.val), test_seen=make(eval_per_class, "test", split.train),
            test_unseen=make(eval_per_class, "test", split.unseen), split=split,
        )
    if root is None:
        raise DataError(f"--root is required for {data}: the dataset is licensed and not shipped")
    root_p = Path(root)
    if data in ("ntu60", "ntu120"):
        from train.data.ntu import load_ntu_npz, load_ntu_skeletons, ntu_eval_split

        if root_p.suffix == ".npz":  # a preprocessed archive is already split into its train and test parts
            return split_parts(load_ntu_npz(root_p, "train", data), load_ntu_npz(root_p, "test", data), split, seed=seed)
        ds = cached(root_p, data, lambda: load_ntu_skeletons(root_p, data))
        train_mask, test_mask = ntu_eval_split(ds, protocol)
        return split_parts(ds.subset(train_mask), ds.subset(test_mask), split, seed=seed)
    from train.data.pku import load_pku, pku_eval_split

    skel, labels = root_p / "skeleton", root_p / "label"
    if not skel.is_dir():  # accept the release's own folder names too
        skel, labels = root_p / "PKU_Skeleton_Renew", root_p / "Train_Label_PKU_final"
    ds = cached(root_p, "pku51", lambda: load_pku(skel, labels))
    train_mask, test_mask = pku_eval_split(ds, protocol, split_file)
    return split_parts(ds.subset(train_mask), ds.subset(test_mask), split, seed=seed)


def _name(label_set: str, c: int) -> str:
    from train.data.classes import class_names

    return class_names(label_set)[c]


CACHE_VERSION = 2  # bump when a reader's output changes


def cached(root: Path, label_set: str, load) -> SkeletonDataset:
    """Parse a raw dataset once and keep the result beside it (or in ~/.cache/zsar when it is read-only).
    The cache's name carries the reader's version (``CACHE_VERSION``), so a changed reader parses again."""
    import hashlib

    from train.text.encoders import cache_dir

    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    places = (root / f".zsar_{label_set}_v{CACHE_VERSION}.npz",
              cache_dir() / "datasets" / f"{label_set}_{key}_v{CACHE_VERSION}.npz")
    for cache in places:
        if cache.exists():
            return SkeletonDataset.load(cache)
    ds, report = load()
    print(f"{root}: {report.summary()}")
    for cache in places:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            ds.save(cache)
            break
        except OSError:
            continue
    return ds


# ---------------------------------------------------------------------------------------- torch side


@dataclass
class Augment:
    crop: tuple[float, float] = (0.5, 1.0)  # keep a random contiguous fraction of the frames
    rotate_deg: float = 15.0  # random pitch and roll (yaw is normalised away)
    scale: float = 0.1  # anisotropic scale +-
    jitter: float = 0.005  # metres of per-joint noise
    window_frames: int = 0  # >0: a sequence much longer than this is cut to 0.7-1.3 times it (the device's window)
    depth_noise: float = 0.0  # metres of temporally smooth per-joint noise along z (monocular depth error)
    mask_uncommon: float = 0.0  # probability of dropping the joints not every source has (hand tips, thumbs)
    pad_short: float = 0.0  # probability that a crop shorter than the window plays at its own pace inside one

    def __call__(self, seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(seq, dtype=np.float64)
        t = len(x)
        if self.window_frames and t > 1.3 * self.window_frames:
            keep = int(round(self.window_frames * rng.uniform(0.7, 1.3)))
        else:
            keep = min(t, max(2, int(round(t * rng.uniform(*self.crop)))))  # a 1-frame sequence stays as it is
        start = int(rng.integers(0, t - keep + 1))
        x = x[start : start + keep]
        if self.pad_short and self.window_frames and keep < self.window_frames and rng.uniform() < self.pad_short:
            # as a stream shows a short action: a whole window of real time, the person still before and after
            # (the first and last pose held), instead of the action stretched over the window
            total = int(round(self.window_frames * rng.uniform(0.8, 1.2)))
            before = int(rng.integers(0, max(total - keep, 0) + 1))
            after = max(total - keep - before, 0)
            x = np.concatenate([np.repeat(x[:1], before, axis=0), x, np.repeat(x[-1:], after, axis=0)])
        missing = np.all(x == 0, axis=-1, keepdims=True)
        a, b = np.radians(rng.uniform(-self.rotate_deg, self.rotate_deg, 2))
        rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
        centre = x[~missing[..., 0]].mean(axis=0) if (~missing).any() else np.zeros(3)
        x = (x - centre) @ (rx @ rz).T * rng.uniform(1 - self.scale, 1 + self.scale, 3) + centre
        x = x + rng.normal(0, self.jitter, x.shape)
        if self.depth_noise > 0:  # a moving average of white noise: errors that drift over a few frames
            w = rng.normal(0, self.depth_noise * np.sqrt(5), (len(x) + 4,) + x.shape[1:-1])
            c = np.cumsum(w, axis=0)
            x[..., 2] += (c[4:] - np.concatenate([np.zeros((1,) + w.shape[1:]), c[:-5]])) / 5
        x = np.where(missing, 0.0, x)
        if self.mask_uncommon and rng.uniform() < self.mask_uncommon:
            x[..., list(UNCOMMON_JOINTS), :] = 0.0
        return x


class SkeletonTorchDataset(Dataset):
    """Model inputs through the shared preprocessing; augmented when ``augment`` is given."""

    def __init__(self, ds: SkeletonDataset, spec: InputSpec, augment: Augment | None = None, seed: int = 0):
        self.ds, self.spec, self.augment = ds, spec, augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int):
        seq = self.ds.sequence(i)
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            seq = self.augment(seq, rng)
        x = preprocess(seq, self.spec)
        return torch.from_numpy(x), int(self.ds.labels[i])
