"""Procedural skeleton sequences: a random body performs an action program, seen by a random camera.

    from runtime.synth import generate
    sample = generate("Hand waving", seed=7)                  # NTU-25, Kinect camera frame, with noise
    sample = generate("Hand waving", seed=7, mediapipe=True)  # plus what MediaPipe would report

Every sample is a pure function of (class, seed, config): the same seed gives the same sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from runtime.synth.body import SIDES, BodyShape, Pose, forward_kinematics
from runtime.synth.camera import (
    Projection,
    kinect_noise,
    project_mediapipe,
    sample_view,
    to_camera,
)
from runtime.synth.motions import ACTIONS, IDLE, IDLE_SPEC, LOWER, SYNTHETIC_CLASSES, UPPER, Motion


@dataclass(frozen=True)
class SynthConfig:
    fps: float = 30.0
    noise: float = 1.0  # Kinect artefact level (0 = clean)
    yaw_deg: float = 60.0  # camera orbit around the person, +-
    pitch_deg: float = 12.0
    distance: tuple[float, float] = (2.2, 4.2)
    camera_height: tuple[float, float] = (0.6, 1.8)
    body_height: tuple[float, float] = (1.45, 1.95)
    speed: tuple[float, float] = (0.8, 1.25)  # playback speed factor
    amplitude: tuple[float, float] = (0.8, 1.2)
    seated_prob: float = 0.3  # for actions people also do sitting
    left_handed_prob: float = 0.2
    heading_deg: float = 20.0  # the person's own facing, +-, before the camera orbit
    projection: Projection = field(default_factory=Projection)

    def shifted(self) -> SynthConfig:
        """A harder distribution (new body sizes, camera angles, more noise) for robustness checks."""
        return replace(self, noise=1.8, yaw_deg=80.0, pitch_deg=22.0, body_height=(1.3, 2.05),
                       distance=(1.8, 5.0), camera_height=(0.4, 2.2))


@dataclass
class SyntheticSample:
    label: str
    joints: np.ndarray  # (T, 25, 3) Kinect camera frame, metres, with sensor noise
    clean: np.ndarray  # (T, 25, 3) the same without noise
    fps: float
    info: dict
    landmarks: np.ndarray | None = None  # (T, 33, 4) MediaPipe image landmarks
    world_landmarks: np.ndarray | None = None  # (T, 33, 4) MediaPipe world landmarks
    mediapipe_camera: np.ndarray | None = None  # (T, 33, 3) the anatomical landmarks in the camera frame


def sample_seed(base_seed: int, class_index: int, index: int) -> np.random.SeedSequence:
    """Independent, order-free seeds: sample i of class c is the same however many others are made."""
    return np.random.SeedSequence([base_seed, class_index, index])


def _idle_arms(m: Motion) -> None:
    """Arms no program uses hang with a little sway instead of being perfectly still."""
    for side in SIDES:
        if side in m.pose.hand_target:
            continue
        target = m.rest(side)
        ph = m.rng.uniform(0, 2 * np.pi)
        target[:, 2] += 0.02 * np.sin(2 * np.pi * 0.3 * m.t + ph)
        target[:, 0] += 0.01 * np.sin(2 * np.pi * 0.2 * m.t + ph)
        m.pose.hand_target[side] = target


def generate(label: str, seed: int | np.random.SeedSequence = 0, config: SynthConfig = SynthConfig(),
             mediapipe: bool = False) -> SyntheticSample:
    if label not in ACTIONS and label != IDLE:
        raise KeyError(f"unknown synthetic action {label!r}; see runtime.synth.SYNTHETIC_CLASSES")
    spec = IDLE_SPEC if label == IDLE else ACTIONS[label]
    rng = np.random.default_rng(seed)
    shape = BodyShape.sample(rng, config.body_height)
    speed = rng.uniform(*config.speed)
    duration = rng.uniform(*spec.seconds) / speed
    frames = max(int(round(duration * config.fps)), 8)
    t = np.arange(frames) / config.fps
    pose = Pose(frames)
    m = Motion(
        pose=pose, shape=shape, t=t * speed, s=np.linspace(0, 1, frames), duration=duration, rng=rng,
        side="left" if rng.random() < config.left_handed_prob else "right",
        amp=rng.uniform(*config.amplitude), seated=spec.seated_ok and rng.random() < config.seated_prob,
    )
    if spec.lower != "none":
        LOWER[spec.lower](m)
    UPPER[spec.upper](m)
    _idle_arms(m)
    heading = np.radians(rng.uniform(-config.heading_deg, config.heading_deg))
    if spec.lower == "walk" and rng.random() < 0.3:
        heading += np.pi  # walking away from the camera
    pose.yaw = pose.yaw + heading
    # walking advances along the heading
    c, s = np.cos(heading), np.sin(heading)
    xz = pose.root_xz.copy()
    pose.root_xz = np.stack([c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]], -1)
    if spec.lower == "walk":  # start a little back so the walk stays in view
        pose.root_xz = pose.root_xz - pose.root_xz.mean(axis=0)

    body = forward_kinematics(shape, pose)
    view = sample_view(rng, config.yaw_deg, config.distance, config.camera_height, config.pitch_deg)
    clean = to_camera(body.ntu, view)
    # keep the whole clip within a depth sensor's working range (a fall or a walk toward the camera must not
    # end inside it): slide the camera back, or forward, along its viewing axis
    near, far = clean[..., 2].min(), clean[..., 2].max()
    dz = max(0.0, 1.2 - near) - max(0.0, min(far - 5.5, near - 1.2))
    clean[..., 2] += dz
    noisy = kinect_noise(clean, rng, config.noise)
    info = {
        "camera_depth_shift": float(dz), "height": shape.height, "side": m.side, "seated": m.seated, "amplitude": m.amp, "speed": speed,
        "camera_yaw": float(view.yaw), "camera_distance": view.distance, "camera_height": view.height,
        "heading": float(heading),
    }
    sample = SyntheticSample(label=label, joints=noisy, clean=clean, fps=config.fps, info=info)
    if mediapipe:
        cam_mp = to_camera(body.mediapipe, view)
        cam_mp[..., 2] += dz
        sample.mediapipe_camera = cam_mp
        sample.landmarks, sample.world_landmarks = project_mediapipe(cam_mp, rng, config.projection, config.noise)
    return sample


def generate_batch(labels: list[str] | None = None, per_class: int = 10, seed: int = 0,
                   config: SynthConfig = SynthConfig()) -> list[SyntheticSample]:
    labels = list(labels or SYNTHETIC_CLASSES)
    out = []
    for label in labels:
        ci = SYNTHETIC_CLASSES.index(label)
        out.extend(generate(label, sample_seed(seed, ci, i), config) for i in range(per_class))
    return out


def demo_stream(labels: list[str] | None = None, seed: int = 0, config: SynthConfig = SynthConfig()):
    """An endless stream of (label, (25, 3) joints) frames for a runtime with no camera: one person in front of
    one camera performing actions one after another, standing still in between (label None)."""
    rng = np.random.default_rng(seed)
    labels = list(labels or SYNTHETIC_CLASSES)
    view = sample_view(np.random.default_rng(seed), config.yaw_deg * 0.3)
    fixed = replace(config, yaw_deg=0.0, heading_deg=0.0, distance=(view.distance,) * 2,
                    camera_height=(view.height,) * 2, seated_prob=0.0)
    i = 0
    while True:
        idle = generate(IDLE, sample_seed(seed, 20_000, i), fixed)
        for frame in idle.joints[: int(rng.uniform(0.6, 1.0) * len(idle.joints))]:
            yield None, frame
        label = labels[int(rng.integers(len(labels)))]
        for frame in generate(label, sample_seed(seed, 10_000, i), fixed).joints:
            yield label, frame
        i += 1
