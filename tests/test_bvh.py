"""BVH reader: forward kinematics, units, up axis, NTU mapping and chirality, malformed files (all hand-made)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.skeleton import J
from train.data.base import DataError
from train.data.bvh import forward_kinematics, parse_bvh, read_bvh, read_bvh_ntu, resample_fps, to_ntu

CMU_ROT = ("Zrotation", "Yrotation", "Xrotation")
POS = ("Xposition", "Yposition", "Zposition")


def node(name, offset, channels=CMU_ROT, children=(), end=None):
    return {"name": name, "offset": offset, "channels": channels, "children": list(children), "end": end}


def hierarchy_text(root: dict) -> str:
    out = ["HIERARCHY"]

    def emit(n: dict, depth: int, kind: str) -> None:
        pad = "  " * depth
        out.append(f"{pad}{kind} {n['name']}")
        out.append(pad + "{")
        out.append(f"{pad}  OFFSET {' '.join(str(v) for v in n['offset'])}")
        out.append(f"{pad}  CHANNELS {len(n['channels'])} {' '.join(n['channels'])}")
        for c in n["children"]:
            emit(c, depth + 1, "JOINT")
        if n["end"] is not None:
            out.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {' '.join(map(str, n['end']))}", pad + "  }"])
        out.append(pad + "}")

    emit(root, 0, "ROOT")
    return "\n".join(out)


def channel_count(root: dict) -> int:
    return len(root["channels"]) + sum(channel_count(c) for c in root["children"])


def write_bvh(path: Path, root: dict, rows, frame_time: float = 1 / 30, frames: int | None = None) -> Path:
    rows = [list(r) for r in rows]
    motion = "\n".join(" ".join(f"{v:g}" if isinstance(v, float | int) else str(v) for v in r) for r in rows)
    path.write_text(f"{hierarchy_text(root)}\nMOTION\nFrames: {len(rows) if frames is None else frames}\n"
                    f"Frame Time: {frame_time}\n{motion}\n")
    return path


# ----------------------------------------------------------------------------------------- tiny chain


def chain(order: tuple[str, ...]) -> dict:
    """root at the origin -> joint 'a' 1 up -> End Site 1 along x."""
    return node("root", (0, 0, 0), POS + CMU_ROT, [node("a", (0, 1, 0), order, end=(1, 0, 0))])


def test_fk_rotation_order_is_intrinsic_in_channel_order(tmp_path):
    # R = Rz(90) Rx(90) maps x to y; R = Rx(90) Rz(90) maps x to z
    zxy = write_bvh(tmp_path / "zxy.bvh", chain(("Zrotation", "Xrotation", "Yrotation")), [[0] * 6 + [90, 90, 0]])
    xyz = write_bvh(tmp_path / "xyz.bvh", chain(("Xrotation", "Yrotation", "Zrotation")), [[0] * 6 + [90, 0, 90]])
    for path, end in ((zxy, (0, 2, 0)), (xyz, (0, 1, 1))):
        b = parse_bvh(path)
        assert b.names == ["root", "a", "a_End"]
        np.testing.assert_allclose(forward_kinematics(b)[0, 2], end, atol=1e-9)


def test_fk_parent_rotation_and_position_channels(tmp_path):
    # root moved to (5, 0, 0) and yawed 90 degrees about y: child 'a' stays above it, the end site turns to -z
    p = write_bvh(tmp_path / "c.bvh", chain(CMU_ROT), [[5, 0, 0, 0, 90, 0, 0, 0, 0], [0] * 9])
    pos = forward_kinematics(parse_bvh(p))
    np.testing.assert_allclose(pos[0], [[5, 0, 0], [5, 1, 0], [5, 1, -1]], atol=1e-9)
    np.testing.assert_allclose(pos[1], [[0, 0, 0], [0, 1, 0], [1, 1, 0]], atol=1e-9)
    # a child's position channels replace its OFFSET (Bandai-Namco stores every bone this way)
    root = node("root", (0, 0, 0), POS, [node("a", (0, 1, 0), POS + CMU_ROT, end=(1, 0, 0))])
    p2 = write_bvh(tmp_path / "p.bvh", root, [[0, 0, 0, 0, 3, 0, 0, 0, 0]])
    np.testing.assert_allclose(forward_kinematics(parse_bvh(p2))[0, 1:], [[0, 3, 0], [1, 3, 0]], atol=1e-9)


# ------------------------------------------------------------------------------------- a CMU skeleton


def cmu_skeleton(scale: float = 1.0) -> dict:
    """A CMU-style skeleton in a T-pose, facing +z, its left at +x, Y up, centimetres times ``scale``."""
    s = lambda *v: tuple(scale * x for x in v)  # noqa: E731

    def arm(side: str, sx: float) -> dict:
        L, c = ("Left", "L") if side == "left" else ("Right", "R")
        hand = node(f"{L}Hand", s(sx * 25, 0, 0), children=[
            node(f"{L}FingerBase", s(sx * 5, 0, 0), children=[node(f"{L}HandIndex1", s(sx * 4, 0, 0), end=s(sx * 4, 0, 0))]),
            node(f"{c}Thumb", s(sx * 2, 0, 3), end=s(sx * 3, 0, 2)),
        ])  # fmt: skip
        return node(f"{L}Shoulder", s(sx * 3, 20, 0), children=[
            node(f"{L}Arm", s(sx * 14, 0, 0), children=[node(f"{L}ForeArm", s(sx * 28, 0, 0), children=[hand])])])

    def leg(side: str, sx: float) -> dict:
        L, c = ("Left", "L") if side == "left" else ("Right", "R")
        toe = node(f"{L}ToeBase", s(0, -5, 12), end=s(0, 0, 5))
        return node(f"{c}HipJoint", (0, 0, 0), children=[node(f"{L}UpLeg", s(sx * 9, -5, 0), children=[
            node(f"{L}Leg", s(0, -42, 0), children=[node(f"{L}Foot", s(0, -42, 0), children=[toe])])])])

    head = node("Neck", s(0, 20, 0), children=[node("Neck1", s(0, 5, 0), children=[node("Head", s(0, 5, 0), end=s(0, 18, 0))])])
    spine1 = node("Spine1", s(0, 15, 0), children=[head, arm("left", 1), arm("right", -1)])
    back = node("LowerBack", (0, 0, 0), children=[node("Spine", s(0, 10, 0), children=[spine1])])
    return node("Hips", (0, 0, 0), POS + CMU_ROT, [leg("left", 1), leg("right", -1), back])


def test_cmu_file_maps_to_ntu_with_left_on_the_left(tmp_path):
    root = cmu_skeleton()
    n = channel_count(root)
    bent = [0.0, 95.0, 0.0] + [0.0] * (n - 3)
    p = write_bvh(tmp_path / "cmu.bvh", root, [[0.0, 95.0, 0.0] + [0.0] * (n - 3), bent])
    skel = read_bvh(p)  # centimetres, detected from the 168 cm body
    assert skel.positions[..., 1].max() == pytest.approx(1.68, abs=1e-9)
    ntu = to_ntu(skel)  # the CMU table is picked by the joint names
    i = skel.names.index
    np.testing.assert_allclose(ntu[:, J["left_wrist"]], skel.positions[:, i("LeftHand")])
    np.testing.assert_allclose(ntu[:, J["right_ankle"]], skel.positions[:, i("RightFoot")])
    np.testing.assert_allclose(ntu[:, J["left_hand_tip"]], skel.positions[:, i("LeftHandIndex1_End")])
    assert ntu[0, J["left_shoulder"], 0] > 0  # as authored: the left arm at +x
    cam = read_bvh_ntu(p)
    assert cam.shape == (2, 25, 3) and np.all(cam[..., 2] > 1.0)
    # facing the camera: left shoulder at the smaller x, and (independently of the names) the toes point
    # toward the camera, so no mirror turned a left arm into a right arm
    assert cam[0, J["left_shoulder"], 0] < cam[0, J["right_shoulder"], 0]
    assert cam[0, J["left_foot"], 2] < cam[0, J["left_ankle"], 2]
    assert cam[0, J["head"], 1] > cam[0, J["spine_shoulder"], 1] > cam[0, J["spine_base"], 1]
    assert cam[0, J["left_foot"], 1] == pytest.approx(-1.0, abs=0.05)  # the floor, a 1 m high camera below it


def test_units_cm_vs_m_and_z_up(tmp_path):
    root_cm, root_m = cmu_skeleton(), cmu_skeleton(0.01)
    n = channel_count(root_cm)
    frame = [0.0, 95.0, 0.0] + [0.0] * (n - 3)
    frame[9:12] = [30.0, 0.0, 0.0]  # bend the left hip joint a little
    cm = read_bvh(write_bvh(tmp_path / "cm.bvh", root_cm, [frame]))
    m = read_bvh(write_bvh(tmp_path / "m.bvh", root_m, [[0.0, 0.95, 0.0] + frame[3:]]))
    np.testing.assert_allclose(cm.positions, m.positions, atol=1e-9)
    np.testing.assert_allclose(read_bvh(tmp_path / "cm.bvh", units="cm").positions, cm.positions)
    assert read_bvh(tmp_path / "cm.bvh", units="m").positions[..., 1].max() == pytest.approx(168, abs=1e-6)
    # the same body in a Z-up world: the root turned +90 degrees about x (y -> z), its position too
    zup = [0.0, 0.0, 95.0, 0.0, 0.0, 90.0] + frame[6:]
    z = read_bvh(write_bvh(tmp_path / "z.bvh", root_cm, [zup]), up="z")
    np.testing.assert_allclose(z.positions, cm.positions, atol=1e-9)
    with pytest.raises(DataError, match="units"):
        tall = node("root", (0, 0, 0), POS, [node("a", (0, 10, 0), CMU_ROT, end=(0, 10, 0))])
        read_bvh(write_bvh(tmp_path / "ten.bvh", tall, [[0] * 6]))  # 20 units tall: neither m, cm nor mm


def test_resample_to_30_fps(tmp_path):
    n = channel_count(cmu_skeleton())
    rows = [[float(t), 95.0, 0.0] + [0.0] * (n - 3) for t in range(61)]
    skel = read_bvh(write_bvh(tmp_path / "f60.bvh", cmu_skeleton(), rows, frame_time=1 / 60))
    x = resample_fps(skel.positions, skel.frame_time, 30.0)
    assert len(x) == 31
    np.testing.assert_allclose(x[:, 0, 0], np.arange(31) * 0.02, atol=1e-9)


# ------------------------------------------------------------------------------------- malformed files

GOOD_ROWS = [[0] * 9, [0] * 9]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 0 0 0 0 0\n", 1), r"bad\.bvh:19: missing channel values"),
        (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 0 0 0 0 0 0 0\n", 1), r"bad\.bvh:19: too many values"),
        (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 nan 0 0 0 0 0\n", 1), r"bad\.bvh:19: non-finite"),
        (lambda t: t.replace("0 0 0 0 0 0 0 0 0\n", "0 0 0 x 0 0 0 0 0\n", 1), r"bad\.bvh:19: 'x' is not a number"),
        (lambda t: t.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"), r"bad\.bvh:9: unknown channel 'Wrotation'"),
        (lambda t: t.replace("Frames: 2", "Frames: 3"), r"bad\.bvh:17: Frames: 3 but the file has 2 motion lines"),
        (lambda t: t.replace("  }\n}\nMOTION", "  \n}\nMOTION"), r"bad\.bvh:\d+: missing '}' closing 'root' opened at line 2"),
        (lambda t: t.replace("OFFSET 0 1 0", "OFFSET 0 nan 0"), r"bad\.bvh:8: .*not finite"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, mutate, message):
    good = write_bvh(tmp_path / "bad.bvh", chain(CMU_ROT), GOOD_ROWS).read_text()
    assert good.splitlines()[18] == "0 0 0 0 0 0 0 0 0"  # motion starts on line 19
    (tmp_path / "bad.bvh").write_text(mutate(good))
    with pytest.raises(DataError, match=message):
        parse_bvh(tmp_path / "bad.bvh")


def test_unknown_skeleton_names_the_missing_ntu_joints(tmp_path):
    root = cmu_skeleton()
    text = hierarchy_text(root).replace("Hips", "Pelvis").replace("LeftForeArm", "L_Elbow")
    n = channel_count(root)
    (tmp_path / "odd.bvh").write_text(f"{text}\nMOTION\nFrames: 1\nFrame Time: 0.0333\n{' '.join(['0'] * n)}\n")
    skel = read_bvh(tmp_path / "odd.bvh", units="cm")
    with pytest.raises(DataError, match=r"odd\.bvh.*cannot find NTU joints spine_base, spine_mid, left_elbow"):
        to_ntu(skel)


# -------------------------------------------------------------------------------- Bandai-Namco files


def bandai_skeleton() -> dict:
    six = POS + ("Zrotation", "Xrotation", "Yrotation")

    def bnode(name, offset, children=(), end=False):
        return node(name, offset, six, children, (0, 0, 0) if end else None)

    def arm(s, sx):
        return bnode(f"Shoulder_{s}", (sx * 3, 20, 0), [bnode(f"UpperArm_{s}", (sx * 5, 0, 0), [
            bnode(f"LowerArm_{s}", (sx * 24, 0, 0), [bnode(f"Hand_{s}", (sx * 22, 0, 0), end=True)])])])

    def leg(s, sx):
        return bnode(f"UpperLeg_{s}", (sx * 6.5, -2, 0), [bnode(f"LowerLeg_{s}", (0, -39, 0), [
            bnode(f"Foot_{s}", (0, -41, 0), [bnode(f"Toes_{s}", (0, -5, 11), end=True)])])])

    neck = bnode("Neck", (0, 16, 0), [bnode("Head", (0, 6.5, 0), end=True)])
    spine = bnode("Spine", (0, 16, 0), [bnode("Chest", (0, 9, 0), [neck, arm("L", 1), arm("R", -1)])])
    return bnode("joint_Root", (0, 0, 0), [bnode("Hips", (0, 90, 0), [spine, leg("L", 1), leg("R", -1)])])


def bandai_rows(root: dict, frames: int) -> list[list[float]]:
    row: list[float] = []

    def walk(n):
        row.extend(list(n["offset"]) + [0.0, 0.0, 0.0])  # position channels = the offsets, no rotation
        for c in n["children"]:
            walk(c)

    walk(root)
    return [row] * frames


def test_bandai_loader_labels_meta_and_skips(tmp_path):
    from train.data.bandai_namco import load_bandai_namco, parse_name

    assert parse_name("dataset-2_wave-right-hand_elderly_012") == {
        "part": "dataset-2", "content": "wave right hand", "style": "elderly", "take": "012"}  # fmt: skip
    root = bandai_skeleton()
    data = tmp_path / "Bandai-Namco-Research-Motiondataset-2" / "data"
    data.mkdir(parents=True)
    write_bvh(data / "dataset-2_wave-right-hand_elderly_012.bvh", root, bandai_rows(root, 40))
    write_bvh(data / "dataset-2_walk_normal_001.bvh", root, bandai_rows(root, 20), frame_time=1 / 60)
    (data / "dataset-2_run_active_003.bvh").write_text("HIERARCHY\nROOT x\n{\n")
    ds, report = load_bandai_namco(tmp_path, progress=False, workers=1)
    assert len(ds) == 2 and report.loaded == 2
    assert "unreadable" in report.summary() and "dataset-2_run_active_003.bvh" in report.summary()
    names = list(ds.class_names)
    assert [names[i] for i in ds.labels] == ["walk", "wave right hand"]
    assert list(ds.meta["style"]) == ["normal", "elderly"] and list(ds.meta["take"]) == ["001", "012"]
    assert list(ds.meta["subject"]) == ["0", "0"] and list(ds.meta["part"]) == ["dataset-2"] * 2
    assert list(ds.lengths) == [10, 40]  # the 60 fps file resampled to 30 fps
    x = ds.sequence(1)[0, 0]
    assert np.all(x[[J["left_hand_tip"], J["left_thumb"], J["right_hand_tip"], J["right_thumb"]]] == 0)
    assert x[J["left_shoulder"], 0] < x[J["right_shoulder"], 0] and x[J["left_foot"], 2] < x[J["left_ankle"], 2]
