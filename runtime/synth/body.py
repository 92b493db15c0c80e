"""A kinematic human body: anthropometric proportions, a pose description, and forward kinematics.

World frame of a generated person: metres, floor at y = 0, x to the person's left, y up, z the direction the
person faces at the start. Spine, neck and legs are driven by joint angles; the arms by inverse kinematics
to hand targets (what motion programs naturally talk about: "the hand goes to the mouth"). FK gives the
Kinect-like NTU-25 joints and the anatomical MediaPipe-33 landmarks of the same body, both (T, n, 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from runtime.skeleton import HIP_WIDTH_RATIO, NUM_MEDIAPIPE_JOINTS, NUM_NTU_JOINTS
from runtime.skeleton import MP as MPI
from runtime.skeleton import J as NJ


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths in metres (defaults: a 1.72 m adult)."""

    height: float = 1.72
    lumbar: float = 0.25  # spine base -> spine mid
    thoracic: float = 0.22  # spine mid -> spine shoulder
    neck: float = 0.07  # spine shoulder -> neck
    head: float = 0.13  # neck -> skull centre (Kinect head joint)
    shoulder_width: float = 0.34
    hip_width: float = 0.22  # anatomical hip joints
    upper_arm: float = 0.29
    forearm: float = 0.25
    hand: float = 0.18  # wrist -> finger tip
    thigh: float = 0.43
    shank: float = 0.42
    ankle_height: float = 0.07
    foot: float = 0.2

    @classmethod
    def sample(cls, rng: np.random.Generator, height_range=(1.45, 1.95), proportion_sd=0.04) -> BodyShape:
        """A random adult: overall height and independent per-segment proportion noise."""
        h = rng.uniform(*height_range)
        s = h / cls.height
        base = cls()

        def seg(v: float) -> float:
            return v * s * float(np.clip(rng.normal(1.0, proportion_sd), 0.88, 1.12))

        return cls(
            height=h, lumbar=seg(base.lumbar), thoracic=seg(base.thoracic), neck=seg(base.neck),
            head=seg(base.head), shoulder_width=seg(base.shoulder_width), hip_width=seg(base.hip_width),
            upper_arm=seg(base.upper_arm), forearm=seg(base.forearm), hand=seg(base.hand), thigh=seg(base.thigh),
            shank=seg(base.shank), ankle_height=seg(base.ankle_height), foot=seg(base.foot),
        )


SIDES = ("left", "right")
SIGN = {"left": 1.0, "right": -1.0}  # +x is the person's left


@dataclass
class Pose:
    """Joint-angle and hand-target trajectories over T frames (radians, metres). Zeros = standing at rest.

    Sign conventions: flex > 0 bends forward (spine, neck: the head goes down; hip: the thigh comes
    forward; knee: the heel goes back; shoulder targets are positions, not angles). lat > 0 bends toward
    the person's left; twist > 0 turns to the person's left. Hand targets are in the chest frame (origin at
    the spine shoulder joint, axes rotated with the chest); None means the arm hangs.
    """

    frames: int
    root_xz: np.ndarray = None  # (T, 2) horizontal position of the pelvis
    lift: np.ndarray = None  # (T,) height above the ground contact (jumps)
    yaw: np.ndarray = None  # (T,) heading of the whole body
    pitch: np.ndarray = None  # (T,) whole-body lean forward about the pelvis (falling, lying)
    roll: np.ndarray = None  # (T,) whole-body lean to the left
    lumbar: np.ndarray = None  # (T, 3) flex, lat, twist at the spine base
    chest: np.ndarray = None  # (T, 3) at the spine mid
    neck: np.ndarray = None  # (T, 3) at the spine shoulder
    hand_target: dict = field(default_factory=dict)  # side -> (T, 3) wrist target in the chest frame
    elbow_pole: dict = field(default_factory=dict)  # side -> (T, 3) where the elbow points, chest frame
    wrist_flex: dict = field(default_factory=dict)  # side -> (T,) hand bent forward from the forearm line
    hip: dict = field(default_factory=dict)  # side -> (T, 3) flex, abd, rot
    knee: dict = field(default_factory=dict)  # side -> (T,)
    ankle: dict = field(default_factory=dict)  # side -> (T,) toe up > 0

    def __post_init__(self) -> None:
        t = self.frames
        for name, shape in (("root_xz", (t, 2)), ("lift", (t,)), ("yaw", (t,)), ("pitch", (t,)), ("roll", (t,)),
                            ("lumbar", (t, 3)), ("chest", (t, 3)), ("neck", (t, 3))):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(shape))
        for side in SIDES:
            self.wrist_flex.setdefault(side, np.zeros(t))
            self.hip.setdefault(side, np.zeros((t, 3)))
            self.knee.setdefault(side, np.zeros(t))
            self.ankle.setdefault(side, np.zeros(t))


