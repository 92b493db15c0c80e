"""The pins hold: MediaPipe Pose runs in the same environment as torch and onnx, and finds a real person."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHARED


def astronaut_rgb() -> np.ndarray:
    import cv2

    path = SHARED / "realdata-dev" / "images" / "astronaut.png"
    if path.exists():
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    skimage_data = pytest.importorskip("skimage.data", reason="../shared absent and scikit-image not installed")
    return skimage_data.astronaut()


def test_mediapipe_pose_finds_a_person_beside_torch_and_onnx():
    import google.protobuf
    import mediapipe as mp
    import onnx
    import torch

    assert int(google.protobuf.__version__.split(".")[0]) < 5, "protobuf>=5 breaks mediapipe 0.10.x at run time"
    assert np.__version__.startswith("1."), "mediapipe 0.10.21 needs numpy<2"
    assert torch.__version__.startswith("2.13.0") and onnx.__version__ == "1.22.0"
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        result = pose.process(astronaut_rgb())
    assert result.pose_landmarks is not None, "no person found"
    lm = result.pose_landmarks.landmark
    vis = np.array([p.visibility for p in lm])
    assert vis[[0, 11, 12]].min() > 0.5  # nose and both shoulders are clearly visible on the photo
    assert result.pose_world_landmarks is not None


def test_one_opencv_distribution():
    from importlib.metadata import PackageNotFoundError, distribution

    found = []
    for name in ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"):
        try:
            distribution(name)
            found.append(name)
        except PackageNotFoundError:
            pass
    assert len(found) == 1, f"several OpenCV distributions provide cv2: {found}"
