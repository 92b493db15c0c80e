"""The synthetic generator: deterministic, anatomically plausible, seen by a plausible camera, and its
MediaPipe output maps back through the shared skeleton module close to the 3D original."""

from __future__ import annotations

import numpy as np
import pytest

from runtime import skeleton as sk
from runtime.synth import (
    ACTIONS,
    COMPOSITE_CLASSES,
    SYNTHETIC_CLASSES,
    SynthConfig,
    demo_stream,
    generate,
    sample_seed,
)
from train.data.splits import get_split
from train.data.synthetic import make_synthetic

SOME = ["Drink water", "Jumping up", "Falling", "Sitting down", "Hand waving while walking", "Kicking something"]


def test_class_set_is_rich_enough():
    assert len(SYNTHETIC_CLASSES) - len(COMPOSITE_CLASSES) >= 40
    assert len(COMPOSITE_CLASSES) >= 8
    ntu = set(n.lower() for n in __import__("train.data.classes", fromlist=["x"]).class_names("ntu120"))
    named_as_ntu = [c for c in SYNTHETIC_CLASSES if c.lower() in ntu]
    assert len(named_as_ntu) >= 40


def test_generation_is_deterministic_and_seed_dependent():
    a = generate("Hand waving", seed=11)
    b = generate("Hand waving", seed=11)
    c = generate("Hand waving", seed=12)
    assert np.array_equal(a.joints, b.joints) and a.info == b.info
    assert a.joints.shape != c.joints.shape or not np.allclose(a.joints, c.joints)
    # order-free seeds: sample i of a class does not depend on what else was generated
    s1 = generate("Clapping", sample_seed(3, 8, 5))
    s2 = generate("Clapping", sample_seed(3, 8, 5))
    assert np.array_equal(s1.joints, s2.joints)
    ds1 = make_synthetic(2, "train", seed=1, classes=["Clapping", "Salute"])
    ds2 = make_synthetic(2, "train", seed=1, classes=["Salute"])
    assert np.array_equal(ds1.sequence(2), ds2.sequence(0))
    test = make_synthetic(2, "test", seed=1, classes=["Salute"])
    assert not np.array_equal(test.sequence(0)[:5], ds2.sequence(0)[:5])  # disjoint seed streams


@pytest.mark.parametrize("label", SOME)
def test_bone_lengths_are_realistic_and_rigid(label):
    for seed in range(3):
        s = generate(label, seed, SynthConfig(noise=0.0))
        bones = sk.bone_lengths(s.clean)
        med = np.median(bones, axis=0)
        length = {sk.NTU_JOINTS[c]: med[i] for i, (c, _) in enumerate(sk.NTU_BONES)}
        for name, (lo, hi) in {"left_elbow": (0.2, 0.4), "right_wrist": (0.16, 0.33), "left_knee": (0.3, 0.55),
                               "right_ankle": (0.3, 0.55), "spine_mid": (0.17, 0.33), "head": (0.08, 0.2)}.items():
            assert lo < length[name] < hi, (label, name, length[name])
        # a rigid body: bones keep their length over time (IK never stretches the arm). The thighs are the
        # exception by design: Kinect's hip joints sit inside the anatomical hips, not at the rotation centre.
        rigid = [i for i, (c, _) in enumerate(sk.NTU_BONES) if sk.NTU_JOINTS[c] not in ("left_knee", "right_knee")]
        assert bones[:, rigid].std(axis=0).max() < 0.005, (label, bones[:, rigid].std(axis=0).max())
        torso = np.linalg.norm(s.clean[:, 20] - s.clean[:, 0], axis=-1)
        assert 0.34 < np.median(torso) < 0.65


@pytest.mark.parametrize("label", SOME)
def test_skeletons_stay_in_a_plausible_camera_volume(label):
    for seed in range(4):
        s = generate(label, seed)
        x = s.joints[np.any(s.joints != 0, axis=-1)]
        assert np.isfinite(x).all()
        assert 0.8 < x[:, 2].min() and x[:, 2].max() < 7.0, "in front of the camera, within Kinect-like range"
        assert np.abs(x[:, 0]).max() < 3.5
        assert -2.6 < x[:, 1].min() and x[:, 1].max() < 2.6
        head_up = s.clean[:, 3, 1] > s.clean[:, 0, 1]
        if label not in ("Falling",):
            assert head_up.mean() > 0.95, "people stand upright in the camera frame (y up)"


def test_noise_model_drops_frames_and_jitters():
    zeros, diffs = 0, []
    for seed in range(40):
        s = generate("Clapping", seed)
        zeros += int(np.sum(~np.any(s.joints != 0, axis=(1, 2))))
        ok = np.any(s.joints != 0, axis=-1)
        diffs.append(np.abs(s.joints - s.clean)[ok].mean())
    assert zeros > 0, "some sequences lose whole frames, as Kinect recordings do"
    assert 0.002 < np.mean(diffs) < 0.03


def test_mediapipe_output_maps_back_close_to_the_original():
    errs = []
    for label in SOME:
        s = generate(label, 5, SynthConfig(noise=0.0), mediapipe=True)
        assert s.landmarks.shape == (len(s.joints), 33, 4) and s.world_landmarks.shape == s.landmarks.shape
        inside = (s.landmarks[..., :2] >= 0) & (s.landmarks[..., :2] <= 1)
        assert inside.mean() > 0.9, "the person is mostly in the picture"
        ntu, conf = sk.ntu_from_mediapipe(s.world_landmarks, image=s.landmarks, image_size=(640, 480), fov_deg=70.0)
        a = sk.normalize(ntu[:, None])
        b = sk.normalize(s.clean[:, None])
        errs.append(np.linalg.norm(a - b, axis=-1).mean())
    # in torso units after the shared normalisation: a few centimetres on a 0.5 m torso
    assert np.mean(errs) < 0.12, errs


