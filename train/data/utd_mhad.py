"""UTD-MHAD (Chen et al. 2015): 8 subjects x 27 actions x 4 trials, Kinect v1 skeletons at 30 fps.

Layout: ``Skeleton/a{action}_s{subject}_t{trial}_skeleton.mat`` (numbers unpadded, 1-based; 861 files, three
trials are missing from the release) and ``Skeleton/Skeleton_joint_order.txt``. Each ``.mat`` holds one
variable ``d_skel`` of shape (20, 3, T): joints x xyz x frames. The joint order is the dataset's own, head
first (head, shoulder_center, spine, hip_center, left_shoulder, ...), not the SDK order, so joints are
mapped by name: from the order file when it is there, else from the documented order below. Coordinates
are the Kinect camera frame in metres, the project's convention (checked on all files: left shoulder at
smaller x, y up, about 1.6 m from the feet to the head joint).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from train.data.base import DataError, ScanReport, SkeletonDataset
from train.data.classes import class_names
from train.data.kinect_v1 import (
    GEOMETRY,
    K1,
    NUM_KINECT_V1_JOINTS,
    Collector,
    find_files,
    first_nonfinite,
    sdk_joint_name,
)
from train.data.sources import register_source

NAME = "utd_mhad"
FPS = 30.0
FILE_RE = re.compile(r"^a(\d+)_s(\d+)_t(\d+)_skeleton$")
ORDER_FILE = "Skeleton_joint_order.txt"
# The order as Skeleton_joint_order.txt lists it (used when a copy of the dataset lacks that file).
UTD_JOINTS: tuple[str, ...] = (
    "head", "shoulder_center", "spine", "hip_center",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)  # fmt: skip


def read_joint_order(path: str | Path) -> tuple[str, ...]:
    """``Skeleton_joint_order.txt`` (lines ``1. head;``) -> the 20 names in file order."""
    path = Path(path)
    names = [m.group(1) for m in re.finditer(r"^\s*\d+\.\s*([A-Za-z_ ]+?)\s*;?\s*$", path.read_text(), re.M)]
    if len(names) != NUM_KINECT_V1_JOINTS:
        raise DataError(f"{path}: expected 20 numbered joint names, found {len(names)}")
    return tuple(names)


def sdk_index(order: tuple[str, ...], where: str | Path = "joint order") -> np.ndarray:
    """For each SDK joint, its row in a file whose joints are in ``order``: (20,)."""
    try:
        sdk = [K1[sdk_joint_name(n)] for n in order]
    except KeyError as e:
        raise DataError(f"{where}: {e.args[0]}") from None
    if sorted(sdk) != list(range(NUM_KINECT_V1_JOINTS)):
        raise DataError(f"{where}: joint names do not cover the 20 Kinect v1 joints once each")
    return np.argsort(sdk)


def read_mat(path: str | Path, order: tuple[str, ...] = UTD_JOINTS) -> np.ndarray:
    """One ``.mat`` file as Kinect v1 joints (T, 20, 3) in SDK order. DataError names the file and field."""
    from scipy.io import loadmat  # scipy only for this format

    path = Path(path)
    try:
        mat = loadmat(path)
    except Exception as e:  # scipy raises ValueError, OSError, TypeError... on a damaged file
        raise DataError(f"{path}: not a readable MATLAB file ({e})") from e
    if "d_skel" not in mat:
        fields = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path}: no field 'd_skel' (has {fields})")
    d = mat["d_skel"]
    if not isinstance(d, np.ndarray) or d.ndim != 3 or d.shape[:2] != (20, 3) or d.shape[2] < 1:
        raise DataError(f"{path}: field 'd_skel' must be (20, 3, T), got {getattr(d, 'shape', type(d))}")
    try:
        joints = d.astype(np.float64).transpose(2, 0, 1)[:, sdk_index(order, path)]
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: field 'd_skel' is not numeric ({e})") from None
    bad = first_nonfinite(joints)
    if bad is not None:
        raise DataError(f"{path}: field 'd_skel' frame {bad} (0-based) holds NaN or infinite values")
    return joints


@register_source(NAME, folder="utd-mhad", licence="UTD-MHAD research terms", fps=FPS, geometry=GEOMETRY)
def load_utd_mhad(root: str | Path, progress: bool = True) -> tuple[SkeletonDataset, ScanReport]:
    """Every ``a*_s*_t*_skeleton.mat`` under ``root`` (or ``root/Skeleton``) as one sample, in NTU-25 joints."""
    root, files = find_files(root, ".mat", "Skeleton/a*_s*_t*_skeleton.mat")
    order_files = sorted(root.rglob(ORDER_FILE))
    order = read_joint_order(order_files[0]) if order_files else UTD_JOINTS
    sdk_index(order, order_files[0] if order_files else "UTD_JOINTS")  # a bad order file fails here, once
    names = class_names(NAME)
    out = Collector(("name", "subject", "view", "take"))
    for f in tqdm(files, desc=f"reading {root.name}", disable=not progress, unit="file"):
        m = FILE_RE.match(f.stem)
        if not m:
            out.report.skip("name is not a<action>_s<subject>_t<trial>_skeleton.mat", f.name)
            continue
        action, subject, take = (int(g) for g in m.groups())
        if not 1 <= action <= len(names):
            out.report.skip(f"action outside 1..{len(names)}", f.name)
            continue
        try:
            joints = read_mat(f, order)
        except DataError as e:
            out.report.skip(f"unreadable: {e}", f.name)
            continue
        out.add(f, joints, action - 1, {"name": f.stem, "subject": subject, "view": "0", "take": take})
    return out.dataset(root, names, NAME, FPS)
