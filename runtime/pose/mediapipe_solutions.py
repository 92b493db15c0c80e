"""MediaPipe's legacy ``mp.solutions.pose`` (mediapipe <= 0.10.21), single person.

Only model_complexity=1 ships inside the wheel; 0 and 2 would try to download their model at run time, which
this product never does, so the complexity is fixed here on purpose."""

from __future__ import annotations

import numpy as np

from runtime.pose import Detection, PoseBackend


def _array(landmarks) -> np.ndarray:
    return np.array([[p.x, p.y, p.z, p.visibility] for p in landmarks.landmark], dtype=np.float64)


class SolutionsPose(PoseBackend):
    name = "mediapipe-solutions"
    max_people = 1

    def __init__(self, min_detection: float = 0.5, min_tracking: float = 0.5):
        import mediapipe as mp

        if not hasattr(mp, "solutions"):
            raise RuntimeError(f"mediapipe {mp.__version__} has no solutions API (removed after 0.10.21): use the "
                               "Tasks backend with --pose-model FILE.task")
        self.pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                           enable_segmentation=False, min_detection_confidence=min_detection,
                                           min_tracking_confidence=min_tracking)

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[Detection]:
        r = self.pose.process(rgb)
        if r.pose_landmarks is None or r.pose_world_landmarks is None:
            return []
        return [Detection(_array(r.pose_landmarks), _array(r.pose_world_landmarks))]

    def close(self) -> None:
        self.pose.close()