def test_root_translation_is_recovered_from_the_image():
    s = generate("Walking", 2, SynthConfig(noise=0.0), mediapipe=True)
    ntu, _ = sk.ntu_from_mediapipe(s.world_landmarks, image=s.landmarks, image_size=(640, 480), fov_deg=70.0)
    travel_true = s.clean[-1, 0] - s.clean[0, 0]
    travel_est = ntu[-1, 0] - ntu[0, 0]
    assert np.linalg.norm(travel_true) > 1.0
    assert np.linalg.norm(travel_est - travel_true) < 0.35 * np.linalg.norm(travel_true)


def test_demo_stream_interleaves_actions_and_idle():
    stream = demo_stream(seed=1)
    frames = [next(stream) for _ in range(400)]
    labels = [lab for lab, _ in frames]
    assert None in labels and any(lab is not None for lab in labels)
    assert all(f.shape == (25, 3) and np.isfinite(f).all() for _, f in frames)


def test_compositional_split_is_new_combinations_of_seen_parts():
    split = get_split("synthetic", "compose")
    train = [SYNTHETIC_CLASSES[c] for c in split.train]
    arms_seen = {ACTIONS[c].upper for c in train}
    legs_seen = {ACTIONS[c].lower for c in train}
    for c in split.unseen:
        name = SYNTHETIC_CLASSES[c]
        assert name in COMPOSITE_CLASSES
        assert ACTIONS[name].upper in arms_seen and ACTIONS[name].lower in legs_seen, name


def test_render_writes_pictures(tmp_path):
    from train.data.render import main

    main(["--synthetic", "Salute", "--seed", "1", "--frame", "10", "--size", "120", "--out", str(tmp_path / "a.png")])
    main(["--synthetic", "Salute", "--size", "80", "--out", str(tmp_path / "a.gif")])
    assert (tmp_path / "a.png").stat().st_size > 500 and (tmp_path / "a.gif").stat().st_size > 1000


DIRECTION_CLASSES = {  # class -> (arms used, where the hands go, overhead at the top)
    "Front raise (both arms forward)": ("both", "forward", False),
    "Lateral raise (arms out to the sides)": ("both", "outward", False),
    "Raising arms overhead through the front": ("both", "forward", True),
    "Raising arms overhead through the sides": ("both", "outward", True),
    "Front raise with one arm": ("one", "forward", False),
    "Side raise with one arm": ("one", "outward", False),
    "Pushing both hands forward": ("both", "forward", False),
    "Pushing both hands out to the sides": ("both", "outward", False),
}


def _body_axes(j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame (T, 3) unit vectors toward the person's left, up, and forward, from the skeleton itself."""
    up = j[:, sk.J["spine_shoulder"]] - j[:, sk.J["spine_base"]]
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    left = j[:, sk.J["left_shoulder"]] - j[:, sk.J["right_shoulder"]]
    left -= (left * up).sum(-1, keepdims=True) * up
    left /= np.linalg.norm(left, axis=-1, keepdims=True)
    return left, up, np.cross(left, up)


@pytest.mark.parametrize("label", list(DIRECTION_CLASSES))
def test_direction_classes_move_the_hands_the_way_their_names_say(label):
    """The classes that differ only in direction: at the moment the hands pass shoulder height on the way up (or are
    pushed furthest away), they are ahead of the shoulder for 'forward' classes and out to the side for the others."""
    arms, way, overhead = DIRECTION_CLASSES[label]
    for seed in range(6):
        s = generate(label, seed, SynthConfig(noise=0.0))
        j = s.clean
        left, up, fwd = _body_axes(j)
        toes = j[:, sk.J["left_foot"]] - j[:, sk.J["left_ankle"]]
        assert ((toes * fwd).sum(-1) > 0).mean() > 0.95, "the feet point the way 'forward' is computed"
        sides = ("left", "right") if arms == "both" else (s.info["side"],)
        for side in sides:
            d = j[:, sk.J[f"{side}_wrist"]] - j[:, sk.J[f"{side}_shoulder"]]
            ahead = (d * fwd).sum(-1)
            out = (d * left).sum(-1) * (1.0 if side == "left" else -1.0)
            height = (d * up).sum(-1)
            first = slice(0, len(j) // 2)
            if label.startswith("Pushing"):  # where the hand is furthest from the body
                t = int(np.argmax(np.hypot(ahead, out)[first]))
            else:  # the first frame where the wrist comes up to the shoulder (or near its highest, if lower)
                t = int(np.argmax(height[first] >= min(-0.05, height[first].max() - 0.05)))
            if way == "forward":
                assert ahead[t] > 0.3 and ahead[t] > 2 * abs(out[t]), (label, seed, side, ahead[t], out[t])
            else:
                assert out[t] > 0.3 and out[t] > 2 * abs(ahead[t]), (label, seed, side, ahead[t], out[t])
            assert (height.max() > 0.35) == overhead, (label, seed, side, height.max())
        if arms == "one":
            other = "left" if s.info["side"] == "right" else "right"
            d = j[:, sk.J[f"{other}_wrist"]] - j[:, sk.J[f"{other}_shoulder"]]
            assert (d * up).sum(-1).max() < -0.35, "the other arm hangs"
