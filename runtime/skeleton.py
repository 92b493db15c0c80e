"""The one skeleton module that training, calibration, export and the device share (numpy only).

Everything that decides what the model sees lives here, written once:

- joint layouts: NTU RGB+D 25 (Kinect v2) with bones and body-part groups, and MediaPipe Pose 33;
- the MediaPipe-33 -> NTU-25 mapping (with the joints MediaPipe lacks derived, see ``mediapipe_to_ntu``);
- normalisation (translate to the spine, scale by torso length, optional yaw alignment);
- fixed-length temporal resampling, dropping of empty frames, padding of a missing second person;
- ``preprocess``: the exact window -> model-input recipe, named by ``NORMALIZATION_ID``.

Internal array layout is (T, M, V, 3): frames, persons, joints, xyz. The model layout is (3, T, V, M).
Coordinates follow the Kinect camera frame: metres, x to the camera's left (a person facing the camera has
their left side at smaller x), y up, z away from the camera. An all-zero joint means "missing", as in NTU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# --------------------------------------------------------------------------------------------- layouts

NTU_JOINTS: tuple[str, ...] = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)  # fmt: skip
NUM_NTU_JOINTS = 25
J = {name: i for i, name in enumerate(NTU_JOINTS)}
_ACROSS = [J["left_shoulder"], J["right_shoulder"], J["left_hip"], J["right_hip"]]  # the yaw estimate's joints

# Parent of each NTU joint (Kinect v2 kinematic tree, 0-based); the spine base is the root.
NTU_PARENTS: tuple[int, ...] = (
    -1, 0, 20, 2,
    20, 4, 5, 6,
    20, 8, 9, 10,
    0, 12, 13, 14,
    0, 16, 17, 18,
    1, 7, 7, 11, 11,
)  # fmt: skip
NTU_BONES: tuple[tuple[int, int], ...] = tuple((c, p) for c, p in enumerate(NTU_PARENTS) if p >= 0)

# Body-part groups: a partition of the 25 joints (every joint in exactly one group).
NTU_BODY_PARTS: dict[str, tuple[int, ...]] = {
    "head": (2, 3),
    "torso": (0, 1, 20),
    "left_arm": (4, 5, 6),
    "right_arm": (8, 9, 10),
    "left_hand": (7, 21, 22),
    "right_hand": (11, 23, 24),
    "left_leg": (12, 13, 14, 15),
    "right_leg": (16, 17, 18, 19),
}

# Joints behind each body part that class descriptions talk about (groups may overlap). Part-aware methods
# pool the skeleton features over these joints and match them with the description of the same part.
DESCRIPTION_PARTS: dict[str, tuple[int, ...]] = {
    "head": (2, 3, 20),
    "hands": (6, 7, 21, 22, 10, 11, 23, 24),
    "arms": (4, 5, 6, 8, 9, 10),
    "torso": (0, 1, 20, 4, 8, 12, 16),
    "legs": (12, 13, 14, 16, 17, 18),
    "feet": (14, 15, 18, 19),
}

# Left/right joint pairs, for mirroring (a left-handed wave is a right-handed wave in a mirror).
NTU_MIRROR: tuple[int, ...] = tuple(
    J[n.replace("left_", "right_")] if n.startswith("left_") else J[n.replace("right_", "left_")]
    if n.startswith("right_") else i
    for i, n in enumerate(NTU_JOINTS)
)

MEDIAPIPE_JOINTS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
NUM_MEDIAPIPE_JOINTS = 33
MP = {name: i for i, name in enumerate(MEDIAPIPE_JOINTS)}
MEDIAPIPE_BONES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (15, 17), (15, 19), (15, 21), (16, 18), (16, 20),
    (16, 22), (11, 23), (12, 24), (23, 24), (23, 25), (25, 27), (27, 29), (27, 31), (24, 26), (26, 28),
    (28, 30), (28, 32), (0, 7), (0, 8),
)  # fmt: skip

# ------------------------------------------------------------------------------- MediaPipe -> NTU
# Kinect places some joints differently from the anatomical landmarks MediaPipe gives. These constants
# were measured on a real NTU recording (S001C001P001R001A001, 103 frames) so that mapped MediaPipe
# skeletons have Kinect proportions: the device then feeds the model the geometry it was trained on.
SPINE_MID_FRACTION = 0.57  # spine mid sits 57 % of the way from spine base to spine shoulder
NECK_FRACTION = 0.33  # neck sits a third of the way from spine shoulder to head
SPINE_SHOULDER_LIFT = 0.25  # spine shoulder sits above the shoulder line: a quarter of the way to the ears
HEAD_LIFT = 0.25  # Kinect's head joint is the skull centre, above ear level by a quarter of ears - shoulders
HIP_WIDTH_RATIO = 0.55  # Kinect hip joints are 0.12 m apart where the anatomical hips are 0.22 m


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * (a + b)


def mediapipe_to_ntu(points: np.ndarray, visibility: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map MediaPipe-33 points (..., 33, 3) to NTU-25 joints (..., 25, 3) and per-joint confidence (..., 25).

    Direct: shoulders, elbows, wrists, knees, ankles; hand tips = index landmark; thumbs = thumb landmark;
    feet = foot index. Derived (MediaPipe lacks them):
      spine base = hip midpoint; hips = pulled toward it by HIP_WIDTH_RATIO (Kinect's narrow hips);
      head = ear midpoint lifted by HEAD_LIFT (the skull centre, like Kinect's head joint; not the nose);
      spine shoulder = shoulder midpoint lifted toward the ears by SPINE_SHOULDER_LIFT;
      spine mid = SPINE_MID_FRACTION along spine base -> spine shoulder;
      neck = NECK_FRACTION along spine shoulder -> head;
      hand = centroid of wrist, index and pinky (the palm centre).
    A derived joint's confidence is the minimum confidence of the landmarks it is made from. The points must
    already be in the target frame (see ``mediapipe_world_to_kinect``); the mapping is affine per joint, so
    it commutes with any rotation, translation and scale.
    """
    p = np.asarray(points, dtype=np.float64)[..., :3]
    if p.shape[-2] != NUM_MEDIAPIPE_JOINTS:
        raise ValueError(f"expected 33 MediaPipe landmarks on axis -2, got shape {p.shape}")
    vis = np.ones(p.shape[:-1]) if visibility is None else np.asarray(visibility, dtype=np.float64)
    out = np.zeros(p.shape[:-2] + (NUM_NTU_JOINTS, 3))
    conf = np.zeros(p.shape[:-2] + (NUM_NTU_JOINTS,))

    def put(j: int, value: np.ndarray, sources: tuple[int, ...]) -> None:
        out[..., j, :] = value
        conf[..., j] = np.min(vis[..., list(sources)], axis=-1)

    lh, rh = p[..., MP["left_hip"], :], p[..., MP["right_hip"], :]
    ls, rs = p[..., MP["left_shoulder"], :], p[..., MP["right_shoulder"], :]
    base = _mid(lh, rh)
    ears = _mid(p[..., MP["left_ear"], :], p[..., MP["right_ear"], :])
    shoulder_line = _mid(ls, rs)
    head = ears + HEAD_LIFT * (ears - shoulder_line)
    spine_shoulder = shoulder_line + SPINE_SHOULDER_LIFT * (ears - shoulder_line)
    hips, shoulders, ear_ids = (23, 24), (11, 12), (7, 8)
    put(J["spine_base"], base, hips)
    put(J["spine_shoulder"], spine_shoulder, shoulders + ear_ids)
    put(J["spine_mid"], base + SPINE_MID_FRACTION * (spine_shoulder - base), hips + shoulders + ear_ids)
    put(J["head"], head, shoulders + ear_ids)
    put(J["neck"], spine_shoulder + NECK_FRACTION * (head - spine_shoulder), shoulders + ear_ids)
    for side in ("left", "right"):
        s = f"{side}_"
        for ntu, mp in (("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist"), ("knee", "knee"),
                        ("ankle", "ankle"), ("hand_tip", "index"), ("thumb", "thumb"), ("foot", "foot_index")):
            put(J[s + ntu], p[..., MP[s + mp], :], (MP[s + mp],))
        palm = (s + "wrist", s + "index", s + "pinky")
        put(J[s + "hand"], np.mean([p[..., MP[n], :] for n in palm], axis=0), tuple(MP[n] for n in palm))
        hip = p[..., MP[s + "hip"], :]
        put(J[s + "hip"], base + HIP_WIDTH_RATIO * (hip - base), (MP[s + "hip"],))
    return out, conf


