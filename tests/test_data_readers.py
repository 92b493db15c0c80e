"""Dataset readers on files written in the real formats, and on the real samples in ../shared."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.skeleton import InputSpec
from train.data.base import DataError, SkeletonDataset
from train.data.ntu import load_ntu_npz, load_ntu_skeletons, ntu_eval_split, parse_name, read_ntu_skeleton
from train.data.pku import load_pku, pku_eval_split, read_pku_labels, read_pku_skeleton, read_pku_split_file

from conftest import moving_sequence, rest_pose
from formats import write_ntu_skeleton, write_pku_labels, write_pku_sequence


def three_bodies(t: int = 30):
    active = moving_sequence(t)[:, 0]
    second = moving_sequence(t, seed=3)[:, 0] + np.array([0.8, 0, 0.2])
    still = np.repeat(rest_pose()[None] + np.array([-1.5, 0, 1.0]), t, axis=0)  # a motionless "noise" body
    return [still, active, second]


def test_ntu_reader_keeps_the_two_most_active_bodies(tmp_path):
    bodies = three_bodies()
    present = [np.ones(30, bool), np.ones(30, bool), np.r_[np.zeros(5, bool), np.ones(25, bool)]]
    f = tmp_path / "S001C002P003R001A058.skeleton"
    write_ntu_skeleton(f, bodies, present)
    s = read_ntu_skeleton(f)
    assert s.joints.shape == (30, 2, 25, 3)
    assert s.num_bodies == 3
    assert s.info == {"setup": 1, "camera": 2, "performer": 3, "replication": 1, "action": 58}
    main_matches = [np.allclose(s.joints[:, 0], b, atol=1e-5) for b in bodies]
    assert main_matches[1] or main_matches[2]
    assert not np.allclose(s.joints[:, 0], bodies[0], atol=1e-5)
    assert not np.allclose(s.joints[:, 1], bodies[0], atol=1e-5)
    # where the second person is absent, their slot is zero
    slot = 1 if main_matches[1] else 0
    assert np.all(s.joints[:5, slot] == 0) or np.all(s.joints[:5, 1 - slot] != 0)


def test_ntu_reader_errors_name_file_and_line(tmp_path):
    f = tmp_path / "S001C001P001R001A001.skeleton"
    write_ntu_skeleton(f, [moving_sequence(5)[:, 0]])
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:40]) + "\n")  # truncated in the middle of a body
    with pytest.raises(DataError, match=r"S001C001P001R001A001\.skeleton.*truncated at line 41"):
        read_ntu_skeleton(f)
    lines[10] = "0.1 abc 3.2 1 1 1 1 1 1 1 1 2"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"\.skeleton:11: non-numeric"):
        read_ntu_skeleton(f)
    lines[2] = "garbage"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r":3: body header needs 10 values"):
        read_ntu_skeleton(f)
    with pytest.raises(DataError, match="not an NTU sample name"):
        parse_name("foo")


def test_ntu_directory_scan_reports_every_skip(tmp_path):
    for name in ("S001C001P001R001A001", "S001C002P002R001A002", "S001C003P003R002A061"):
        write_ntu_skeleton(tmp_path / f"{name}.skeleton", [moving_sequence(8)[:, 0]])
    write_ntu_skeleton(tmp_path / "S001C002P005R002A008.skeleton", [moving_sequence(8)[:, 0]])  # official missing
    (tmp_path / "S001C001P004R001A003.skeleton").write_text("12\n1\n")  # broken
    ds, report = load_ntu_skeletons(tmp_path, "ntu60", progress=False)
    assert len(ds) == 2 and report.loaded == 2
    reasons = report.summary()
    assert "missing-skeleton list" in reasons and "outside ntu60" in reasons and "unreadable" in reasons
    assert sum(len(v) for v in report.skipped.values()) == 3
    assert sorted(ds.labels.tolist()) == [0, 1]
    train, test = ntu_eval_split(ds, "xsub")  # performers 1 and 2 are both training subjects
    assert train.all() and not test.any()
    train, test = ntu_eval_split(ds, "xview")  # camera 1 tests, camera 2 trains
    assert sorted(ds.meta["camera"][train].tolist()) == [2]
    with pytest.raises(DataError, match="unknown NTU protocol"):
        ntu_eval_split(ds, "xfoo")


def test_ntu_npz_archive(tmp_path):
    x = np.zeros((3, 300, 150), np.float32)
    for i in range(3):
        x[i, : 20 + i] = moving_sequence(20 + i)[:, 0].reshape(20 + i, 75).repeat(2, axis=1)[:, :150] + 0.1
    y = np.eye(60, dtype=np.float32)[[4, 7, 59]]
    path = tmp_path / "NTU60_CS.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
    ds = load_ntu_npz(path, "train")
    assert len(ds) == 3 and ds.label_set == "ntu60"
    assert ds.labels.tolist() == [4, 7, 59]
    assert ds.lengths.tolist() == [20, 21, 22]  # trailing zero padding removed
    assert ds.to_array(InputSpec(frames=16, persons=2)).shape == (3, 3, 16, 25, 2)
    np.savez(path, x_train=x[:, :, :100], y_train=y)
    with pytest.raises(DataError, match=r"x_train must be \(N, T, 150\)"):
        load_ntu_npz(path, "train")
    with pytest.raises(DataError, match="missing array 'x_test'"):
        load_ntu_npz(path, "test")


def test_dataset_cache_roundtrip_and_validation(tmp_path):
    seqs = [moving_sequence(n) for n in (5, 9)]
    ds = SkeletonDataset.from_sequences(seqs, [1, 0], ["a", "b"], "toy", {"name": ["x", "y"]})
    ds.save(tmp_path / "c.npz")
    back = SkeletonDataset.load(tmp_path / "c.npz")
    assert back.class_names == ["a", "b"] and back.meta["name"].tolist() == ["x", "y"]
    assert np.array_equal(back.sequence(1), ds.sequence(1))
    assert len(ds.subset([1])) == 1 and ds.subset(np.array([True, False])).labels.tolist() == [1]
    with pytest.raises(DataError, match="labels must index"):
        SkeletonDataset.from_sequences(seqs, [0, 5], ["a", "b"], "toy")
    with pytest.raises(DataError, match=r"\(T, M, 25, 3\)"):
        SkeletonDataset.from_sequences([np.zeros((4, 17, 3))], [0], ["a"], "toy")


def pku_sequence(t: int = 120) -> np.ndarray:
    seq = np.zeros((t, 2, 25, 3), np.float32)
    seq[:, 0] = moving_sequence(t)[:, 0]
    return seq


def test_pku_reader_cuts_segments(tmp_path):
    sk, lb = tmp_path / "skel", tmp_path / "label"
    sk.mkdir(), lb.mkdir()
    seq = pku_sequence(120)
    write_pku_sequence(sk / "0002-L.txt", seq)
    write_pku_labels(lb / "0002-L.txt", [(8, 1, 40, 1), (51, 50, 120, 2)])
    write_pku_sequence(sk / "0300-M.txt", seq)
    write_pku_labels(lb / "0300-M.txt", [(13, 10, 30, 1)])
    write_pku_sequence(sk / "0003-R.txt", seq)  # no label file
    ds, report = load_pku(sk, lb, progress=False)
    assert len(ds) == 3 and ds.labels.tolist() == [7, 50, 12]
    assert ds.lengths.tolist() == [40, 71, 21]  # 1-based inclusive frame numbers
    assert np.allclose(ds.sequence(0), seq[0:40], atol=1e-5)
    assert "no label file" in report.summary()
    train, test = pku_eval_split(ds, "xsub")  # sequence 300 is a cross-subject test sequence
    assert test.tolist() == [False, False, True]
    train, test = pku_eval_split(ds, "xview")
    assert test.tolist() == [True, True, False]


def test_pku_errors_name_file_and_line(tmp_path):
    f = tmp_path / "0002-L.txt"
    write_pku_sequence(f, pku_sequence(4))
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:2] + [" ".join(lines[2].split()[:100])] + lines[3:]) + "\n")
    with pytest.raises(DataError, match=r"0002-L\.txt:3: expected 150 numbers"):
        read_pku_skeleton(f)
    g = tmp_path / "labels.txt"
    g.write_text("8,1,40,1\n99,1,2,1\n")
    with pytest.raises(DataError, match=r"labels\.txt:2: action_id 99"):
        read_pku_labels(g)
    g.write_text("8,30,10,1\n")
    with pytest.raises(DataError, match=r":1: bad interval"):
        read_pku_labels(g)
    g.write_text("8,1,400,1\n")
    with pytest.raises(DataError, match="beyond the 4 frames"):
        read_pku_labels(g, num_frames=4)


def test_pku_official_split_file(tmp_path):
    f = tmp_path / "cross-subject.txt"
    f.write_text("Training videos: \n0002-L, 0002-M, 0003-R\nValidataion videos: \n0291-L, 0291-M\n")
    train, test = read_pku_split_file(f)
    assert train == {"0002-L", "0002-M", "0003-R"} and test == {"0291-L", "0291-M"}
    f.write_text("Training videos: \n0002-L, oops\n")
    with pytest.raises(DataError, match="not sequence ids"):
        read_pku_split_file(f)


def test_real_ntu_samples(realdata):
    one = read_ntu_skeleton(realdata / "ntu" / "S001C001P001R001A001.skeleton")
    assert one.joints.shape == (103, 2, 25, 3) and one.num_bodies == 1
    assert np.all(one.joints[:, 1] == 0) and np.all(one.joints[:, 0] != 0)
    two = read_ntu_skeleton(realdata / "ntu" / "S001C003P008R002A058.skeleton")
    assert two.joints.shape == (70, 2, 25, 3) and two.num_bodies >= 2
    assert np.any(two.joints[:, 1] != 0, axis=(1, 2)).mean() > 0.8  # the handshake partner is there
    gap = np.linalg.norm(two.joints[:, 0, 0] - two.joints[:, 1, 0], axis=-1)
    assert 0.3 < np.median(gap) < 2.0  # two people at handshake distance
    ds, report = load_ntu_skeletons(realdata / "ntu", "ntu60", progress=False)
    assert len(ds) == 2 and report.loaded == 2
    assert ds.labels.tolist() == [0, 57]


def test_real_pku_sequence(realdata, tmp_path):
    seq = read_pku_skeleton(realdata / "pku_mmd" / "A10N08-L.txt")
    assert seq.shape == (1040, 2, 25, 3)
    torso = np.linalg.norm(seq[:, 0, 20] - seq[:, 0, 0], axis=-1)
    assert 0.3 < np.median(torso) < 0.7  # metres, Kinect v2
    # the real sequence cut by a label file written here
    sk, lb = tmp_path / "s", tmp_path / "l"
    sk.mkdir(), lb.mkdir()
    (sk / "0010-L.txt").write_text((realdata / "pku_mmd" / "A10N08-L.txt").read_text())
    write_pku_labels(lb / "0010-L.txt", [(6, 100, 180, 1), (13, 400, 520, 2)])
    ds, _ = load_pku(sk, lb, progress=False)
    assert ds.lengths.tolist() == [81, 121]