# ------------------------------------------------------------------------------------- rotations


def rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def spine_rotation(flex_lat_twist: np.ndarray) -> np.ndarray:
    """Forward bend tips an upward segment toward +z (R_x(+flex)); lateral bend toward +x is R_z(-lat)."""
    f, lat, tw = flex_lat_twist[:, 0], flex_lat_twist[:, 1], flex_lat_twist[:, 2]
    return rot_y(tw) @ rot_x(f) @ rot_z(-lat)


def apply(r: np.ndarray, v) -> np.ndarray:
    """Rotate vector(s) v (3,) or (T, 3) by rotations (T, 3, 3)."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        return r @ v
    return np.einsum("tij,tj->ti", r, v)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def two_bone_ik(root: np.ndarray, target: np.ndarray, a: float, b: float, pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joint of a two-bone chain reaching for ``target``, bending toward ``pole``."""
    d_vec = target - root
    d = np.clip(np.linalg.norm(d_vec, axis=-1, keepdims=True), abs(a - b) + 1e-3, a + b - 1e-4)
    u = _unit(d_vec)
    p = pole - (pole * u).sum(-1, keepdims=True) * u
    fallback = np.cross(u, np.array([1.0, 0.0, 0.0]))
    p = np.where(np.linalg.norm(p, axis=-1, keepdims=True) < 1e-6, fallback, p)
    v = _unit(p)
    cos_a = (a * a + d * d - b * b) / (2 * a * d)
    sin_a = np.sqrt(np.clip(1 - cos_a**2, 0, 1))
    mid = root + a * (cos_a * u + sin_a * v)
    end = root + d * u
    return mid, end


# ------------------------------------------------------------------------------------------- FK


@dataclass
class BodyFrames:
    """FK result: both joint sets (T, 25, 3) and (T, 33, 3) in the person's world frame."""

    ntu: np.ndarray
    mediapipe: np.ndarray


def rest_hand_target(shape: BodyShape, side: str) -> np.ndarray:
    """Wrist position of a hanging arm, in the chest frame."""
    reach = shape.upper_arm + shape.forearm
    return np.array([SIGN[side] * (shape.shoulder_width / 2 + 0.03), -0.04 - 0.985 * reach, 0.03])


def shoulder_offset(shape: BodyShape, side: str) -> np.ndarray:
    return np.array([SIGN[side] * shape.shoulder_width / 2, -0.04, -0.01])


