"""Real motion capture: the DeepMimic humanoid clips that ship in PyPI's ``pybullet`` (``pip install .[bench]``),
as NTU-25 skeleton sequences in the common dataset interface, seen from several camera angles.

Each clip (``pybullet_data/data/motions/humanoid3d_*.txt``) holds frames of
``[duration, root xyz, root quat, chest quat, neck quat, right hip quat, right knee angle, right ankle quat,
right shoulder quat, right elbow angle, left hip quat, left knee angle, left ankle quat, left shoulder quat,
left elbow angle]`` (quaternions w, x, y, z) for the humanoid of ``pybullet_data/humanoid/humanoid.urdf``.
Forward kinematics uses that URDF's joint offsets at the 0.25 scale the clips are recorded at (metres; y up,
x the direction the actor first faces, z to their right).

Humanoid links -> NTU-25 (documented, like the MediaPipe mapping):
  spine base = root (pelvis);  spine mid = chest joint;  spine shoulder = neck joint (base of the neck);
  head = centre of the head sphere;  neck = a third of the way from spine shoulder to head;
  shoulders, elbows, knees, ankles = the joints of the same name;
  hips = the hip joints pulled toward the pelvis to Kinect's hip width (HIP_PULL);
  wrist = the humanoid's wrist (the centre of its ball hand) moved back 4 cm along the forearm;
  hand = the humanoid's wrist; hand tip = 6 cm further along the forearm; thumb = 3 cm ahead of the hand;
  foot = the toe end of the foot box.
Cyclic clips ("Loop": "wrap": one stride of a walk, one flip) are repeated to MIN_SECONDS with their travel
carried on; clips are resampled to 30 frames per second and placed before a virtual camera at several yaws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.skeleton import J
from runtime.synth.camera import CameraView, to_camera
from train.data.base import DataError, SkeletonDataset

SCALE = 0.25
MIN_SECONDS = 3.0  # cyclic clips are repeated to at least this long (longer than a recognition window)
HIP_PULL = 0.7  # Kinect's hip joints sit closer together than the anatomical ones (0.12 m vs 0.17 m here)
CLIPS = {  # file stem -> label in plain words
    "walk": "walking", "run": "running", "jump": "jumping", "kick": "kicking", "punch": "punching",
    "spinkick": "spin kick", "backflip": "backflip", "cartwheel": "cartwheel", "crawl": "crawling",
    "roll": "rolling on the floor", "spin": "spinning around", "dance_a": "dancing", "dance_b": "dancing",
    "getup_facedown": "getting up from lying face down", "getup_faceup": "getting up from lying on the back",
}  # fmt: skip
# One plain sentence per label, for a vocabulary file (what a user would write after '|').
DESCRIPTIONS = {
    "walking": "The person walks forward with alternating steps while the arms swing at the sides.",
    "running": "The person runs forward fast, knees lifting high and bent arms pumping.",
    "jumping": "The person bends the knees and jumps up and forward with both feet, landing on both.",
    "kicking": "The person swings one leg forward and up from the hip to kick, then puts it down.",
    "punching": "The person punches forward with the fists, one arm after the other extending from the shoulder.",
    "spin kick": "The person turns around on one foot and swings the other leg out in a circular kick.",
    "backflip": "The person jumps up, rotates backward head over heels through the air and lands on the feet.",
    "cartwheel": "The person turns sideways over the hands, legs swinging overhead in an arc, and lands on the feet.",
    "crawling": "The person moves forward on hands and knees, close to the floor.",
    "rolling on the floor": "The person lies on the floor and rolls the whole body sideways over the ground.",
    "spinning around": "The person turns the whole body around in place, arms out.",
    "dancing": "The person dances, stepping and swaying with the arms moving rhythmically.",
    "getting up from lying face down": "The person lies face down, pushes up with the arms and stands up.",
    "getting up from lying on the back": "The person lies on the back, sits up and rises to standing.",
}  # fmt: skip
LABELS = tuple(dict.fromkeys(CLIPS.values()))


def motions_dir() -> Path:
    try:
        import pybullet_data
    except ImportError as e:
        raise ImportError("the motion-capture clips come with pybullet: pip install -e .[bench]") from e
    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions w, x, y, z -> (..., 3, 3) rotation matrices."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)  # fmt: skip


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s, o, zr = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, zr], -1), np.stack([s, c, zr], -1), np.stack([zr, zr, o], -1)], -2)


def _apply(r: np.ndarray, v) -> np.ndarray:
    return np.einsum("tij,j->ti", r, np.asarray(v, dtype=np.float64) * SCALE)


@dataclass
class Clip:
    name: str
    label: str
    joints: np.ndarray  # (T, 25, 3) in the actor's world frame (x left, y up, z forward), 30 fps


def read_clip(path: str | Path, fps: float = 30.0) -> Clip:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (json.JSONDecodeError, KeyError, ValueError) as e:
        raise DataError(f"{path}: not a DeepMimic motion file ({e})") from e
    if frames.ndim != 2 or frames.shape[1] != 44:
        raise DataError(f"{path}: frames must have 44 values (humanoid3d layout), got shape {frames.shape}")
    f = frames
    root_p, r_root = f[:, 1:4], quat_to_matrix(f[:, 4:8])
    r_chest = r_root @ quat_to_matrix(f[:, 8:12])
    r_neck = r_chest @ quat_to_matrix(f[:, 12:16])
    p_chest = root_p + _apply(r_root, [0, 0.944604, 0])
    p_neck = p_chest + _apply(r_chest, [0, 0.895576, 0])
    head = p_neck + _apply(r_neck, [0, 0.7, 0])
    out = np.zeros((len(f), 25, 3))
    out[:, J["spine_base"]] = root_p
    out[:, J["spine_mid"]] = p_chest
    out[:, J["spine_shoulder"]] = p_neck
    out[:, J["head"]] = head
    out[:, J["neck"]] = p_neck + (head - p_neck) / 3
    cols = {"right": (16, 20, 21, 25, 29), "left": (30, 34, 35, 39, 43)}  # hip, knee, ankle, shoulder, elbow
    for side, (hip, knee, ankle, shoulder, elbow) in cols.items():
        s = 1.0 if side == "right" else -1.0  # the humanoid's right is +z
        r_hip = r_root @ quat_to_matrix(f[:, hip : hip + 4])
        p_hip = root_p + _apply(r_root, [0, 0, s * 0.339548])
        r_knee = r_hip @ rot_z(f[:, knee])
        p_knee = p_hip + _apply(r_hip, [0, -1.686184, 0])
        r_ankle = r_knee @ quat_to_matrix(f[:, ankle : ankle + 4])
        p_ankle = p_knee + _apply(r_knee, [0, -1.63948, 0])
        r_sh = r_chest @ quat_to_matrix(f[:, shoulder : shoulder + 4])
        p_sh = p_chest + _apply(r_chest, [-0.0962, 0.974, s * 0.73244])
        r_el = r_sh @ rot_z(f[:, elbow])
        p_el = p_sh + _apply(r_sh, [0, -1.099152, 0])
        p_wr = p_el + _apply(r_el, [0, -1.035788, 0])
        fore = (p_wr - p_el) / np.linalg.norm(p_wr - p_el, axis=-1, keepdims=True)
        ahead = _apply(r_el, [1.0, 0, 0]) / SCALE
        out[:, J[f"{side}_hip"]] = root_p + HIP_PULL * (p_hip - root_p)
        out[:, J[f"{side}_knee"]] = p_knee
        out[:, J[f"{side}_ankle"]] = p_ankle
        out[:, J[f"{side}_foot"]] = p_ankle + _apply(r_ankle, [0.534, -0.16, 0])
        out[:, J[f"{side}_shoulder"]] = p_sh
        out[:, J[f"{side}_elbow"]] = p_el
        out[:, J[f"{side}_wrist"]] = p_wr - 0.04 * fore
        out[:, J[f"{side}_hand"]] = p_wr
        out[:, J[f"{side}_hand_tip"]] = p_wr + 0.06 * fore
        out[:, J[f"{side}_thumb"]] = p_wr + 0.03 * ahead
    # actor frame (x forward, y up, z right) -> our world frame (x left, y up, z forward)
    world = np.stack([-out[..., 2], out[..., 1], out[..., 0]], -1)
    t = np.concatenate([[0.0], np.cumsum(f[:-1, 0])])
    if data.get("Loop") == "wrap" and t[-1] > 0:
        # a cyclic clip (one stride, one flip) plays for at least MIN_SECONDS, carrying its horizontal travel
        reps = int(np.ceil(MIN_SECONDS / t[-1]))
        delta = (world[-1, J["spine_base"]] - world[0, J["spine_base"]]) * np.array([1.0, 0.0, 1.0])
        world = np.concatenate([world[:-1] + k * delta for k in range(reps)] + [world[-1:] + (reps - 1) * delta])
        t = np.concatenate([t[:-1] + k * t[-1] for k in range(reps)] + [t[-1:] + (reps - 1) * t[-1]])
    # resample to the target frame rate along the clip's own time line
    grid = np.arange(0.0, t[-1] + 1e-9, 1.0 / fps)
    res = np.stack([np.stack([np.interp(grid, t, world[:, j, k]) for k in range(3)], -1) for j in range(25)], 1)
    name = path.stem.removeprefix("humanoid3d_")
    return Clip(name=name, label=CLIPS.get(name, name), joints=res)


def view(clip: Clip, yaw_deg: float, distance: float = 3.5, height: float = 1.0) -> np.ndarray:
    """The clip in a Kinect-like camera frame, the camera orbiting the actor's start position by yaw. The actor
    starts centred; a clip that travels (walk, run, cartwheel) stays within the sensor's range."""
    x = clip.joints.copy()
    x[..., [0, 2]] -= x[0, J["spine_base"], [0, 2]]
    travel = x[:, J["spine_base"], [0, 2]]
    x[..., [0, 2]] -= 0.5 * (travel.max(0) + travel.min(0))
    cam = to_camera(x, CameraView(distance=distance, height=height, yaw=np.radians(yaw_deg)))
    near = cam[..., 2].min()
    if near < 1.2:
        cam[..., 2] += 1.2 - near
    return cam


