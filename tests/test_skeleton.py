"""Properties of the shared skeleton module: invariances, handedness, mapping, resampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import skeleton as sk

from conftest import moving_sequence, rest_pose


def yaw(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_layout_tables_are_consistent():
    assert len(sk.NTU_JOINTS) == len(sk.NTU_PARENTS) == 25
    assert len(sk.NTU_BONES) == 24  # a tree over 25 joints
    parts = sorted(j for g in sk.NTU_BODY_PARTS.values() for j in g)
    assert parts == list(range(25)), "body parts must partition the joints"
    assert set(sk.NTU_BODY_PARTS) == {
        "head", "torso", "left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg"
    }  # fmt: skip
    for i, j in enumerate(sk.NTU_MIRROR):
        assert sk.NTU_MIRROR[j] == i
        a, b = sk.NTU_JOINTS[i], sk.NTU_JOINTS[j]
        assert a.replace("left", "X").replace("right", "X") == b.replace("left", "X").replace("right", "X")
    assert len(sk.MEDIAPIPE_JOINTS) == 33


@settings(max_examples=60, deadline=None)
@given(
    shift=st.tuples(*[st.floats(-3, 3)] * 3),
    scale=st.floats(0.3, 3.0),
    theta=st.floats(-np.pi, np.pi),
    seed=st.integers(0, 1000),
)
def test_normalize_is_invariant_to_translation_scale_and_yaw(shift, scale, theta, seed):
    x = moving_sequence(30, seed)
    y = (x @ yaw(theta).T) * scale + np.array(shift)
    assert np.allclose(sk.normalize(x), sk.normalize(y), atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(shift=st.tuples(*[st.floats(-3, 3)] * 3), scale=st.floats(0.3, 3.0))
def test_normalize_without_rotation_keeps_orientation(shift, scale):
    x = moving_sequence(20)
    theta = 0.7
    y = (x @ yaw(theta).T) * scale + np.array(shift)
    a, b = sk.normalize(x, rotate="none"), sk.normalize(y, rotate="none")
    assert np.allclose(a @ yaw(theta).T, b, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(theta=st.floats(-np.pi, np.pi))
def test_left_stays_left_for_any_body_yaw(theta):
    x = moving_sequence(10)
    y = sk.normalize(x @ yaw(theta).T)[:, 0]
    # facing the camera after normalisation: the left side is at smaller x
    assert np.all(y[:, sk.J["left_shoulder"], 0] < y[:, sk.J["right_shoulder"], 0])
    assert np.all(y[:, sk.J["left_hip"], 0] < y[:, sk.J["right_hip"], 0])
    # and the waving arm is still the right one
    motion = y.std(axis=0).sum(axis=-1)
    assert motion[sk.J["right_wrist"]] > 5 * motion[sk.J["left_wrist"]]


def test_normalize_units_and_missing_joints():
    x = moving_sequence(16)
    x[3, 0, 7] = 0.0  # a dropped joint
    y = sk.normalize(x)
    assert np.all(y[3, 0, 7] == 0)
    torso = np.linalg.norm(y[:, 0, 20] - y[:, 0, 0], axis=-1)
    assert abs(torso.mean() - 1.0) < 1e-6
    assert np.abs(y[:, 0, 1].mean(axis=0)).max() < 1e-6


def test_normalize_keeps_second_person_relative_position():
    a = moving_sequence(12)
    b = a + np.array([1.0, 0.0, 0.5])  # a second person beside the first
    x = np.concatenate([a, b], axis=1)
    y = sk.normalize(x, rotate="none")
    d = (y[:, 1] - y[:, 0]).mean(axis=(0, 1))
    torso = np.linalg.norm(a[:, 0, 20] - a[:, 0, 0], axis=-1).mean()
    assert np.allclose(d, np.array([1.0, 0.0, 0.5]) / torso, atol=1e-6)


def test_absent_person_stays_zero_and_empty_input_gives_zeros():
    x = sk.pad_persons(moving_sequence(10), 2)
    assert x.shape == (10, 2, 25, 3)
    assert np.all(sk.normalize(x)[:, 1] == 0)
    spec = sk.InputSpec(frames=16, persons=2)
    assert np.all(sk.preprocess(np.zeros((5, 1, 25, 3)), spec) == 0)


def mediapipe_from_ntu_like(pose: np.ndarray) -> np.ndarray:
    """A MediaPipe-33 body (MediaPipe world axes) built from an NTU pose, for mapping tests."""
    kin = np.zeros((33, 3))
    g = {n: pose[i] for i, n in enumerate(sk.NTU_JOINTS)}
    for side in ("left", "right"):
        s = side + "_"
        kin[sk.MP[s + "shoulder"]] = g[s + "shoulder"]
        kin[sk.MP[s + "elbow"]] = g[s + "elbow"]
        kin[sk.MP[s + "wrist"]] = g[s + "wrist"]
        kin[sk.MP[s + "index"]] = g[s + "hand_tip"]
        kin[sk.MP[s + "pinky"]] = g[s + "hand_tip"] + np.array([0.02, 0.01, 0.0])
        kin[sk.MP[s + "thumb"]] = g[s + "thumb"]
        kin[sk.MP[s + "hip"]] = g["spine_base"] + (g[s + "hip"] - g["spine_base"]) / sk.HIP_WIDTH_RATIO
        kin[sk.MP[s + "knee"]] = g[s + "knee"]
        kin[sk.MP[s + "ankle"]] = g[s + "ankle"]
        kin[sk.MP[s + "heel"]] = g[s + "ankle"] + np.array([0, -0.05, 0.04])
        kin[sk.MP[s + "foot_index"]] = g[s + "foot"]
        kin[sk.MP[s + "ear"]] = g["head"] + np.array([-0.07 if side == "left" else 0.07, 0, 0])
        for k in ("eye_inner", "eye", "eye_outer"):
            kin[sk.MP[s + k]] = g["head"] + np.array([-0.03 if side == "left" else 0.03, 0.03, -0.08])
    kin[sk.MP["nose"]] = g["head"] + np.array([0, 0, -0.1])
    kin[sk.MP["mouth_left"]] = kin[sk.MP["mouth_right"]] = g["head"] + np.array([0, -0.05, -0.08])
    return kin * np.array([-1.0, -1.0, 1.0])  # Kinect axes -> MediaPipe axes


def test_mapping_keeps_left_and_right():
    mp_world = mediapipe_from_ntu_like(rest_pose())
    # MediaPipe axes: a person facing the camera has their left side at larger image x
    assert mp_world[sk.MP["left_shoulder"], 0] > mp_world[sk.MP["right_shoulder"], 0]
    ntu, conf = sk.ntu_from_mediapipe(mp_world)
    assert ntu[sk.J["left_shoulder"], 0] < ntu[sk.J["right_shoulder"], 0]
    assert ntu[sk.J["left_hand"], 0] < ntu[sk.J["right_hand"], 0]
    assert ntu[sk.J["head"], 1] > ntu[sk.J["spine_base"], 1]  # y up
    assert conf.shape == (25,) and np.all(conf == 1)
    mirrored, _ = sk.ntu_from_mediapipe(mp_world, mirror=True)
    assert mirrored[sk.J["left_shoulder"], 0] < mirrored[sk.J["right_shoulder"], 0]


def test_mapping_derived_joints_follow_the_documented_recipe():
    mp_world = mediapipe_from_ntu_like(rest_pose())
    ntu, _ = sk.ntu_from_mediapipe(mp_world)
    kin = sk.mediapipe_world_to_kinect(mp_world)
    pose = rest_pose()
    for name in ("left_shoulder", "right_elbow", "left_knee", "right_ankle", "left_hand_tip", "right_thumb"):
        assert np.allclose(ntu[sk.J[name]], pose[sk.J[name]], atol=1e-9), name
    base = 0.5 * (kin[sk.MP["left_hip"]] + kin[sk.MP["right_hip"]])
    assert np.allclose(ntu[sk.J["spine_base"]], base)
    assert np.allclose(ntu[sk.J["left_hip"]] - base, sk.HIP_WIDTH_RATIO * (kin[sk.MP["left_hip"]] - base))
    ears = 0.5 * (kin[sk.MP["left_ear"]] + kin[sk.MP["right_ear"]])
    shoulders = 0.5 * (kin[sk.MP["left_shoulder"]] + kin[sk.MP["right_shoulder"]])
    assert np.allclose(ntu[sk.J["head"]], ears + sk.HEAD_LIFT * (ears - shoulders))
    spine = ntu[sk.J["spine_mid"]] - ntu[sk.J["spine_base"]]
    full = ntu[sk.J["spine_shoulder"]] - ntu[sk.J["spine_base"]]
    assert np.allclose(spine, sk.SPINE_MID_FRACTION * full)
    neck = ntu[sk.J["neck"]] - ntu[sk.J["spine_shoulder"]]
    assert np.allclose(neck, sk.NECK_FRACTION * (ntu[sk.J["head"]] - ntu[sk.J["spine_shoulder"]]))


@settings(max_examples=25, deadline=None)
@given(theta=st.floats(-np.pi, np.pi), shift=st.tuples(*[st.floats(-2, 2)] * 3))
def test_mapping_commutes_with_rigid_motion(theta, shift):
    mp_world = mediapipe_from_ntu_like(rest_pose())
    r = yaw(theta)
    a, _ = sk.mediapipe_to_ntu(mp_world @ r.T + np.array(shift))
    b, _ = sk.mediapipe_to_ntu(mp_world)
    assert np.allclose(a, b @ r.T + np.array(shift), atol=1e-9)


def test_visibility_propagates_to_derived_joints():
    mp_world = mediapipe_from_ntu_like(rest_pose())
    vis = np.ones(33)
    vis[sk.MP["left_ear"]] = 0.2
    _, conf = sk.ntu_from_mediapipe(mp_world, visibility=vis)
    assert conf[sk.J["head"]] == pytest.approx(0.2)
    assert conf[sk.J["spine_base"]] == 1.0
    assert conf[sk.J["neck"]] == pytest.approx(0.2)
    assert conf[sk.J["left_knee"]] == 1.0


def test_mapping_on_real_mediapipe_output_gives_plausible_bones(realdata):
    rec = np.load(realdata / "mediapipe" / "stgcn_ta_chi_mp0.10.21_c1.npz")
    ok = rec["detected"].astype(bool)
    ntu, conf = sk.ntu_from_mediapipe(rec["world_landmarks"][ok], image=rec["landmarks"][ok], image_size=(340, 256))
    bones = np.median(sk.bone_lengths(ntu), axis=0)
    length = {sk.NTU_JOINTS[c]: bones[i] for i, (c, _) in enumerate(sk.NTU_BONES)}
    ranges = {  # child joint of the bone: plausible adult length in metres
        "left_elbow": (0.2, 0.4), "right_elbow": (0.2, 0.4),  # upper arms
        "left_wrist": (0.15, 0.35), "right_wrist": (0.15, 0.35),  # forearms
        "left_knee": (0.3, 0.55), "right_knee": (0.3, 0.55),  # thighs
        "left_ankle": (0.3, 0.55), "right_ankle": (0.3, 0.55),  # shanks
        "spine_mid": (0.15, 0.4), "spine_shoulder": (0.1, 0.35), "head": (0.05, 0.25),
    }  # fmt: skip
    for name, (lo, hi) in ranges.items():
        assert lo < length[name] < hi, (name, length[name])
    # left and right limbs agree within 20 %
    for a, b in (("left_elbow", "right_elbow"), ("left_knee", "right_knee"), ("left_ankle", "right_ankle")):
        assert abs(length[a] - length[b]) / length[a] < 0.2
    torso = np.linalg.norm(ntu[:, 20] - ntu[:, 0], axis=-1)
    assert 0.35 < np.median(torso) < 0.7
    assert np.all(ntu[:, sk.J["head"], 1] > ntu[:, sk.J["spine_base"], 1])  # upright
    depth = np.median(ntu[:, 0, 2])
    assert 1.0 < depth < 8.0, depth  # the recovered hip position is in front of the camera


def test_mapping_proportions_match_a_real_kinect_recording(realdata):
    from train.data.ntu import read_ntu_skeleton

    kinect = read_ntu_skeleton(realdata / "ntu" / "S001C001P001R001A001.skeleton").joints[:, 0]
    rec = np.load(realdata / "mediapipe" / "stgcn_ta_chi_mp0.10.21_c1.npz")
    mp, _ = sk.ntu_from_mediapipe(rec["world_landmarks"])

    def ratios(x):
        torso = np.linalg.norm(x[:, 20] - x[:, 0], axis=-1)
        hips = np.linalg.norm(x[:, 12] - x[:, 16], axis=-1)
        head = np.linalg.norm(x[:, 3] - x[:, 20], axis=-1)
        return np.median(hips / torso), np.median(head / torso)

    # one person against another and one sensor against another: proportions agree within a third
    for a, b in zip(ratios(kinect), ratios(mp)):
        assert abs(a - b) / a < 0.35, (ratios(kinect), ratios(mp))


def test_resample_shapes_and_linearity():
    t = np.linspace(0, 1, 7)
    x = np.stack([t, 2 * t, 3 * t], axis=-1)[:, None, None, :] + 1.0
    y = sk.resample(x, 13)
    assert y.shape == (13, 1, 1, 3)
    assert np.allclose(y[:, 0, 0, 0], np.linspace(0, 1, 13) + 1)
    assert np.allclose(sk.resample(x, 7), x)


def test_resample_does_not_blend_with_missing_joints():
    x = np.ones((4, 1, 25, 3))
    x[1, 0, 5] = 0
    y = sk.resample(x, 10)
    assert np.all((y == 0) | np.isclose(y, 1.0))
    assert np.all(y[..., 5, :] == 1.0)  # a single missing frame is bridged by its neighbour


def test_resample_by_time_covers_the_last_duration():
    ts = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    x = ts[:, None].copy()
    y = sk.resample_by_time(x, ts, 5, duration=2.0)
    assert np.allclose(y[:, 0], np.linspace(0.5, 2.5, 5))
    y = sk.resample_by_time(x[:2], ts[:2], 3, duration=2.0)  # shorter buffer: clamp to what exists
    assert np.allclose(y[:, 0], [0.0, 0.25, 0.5])
    assert sk.resample_by_time(x, ts, 1, duration=2.0)[:, 0].tolist() == [0.5]  # one instant: the window's start
    assert sk.resample_by_time(x, ts, 0, duration=2.0).shape == (0, 1)


def test_preprocess_contract():
    spec = sk.InputSpec(frames=32, persons=2)
    x = moving_sequence(50)
    x[10:13] = 0  # dropped frames are removed before resampling
    out = sk.preprocess(x, spec)
    assert out.shape == (3, 32, 25, 2) and out.dtype == np.float32
    assert np.all(out[..., 1] == 0)
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="normalisation"):
        sk.preprocess(x, sk.InputSpec(normalization="something-else/9"))
    with pytest.raises(ValueError, match="expected"):
        sk.preprocess(np.zeros((5, 1, 17, 3)), spec)
    assert sk.InputSpec.from_dict(spec.to_dict()) == spec


def test_retarget_gives_common_bone_lengths_and_keeps_directions():
    x = sk.normalize(moving_sequence(20))
    # a body with other proportions (a longer forearm: the wrist and everything below it moved along it)
    other = x.copy()
    longer = 0.3 * (x[:, 0, sk.J["right_wrist"]] - x[:, 0, sk.J["right_elbow"]])
    for n in ("right_wrist", "right_hand", "right_hand_tip", "right_thumb"):
        other[:, 0, sk.J[n]] += longer
    a, b = sk.retarget(x), sk.retarget(other)
    lengths = sk.bone_lengths(a[:, 0])
    assert np.allclose(lengths, np.array(sk.COMMON_BONE_LENGTHS)[None], atol=1e-9)
    assert np.allclose(a, b, atol=1e-9)  # the same motion on two bodies gives the same input
    assert np.allclose(a[:, 0, 0], x[:, 0, 0])  # the root keeps its path
    bone = a[:, 0, sk.J["right_elbow"]] - a[:, 0, sk.J["right_shoulder"]]
    raw = x[:, 0, sk.J["right_elbow"]] - x[:, 0, sk.J["right_shoulder"]]
    cos = (bone * raw).sum(-1) / np.linalg.norm(bone, axis=-1) / np.linalg.norm(raw, axis=-1)
    assert np.allclose(cos, 1.0)


def test_retarget_drops_joints_below_a_missing_one_and_absent_persons():
    x = np.concatenate([sk.normalize(moving_sequence(8)), np.zeros((8, 1, 25, 3))], axis=1)
    x[3, 0, sk.J["right_elbow"]] = 0
    y = sk.retarget(x)
    assert np.all(y[:, 1] == 0)
    lost = {sk.J[n] for n in ("right_elbow", "right_wrist", "right_hand", "right_hand_tip", "right_thumb")}
    assert all(np.all(y[3, 0, j] == 0) == (j in lost) for j in range(25))
    assert np.all(y[2, 0] != 0)


def test_preprocess_v2_drops_uncommon_joints_and_v1_still_reads():
    x = moving_sequence(40)
    new = sk.preprocess(x, sk.InputSpec(frames=16))
    old = sk.preprocess(x, sk.InputSpec(frames=16, normalization=sk.NORMALIZATION_V1))
    assert np.all(new[:, :, list(sk.UNCOMMON_JOINTS)] == 0)
    assert np.all(old[:, :, list(sk.UNCOMMON_JOINTS)] != 0)
    tall = x.copy()
    tall[..., 1] *= 1.3  # a taller, thinner body doing the same thing: v2 input barely moves
    assert np.abs(sk.preprocess(tall, sk.InputSpec(frames=16)) - new).max() < 0.15
