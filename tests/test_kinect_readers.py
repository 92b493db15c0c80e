"""Kinect v1 readers (Kinder-Gator CSV, UTD-MHAD .mat, NW-UCLA JSON) on small files written here, and the
real NW-UCLA archive when it is present."""

from __future__ import annotations

import json
import tarfile
import time

import numpy as np
import pytest

from runtime.skeleton import J
from train.data import sources
from train.data.base import DataError
from train.data.kinder_gator import load_kinder_gator, read_trial
from train.data.kinect_v1 import K1, KINECT_V1_JOINTS, NTU_FROM_KINECT_V1, kinect_v1_to_ntu, sdk_joint_name
from train.data.nw_ucla import load_nw_ucla, read_sequence
from train.data.utd_mhad import UTD_JOINTS, load_utd_mhad, read_mat

from conftest import SHARED, rest_pose

NW_ARCHIVE = SHARED / "datasets" / "nw-ucla.tar.xz"


def sdk_pose() -> np.ndarray:
    """A standing Kinect v1 skeleton (20, 3) in SDK order, built from the shared NTU rest pose."""
    ntu = rest_pose()
    out = np.zeros((20, 3))
    for name, (how, src) in NTU_FROM_KINECT_V1.items():
        if how == "copy":
            out[K1[next(iter(src))]] = ntu[J[name]]
    out[K1["Spine"]] = ntu[J["spine_base"]] + [0, 0.06, 0]  # where Kinect v1 puts it: just above the hip
    return out


def sequence(frames: int = 12) -> np.ndarray:
    """(T, 20, 3): the pose with the right hand rising, so frames differ."""
    seq = np.repeat(sdk_pose()[None], frames, axis=0)
    seq[:, K1["HandRight"], 1] += np.linspace(0, 0.5, frames)
    return seq


# ------------------------------------------------------------------------------------------ mapping


def test_mapping_table_derives_spine_mid_and_neck_and_marks_fingers_missing():
    k1 = sdk_pose()
    ntu = kinect_v1_to_ntu(k1)
    assert ntu.shape == (25, 3)
    assert np.allclose(ntu[J["spine_mid"]], (k1[K1["HipCenter"]] + k1[K1["ShoulderCenter"]]) / 2)
    assert not np.allclose(ntu[J["spine_mid"]], k1[K1["Spine"]])  # not the sensor's low "Spine"
    assert np.allclose(ntu[J["neck"]], k1[K1["ShoulderCenter"]] + (k1[K1["Head"]] - k1[K1["ShoulderCenter"]]) / 3)
    assert np.allclose(ntu[J["left_shoulder"]], k1[K1["ShoulderLeft"]])
    assert np.allclose(ntu[J["right_foot"]], k1[K1["FootRight"]])
    for j in ("left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb"):
        assert not ntu[J[j]].any()
    k1[K1["Head"]] = 0  # a missing source joint makes the joints derived from it missing, not half-way to 0
    ntu = kinect_v1_to_ntu(k1)
    assert not ntu[J["head"]].any() and not ntu[J["neck"]].any() and ntu[J["spine_mid"]].any()


def test_joint_names_in_any_spelling():
    assert sdk_joint_name("left_shoulder") == "ShoulderLeft"
    assert sdk_joint_name("hip_center") == "HipCenter"
    assert sdk_joint_name("ShoulderRight") == "ShoulderRight"
    with pytest.raises(KeyError):
        sdk_joint_name("left_thumb")


def test_readers_are_registered():
    for name, folder in (("kinder_gator", "kinder-gator"), ("utd_mhad", "utd-mhad"), ("nw_ucla", "nw-ucla")):
        src = sources._SOURCES[name]
        assert src.folder == folder and src.fps == 30.0 and "spine mid" in src.geometry


# ------------------------------------------------------------------------------------- Kinder-Gator


