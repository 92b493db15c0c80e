"""Seeing a generated person: camera placement, Kinect-like sensor noise, and a MediaPipe-like projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime.skeleton import MP, NUM_MEDIAPIPE_JOINTS, J


@dataclass(frozen=True)
class CameraView:
    distance: float = 3.2  # metres from the person's start position
    height: float = 1.0  # camera height above the floor
    yaw: float = 0.0  # radians; the camera orbits the person (0 = straight in front)
    look_at_height: float = 1.0  # the point the camera aims at, above the person's start position
    roll: float = 0.0

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera position in the person's world frame and its Kinect axes (rows: left, up, forward)."""
        pos = np.array([self.distance * np.sin(self.yaw), self.height, self.distance * np.cos(self.yaw)])
        forward = np.array([0.0, self.look_at_height, 0.0]) - pos
        forward /= np.linalg.norm(forward)
        left = np.cross([0.0, 1.0, 0.0], forward)
        left /= np.linalg.norm(left)
        up = np.cross(forward, left)
        c, s = np.cos(self.roll), np.sin(self.roll)
        left, up = c * left + s * up, -s * left + c * up
        return pos, np.stack([left, up, forward])


def sample_view(rng: np.random.Generator, yaw_deg: float = 60.0, distance=(2.2, 4.2), height=(0.6, 1.8),
                pitch_deg: float = 12.0) -> CameraView:
    d = rng.uniform(*distance)
    h = rng.uniform(*height)
    # aim roughly at the torso, with a random extra pitch
    aim = 1.0 + d * np.tan(np.radians(rng.uniform(-pitch_deg, pitch_deg)))
    return CameraView(distance=d, height=h, yaw=np.radians(rng.uniform(-yaw_deg, yaw_deg)),
                      look_at_height=aim, roll=np.radians(rng.normal(0, 2.0)))


def to_camera(points: np.ndarray, view: CameraView) -> np.ndarray:
    """World points (..., 3) -> Kinect camera frame (x left, y up, z away from the camera)."""
    pos, axes = view.axes()
    return (np.asarray(points) - pos) @ axes.T


# ------------------------------------------------------------------------------- Kinect noise

_DISTAL = [J[n] for n in ("left_hand", "right_hand", "left_hand_tip", "right_hand_tip", "left_thumb", "right_thumb",
                          "left_foot", "right_foot")]


def kinect_noise(joints: np.ndarray, rng: np.random.Generator, level: float = 1.0) -> np.ndarray:
    """Add Kinect v2-like artefacts to (T, 25, 3) camera-frame joints: correlated jitter (worse on hands,
    thumbs and feet, and in depth), short glitches of distal joints, dropped joints and dropped frames
    (all-zero, as in NTU files)."""
    x = np.array(joints, dtype=np.float64)
    if level <= 0:
        return x
    t = len(x)
    sigma = np.full(25, 0.004)
    sigma[_DISTAL] = 0.011
    white = rng.normal(0, 1, (t, 25, 3)) * sigma[None, :, None] * np.array([1.0, 1.0, 1.6]) * level
    jitter = np.zeros_like(white)
    for i in range(t):  # AR(1): Kinect noise is correlated over a few frames
        jitter[i] = (0.6 * jitter[i - 1] if i else 0) + white[i]
    x += jitter
    if rng.random() < 0.3 * level:  # a distal joint snaps to a wrong place for a few frames
        j = rng.choice(_DISTAL)
        start = rng.integers(0, max(t - 4, 1))
        span = rng.integers(3, 13)
        x[start : start + span, j] += rng.normal(0, 0.12, 3)
    if rng.random() < 0.1 * level:  # a joint lost for a few frames
        j = rng.choice(_DISTAL)
        start = rng.integers(0, max(t - 2, 1))
        x[start : start + rng.integers(1, 6), j] = 0.0
    if rng.random() < 0.15 * level:  # the body lost for a few frames
        for _ in range(rng.integers(1, 3)):
            start = rng.integers(1, max(t - 2, 2))
            x[start : start + rng.integers(1, 5)] = 0.0
    return x


# ------------------------------------------------------------------------- MediaPipe projection


@dataclass(frozen=True)
class Projection:
    image_size: tuple[int, int] = (640, 480)
    fov_deg: float = 70.0  # horizontal field of view of a typical webcam

    @property
    def focal(self) -> float:
        return 0.5 * self.image_size[0] / np.tan(np.radians(self.fov_deg) / 2)


def project_mediapipe(points: np.ndarray, rng: np.random.Generator, proj: Projection = Projection(),
                      noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame anatomical landmarks (T, 33, 3) -> what MediaPipe Pose reports for an unmirrored image:
    ``landmarks`` (T, 33, 4) = normalised image x, y, relative depth z, visibility, and ``world_landmarks``
    (T, 33, 4) = hip-centred metres in MediaPipe axes (x image-right, y down, z away), visibility."""
    p = np.asarray(points, dtype=np.float64)
    t = len(p)
    width, height = proj.image_size
    f = proj.focal
    z = np.maximum(p[..., 2], 0.3)
    u = (width / 2 - f * p[..., 0] / z) / width  # Kinect x points to the camera's left = image left
    v = (height / 2 - f * p[..., 1] / z) / height
    hips = 0.5 * (p[:, MP["left_hip"]] + p[:, MP["right_hip"]])
    rel_z = (p[..., 2] - hips[:, None, 2]) * f / (width * np.maximum(hips[:, None, 2], 0.3))

    # visibility: landmarks behind the torso (deeper than it and inside its outline) or outside the image
    torso_ids = [MP["left_shoulder"], MP["right_shoulder"], MP["left_hip"], MP["right_hip"]]
    tu, tv = u[:, torso_ids], v[:, torso_ids]
    inside = (u > tu.min(1, keepdims=True)) & (u < tu.max(1, keepdims=True)) & (v > tv.min(1, keepdims=True)) & (
        v < tv.max(1, keepdims=True))
    behind = p[..., 2] > p[:, torso_ids, 2].mean(1, keepdims=True) + 0.06
    off_image = (u < 0) | (u > 1) | (v < 0) | (v > 1)
    vis = np.clip(rng.normal(0.97, 0.02, (t, NUM_MEDIAPIPE_JOINTS)), 0, 1)
    vis = np.where(inside & behind, rng.uniform(0.3, 0.7, vis.shape), vis)
    vis = np.where(off_image, rng.uniform(0.02, 0.3, vis.shape), vis)

    def smooth_noise(scale: float, shape) -> np.ndarray:
        w = rng.normal(0, scale * noise, shape)
        out = np.zeros_like(w)
        for i in range(len(w)):
            out[i] = (0.5 * out[i - 1] if i else 0) + w[i]
        return out

    image = np.stack([u, v, rel_z], -1) + smooth_noise(0.002, (t, NUM_MEDIAPIPE_JOINTS, 3))
    world = (p - hips[:, None]) * np.array([-1.0, -1.0, 1.0])
    world = world + smooth_noise(0.008, (t, NUM_MEDIAPIPE_JOINTS, 3)) * np.array([1.0, 1.0, 2.5])
    return np.concatenate([image, vis[..., None]], -1), np.concatenate([world, vis[..., None]], -1)
