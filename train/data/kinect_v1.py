"""The Kinect v1 (SDK 1.x) 20-joint skeleton and its one mapping to NTU-25 (Kinect v2).

Kinder-Gator, UTD-MHAD and NW-UCLA all record this skeleton in the Kinect camera frame (metres, x to the
camera's left, y up, z away: a person facing the camera has their left side at smaller x), the same frame
``runtime.skeleton`` uses, so the mapping only moves joints between layouts; it never changes axes or units.

Joint names agree across the two sensors, positions do not: Kinect v1's ``Spine`` sits about 6 cm above
``HipCenter``, while NTU's ``spine_mid`` is mid-torso. Copying one onto the other moves the normalisation
origin (``runtime.skeleton.normalize`` centres on spine_mid), so spine_mid is derived instead; see
``NTU_FROM_KINECT_V1`` for the full table.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from runtime.skeleton import NTU_JOINTS, NUM_NTU_JOINTS
from train.data.base import DataError, ScanReport, SkeletonDataset

# The Kinect SDK v1 NUI_SKELETON_POSITION_INDEX order (NW-UCLA stores joints in this order).
KINECT_V1_JOINTS: tuple[str, ...] = (
    "HipCenter", "Spine", "ShoulderCenter", "Head",
    "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
    "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
)  # fmt: skip
NUM_KINECT_V1_JOINTS = 20
K1 = {name: i for i, name in enumerate(KINECT_V1_JOINTS)}

# The mapping, one row per NTU joint: (how, {Kinect v1 joint: weight}). "copy" takes one joint as it is,
# "derive" is a weighted mean of Kinect v1 joints, "missing" is left at zero (the NTU missing-joint mark).
_LIMBS = ("Shoulder", "Elbow", "Wrist", "Hand", "Hip", "Knee", "Ankle", "Foot")
NTU_FROM_KINECT_V1: dict[str, tuple[str, dict[str, float]]] = {
    "spine_base": ("copy", {"HipCenter": 1.0}),
    # Kinect v1's Spine is ~6 cm above the hip centre, not mid-torso: take the midpoint of the torso instead.
    "spine_mid": ("derive", {"HipCenter": 0.5, "ShoulderCenter": 0.5}),
    # Kinect v2's neck sits a third of the way up from the spine-shoulder joint to the head.
    "neck": ("derive", {"ShoulderCenter": 2 / 3, "Head": 1 / 3}),
    "head": ("copy", {"Head": 1.0}),
    "spine_shoulder": ("copy", {"ShoulderCenter": 1.0}),
    **{f"{side.lower()}_{part.lower()}": ("copy", {f"{part}{side}": 1.0})
       for side in ("Left", "Right") for part in _LIMBS},
    # Kinect v1 tracks neither fingertips nor thumbs.
    "left_hand_tip": ("missing", {}),
    "left_thumb": ("missing", {}),
    "right_hand_tip": ("missing", {}),
    "right_thumb": ("missing", {}),
}
assert set(NTU_FROM_KINECT_V1) == set(NTU_JOINTS), "the table must cover every NTU joint exactly once"

GEOMETRY = (
    "Kinect v1 20 joints -> NTU-25: spine base, head, spine shoulder (ShoulderCenter) and all limb joints "
    "copied; spine mid derived as the hip-centre/shoulder-centre midpoint (Kinect v1's Spine sits ~6 cm above "
    "the hip, not mid-torso); neck derived a third of the way from ShoulderCenter to Head; hand tips and "
    "thumbs missing (zero)."
)


def _weights() -> np.ndarray:
    w = np.zeros((NUM_NTU_JOINTS, NUM_KINECT_V1_JOINTS))
    for j, name in enumerate(NTU_JOINTS):
        for k1_name, weight in NTU_FROM_KINECT_V1[name][1].items():
            w[j, K1[k1_name]] = weight
    return w


_W = _weights()
_USES = _W != 0  # which Kinect v1 joints each NTU joint is made from


def kinect_v1_to_ntu(points: np.ndarray) -> np.ndarray:
    """Kinect v1 joints (..., 20, 3) in SDK order -> NTU-25 joints (..., 25, 3), same axes and units.

    An NTU joint is zero (missing) when it has no Kinect v1 counterpart or when any joint it is made from is
    zero, so a missing source joint never drags a derived joint toward the camera origin.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-2:] != (NUM_KINECT_V1_JOINTS, 3):
        raise ValueError(f"expected Kinect v1 joints (..., 20, 3), got shape {p.shape}")
    out = np.einsum("vk,...kc->...vc", _W, p)
    src_missing = np.all(p == 0, axis=-1)  # (..., 20)
    missing = (src_missing[..., None, :] & _USES).any(axis=-1) | ~_USES.any(axis=1)
    out[missing] = 0.0
    return out


