"""The built-in synthetic dataset: procedural motions (``runtime.synth``) in the common dataset interface.

Train and test parts come from disjoint seed streams, so a test sample is never a training sample. Sizes are
small enough to make on the fly (hundreds of sequences per second; ``python -m bench.generator``).
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from runtime.synth import SYNTHETIC_CLASSES, SynthConfig, generate, sample_seed
from train.data.base import SkeletonDataset

_PART_SEED = {"train": 0, "val": 1, "test": 2}


def make_synthetic(per_class: int, part: str = "train", seed: int = 0, classes: list[str] | None = None,
                   config: SynthConfig = SynthConfig(), progress: bool = False) -> SkeletonDataset:
    """``per_class`` samples of each class (all synthetic classes by default) as a SkeletonDataset."""
    if part not in _PART_SEED:
        raise ValueError(f"part must be one of {sorted(_PART_SEED)}, got {part!r}")
    names = list(classes or SYNTHETIC_CLASSES)
    base = seed * 10 + _PART_SEED[part]
    seqs, labels = [], []
    meta = {k: [] for k in ("side", "seated", "height", "camera_yaw", "camera_distance")}
    jobs = [(n, i) for n in names for i in range(per_class)]
    for name, i in tqdm(jobs, desc=f"synthesising {part}", disable=not progress, unit="seq"):
        ci = SYNTHETIC_CLASSES.index(name)
        s = generate(name, sample_seed(base, ci, i), config)
        seqs.append(s.joints[:, None].astype(np.float32))
        labels.append(ci)
        for k in meta:
            meta[k].append(s.info[k])
    return SkeletonDataset.from_sequences(seqs, labels, SYNTHETIC_CLASSES, "synthetic", meta, fps=config.fps)
