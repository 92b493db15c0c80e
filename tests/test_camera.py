"""The camera side: real MediaPipe (both pose backends) on a real clip through the whole runtime to a real ZeroMQ
subscriber; a recording of that run replays to the same events; the tracker; source errors."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.recording import read_recording
from runtime.sources import SourceError, open_source
from runtime.tracker import Tracker

from conftest import SHARED
from streamtools import check_stream, finish, start

CLIP = SHARED / "realdata-dev" / "video" / "stgcn_ta_chi.mp4"
TASK = SHARED / "models" / "pose_landmarker_full.task"
VOCAB = "hand waving\nclapping\nmaking arm circles\nstretching oneself\nwalking\nkicking something\n"
needs_clip = pytest.mark.skipif(not CLIP.exists(), reason="../shared/realdata-dev is absent")


def run_clip(tmp_path, bundle_dir, **source_kw):
    frames, info = open_source(str(CLIP), realtime=False, **source_kw)
    used = [frames]
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: used.pop(), vocab=VOCAB, info=info,
                                     realtime=False, save_skeletons=str(tmp_path / "live.jsonl"))
    finish(app, sub, thread, timeout=240)
    assert result["code"] == 0
    return sub, info


def plausible(sub, tracking: str) -> None:
    check_stream(sub)
    preds = sub.of("prediction")
    assert len(preds) >= 25, "a window every 6 frames of a 10 s clip"
    labels = set(VOCAB.split("\n")) - {""}
    assert all(p["top_k"][0]["label"] in labels and p["person"] == 0 for p in preds)
    assert all(-1 <= p["top_k"][0]["score"] <= 1 for p in preds)
    assert {b["tracking"] for b in sub.of("heartbeat")} == {tracking}
    assert not any("image" in m or "frame" in m for _, m, _ in sub.messages), "only skeletons and labels leave"


@needs_clip
def test_solutions_backend_on_a_real_clip_to_a_subscriber(tmp_path, bundle_dir):
    sub, info = run_clip(tmp_path, bundle_dir)
    assert info.pose == "mediapipe-solutions" and info.tracking == "single-person"
    plausible(sub, "single-person")
    frames = list(read_recording(tmp_path / "live.jsonl"))
    detected = [f for f in frames if f.people]
    assert len(detected) > 0.9 * len(frames) > 250, "MediaPipe finds the person in nearly every frame"
    torso = np.median([np.linalg.norm(f.people[0].joints[20] - f.people[0].joints[0]) for f in detected])
    assert 0.35 < torso < 0.7

    # the recording replays to the same events as the live run that made it
    live = [(p["top_k"][0]["label"], p["top_k"][0]["score"]) for p in sub.of("prediction")]
    live_actions = [(m["type"], m["label"]) for _, m, _ in sub.messages if m["type"] in ("action.start", "action.end")]
    path = tmp_path / "live.jsonl"
    app, sub2, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), vocab=VOCAB, realtime=False)
    finish(app, sub2, thread)
    replay = [(p["top_k"][0]["label"], p["top_k"][0]["score"]) for p in sub2.of("prediction")]
    assert len(replay) == len(live)
    margins = [p["top_k"][0]["score"] - p["top_k"][1]["score"] for p in sub.of("prediction")]
    for (a, sa), (b, sb), m in zip(live, replay, margins):
        assert a == b or m < 3e-3, "the same decisions, up to near ties"
        assert abs(sa - sb) < 3e-3  # the recording keeps millimetres; the motion stream differences them
    assert [(m["type"], m["label"]) for _, m, _ in sub2.messages if m["type"] in ("action.start", "action.end")] == live_actions


@needs_clip
@pytest.mark.skipif(not TASK.exists(), reason="../shared/models is absent")
def test_tasks_backend_with_a_task_file_and_several_people(tmp_path, bundle_dir):
    sub, info = run_clip(tmp_path, bundle_dir, pose_model=str(TASK), max_people=2)
    assert info.pose == "mediapipe-tasks" and info.tracking == "multi-person"
    plausible(sub, "multi-person")


def test_tracker_keeps_ids_and_frees_them():
    tr = Tracker(timeout_s=0.5)
    a, b = np.array([0.1, 0.1, 0.3, 0.8]), np.array([0.6, 0.1, 0.8, 0.8])
    assert tr.update(0.0, [a, b]) == [0, 1]
    step = np.array([0.02, 0, 0.02, 0])
    assert tr.update(0.1, [b + step, a + step]) == [1, 0]  # order of detections does not matter
    assert tr.update(0.2, [a + 2 * step]) == [0]
    assert tr.update(0.9, [b]) == [2], "person 1 timed out; a newcomer gets a new id"


def test_sources_fail_clearly(tmp_path):
    with pytest.raises(SourceError, match="no such file, and not a camera"):
        open_source(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with pytest.raises(SourceError, match="cannot open video file"):
        open_source(str(bad))
    with pytest.raises(SourceError, match="cannot open camera"):
        open_source("/dev/video97")
