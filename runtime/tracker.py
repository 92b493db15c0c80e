"""A light tracker that keeps a stable person id across frames for pose backends that return several people
without identities: greedy matching on the overlap of keypoint boxes (then on centre distance), new ids for
newcomers, and a track freed after ``timeout_s`` without a match."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def keypoint_box(image_landmarks: np.ndarray, min_visibility: float = 0.3) -> np.ndarray:
    """(x0, y0, x1, y1) in normalised image coordinates of the visible landmarks (all of them if none is)."""
    lm = np.asarray(image_landmarks)
    vis = lm[:, 3] >= min_visibility if lm.shape[1] > 3 else np.ones(len(lm), bool)
    pts = lm[vis, :2] if vis.any() else lm[:, :2]
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    id: int
    box: np.ndarray
    last_seen: float


class Tracker:
    def __init__(self, timeout_s: float = 1.0, min_iou: float = 0.2, max_centre_distance: float = 0.15, max_tracks: int = 20):
        self.timeout_s, self.min_iou, self.max_dist, self.max_tracks = timeout_s, min_iou, max_centre_distance, max_tracks
        self.tracks: list[_Track] = []
        self.next_id = 0

    def update(self, t: float, boxes: list[np.ndarray]) -> list[int]:
        """Ids for the boxes of this frame (same order)."""
        self.tracks = [tr for tr in self.tracks if t - tr.last_seen <= self.timeout_s]
        ids: list[int | None] = [None] * len(boxes)
        pairs = []
        for i, b in enumerate(boxes):
            for j, tr in enumerate(self.tracks):
                o = iou(b, tr.box)
                d = np.linalg.norm((b[:2] + b[2:]) / 2 - (tr.box[:2] + tr.box[2:]) / 2)
                if o >= self.min_iou or d <= self.max_dist:
                    pairs.append((o - d, i, j))
        used_t = set()
        for _, i, j in sorted(pairs, reverse=True):
            if ids[i] is None and j not in used_t:
                ids[i] = self.tracks[j].id
                used_t.add(j)
                self.tracks[j].box, self.tracks[j].last_seen = boxes[i], t
        for i, b in enumerate(boxes):
            if ids[i] is None and len(self.tracks) < self.max_tracks:
                ids[i] = self.next_id
                self.tracks.append(_Track(self.next_id, b, t))
                self.next_id += 1
        return [i if i is not None else -1 for i in ids]
