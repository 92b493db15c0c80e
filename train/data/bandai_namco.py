"""Bandai-Namco Research Motiondataset 1 and 2 (CC BY-NC 4.0): professional actors in optical motion capture,
BVH files at 30 fps, read through ``train.data.bvh`` into NTU-25 joints.

Layout: ``Bandai-Namco-Research-Motiondataset-{1,2}/data/dataset-{part}_{content}_{style}_{take}.bvh`` with a JSON
of content and style ids beside each (nothing else: the README says three actors took part but no file says
which, so every sample's subject is "0"). The class is the content with dashes as spaces ("wave right hand"),
a line of ``train/data/classes/bandai_namco.txt``; dataset-1 and dataset-2 share "walk" and "run". The style
(happy, elderly, ...) is a way of performing the action, not a class: it is kept in ``meta["style"]`` for
augmentation and analysis, with ``meta["part"]`` ("dataset-1"/"dataset-2"), ``take`` (the number in the name)
and ``view`` "0". Skeleton mapping: the ``bandai_namco`` table of ``train.data.bvh`` (documented there).

    python -m train.data.bandai_namco --root ~/.cache/zsar/datasets/bandai-namco    # load all, print a summary
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.bvh import read_bvh_ntu
from train.data.classes import class_names
from train.data.sources import register_source

NAME = "bandai_namco"
FPS = 30.0
_FILE = re.compile(r"^(dataset-[12])_([a-z0-9-]+)_([a-z0-9-]+)_(\d+)$")
GEOMETRY = (
    "BVH forward kinematics (22 joints, cm -> m, Y up, turned to face the camera): spine base, spine shoulder, "
    "neck, shoulders, elbows, wrists, hips, knees, ankles and feet copied from Hips, Neck, Head, UpperArm, "
    "LowerArm, Hand, UpperLeg, LowerLeg, Foot, Toes; spine mid (0.57 of Hips -> Neck), head (Neck -> Head "
    "extended to the skull centre) and hand (the wrist moved on along the forearm) derived; hand tips and "
    "thumbs missing (no finger joints)."
)


def parse_name(stem: str) -> dict[str, str]:
    """``dataset-2_wave-right-hand_elderly_012`` -> part, content ("wave right hand"), style, take."""
    m = _FILE.match(stem)
    if m is None:
        raise DataError(f"{stem}: not a Bandai-Namco file name (dataset-N_content_style_take)")
    part, content, style, take = m.groups()
    return {"part": part, "content": content.replace("-", " "), "style": style, "take": take}


def _read(path: str) -> np.ndarray | str:
    """One file as (T, 1, 25, 3) float32 in the Kinect camera frame, or the reason it could not be read."""
    try:
        return read_bvh_ntu(path, units="cm", up="y", table="bandai_namco", fps=FPS)[:, None].astype(np.float32)
    except DataError as e:
        return str(e)


def _read_all(files: list[Path], progress: bool, workers: int) -> list[np.ndarray | str]:
    from tqdm import tqdm

    paths = [str(f) for f in files]
    bar = dict(total=len(paths), desc="reading bandai-namco", disable=not progress, unit="file")
    if workers <= 1 or len(paths) < 64:
        return [_read(p) for p in tqdm(paths, **bar)]
    # spawn, not fork: a parent that has loaded torch (threads) must not be forked
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(tqdm(pool.map(_read, paths, chunksize=32), **bar))


@register_source(NAME, folder="bandai-namco", licence="CC BY-NC 4.0 (non-commercial)", fps=FPS, geometry=GEOMETRY)
def load_bandai_namco(root: str | Path, progress: bool = True, workers: int | None = None
                      ) -> tuple[SkeletonDataset, ScanReport]:
    """Every ``*.bvh`` under ``root`` as one sample labelled by its content; unreadable files and contents outside
    the class list are skipped and reported. ``workers`` processes read in parallel (default: the CPU count)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    names = list(class_names(NAME))
    report = ScanReport()
    files, infos = [], []
    for f in sorted(root.rglob("*.bvh")):
        try:
            info = parse_name(f.stem)
        except DataError as e:
            report.skip(f"unreadable: {e}", f.name)
            continue
        if info["content"] not in names:
            report.skip(f"content outside {NAME}", f.name)
            continue
        files.append(f)
        infos.append(info)
    if not files and not report.skipped:
        raise DataError(f"{root}: no .bvh files found")
    seqs, labels = [], []
    meta: dict[str, list] = {k: [] for k in ("name", "subject", "view", "take", "style", "part")}
    results = _read_all(files, progress, workers if workers is not None else (os.cpu_count() or 1))
    for f, info, res in zip(files, infos, results):
        if isinstance(res, str):
            report.skip(f"unreadable: {res}", f.name)
            continue
        seqs.append(res)
        labels.append(names.index(info["content"]))
        for k, v in (("name", f.stem), ("subject", "0"), ("view", "0"), ("take", info["take"]),
                     ("style", info["style"]), ("part", info["part"])):
            meta[k].append(v)
        report.loaded += 1
    if not seqs:
        raise DataError(f"{root}: no readable samples ({report.summary()})")
    return SkeletonDataset.from_sequences(seqs, labels, names, NAME, meta, FPS), report


def main(argv: list[str] | None = None) -> None:
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m train.data.bandai_namco", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="~/.cache/zsar/datasets/bandai-namco")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ds, report = load_bandai_namco(args.root, workers=args.workers)
    print(f"{len(ds)} sequences, {len(ds.frames)} frames, {time.perf_counter() - t0:.1f} s; {report.summary()}")
    counts = np.bincount(ds.labels, minlength=len(ds.class_names))
    print(", ".join(f"{c}: {n}" for c, n in zip(ds.class_names, counts)))


if __name__ == "__main__":
    main()