def write_kinder_csv(path, seq: np.ndarray, step_ms: float = 32.0, order=None) -> list[str]:
    """A trial in the dataset's CSV form (joint columns in ``order``); returns its lines."""
    order = order or list(KINECT_V1_JOINTS)
    header = ["Timestamp"] + [f"{j}{a}" for j in order for a in "XYZ"] + ["User-ID", "Action", ""]
    lines = [",".join(header)]
    for t, frame in enumerate(seq):
        values = [f"{36868922.9 + step_ms * t:.4f}"] + [f"{v:.6f}" for j in order for v in frame[K1[j]]]
        lines.append(",".join(values + ["565", "Bow", ""]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_kinder_gator_good_files(tmp_path):
    seq = sequence(31)
    write_kinder_csv(tmp_path / "Adults" / "POSE-p565_05-Bow-1469182474370.csv", seq,
                     order=list(reversed(KINECT_V1_JOINTS)))  # columns are read by name, not position
    write_kinder_csv(tmp_path / "Children" / "POSE-p337_54-Climb-and-imaginary-ladder-1455367043169.csv", seq)
    write_kinder_csv(tmp_path / "Adults" / "POSE-p565_53-Throw-a-ball--1455619789555.csv", seq)
    (tmp_path / "Adults" / "notes.csv").write_text("x\n")
    ds, report = load_kinder_gator(tmp_path, progress=False)
    assert report.loaded == 3 and sum(len(v) for v in report.skipped.values()) == 1
    names = [ds.class_names[c] for c in ds.labels]
    assert names == ["Bow", "Throw a ball", "Climb an imaginary ladder"]  # sorted paths: Adults/ first
    assert list(ds.meta["subject"]) == ["p565", "p565", "p337"]
    assert list(ds.meta["group"]) == ["adult", "adult", "child"]
    assert list(ds.meta["take"]) == ["5", "53", "54"] and set(ds.meta["view"]) == {"0"}
    assert ds.fps == 30.0 and ds.label_set == "kinder_gator"
    # 30 frames 32 ms apart = 0.96 s -> 30 fps gives round(0.96 * 30) + 1 = 30 frames
    assert ds.sequence(0).shape == (30, 1, 25, 3)
    first = ds.sequence(0)[0, 0]
    assert np.allclose(first, kinect_v1_to_ntu(seq[0]), atol=1e-5)


def test_kinder_gator_repeated_timestamp_keeps_later_row(tmp_path):
    f = tmp_path / "POSE-p565_05-Bow-1.csv"
    lines = write_kinder_csv(f, sequence(5))
    lines[3] = lines[2].split(",", 1)[0] + "," + lines[3].split(",", 1)[1]
    f.write_text("\n".join(lines))
    joints, ts = read_trial(f)
    assert len(joints) == 4 and np.all(np.diff(ts) > 0)
    assert np.allclose(joints[1], sequence(5)[2], atol=1e-5)


@pytest.mark.parametrize("bad", ["short", "nan", "text"])
def test_kinder_gator_bad_row_names_file_and_line(tmp_path, bad):
    f = tmp_path / "POSE-p565_05-Bow-1.csv"
    lines = write_kinder_csv(f, sequence(6))
    fields = lines[4].split(",")
    if bad == "short":
        fields = fields[:30]
    else:
        fields[7] = "nan" if bad == "nan" else "oops"
    lines[4] = ",".join(fields)
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"POSE-p565_05-Bow-1\.csv:5: "):
        read_trial(f)
    write_kinder_csv(tmp_path / "POSE-p565_06-Bow-2.csv", sequence(6))  # the scan skips the bad file, says why
    ds, report = load_kinder_gator(tmp_path, progress=False)
    assert len(ds) == 1 and any("POSE-p565_05-Bow-1.csv" in v for v in report.skipped.values())


def test_kinder_gator_header_without_a_joint(tmp_path):
    f = tmp_path / "POSE-p565_05-Bow-1.csv"
    lines = write_kinder_csv(f, sequence(3))
    f.write_text("\n".join([lines[0].replace("HeadY", "HeadQ")] + lines[1:]))
    with pytest.raises(DataError, match=r"Bow-1\.csv:1: .*HeadY"):
        read_trial(f)


# ----------------------------------------------------------------------------------------- UTD-MHAD


def write_utd_mat(path, seq: np.ndarray, key: str = "d_skel") -> None:
    from scipy.io import savemat

    rows = [K1[sdk_joint_name(n)] for n in UTD_JOINTS]  # the dataset's head-first order
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {key: seq[:, rows].transpose(1, 2, 0)})


