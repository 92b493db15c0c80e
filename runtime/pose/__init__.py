"""Pose backends behind one interface: an RGB image and its timestamp in, people out (MediaPipe-33 image and world
landmarks with visibility), which ``runtime.skeleton`` maps to NTU-25.

    pose = create_pose_backend("solutions")                          # mp.solutions.pose, bundled full model
    pose = create_pose_backend("tasks", model="pose_landmarker_full.task", max_people=2)
    for det in pose.detect(rgb, timestamp_ms): det.image, det.world  # (33, 4) each: x, y, z, visibility
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Detection:
    image: np.ndarray  # (33, 4): normalised x, y, relative z, visibility
    world: np.ndarray  # (33, 4): metres, hip-centred, MediaPipe axes, visibility


class PoseBackend:
    name = "base"
    max_people = 1

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[Detection]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def create_pose_backend(name: str = "solutions", model: str | None = None, max_people: int = 1) -> PoseBackend:
    if name == "solutions":
        if max_people != 1:
            raise ValueError("mp.solutions.pose tracks one person; use --pose-model FILE.task for several")
        from runtime.pose.mediapipe_solutions import SolutionsPose

        return SolutionsPose()
    if name == "tasks":
        if not model:
            raise ValueError("the Tasks backend needs a pose model: --pose-model pose_landmarker_full.task")
        from runtime.pose.mediapipe_tasks import TasksPose

        return TasksPose(model, max_people)
    raise ValueError(f"unknown pose backend {name!r} (solutions | tasks)")
