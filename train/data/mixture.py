"""Several skeleton sources in one run: real datasets (``train.data.sources``) and the synthetic generator.

    --data kinder_gator+utd_mhad+nw_ucla+synthetic --holdout bandai_namco --root ~/.cache/zsar/datasets

The label set of such a run is the sources' label sets one after the other (``utd_mhad+nw_ucla+...``), each
sample keeps its own dataset's label and so its own dataset's words. The zero-shot split is made here:
- unseen: every class of the ``holdout`` source (cross-dataset zero-shot: another sensor, other people, and
  its own vocabulary); with one dataset alone, a seeded 20 % of its classes; otherwise none (the run trains on
  everything, as the shipped bundle does);
- validation classes: a seeded random ~12 % of each real training source's classes, never trained on; model
  selection and calibration use them (and never the held-out dataset);
- the training classes' samples are split 80/10/10 into train, val_seen and test_seen (seeded, per sample).
Synthetic samples are training data only. Per-source sampling weights balance the mixture
(``source_weights``); styles, speeds and subjects stay augmentation, never classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from train.data.base import DataError, SkeletonDataset
from train.data.splits import ZeroShotSplit

VAL_CLASS_FRACTION = 0.12
UNSEEN_CLASS_FRACTION = 0.2  # a single dataset without --holdout: this share of its classes is unseen
DEFAULT_ROOT = "~/.cache/zsar/datasets"  # where ../shared/datasets/unpack.sh puts them


def datasets_root(root: str | None) -> Path:
    return Path(root or os.environ.get("ZSAR_DATASETS", DEFAULT_ROOT)).expanduser()


def load_source(name: str, root: str | None, synthetic_per_class: int = 30, seed: int = 0) -> SkeletonDataset:
    """One source's whole dataset: a registered real reader (parsed once, cached), or the synthetic generator."""
    if name == "synthetic":
        from train.data.synthetic import make_synthetic

        return make_synthetic(synthetic_per_class, "train", seed, progress=True)
    from train.data.loading import cached
    from train.data.sources import get_source

    src = get_source(name)
    where = src.find_root(datasets_root(root))
    return cached(where, name, lambda: src.load(where))


def concat(datasets: list[SkeletonDataset], names: list[str]) -> SkeletonDataset:
    """One dataset whose classes are the sources' classes one after the other; meta gains ``source``."""
    offsets = np.cumsum([0] + [len(d.class_names) for d in datasets])
    keys = sorted({k for d in datasets for k in d.meta})
    seqs, labels, meta = [], [], {k: [] for k in keys + ["source"]}
    persons = max(d.frames.shape[1] for d in datasets)
    for d, off, name in zip(datasets, offsets, names):
        for i in range(len(d)):
            s = d.sequence(i)
            if s.shape[1] < persons:
                s = np.concatenate([s, np.zeros((len(s), persons - s.shape[1], 25, 3), s.dtype)], axis=1)
            seqs.append(s)
        labels.append(d.labels + off)
        for k in keys:
            meta[k] += [str(v) for v in d.meta[k]] if k in d.meta else [""] * len(d)
        meta["source"] += [name] * len(d)
    return SkeletonDataset.from_sequences(seqs, np.concatenate(labels), [c for d in datasets for c in d.class_names],
                                          "+".join(names), meta, datasets[0].fps)


def mixture_split(label_set: str, sources: list[str], class_counts: list[int], holdout: str | None,
                  seed: int = 0) -> ZeroShotSplit:
    offsets = np.cumsum([0] + class_counts)
    rng = np.random.default_rng(seed)
    unseen, val = [], []
    single = len(sources) == 1 and not holdout  # one dataset alone: a within-dataset zero-shot split
    for name, lo, hi in zip(sources, offsets[:-1], offsets[1:]):
        if name == holdout:
            unseen += range(lo, hi)
        elif name != "synthetic":
            k = max(1, int(round(VAL_CLASS_FRACTION * (hi - lo))))
            pick = rng.permutation(np.arange(lo, hi))
            val += sorted(int(c) for c in pick[:k])
            if single:
                unseen += sorted(int(c) for c in pick[k : k + max(1, int(round(UNSEEN_CLASS_FRACTION * (hi - lo))))])
    name = f"holdout-{holdout}" if holdout else ("classes" if single else "all")
    return ZeroShotSplit(label_set, name, int(offsets[-1]), tuple(unseen), tuple(val), source="train.data.mixture")