def test_utd_mhad_good_files(tmp_path):
    seq = sequence(10)
    skel = tmp_path / "Skeleton"
    write_utd_mat(skel / "a3_s2_t4_skeleton.mat", seq)
    write_utd_mat(skel / "a27_s8_t1_skeleton.mat", seq[:4])
    order = "The skeleton joint order in UTD-MAD dataset:\n\n" + "".join(
        f"{i}. {n};\n" for i, n in enumerate(UTD_JOINTS, start=1))
    (skel / "Skeleton_joint_order.txt").write_text(order)
    ds, report = load_utd_mhad(tmp_path, progress=False)
    assert report.loaded == 2 and not report.skipped
    assert [ds.class_names[c] for c in ds.labels] == ["squat", "right hand wave"]
    assert list(ds.meta["subject"]) == ["8", "2"] and list(ds.meta["take"]) == ["1", "4"]
    assert set(ds.meta["view"]) == {"0"} and ds.label_set == "utd_mhad"
    assert ds.sequence(1).shape == (10, 1, 25, 3)
    assert np.allclose(ds.sequence(1)[:, 0], kinect_v1_to_ntu(seq), atol=1e-6)  # joints matched by name


@pytest.mark.parametrize("key,shape,message", [
    ("skeleton", (20, 3, 5), r"no field 'd_skel'"),
    ("d_skel", (25, 3, 5), r"field 'd_skel' must be \(20, 3, T\), got \(25, 3, 5\)"),
    ("d_skel", (20, 5), r"field 'd_skel' must be"),
])  # fmt: skip
def test_utd_mhad_wrong_field_names_file_and_field(tmp_path, key, shape, message):
    from scipy.io import savemat

    f = tmp_path / "a1_s1_t1_skeleton.mat"
    savemat(f, {key: np.ones(shape)})
    with pytest.raises(DataError, match=r"a1_s1_t1_skeleton\.mat: " + message):
        read_mat(f)


def test_utd_mhad_nan_and_garbage(tmp_path):
    seq = sequence(6)
    seq[3, 5] = np.nan
    f = tmp_path / "a1_s1_t1_skeleton.mat"
    write_utd_mat(f, seq)
    with pytest.raises(DataError, match=r"a1_s1_t1_skeleton\.mat: field 'd_skel' frame 3"):
        read_mat(f)
    g = tmp_path / "a1_s1_t2_skeleton.mat"
    g.write_bytes(b"not a mat file at all")
    with pytest.raises(DataError, match=r"a1_s1_t2_skeleton\.mat"):
        read_mat(g)


# ------------------------------------------------------------------------------------------ NW-UCLA


def write_nw_json(path, seq: np.ndarray, label: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"file_name": path.stem, "skeletons": seq.tolist(), "label": label}))


def test_nw_ucla_good_files(tmp_path):
    seq = sequence(8)
    write_nw_json(tmp_path / "all_sqe" / "a08_s03_e01_v02.json", seq, 7)
    write_nw_json(tmp_path / "all_sqe" / "a12_s10_e00_v03.json", seq[:1], 10)  # one-frame files exist
    ds, report = load_nw_ucla(tmp_path, progress=False)
    assert report.loaded == 2
    assert [ds.class_names[c] for c in ds.labels] == ["donning", "carry"]
    assert list(ds.meta["subject"]) == ["3", "10"] and list(ds.meta["view"]) == ["2", "3"]
    assert list(ds.meta["take"]) == ["1", "0"] and ds.label_set == "nw_ucla"
    assert list(ds.lengths) == [8, 1]
    assert np.allclose(ds.sequence(0)[:, 0], kinect_v1_to_ntu(seq), atol=1e-6)