def mediapipe_world_to_kinect(world: np.ndarray) -> np.ndarray:
    """MediaPipe world axes (x image-right, y down, z away; metres) -> Kinect axes (x left, y up, z away).

    Assumes an unmirrored camera image; for a mirrored (selfie) view, mirror the skeleton afterwards.
    """
    w = np.asarray(world, dtype=np.float64)[..., :3]
    return w * np.array([-1.0, -1.0, 1.0])


def estimate_root_translation(
    image: np.ndarray, world: np.ndarray, image_size: tuple[int, int], fov_deg: float = 60.0,
    visibility: np.ndarray | None = None, min_visibility: float = 0.5,
) -> np.ndarray:
    """Camera-frame position (MediaPipe axes, metres) of the hip centre, per frame: (..., 3).

    MediaPipe's world landmarks are hip-centred, so walking, jumping and falling lose their global motion.
    The pinhole model recovers it: a world landmark X + t projects to u = f (X_x + t_x) / (X_z + t_z) + c_x
    (same for v), which is linear in t, so t is a least-squares fit over the visible landmarks; the focal
    length comes from the horizontal field of view. An error in the assumed field of view scales the depth,
    not the shape of the motion, and it is the motion that survives normalisation. Frames with fewer than
    4 visible landmarks get NaN.
    """
    width, height = image_size
    f = 0.5 * width / np.tan(np.radians(fov_deg) / 2)
    img = np.asarray(image, dtype=np.float64)
    wld = np.asarray(world, dtype=np.float64)[..., :3]
    vis = np.ones(img.shape[:-1]) if visibility is None else np.asarray(visibility, dtype=np.float64)
    flat_img = img.reshape(-1, NUM_MEDIAPIPE_JOINTS, img.shape[-1])
    flat_w = wld.reshape(-1, NUM_MEDIAPIPE_JOINTS, 3)
    flat_v = vis.reshape(-1, NUM_MEDIAPIPE_JOINTS)
    out = np.full((flat_img.shape[0], 3), np.nan)
    for t in range(flat_img.shape[0]):
        m = flat_v[t] >= min_visibility
        if m.sum() < 4:
            continue
        u = flat_img[t, m, 0] * width - width / 2
        v = flat_img[t, m, 1] * height - height / 2
        x, y, z = flat_w[t, m, 0], flat_w[t, m, 1], flat_w[t, m, 2]
        n = len(u)
        # rows: f t_x - u t_z = u z - f x  and  f t_y - v t_z = v z - f y
        a_mat = np.zeros((2 * n, 3))
        a_mat[:n, 0], a_mat[:n, 2] = f, -u
        a_mat[n:, 1], a_mat[n:, 2] = f, -v
        rhs = np.concatenate([u * z - f * x, v * z - f * y])
        sol, *_ = np.linalg.lstsq(a_mat, rhs, rcond=None)
        if sol[2] > 0.1:  # in front of the camera
            out[t] = sol
    return out.reshape(img.shape[:-2] + (3,))