def own_split_source(sources: list[str]):
    """The source among ``sources`` that builds its own parts (``Source.parts``, e.g. recordings), or None."""
    from train.data.sources import get_source

    own = [get_source(s) for s in sources if s != "synthetic" and get_source(s).parts is not None]
    return own[0] if own else None


def mixture_sources(data: str, holdout: str | None) -> list[str]:
    sources = [s for s in data.split("+") if s]
    if holdout and holdout in sources:
        raise DataError(f"--holdout {holdout} is also a training source in --data {data}")
    if len(set(sources)) != len(sources):
        raise DataError(f"--data {data} names a source twice")
    own = own_split_source(sources + ([holdout] if holdout else []))
    if own is not None and (holdout or set(sources) - {own.name, "synthetic"}):
        raise DataError(f"--data {data}{f' --holdout {holdout}' if holdout else ''}: {own.name} brings its own split; "
                        f"use it alone or with synthetic ({own.name}+synthetic), without --holdout")
    return sources + ([holdout] if holdout else [])


def load_mixture(data: str, holdout: str | None, root: str | None, synthetic_per_class: int = 30, seed: int = 0,
                 eval_per_class: int = 20):
    """The five parts (``train.data.loading.Parts``) of a mixture run (or of a source that builds its own)."""
    from train.data.loading import Parts

    sources = mixture_sources(data, holdout)
    own = own_split_source(sources)
    if own is not None:
        if not root:
            raise DataError(f"--root is required for {own.name}: the folder of your {own.name}")
        return own.parts(sources, own.find_root(datasets_root(root)), synthetic_per_class, eval_per_class, seed)
    datasets = [load_source(s, root, synthetic_per_class, seed) for s in sources]
    ds = concat(datasets, sources)
    split = mixture_split(ds.label_set, sources, [len(d.class_names) for d in datasets], holdout, seed)
    src = ds.meta["source"]
    rng = np.random.default_rng(seed + 1)
    u = rng.uniform(size=len(ds))
    real = src != "synthetic"
    train_cls = np.isin(ds.labels, split.train)
    val_seen = train_cls & real & (u < 0.1)
    test_seen = train_cls & real & (u >= 0.1) & (u < 0.2)
    parts = Parts(
        train=ds.subset(train_cls & ~val_seen & ~test_seen),
        val_seen=ds.subset(val_seen),
        val_unseen=ds.subset(np.isin(ds.labels, split.val)),
        test_seen=ds.subset(test_seen),
        test_unseen=ds.subset(np.isin(ds.labels, split.unseen)) if split.unseen else None,
        split=split,
    )
    return parts


def source_weights(ds: SkeletonDataset, weights: dict[str, float]) -> np.ndarray:
    """Per-sample sampling weights: each source gets ``weights[source]`` (default 1) of the draws, spread evenly
    over its samples."""
    src = ds.meta.get("source")
    if src is None:
        return np.full(len(ds), 1.0 / max(len(ds), 1))
    out = np.zeros(len(ds))
    for s in np.unique(src):
        m = src == s
        out[m] = weights.get(str(s), 1.0) / m.sum()
    return out / out.sum()


def parse_weights(text: str) -> dict[str, float]:
    """'synthetic=0.5,bandai_namco=0.7' -> {'synthetic': 0.5, 'bandai_namco': 0.7}."""
    out: dict[str, float] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
            if not sep or out[name.strip()] < 0:
                raise ValueError
        except ValueError:
            raise DataError(f"--source-weights: {item!r} is not SOURCE=WEIGHT with a weight >= 0") from None
    return out


def concept_groups(label_set: str) -> np.ndarray | None:
    """Class -> concept id over a mixture's classes (``train/data/concepts.json``), so that the same action named by
    two datasets is one positive, not two negatives; None for a single label set."""
    if "+" not in label_set:
        return None
    from train.data.classes import class_names
    from train.data.concepts import concept_of

    ids: dict[str, int] = {}
    out = []
    for part in label_set.split("+"):
        for label in class_names(part):
            try:
                key = concept_of(part, label) or f"{part}/{label}"
            except KeyError:  # a label the table does not list is a concept of its own
                key = f"{part}/{label}"
            out.append(ids.setdefault(key, len(ids)))
    return np.array(out, dtype=np.int64)
