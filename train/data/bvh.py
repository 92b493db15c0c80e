"""BVH motion capture files -> world joint positions (vectorised forward kinematics) -> NTU-25 joints.

Format (Biovision hierarchy). ``HIERARCHY`` declares a tree: ``ROOT name { OFFSET x y z  CHANNELS n c1 .. cn
JOINT name { ... } ... End Site { OFFSET x y z } }``. A channel is one of X/Y/Zposition, X/Y/Zrotation, in any
subset and order per joint (Bandai-Namco: 6 on every joint; CMU: 6 on the root, 3 rotations elsewhere).
``MOTION`` then gives ``Frames: n``, ``Frame Time: seconds`` and one line per frame with every joint's channel
values in hierarchy order. Rotations are degrees, intrinsic in the listed order: a joint's local rotation is
R = R_c1 @ R_c2 @ R_c3 (c1 the first rotation channel listed). A joint's position channels replace the matching
components of its OFFSET (the translation from its parent, in the parent's frame); End Sites become joints named
``<parent>_End``. World position of joint j: p_j = p_parent + G_parent @ offset_j, with G_j = G_parent @ R_j.

Units and up axis are explicit: ``units`` is "m", "cm", "mm", "inch" or "auto" (from the body height: 0.5-3
units -> metres, 50-300 -> centimetres, 500-3000 -> millimetres); ``up`` is "y" (BVH's usual Y-up, right-handed)
or "z" (Z-up, rotated by -90 degrees about x: a proper rotation, never a mirror).

Mapping to NTU-25 (``runtime.skeleton``) goes through a small table per skeleton: NTU joint -> a BVH joint name,
a derivation ``("lerp", a, b, t)`` = a + t (b - a) (t > 1 extrapolates past b), alternatives
``("any", e1, e2, ...)`` (the first that resolves; a trailing None makes the joint optional), or None (missing,
all zero). A table is picked automatically by which joint names a file has.

  Bandai-Namco (22 joints, cm, Y-up; joint_Root is the floor projection, bones along each joint's local x):
    spine base = Hips;  spine mid = 0.57 of Hips -> Neck (Kinect v2's proportion, ``SPINE_MID_FRACTION``);
    spine shoulder = Neck (the base of the neck);  neck = Head (the top of the neck, where the skull sits);
    head = Neck -> Head extended to the skull centre (HEAD_EXTEND);  shoulders = Shoulder -> UpperArm (the
    clavicle) extended by SHOULDER_EXTEND (Kinect's shoulders sit wide);  elbows/wrists = LowerArm, Hand;
    hand = the wrist moved on along the forearm to the palm centre (PALM_EXTEND; the file has no finger
    joints);  hand tips, thumbs = missing;  hips/knees/ankles/feet = UpperLeg, LowerLeg, Foot, Toes.
    After ``runtime.skeleton.normalize`` a standing frame has head y +0.79, spine base y -0.57 and shoulder
    width 0.57 torso units (real NTU: +0.79, -0.56, 0.57); the three fractions above were set for that.
  CMU (Hips, LHipJoint, LeftUpLeg, ..., LeftHandIndex1, LThumb):
    spine base = Hips;  spine mid = 0.57 of Hips -> Neck;  spine shoulder = Neck;  neck = Neck1;
    head = halfway from Head to its End Site (else Head);  shoulders/elbows/wrists = LeftArm, LeftForeArm,
    LeftHand;  hand = LeftFingerBase;  hand tip = LeftHandIndex1's End Site (else the joint, else missing);
    thumb = LThumb's End Site (else LThumb, else missing);  hips/knees/ankles/feet = LeftUpLeg, LeftLeg,
    LeftFoot, LeftToeBase;  and Right*/R* for the right side.

The Kinect camera frame (``to_kinect``) is reached by a rotation about the vertical that turns the person's
first second to face the camera, then a translation in front of it: chirality is kept, so the BVH's left arm is
NTU's left arm and, facing the camera, the left shoulder has the smaller x.

Checked against PyPI's ``bvhio`` 1.5.4 on dataset-2_wave-right-hand_elderly_012.bvh (214 frames, 22 joints):
positions agree to 8.5e-5 cm and parse + forward kinematics take 6 ms here against 87 ms there (``pybvh`` 0.9.0
refuses the file: no position channels below the root), so this reader is used and no package is added.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.skeleton import NTU_JOINTS, NUM_NTU_JOINTS, SPINE_MID_FRACTION, J, yaw_rotation
from train.data.base import DataError

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}
_AXES = {"X": 0, "Y": 1, "Z": 2}
# cross-product matrices of the unit axes: Rodrigues' R = I + sin(a) K + (1 - cos(a)) K^2 builds the elementary
# rotation about a per-joint axis for all joints and frames at once
_K = np.array([
    [[0, 0, 0], [0, 0, -1], [0, 1, 0]],
    [[0, 0, 1], [0, 0, 0], [-1, 0, 0]],
    [[0, -1, 0], [1, 0, 0], [0, 0, 0]],
], dtype=np.float64)  # fmt: skip
_K2 = _K @ _K


@dataclass
class BvhFile:
    """A parsed BVH file: the hierarchy (End Sites included as joints without channels) and the raw motion."""

    path: str
    names: list[str]
    parents: np.ndarray  # (J,) int, -1 for a root
    offsets: np.ndarray  # (J, 3) in file units
    channels: list[tuple[str, ...]]  # per joint, in file order
    motion: np.ndarray  # (T, C) float64, C = total channel count
    frame_time: float


@dataclass
class BvhSkeleton:
    """World joint positions of a BVH file in metres, Y up, right-handed (the file's horizontal axes kept)."""

    path: str
    names: list[str]
    parents: np.ndarray
    positions: np.ndarray  # (T, J, 3)
    frame_time: float


# ------------------------------------------------------------------------------------------------ parsing


def _tokens(text: str, first_line: int = 1) -> list[tuple[str, int]]:
    return [(tok, n) for n, line in enumerate(text.splitlines(), first_line) for tok in line.split()]


def _parse_hierarchy(path: str, text: str) -> tuple[list[str], list[int], list[list[float]], list[tuple[str, ...]]]:
    toks = _tokens(text)
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    i = 0

    def err(msg: str, line: int | None = None) -> DataError:
        where = line if line is not None else (toks[i][1] if i < len(toks) else (toks[-1][1] if toks else 1))
        return DataError(f"{path}:{where}: {msg}")

    def take(what: str) -> tuple[str, int]:
        nonlocal i
        if i >= len(toks):
            raise err(f"unexpected end of HIERARCHY, expected {what}")
        i += 1
        return toks[i - 1]

    def number(what: str) -> float:
        tok, line = take(what)
        try:
            v = float(tok)
        except ValueError:
            raise err(f"{what}: {tok!r} is not a number", line) from None
        if not math.isfinite(v):
            raise err(f"{what}: {tok!r} is not finite", line)
        return v

    def joint(name: str, parent: int, opened_at: int, end_site: bool) -> None:
        nonlocal i
        tok, line = take("'{'")
        if tok != "{":
            raise err(f"expected '{{' after {name!r} (line {opened_at}), got {tok!r}", line)
        me = len(names)
        names.append(name)
        parents.append(parent)
        offsets.append([0.0, 0.0, 0.0])
        channels.append(())
        while True:
            if i >= len(toks):
                raise err(f"missing '}}' closing {name!r} opened at line {opened_at}")
            tok, line = take("a joint item")
            if tok == "}":
                return
            if tok == "OFFSET":
                offsets[me] = [number(f"OFFSET of {name!r}") for _ in range(3)]
            elif tok == "CHANNELS" and not end_site:
                count = number(f"CHANNELS count of {name!r}")
                if count != int(count) or count < 0:
                    raise err(f"CHANNELS count of {name!r} must be a whole number, got {count}", line)
                chans = []
                for _ in range(int(count)):
                    c, cl = take(f"a channel name of {name!r}")
                    if len(c) != 9 or c[0] not in _AXES or c[1:] not in ("position", "rotation"):
                        raise err(f"unknown channel {c!r} of {name!r} (expected X/Y/Z + position/rotation)", cl)
                    chans.append(c)
                channels[me] = tuple(chans)
            elif tok == "JOINT" and not end_site:
                child, cl = take("a joint name")
                joint(child, me, cl, False)
            elif tok == "End" and not end_site:
                site, cl = take("'Site'")
                if site != "Site":
                    raise err(f"expected 'End Site', got 'End {site}'", cl)
                joint(f"{name}_End", me, cl, True)
            elif tok in ("ROOT", "JOINT", "MOTION", "{"):
                raise err(f"{tok!r} inside {name!r}: a '}}' is missing before it (joint opened at line {opened_at})", line)
            else:
                raise err(f"unexpected {tok!r} in {name!r}", line)

    tok, line = take("HIERARCHY")
    if tok != "HIERARCHY":
        raise err(f"not a BVH file: expected HIERARCHY, got {tok!r}", line)
    while i < len(toks):
        tok, line = take("ROOT")
        if tok == "}":
            raise err("unbalanced '}' (one too many)", line)
        if tok != "ROOT":
            raise err(f"expected ROOT, got {tok!r}", line)
        name, line = take("a root name")
        joint(name, -1, line, False)
    if not names:
        raise err("no ROOT in HIERARCHY")
    return names, parents, offsets, channels


def _header_value(path: str, lines: list[bytes], k: int, line_no: int, key: bytes) -> tuple[float, int]:
    while k < len(lines) and not lines[k].strip():
        k, line_no = k + 1, line_no + 1
    if k >= len(lines) or not lines[k].strip().startswith(key):
        raise DataError(f"{path}:{line_no}: expected {key.decode()!r}")
    rest = lines[k].strip()[len(key):].strip()
    try:
        return float(rest), k
    except ValueError:
        raise DataError(f"{path}:{line_no}: {key.decode()} {rest.decode(errors='replace')!r} is not a number") from None


def _diagnose_motion(path: str, body: bytes, first_line: int, frames: int, n_ch: int, frames_line: int) -> DataError:
    """The precise error for motion lines that did not parse into frames x channels numbers (the slow path)."""
    rows = 0
    for n, line in enumerate(body.splitlines(), first_line):
        vals = line.split()
        if not vals:
            continue
        rows += 1
        if len(vals) != n_ch:
            what = "missing channel values" if len(vals) < n_ch else "too many values"
            return DataError(f"{path}:{n}: {what}: {len(vals)} values on a motion line, the hierarchy has {n_ch} channels")
        for v in vals:
            try:
                float(v)
            except ValueError:
                return DataError(f"{path}:{n}: {v.decode(errors='replace')!r} is not a number")
    return DataError(f"{path}:{frames_line}: Frames: {frames} but the file has {rows} motion lines")


def parse_bvh(path: str | Path) -> BvhFile:
    """Read a BVH file's hierarchy and motion. Raises ``DataError`` naming the file and line on malformed input."""
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from e
    found = re.search(rb"^[ \t]*MOTION[ \t\r]*$", data, re.M)
    if found is None:
        raise DataError(f"{path}: no MOTION section")
    m = found.start()
    try:
        header = data[:m].decode()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: HIERARCHY is not text ({e})") from e
    names, parents, offsets, channels = _parse_hierarchy(path, header)
    motion_line = header.count("\n") + 1
    # "MOTION", "Frames: n", "Frame Time: s", then one line per frame; only the head is split into lines
    rest = data[m:]
    head = rest.split(b"\n", 12)
    frames_f, k = _header_value(path, head, 1, motion_line + 1, b"Frames:")
    frames_line = motion_line + k
    frame_time, k2 = _header_value(path, head, k + 1, frames_line + 1, b"Frame Time:")
    if frames_f != int(frames_f) or frames_f < 0:
        raise DataError(f"{path}:{frames_line}: Frames must be a whole number, got {frames_f}")
    if not (math.isfinite(frame_time) and frame_time > 0):
        raise DataError(f"{path}:{motion_line + k2}: Frame Time must be positive, got {frame_time}")
    frames = int(frames_f)
    body = rest[sum(len(h) + 1 for h in head[: k2 + 1]) :]
    first = motion_line + k2 + 1
    n_ch = sum(len(c) for c in channels)
    with warnings.catch_warnings():  # fromstring warns (and stops) at a bad token: caught by the count check
        warnings.simplefilter("ignore", DeprecationWarning)
        values = np.fromstring(body, dtype=np.float64, sep=" ") if body.strip() else np.zeros(0)
    n_lines = sum(1 for line in body.splitlines() if line.strip())
    if values.size != frames * n_ch or n_lines != frames:
        raise _diagnose_motion(path, body, first, frames, n_ch, frames_line)
    motion = values.reshape(frames, n_ch)
    bad = ~np.isfinite(motion)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        line = first + [n for n, ln in enumerate(body.splitlines()) if ln.strip()][row]
        raise DataError(f"{path}:{line}: non-finite value {motion[row, col]} (channel {col + 1})")
    return BvhFile(path, names, np.asarray(parents, np.int64), np.asarray(offsets, np.float64), channels, motion,
                   float(frame_time))


# ------------------------------------------------------------------------------------- forward kinematics


def forward_kinematics(bvh: BvhFile) -> np.ndarray:
    """World positions (T, J, 3) in the file's units and axes; all frames and, per tree level, all joints at once."""
    t, nj = bvh.motion.shape[0], len(bvh.names)
    local = np.broadcast_to(bvh.offsets, (t, nj, 3)).copy()
    pos_j, pos_c, pos_col = [], [], []
    slots = max(1, max(sum(c.endswith("rotation") for c in ch) for ch in bvh.channels))
    rot_axis = np.zeros((nj, slots), np.int64)
    rot_col = np.full((nj, slots), -1, np.int64)
    col = 0
    for j, chans in enumerate(bvh.channels):
        s = 0
        for c in chans:
            if c.endswith("position"):  # position channels replace the OFFSET component
                pos_j.append(j), pos_c.append(_AXES[c[0]]), pos_col.append(col)
            else:
                rot_axis[j, s], rot_col[j, s] = _AXES[c[0]], col
                s += 1
            col += 1
    if pos_j:
        local[:, pos_j, pos_c] = bvh.motion[:, pos_col]
    angles = np.radians(bvh.motion[:, np.maximum(rot_col, 0)]) * (rot_col >= 0)  # (T, J, slots), absent = 0
    sin, cos = np.sin(angles)[..., None, None], np.cos(angles)[..., None, None]
    rot = None
    for s in range(slots):  # intrinsic: R = R_c1 @ R_c2 @ R_c3
        r = np.eye(3) + sin[:, :, s] * _K[rot_axis[:, s]] + (1.0 - cos[:, :, s]) * _K2[rot_axis[:, s]]
        rot = r if rot is None else rot @ r
    depth = np.zeros(nj, np.int64)
    for j, p in enumerate(bvh.parents):  # parents precede children in file order
        depth[j] = 0 if p < 0 else depth[p] + 1
    world_p = np.empty((t, nj, 3))
    world_r = np.empty((t, nj, 3, 3))
    for d in range(depth.max() + 1):
        idx = np.flatnonzero(depth == d)
        if d == 0:
            world_p[:, idx], world_r[:, idx] = local[:, idx], rot[:, idx]
            continue
        par = bvh.parents[idx]
        gr = world_r[:, par]
        world_p[:, idx] = world_p[:, par] + np.einsum("tjab,tjb->tja", gr, local[:, idx])
        world_r[:, idx] = gr @ rot[:, idx]
    return world_p


def _scale(path: str, positions: np.ndarray, units: str, up_axis: int) -> float:
    if units != "auto":
        if units not in UNITS:
            raise DataError(f"{path}: unknown units {units!r}; known: {', '.join(UNITS)} or 'auto'")
        return UNITS[units]
    up = positions[..., up_axis]
    height = float((up.max(axis=1) - up.min(axis=1)).max()) if up.size else 0.0
    for lo, hi, unit in ((0.5, 3.0, "m"), (50.0, 300.0, "cm"), (500.0, 3000.0, "mm")):
        if lo <= height <= hi:
            return UNITS[unit]
    raise DataError(f"{path}: cannot tell the units from a body height of {height:g} file units; pass units=")


def read_bvh(path: str | Path, units: str = "auto", up: str = "y") -> BvhSkeleton:
    """Parse and forward-kinematics a BVH file into metres, Y up (a Z-up file is rotated -90 degrees about x)."""
    bvh = parse_bvh(path)
    pos = forward_kinematics(bvh)
    if up not in ("y", "z"):
        raise DataError(f"{path}: up must be 'y' or 'z', got {up!r}")
    pos = pos * _scale(str(path), pos, units, 1 if up == "y" else 2)
    if up == "z":  # (x, y, z) -> (x, z, -y): det +1, so left stays left
        pos = np.stack([pos[..., 0], pos[..., 2], -pos[..., 1]], -1)
    return BvhSkeleton(bvh.path, bvh.names, bvh.parents, pos, bvh.frame_time)


# ------------------------------------------------------------------------------------------- NTU mapping

HEAD_EXTEND = 2.3  # Bandai's Head joint is the top of the neck; Kinect's head is the skull centre beyond it
PALM_EXTEND = 1.35  # Kinect's hand joint is the palm centre, about a third of a forearm past the wrist
SHOULDER_EXTEND = 1.3  # Kinect's shoulder joints sit further out than the arm's pivot: on along the clavicle


def _bandai_table() -> dict:
    t: dict = {
        "spine_base": "Hips", "spine_mid": ("lerp", "Hips", "Neck", SPINE_MID_FRACTION),
        "spine_shoulder": "Neck", "neck": "Head", "head": ("lerp", "Neck", "Head", HEAD_EXTEND),
    }  # fmt: skip
    for side, s in (("left", "L"), ("right", "R")):
        t |= {
            f"{side}_shoulder": ("lerp", f"Shoulder_{s}", f"UpperArm_{s}", SHOULDER_EXTEND),
            f"{side}_elbow": f"LowerArm_{s}", f"{side}_wrist": f"Hand_{s}",
            f"{side}_hand": ("lerp", f"LowerArm_{s}", f"Hand_{s}", PALM_EXTEND),
            f"{side}_hand_tip": None, f"{side}_thumb": None,
            f"{side}_hip": f"UpperLeg_{s}", f"{side}_knee": f"LowerLeg_{s}", f"{side}_ankle": f"Foot_{s}",
            f"{side}_foot": f"Toes_{s}",
        }  # fmt: skip
    return t


def _cmu_table() -> dict:
    t: dict = {
        "spine_base": "Hips", "spine_mid": ("lerp", "Hips", "Neck", SPINE_MID_FRACTION),
        "spine_shoulder": "Neck", "neck": "Neck1", "head": ("any", ("lerp", "Head", "Head_End", 0.5), "Head"),
    }  # fmt: skip
    for side, s, c in (("left", "Left", "L"), ("right", "Right", "R")):
        t |= {
            f"{side}_shoulder": f"{s}Arm", f"{side}_elbow": f"{s}ForeArm", f"{side}_wrist": f"{s}Hand",
            f"{side}_hand": f"{s}FingerBase",
            f"{side}_hand_tip": ("any", f"{s}HandIndex1_End", f"{s}HandIndex1", None),
            f"{side}_thumb": ("any", f"{c}Thumb_End", f"{c}Thumb", None),
            f"{side}_hip": f"{s}UpLeg", f"{side}_knee": f"{s}Leg", f"{side}_ankle": f"{s}Foot",
            f"{side}_foot": f"{s}ToeBase",
        }  # fmt: skip
    return t


TABLES: dict[str, dict] = {"bandai_namco": _bandai_table(), "cmu": _cmu_table()}


def _resolvable(entry, names: set[str]) -> bool:
    if entry is None:
        return True  # declared missing
    if isinstance(entry, str):
        return entry in names
    if entry[0] == "lerp":
        return _resolvable(entry[1], names) and _resolvable(entry[2], names)
    return any(_resolvable(e, names) for e in entry[1:])  # "any"


def _resolve(entry, pos: np.ndarray, index: dict[str, int]) -> np.ndarray | None:
    if entry is None:
        return None
    if isinstance(entry, str):
        return pos[:, index[entry]]
    if entry[0] == "lerp":
        a, b = _resolve(entry[1], pos, index), _resolve(entry[2], pos, index)
        return a + entry[3] * (b - a)
    for alt in entry[1:]:
        if alt is None or _resolvable(alt, set(index)):
            return _resolve(alt, pos, index)
    return None


def pick_table(names: list[str], path: str = "") -> str:
    """The name of the first table whose joints the skeleton has; else a DataError naming the NTU joints the
    closest table could not find."""
    have = set(names)
    best, best_missing = "", list(NTU_JOINTS)
    for name, table in TABLES.items():
        missing = [j for j in NTU_JOINTS if not _resolvable(table[j], have)]
        if not missing:
            return name
        if len(missing) < len(best_missing):
            best, best_missing = name, missing
    raise DataError(
        f"{path or 'BVH skeleton'}: its joints match no NTU-25 mapping table ({', '.join(TABLES)}); "
        f"closest {best or 'none'!s} cannot find NTU joints {', '.join(best_missing)}"
    )


def to_ntu(skel: BvhSkeleton, table: str | None = None) -> np.ndarray:
    """NTU-25 joints (T, 25, 3) in the skeleton's frame (metres, Y up); joints the table lacks are zero."""
    name = table or pick_table(skel.names, skel.path)
    if name not in TABLES:
        raise DataError(f"{skel.path}: unknown mapping table {name!r}; known: {', '.join(TABLES)}")
    tab = TABLES[name]
    missing = [j for j in NTU_JOINTS if not _resolvable(tab[j], set(skel.names))]
    if missing:
        raise DataError(f"{skel.path}: table {name!r} cannot find NTU joints {', '.join(missing)}")
    index = {n: i for i, n in enumerate(skel.names)}
    out = np.zeros((skel.positions.shape[0], NUM_NTU_JOINTS, 3))
    for j, ntu in enumerate(NTU_JOINTS):
        v = _resolve(tab[ntu], skel.positions, index)
        if v is not None:
            out[:, j] = v
    return out


# ---------------------------------------------------------------------------------- time and camera


def resample_fps(x: np.ndarray, frame_time: float, fps: float) -> np.ndarray:
    """(T, ...) sampled every ``frame_time`` s -> the same span at ``fps`` (linear; unchanged when they agree)."""
    if abs(frame_time * fps - 1.0) < 1e-4 or len(x) < 2:
        return x
    src = np.arange(len(x)) * frame_time
    dst = np.arange(0.0, src[-1] + 1e-9, 1.0 / fps)
    i = np.minimum(np.searchsorted(src, dst, side="right") - 1, len(x) - 2)
    w = ((dst - src[i]) / frame_time).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[i] + w * x[i + 1]


def to_kinect(joints: np.ndarray, distance: float = 3.5, camera_height: float = 1.0, face_seconds: float = 1.0,
              fps: float = 30.0) -> np.ndarray:
    """NTU joints (T, 25, 3) in a Y-up right-handed world (metres) -> the Kinect camera frame.

    A rotation about the vertical turns the person's first ``face_seconds`` to face the camera (their left side
    to -x, as ``runtime.skeleton.yaw_rotation`` defines it), so chirality is kept; the travel is centred at
    ``distance`` in front of a camera ``camera_height`` above the floor (the lowest foot). Zeros stay zeros.
    """
    x = np.asarray(joints, dtype=np.float64)
    present = np.any(x != 0, axis=-1)
    head = x[: max(1, int(face_seconds * fps))]
    r = yaw_rotation(head)
    y = x @ r.T
    root = y[:, J["spine_base"]]
    centre = 0.5 * (root.max(0) + root.min(0))
    feet = y[:, [J["left_foot"], J["right_foot"], J["left_ankle"], J["right_ankle"]], 1]
    y = y - np.array([centre[0], feet.min() + camera_height, centre[2] - distance])
    near = y[..., 2][present].min() if present.any() else distance
    if near < 1.0:  # a clip that walks toward the camera stays in front of it
        y[..., 2] += 1.0 - near
    y[~present] = 0.0
    return y


def read_bvh_ntu(path: str | Path, units: str = "auto", up: str = "y", table: str | None = None,
                 fps: float = 30.0) -> np.ndarray:
    """A BVH file as NTU-25 joints (T, 25, 3) in the Kinect camera frame at ``fps``."""
    skel = read_bvh(path, units, up)
    ntu = resample_fps(to_ntu(skel, table), skel.frame_time, fps)
    return to_kinect(ntu, fps=fps)