def forward_kinematics(shape: BodyShape, pose: Pose) -> BodyFrames:
    t = pose.frames
    ntu = np.zeros((t, NUM_NTU_JOINTS, 3))
    mp = np.zeros((t, NUM_MEDIAPIPE_JOINTS, 3))

    r_root = rot_y(pose.yaw) @ rot_x(pose.pitch) @ rot_z(-pose.roll)
    base = np.zeros((t, 3))
    r_lumbar = r_root @ spine_rotation(pose.lumbar)
    spine_mid = base + apply(r_lumbar, [0.0, shape.lumbar, 0.0])
    r_chest = r_lumbar @ spine_rotation(pose.chest)
    spine_shoulder = spine_mid + apply(r_chest, [0.0, shape.thoracic, 0.0])
    r_neck = r_chest @ spine_rotation(pose.neck)
    neck = spine_shoulder + apply(r_neck, [0.0, shape.neck, 0.0])
    head = neck + apply(r_neck, [0.0, shape.head, 0.0])

    ntu[:, NJ["spine_base"]] = base
    ntu[:, NJ["spine_mid"]] = spine_mid
    ntu[:, NJ["spine_shoulder"]] = spine_shoulder
    ntu[:, NJ["neck"]] = neck
    ntu[:, NJ["head"]] = head

    # Face landmarks hang off the head; the ears sit a little below the skull centre so that the
    # documented mapping (ears lifted by HEAD_LIFT) lands near the Kinect-like head joint.
    ear_y = -0.035
    for side in SIDES:
        s = SIGN[side]
        mp[:, MPI[f"{side}_ear"]] = head + apply(r_neck, [s * 0.075, ear_y, -0.01])
        mp[:, MPI[f"{side}_eye_inner"]] = head + apply(r_neck, [s * 0.015, 0.0, 0.09])
        mp[:, MPI[f"{side}_eye"]] = head + apply(r_neck, [s * 0.032, 0.0, 0.085])
        mp[:, MPI[f"{side}_eye_outer"]] = head + apply(r_neck, [s * 0.048, 0.0, 0.075])
        mp[:, MPI[f"mouth_{side}"]] = head + apply(r_neck, [s * 0.025, -0.075, 0.085])
    mp[:, MPI["nose"]] = head + apply(r_neck, [0.0, -0.03, 0.11])

    for side in SIDES:
        s = SIGN[side]
        shoulder = spine_shoulder + apply(r_chest, shoulder_offset(shape, side))
        target_local = pose.hand_target.get(side)
        if target_local is None:
            target_local = np.repeat(rest_hand_target(shape, side)[None], t, axis=0)
        pole_local = pose.elbow_pole.get(side)
        if pole_local is None:
            pole_local = np.repeat(np.array([[s * 0.3, -0.2, -1.0]]), t, axis=0)
        target = spine_shoulder + apply(r_chest, target_local)
        pole = apply(r_chest, pole_local)
        elbow, wrist = two_bone_ik(shoulder, target, shape.upper_arm, shape.forearm, pole)
        fore = _unit(wrist - elbow)
        bend_axis = _unit(np.cross(_unit(elbow - shoulder), fore) + 1e-9)
        # hand direction: the forearm line bent by the wrist angle about the elbow's bend axis
        wf = pose.wrist_flex[side][:, None]
        hand_dir = _unit(fore * np.cos(wf) + np.cross(bend_axis, fore) * np.sin(wf))
        side_dir = _unit(np.cross(hand_dir, bend_axis)) * s  # toward the thumb
        hand = wrist + hand_dir * shape.hand * 0.42
        tip = wrist + hand_dir * shape.hand
        thumb = wrist + hand_dir * shape.hand * 0.38 + side_dir * 0.045
        ntu[:, NJ[f"{side}_shoulder"]] = shoulder
        ntu[:, NJ[f"{side}_elbow"]] = elbow
        ntu[:, NJ[f"{side}_wrist"]] = wrist
        ntu[:, NJ[f"{side}_hand"]] = hand
        ntu[:, NJ[f"{side}_hand_tip"]] = tip
        ntu[:, NJ[f"{side}_thumb"]] = thumb
        mp[:, MPI[f"{side}_shoulder"]] = shoulder
        mp[:, MPI[f"{side}_elbow"]] = elbow
        mp[:, MPI[f"{side}_wrist"]] = wrist
        mp[:, MPI[f"{side}_index"]] = tip
        mp[:, MPI[f"{side}_pinky"]] = 3 * hand - wrist - tip  # palm centre = mean(wrist, index, pinky)
        mp[:, MPI[f"{side}_thumb"]] = thumb

        hip_f, hip_a, hip_r = (pose.hip[side][:, k] for k in range(3))
        # the hip joints are level with the spine base, as Kinect places them (and as the mapping assumes)
        anatomical_hip = base + apply(r_root, [s * shape.hip_width / 2, 0.0, 0.0])
        r_hip = r_root @ rot_z(s * hip_a) @ rot_x(-hip_f) @ rot_y(s * hip_r)
        knee = anatomical_hip + apply(r_hip, [0.0, -shape.thigh, 0.0])
        r_knee = r_hip @ rot_x(pose.knee[side])
        ankle = knee + apply(r_knee, [0.0, -shape.shank, 0.0])
        r_ankle = r_knee @ rot_x(-pose.ankle[side])
        toe = ankle + apply(r_ankle, [0.0, -shape.ankle_height, shape.foot * 0.75])
        heel = ankle + apply(r_ankle, [0.0, -shape.ankle_height, -shape.foot * 0.25])
        ntu[:, NJ[f"{side}_hip"]] = base + HIP_WIDTH_RATIO * (anatomical_hip - base)
        ntu[:, NJ[f"{side}_knee"]] = knee
        ntu[:, NJ[f"{side}_ankle"]] = ankle
        ntu[:, NJ[f"{side}_foot"]] = toe
        mp[:, MPI[f"{side}_hip"]] = anatomical_hip
        mp[:, MPI[f"{side}_knee"]] = knee
        mp[:, MPI[f"{side}_ankle"]] = ankle
        mp[:, MPI[f"{side}_heel"]] = heel
        mp[:, MPI[f"{side}_foot_index"]] = toe

    # Ground contact: the lowest point of the body touches the floor, plus any jump lift.
    lowest = np.minimum(ntu[..., 1].min(axis=1), mp[..., 1].min(axis=1))
    offset = np.stack([pose.root_xz[:, 0], pose.lift - lowest, pose.root_xz[:, 1]], axis=-1)
    return BodyFrames(ntu=ntu + offset[:, None], mediapipe=mp + offset[:, None])