def sdk_joint_name(name: str) -> str:
    """A Kinect v1 joint name in any common spelling -> its SDK name.

    Accepts the SDK's own names (``ShoulderLeft``), snake case in either word order (``left_shoulder``,
    ``shoulder_left``, ``hip_center``) and spaces; raises KeyError for anything else.
    """
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name.replace("_", " "))]
    if words and words[0] in ("left", "right"):  # UTD-MHAD writes the side first
        words = words[1:] + words[:1]
    sdk = "".join(w.capitalize() for w in words).replace("Centre", "Center")
    if sdk not in K1:
        raise KeyError(f"{name!r} is not a Kinect v1 joint (known: {', '.join(KINECT_V1_JOINTS)})")
    return sdk


def first_nonfinite(points: np.ndarray) -> int | None:
    """Index of the first frame of (T, 20, 3) holding a NaN or an infinity, or None."""
    bad = ~np.isfinite(np.asarray(points)).all(axis=(-2, -1))
    return int(np.argmax(bad)) if bad.any() else None


def empty_frames(points: np.ndarray) -> np.ndarray:
    """(T,) True for the frames of (T, 20, 3) whose joints are all zero: no skeleton tracked (NTU's mark)."""
    return np.all(np.asarray(points) == 0, axis=(-2, -1))


def find_files(root: str | Path, suffix: str, expected: str) -> tuple[Path, list[Path]]:
    """The dataset folder and its ``*suffix`` files (sorted), or a clear error naming what was expected."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    files = sorted(root.rglob(f"*{suffix}"))
    if not files:
        raise DataError(f"{root}: no {suffix} files found (expected {expected})")
    return root, files


class Collector:
    """What the three Kinect v1 readers share after reading a file: drop (and report) frames without a skeleton,
    map to NTU-25, and gather samples, labels and meta into one dataset."""

    def __init__(self, meta_keys: tuple[str, ...]):
        self.report = ScanReport()
        self.seqs: list[np.ndarray] = []
        self.labels: list[int] = []
        self.meta: dict[str, list[str]] = {k: [] for k in meta_keys}

    def add(self, path: Path, joints: np.ndarray, label: int, meta: dict[str, str], ts: np.ndarray | None = None,
            resample=None) -> None:
        """One file's Kinect v1 joints (T, 20, 3); ``resample(joints, ts)`` brings timed frames to 30 fps."""
        empty = empty_frames(joints)
        if empty.all():
            self.report.skip("no skeleton in any frame", path.name)
            return
        if empty.any():  # kept, but said: the frames were dropped
            self.report.skip("kept, all-zero (no skeleton) frames dropped", path.name)
            joints = joints[~empty]
            ts = ts[~empty] if ts is not None else None
        if resample is not None:
            joints = resample(joints, ts)
        self.seqs.append(kinect_v1_to_ntu(joints)[:, None].astype(np.float32))
        self.labels.append(label)
        for k in self.meta:
            self.meta[k].append(str(meta[k]))
        self.report.loaded += 1

    def dataset(self, root: Path, names, label_set: str, fps: float) -> tuple[SkeletonDataset, ScanReport]:
        if not self.seqs:
            raise DataError(f"{root}: no readable samples ({self.report.summary()})")
        return SkeletonDataset.from_sequences(self.seqs, self.labels, names, label_set, self.meta, fps=fps), self.report
