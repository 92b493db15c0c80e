"""MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode with a user-supplied ``.task`` model (works with mediapipe
0.10.x and the Tasks-only 1.x releases); several people with ``max_people`` > 1 (no identities: the tracker
assigns them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.pose import Detection, PoseBackend


class TasksPose(PoseBackend):
    name = "mediapipe-tasks"

    def __init__(self, model: str | Path, max_people: int = 1, min_detection: float = 0.5):
        import mediapipe as mp
        from mediapipe.tasks import python as mp_tasks
        from mediapipe.tasks.python import vision

        model = Path(model)
        if not model.exists():
            raise FileNotFoundError(f"{model}: pose model not found (MediaPipe .task bundle, e.g. "
                                    "pose_landmarker_full.task)")
        options = vision.PoseLandmarkerOptions(
            base_options=mp_tasks.BaseOptions(model_asset_buffer=model.read_bytes()),
            running_mode=vision.RunningMode.VIDEO, num_poses=max_people,
            min_pose_detection_confidence=min_detection, min_pose_presence_confidence=0.5,
            min_tracking_confidence=0.5, output_segmentation_masks=False,
        )
        self.landmarker = vision.PoseLandmarker.create_from_options(options)
        self.mp = mp
        self.max_people = max_people
        self.last_ts = -1

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[Detection]:
        ts = max(int(timestamp_ms), self.last_ts + 1)  # VIDEO mode needs strictly increasing timestamps
        self.last_ts = ts
        image = self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        r = self.landmarker.detect_for_video(image, ts)
        out = []
        for img, wld in zip(r.pose_landmarks, r.pose_world_landmarks):
            vis = [getattr(p, "visibility", None) or 0.0 for p in img]
            out.append(Detection(
                np.array([[p.x, p.y, p.z, v] for p, v in zip(img, vis)], dtype=np.float64),
                np.array([[p.x, p.y, p.z, v] for p, v in zip(wld, vis)], dtype=np.float64),
            ))
        return out

    def close(self) -> None:
        self.landmarker.close()