def load_mocap(yaws=(-60, -30, 0, 30, 60), directory: str | Path | None = None) -> SkeletonDataset:
    """Every clip from every yaw as one sample; labels index ``LABELS``."""
    directory = Path(directory) if directory else motions_dir()
    files = sorted(directory.glob("humanoid3d_*.txt"))
    if not files:
        raise DataError(f"{directory}: no humanoid3d_*.txt motion clips")
    seqs, labels, meta = [], [], {"clip": [], "yaw": []}
    for f in files:
        clip = read_clip(f)
        for yaw in yaws:
            seqs.append(view(clip, yaw)[:, None].astype(np.float32))
            labels.append(LABELS.index(clip.label))
            meta["clip"].append(clip.name)
            meta["yaw"].append(yaw)
    return SkeletonDataset.from_sequences(seqs, labels, list(LABELS), "mocap", meta)


def write_recordings(out: str | Path, yaws=(0,)) -> list[Path]:
    """Each clip (and yaw) as a skeleton recording that ``python -m runtime.camera --source`` replays."""
    from runtime.frames import Person
    from runtime.recording import RecordingWriter

    out = Path(out)
    paths = []
    for f in sorted(motions_dir().glob("humanoid3d_*.txt")):
        clip = read_clip(f)
        for yaw in yaws:
            p = out / f"{clip.name}_yaw{yaw:+d}.jsonl"
            with RecordingWriter(p, source=f"mocap-{clip.name}") as w:
                for i, joints in enumerate(view(clip, yaw)):
                    w.write(i / 30.0, [Person(0, joints)])
            paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m train.data.mocap", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-recordings", metavar="DIR", help="write each clip as a .jsonl recording")
    ap.add_argument("--vocab", metavar="FILE", help="write a vocabulary file of the clips' labels with descriptions")
    args = ap.parse_args(argv)
    if args.write_recordings:
        for p in write_recordings(args.write_recordings):
            print(p)
    if args.vocab:
        Path(args.vocab).write_text("".join(f"{lab} | {DESCRIPTIONS[lab]}\n" for lab in LABELS))
        print(f"wrote {args.vocab}")
    if not (args.write_recordings or args.vocab):
        ds = load_mocap()
        print(f"{len(ds)} sequences of {len(LABELS)} labels, {ds.lengths.min()}..{ds.lengths.max()} frames")


if __name__ == "__main__":
    main()
