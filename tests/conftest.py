"""Shared fixtures: where the reference material is, and small hand-made skeletons."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ZSAR_SHARED", ROOT.parent / "shared"))
REALDATA = SHARED / "realdata-dev"

# A standing person facing the camera in Kinect axes (x to the camera's left, y up, z away), metres.
# Hand-made from typical adult proportions; used where tests need "a plausible body" without any dataset.
_REST = {
    "spine_base": (0.0, 0.0, 3.0), "spine_mid": (0.0, 0.27, 3.0), "spine_shoulder": (0.0, 0.48, 3.0),
    "neck": (0.0, 0.55, 3.0), "head": (0.0, 0.68, 3.0),
    "left_shoulder": (-0.17, 0.44, 3.0), "left_elbow": (-0.2, 0.2, 3.02), "left_wrist": (-0.21, -0.03, 3.0),
    "left_hand": (-0.21, -0.09, 2.99), "left_hand_tip": (-0.21, -0.14, 2.98), "left_thumb": (-0.18, -0.08, 2.96),
    "right_shoulder": (0.17, 0.44, 3.0), "right_elbow": (0.2, 0.2, 3.02), "right_wrist": (0.21, -0.03, 3.0),
    "right_hand": (0.21, -0.09, 2.99), "right_hand_tip": (0.21, -0.14, 2.98), "right_thumb": (0.18, -0.08, 2.96),
    "left_hip": (-0.07, -0.03, 3.0), "left_knee": (-0.08, -0.44, 2.99), "left_ankle": (-0.08, -0.84, 3.02),
    "left_foot": (-0.09, -0.88, 2.9),
    "right_hip": (0.07, -0.03, 3.0), "right_knee": (0.08, -0.44, 2.99), "right_ankle": (0.08, -0.84, 3.02),
    "right_foot": (0.09, -0.88, 2.9),
}  # fmt: skip


def rest_pose() -> np.ndarray:
    from runtime.skeleton import NTU_JOINTS

    return np.array([_REST[n] for n in NTU_JOINTS], dtype=np.float64)


def moving_sequence(frames: int = 40, seed: int = 0) -> np.ndarray:
    """(T, 1, 25, 3): the rest pose with a waving right arm and small noise, never all-zero."""
    rng = np.random.default_rng(seed)
    pose = rest_pose()
    t = np.linspace(0, 2 * np.pi, frames)
    seq = np.repeat(pose[None], frames, axis=0)
    for j in (9, 10, 11, 23, 24):  # right elbow .. right thumb swing sideways and up
        seq[:, j, 0] += 0.15 * np.sin(3 * t) * (j / 11)
        seq[:, j, 1] += 0.1 * (1 - np.cos(3 * t))
    seq += rng.normal(0, 0.005, seq.shape)
    return seq[:, None]


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata-dev is absent")
    return REALDATA


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """The bundle that ships, with its text encoder (made once here when setup has not made it)."""
    from runtime.bundle import DEFAULT_BUNDLE

    src = Path(os.environ.get("ZSAR_TEST_BUNDLE", DEFAULT_BUNDLE))
    if (src / "text_encoder" / "model.onnx").exists():
        return src
    import shutil

    from export.text_encoder import export_text_encoder

    dst = tmp_path_factory.mktemp("bundle") / "bundle"
    shutil.copytree(src, dst)
    export_text_encoder(dst / "text_encoder")
    return dst


@pytest.fixture
def keep_signals():
    """runtime.camera's main installs SIGINT/SIGTERM handlers: put pytest's back afterwards."""
    import signal

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)