def test_nw_ucla_label_disagreeing_with_name_fails(tmp_path):
    write_nw_json(tmp_path / "a08_s03_e01_v02.json", sequence(4), 8)  # label 8 is a09, not a08
    with pytest.raises(DataError, match=r"a08_s03_e01_v02\.json: field 'label' 8 means action a09"):
        load_nw_ucla(tmp_path, progress=False)


def test_nw_ucla_malformed_files_name_file_and_field(tmp_path):
    f = tmp_path / "a01_s01_e00_v01.json"
    f.write_text('{"skeletons": [[[1, 2, 3]]], "label": 1')  # truncated
    with pytest.raises(DataError, match=r"a01_s01_e00_v01\.json: not valid JSON"):
        read_sequence(f)
    write_nw_json(f, sequence(4)[:, :15], 1)
    with pytest.raises(DataError, match=r"a01_s01_e00_v01\.json: field 'skeletons' must be \(T, 20, 3\)"):
        read_sequence(f)
    seq = sequence(4)
    seq[2, 0, 1] = np.nan
    f.write_text(json.dumps({"skeletons": seq.tolist(), "label": 1}))  # Python writes NaN
    with pytest.raises(DataError, match=r"a01_s01_e00_v01\.json: field 'skeletons' frame 2"):
        read_sequence(f)
    f.write_text(json.dumps({"skeletons": sequence(2).tolist()}))
    with pytest.raises(DataError, match=r"a01_s01_e00_v01\.json: no field 'label'"):
        read_sequence(f)
    f.write_text(json.dumps({"skeletons": sequence(2).tolist(), "label": 11}))
    with pytest.raises(DataError, match=r"field 'label' must be an integer 1\.\.10"):
        read_sequence(f)


def test_nw_ucla_all_zero_frames_are_dropped_and_reported(tmp_path):
    seq = sequence(5)
    seq[1] = 0  # an all-zero frame: no skeleton tracked
    write_nw_json(tmp_path / "a01_s01_e00_v01.json", seq, 1)
    write_nw_json(tmp_path / "a01_s01_e01_v01.json", np.zeros((3, 20, 3)), 1)
    ds, report = load_nw_ucla(tmp_path, progress=False)
    assert len(ds) == 1 and ds.lengths[0] == 4
    assert report.skipped["no skeleton in any frame"] == ["a01_s01_e01_v01.json"]
    assert report.skipped["kept, all-zero (no skeleton) frames dropped"] == ["a01_s01_e00_v01.json"]


@pytest.mark.skipif(not NW_ARCHIVE.exists(), reason=f"{NW_ARCHIVE} not present")
def test_real_nw_ucla_archive(tmp_path):
    start = time.perf_counter()
    with tarfile.open(NW_ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    ds, report = load_nw_ucla(tmp_path / "nw-ucla", progress=False)
    assert report.loaded == len(ds) == 1484 and not report.skipped
    assert len(set(ds.labels)) == 10 == len(ds.class_names)
    assert len(set(ds.meta["subject"])) == 10 and set(ds.meta["view"]) == {"1", "2", "3"}
    # geometry: y up and metres (head joint ~1.5 m above the feet), the person's left at smaller x
    first = np.stack([ds.sequence(i)[0, 0] for i in range(len(ds))])
    height = first[:, J["head"], 1] - first[:, [J["left_foot"], J["right_foot"]], 1].mean(axis=1)
    assert 1.2 < np.median(height) < 1.8
    assert np.mean(first[:, J["left_shoulder"], 0] < first[:, J["right_shoulder"], 0]) > 0.9
    assert time.perf_counter() - start < 20