def ntu_from_mediapipe(
    world: np.ndarray, visibility: np.ndarray | None = None, image: np.ndarray | None = None,
    image_size: tuple[int, int] | None = None, fov_deg: float = 60.0, mirror: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe world landmarks (..., 33, 3|4) -> NTU-25 joints in Kinect axes, and confidences.

    With the image landmarks and the image size, the hip centre's camera position is added back
    (``estimate_root_translation``) so that global motion survives. Visibility defaults to the 4th channel
    of ``world`` when present.
    """
    world = np.asarray(world, dtype=np.float64)
    if visibility is None and world.shape[-1] >= 4:
        visibility = world[..., 3]
    pts = world[..., :3].copy()
    if image is not None and image_size is not None:
        t = estimate_root_translation(image, pts, image_size, fov_deg, visibility)
        pts = pts + np.nan_to_num(t)[..., None, :]
    joints, conf = mediapipe_to_ntu(mediapipe_world_to_kinect(pts), visibility)
    if mirror:
        joints = mirror_skeleton(joints)
        conf = conf[..., list(NTU_MIRROR)]
    return joints, conf


def mirror_skeleton(joints: np.ndarray) -> np.ndarray:
    """Mirror NTU joints (..., 25, 3) across the camera's y-z plane and swap left and right."""
    out = np.asarray(joints)[..., list(NTU_MIRROR), :].copy()
    out[..., 0] *= -1
    return out


# ---------------------------------------------------------------------------------- measurements


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Length of every NTU bone (..., 24) for joints (..., 25, 3), in the joints' units."""
    j = np.asarray(joints)
    child = [c for c, _ in NTU_BONES]
    parent = [p for _, p in NTU_BONES]
    return np.linalg.norm(j[..., child, :] - j[..., parent, :], axis=-1)


def joints_present(x: np.ndarray) -> np.ndarray:
    """Which joints hold a point: (T, M, V) for x (T, M, V, 3); a missing joint is exactly zero, as in NTU."""
    return (x[..., 0] != 0) | (x[..., 1] != 0) | (x[..., 2] != 0)


# -------------------------------------------------------------------------------- normalisation

NORMALIZATION_V1 = "ntu25-spine-torso-yaw/1"  # normalise only (bundles trained on synthetic motion alone)
# normalise, retarget every body to one set of bone lengths, and feed only the joints every source has
NORMALIZATION_ID = "ntu25-retarget-common/2"
SUPPORTED_NORMALIZATIONS = (NORMALIZATION_V1, NORMALIZATION_ID)

# Bone lengths of the common body, in torso units (spine base to spine shoulder = 1), per bone of NTU_BONES:
# medians over the two real NTU recordings in shared/realdata-dev (Kinect v2), left and right averaged.
# Kinect v1 places the spine joint 6 cm above the hip, BVH rigs put the shoulder joint inside the chest,
# MediaPipe's derived joints sit where its mapping puts them, children are small: every source has its own
# proportions, and a model trained on a mix would learn the sensor. Keeping each bone's direction and giving it
# the common length makes the bodies agree while the motion (the directions, the root's path) stays.
_COMMON_LENGTH = {
    (1, 0): 0.57, (20, 1): 0.43, (2, 20): 0.14, (3, 2): 0.26,
    (4, 20): 0.29, (5, 4): 0.51, (6, 5): 0.44, (7, 6): 0.12, (21, 7): 0.09, (22, 7): 0.07,
    (12, 0): 0.13, (13, 12): 0.66, (14, 13): 0.67, (15, 14): 0.24,
}  # fmt: skip
COMMON_BONE_LENGTHS: tuple[float, ...] = tuple(
    _COMMON_LENGTH.get((c, p)) or _COMMON_LENGTH[(NTU_MIRROR[c], NTU_MIRROR[p])] for c, p in NTU_BONES
)
# Joints no common source measures: Kinect v1 and BVH rigs without fingers have no hand tips or thumbs, and
# MediaPipe's are finger landmarks, not Kinect's. The model input holds them as missing (zero) for everyone.
UNCOMMON_JOINTS: tuple[int, ...] = (J["left_hand_tip"], J["left_thumb"], J["right_hand_tip"], J["right_thumb"])


def _ancestry() -> np.ndarray:
    """(V, B) matrix: 1 where bone b lies on the path from the root to joint v."""
    bone_of = {c: b for b, (c, _) in enumerate(NTU_BONES)}
    a = np.zeros((NUM_NTU_JOINTS, len(NTU_BONES)))
    for v in range(NUM_NTU_JOINTS):
        j = v
        while NTU_PARENTS[j] >= 0:
            a[v, bone_of[j]] = 1.0
            j = NTU_PARENTS[j]
    return a


_ANCESTRY = _ancestry()
_ANCESTRY_T = np.ascontiguousarray(_ANCESTRY.T)
_CHILD = np.array([c for c, _ in NTU_BONES])
_PARENT = np.array([p for _, p in NTU_BONES])
_LENGTHS = np.array(COMMON_BONE_LENGTHS)


def retarget(x: np.ndarray, joint_present: np.ndarray | None = None) -> np.ndarray:
    """Give every bone its common length, keeping its direction and the spine base's position.

    x (..., 25, 3) in torso units (after ``normalize``). A joint is kept only when every bone from the root
    to it has both ends present; others (and absent persons) are zero. Bones of zero length stay at the parent.
    """
    x = np.asarray(x, dtype=np.float64)
    present = joints_present(x) if joint_present is None else joint_present
    shape = x.shape
    flat = x.reshape(-1, NUM_NTU_JOINTS, 3)
    d = flat[:, _CHILD] - flat[:, _PARENT]
    n = np.sqrt((d * d).sum(axis=-1, keepdims=True))
    bones = d * (_LENGTHS[:, None] / np.maximum(n, 1e-9))  # (N, B, 3)
    # one (V, B) x (B, N*3) product sums every joint's chain of bones (numpy's stacked small matmuls are slow)
    chains = (_ANCESTRY @ bones.transpose(1, 0, 2).reshape(len(_LENGTHS), -1)).reshape(NUM_NTU_JOINTS, -1, 3)
    y = (flat[:, :1] + chains.transpose(1, 0, 2)).reshape(shape)
    p = present.reshape(-1, NUM_NTU_JOINTS)
    broken = (~(p[:, _CHILD] & p[:, _PARENT])).astype(np.float64)
    keep = ((broken @ _ANCESTRY_T) == 0) & p[:, :1]
    keep = keep.reshape(shape[:-1])
    return np.where(keep[..., None], y, 0.0)


@dataclass(frozen=True)
class InputSpec:
    """What the encoder takes: (N, channels, frames, joints, persons), made by ``preprocess``."""

    frames: int = 64
    persons: int = 1
    joints: int = NUM_NTU_JOINTS
    channels: int = 3
    layout: str = "ntu25"
    normalization: str = NORMALIZATION_ID
    rotate: str = "yaw"  # "yaw" (default), or "none"
    window_seconds: float = 2.4  # on the device: how much recent motion one window covers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def yaw_rotation(v: np.ndarray) -> np.ndarray:
    """3x3 rotation about the vertical axis that turns the main person to face the camera, from that person's
    present frames (n, 25, 3).

    The across-body direction (right -> left, averaged over shoulders and hips and over the frames) is rotated
    onto -x, which is where it points for a person facing a Kinect.
    """
    s = v[:, _ACROSS].sum(axis=0)  # (4, 3): left shoulder, right shoulder, left hip, right hip, over frames
    a = (s[0] - s[1] + s[2] - s[3]) / len(v)
    ax, az = float(a[0]), float(a[2])
    if math.hypot(ax, az) < 1e-9:
        return np.eye(3)
    # R maps (cos phi, 0, sin phi) to (cos(theta - phi), 0, sin(phi - theta)); theta = phi - pi gives (-1, 0, 0)
    theta = math.atan2(az, ax) - math.pi
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def normalize(x: np.ndarray, rotate: str = "yaw", joint_present: np.ndarray | None = None) -> np.ndarray:
    """Translate to the spine, scale by torso length, optionally align yaw. (T, M, V, 3) -> same shape.

    The origin is the main person's spine mid averaged over the window and the unit is their mean torso
    length (spine base to spine shoulder), so relative motion inside the window (a jump, a step) is kept.
    One transform is applied to every person, preserving how two people stand relative to each other.
    Missing joints and absent persons stay exactly zero. ``joint_present`` (T, M, V), when the caller already
    has it, saves recomputing which joints are non-zero.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[-2] != NUM_NTU_JOINTS:
        raise ValueError(f"expected (T, M, 25, 3), got {x.shape}")
    if rotate not in ("yaw", "none"):
        raise ValueError(f"unknown rotate mode {rotate!r} (expected 'yaw' or 'none')")
    nonzero = joints_present(x) if joint_present is None else joint_present
    ok0 = nonzero[:, 0].any(axis=-1)
    main = x[ok0, 0]
    n = len(main)
    if n == 0:
        return np.zeros_like(x)
    # sums over n rather than mean/norm: the same figures with a fraction of numpy's per-call overhead, which
    # at window size costs more than the arithmetic
    origin = main[:, J["spine_mid"]].sum(axis=0) / n
    d = main[:, J["spine_shoulder"]] - main[:, J["spine_base"]]
    torso = float(np.sqrt((d * d).sum(axis=-1)).sum()) / n
    # translation, scale and rotation as one affine map: a single matrix product over every joint
    m = (1.0 / max(torso, 1e-6)) * (yaw_rotation(main).T if rotate == "yaw" else np.eye(3))
    y = ((x - origin).reshape(-1, 3) @ m).reshape(x.shape)
    y[~nonzero] = 0.0
    return y


def resample(x: np.ndarray, frames: int) -> np.ndarray:
    """Linearly resample (T, ...) to (frames, ...) over the whole time span."""
    x = np.asarray(x)
    t_in = x.shape[0]
    if t_in == 0:
        raise ValueError("cannot resample an empty sequence")
    if t_in == frames:
        return x.astype(np.float64, copy=True)
    pos = np.linspace(0.0, t_in - 1, frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t_in - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    # a joint missing on one side takes the other side's value instead of being blended with zeros
    a, b = x[lo], x[hi]
    a_missing = np.all(a == 0, axis=-1, keepdims=True)
    b_missing = np.all(b == 0, axis=-1, keepdims=True)
    out = (1 - w) * a + w * b
    out = np.where(a_missing & ~b_missing, b, out)
    out = np.where(b_missing & ~a_missing, a, out)
    return np.where(a_missing & b_missing, 0.0, out)


def resample_by_time(frames: np.ndarray, timestamps: np.ndarray, out_frames: int, duration: float) -> np.ndarray:
    """Resample a stream window (T, ...) with timestamps (T,) onto ``out_frames`` evenly spaced instants
    covering the last ``duration`` seconds (clamped to the first frame when the buffer is shorter)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    x = np.asarray(frames, dtype=np.float64)
    if len(ts) == 0:
        raise ValueError("empty window")
    if len(ts) == 1:
        return np.repeat(x[:1], out_frames, axis=0)
    t_end = ts[-1]
    t_start = max(ts[0], t_end - duration)
    # np.linspace's arithmetic without its argument checks (they cost more than the grid at this size)
    grid = t_start + np.arange(out_frames) * ((t_end - t_start) / max(out_frames - 1, 1))
    if out_frames > 1:
        grid[-1] = t_end
    idx = np.minimum(np.maximum(np.searchsorted(ts, grid, side="right") - 1, 0), len(ts) - 2)
    span = np.maximum(ts[idx + 1] - ts[idx], 1e-9)
    w = np.minimum(np.maximum((grid - ts[idx]) / span, 0.0), 1.0).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[idx] + w * x[idx + 1]


def pad_persons(x: np.ndarray, persons: int) -> np.ndarray:
    """(T, M, V, C) -> (T, persons, V, C): keep the first ``persons``, fill the rest with zeros."""
    x = np.asarray(x)
    t, m = x.shape[:2]
    if m >= persons:
        return x[:, :persons]
    pad = np.zeros((t, persons - m) + x.shape[2:], dtype=x.dtype)
    return np.concatenate([x, pad], axis=1)


def preprocess(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A skeleton sequence (T, M, 25, 3) -> model input (3, frames, 25, persons), float32.

    Drop empty frames, resample to ``spec.frames``, pad or cut persons, normalise; for ``NORMALIZATION_ID``
    also drop the joints not every source has and retarget to the common bone lengths. Training, calibration and
    the device all call this one function, so what a model learns from and what it is fed cannot drift.
    A sequence with no skeleton at all gives zeros.
    """
    if spec.normalization not in SUPPORTED_NORMALIZATIONS:
        raise ValueError(f"this build implements normalisations {', '.join(SUPPORTED_NORMALIZATIONS)}; "
                         f"the model expects {spec.normalization!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:  # (T, V, 3): one person
        x = x[:, None]
    if x.ndim != 4 or x.shape[2] != spec.joints or x.shape[3] != 3:
        raise ValueError(f"expected (T, M, {spec.joints}, 3), got {x.shape}")
    x = pad_persons(x, spec.persons)
    joint_present = joints_present(x)  # computed once, for dropping frames and for normalising
    keep = joint_present.any(axis=(1, 2))
    if not keep.all():  # drop the frames where nobody is present
        x, joint_present = x[keep], joint_present[keep]
    if len(x) == 0:
        return np.zeros((spec.channels, spec.frames, spec.joints, spec.persons), dtype=np.float32)
    if len(x) != spec.frames:
        x, joint_present = resample(x, spec.frames), None
    x = normalize(x, rotate=spec.rotate, joint_present=joint_present)
    if spec.normalization == NORMALIZATION_ID:
        x[..., UNCOMMON_JOINTS, :] = 0.0
        x = retarget(x)
    return np.ascontiguousarray(x.transpose(3, 0, 2, 1), dtype=np.float32)
