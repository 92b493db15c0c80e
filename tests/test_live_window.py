"""bench.clips.live_window: the window a camera scores as a short action ends keeps the action's pace."""

from __future__ import annotations

import numpy as np

from tests.conftest import rest_pose


def _moving_frames(x: np.ndarray) -> int:
    """Frames of a (C, T, V, M) model input that differ from the frame before."""
    step = np.abs(np.diff(x, axis=1)).max(axis=(0, 2, 3))
    return int((step > 1e-6).sum())


def test_a_short_action_ends_a_live_window_at_its_own_pace():
    from bench.clips import clip_windows, live_window
    from runtime.bundle import DEFAULT_BUNDLE, load_bundle

    bundle = load_bundle(DEFAULT_BUNDLE)
    fps, frames = 30.0, 20  # two thirds of a second: shorter than the 2.4 s window
    seq = np.repeat(rest_pose()[None], frames, axis=0)
    seq[:, 11, 1] += 0.02 * np.arange(frames)  # the right hand rises steadily
    live = live_window(seq, fps, bundle)
    share = frames / fps / bundle.spec.window_seconds  # the part of the window the action fills in real time
    t = live.shape[2]
    assert abs(_moving_frames(live[0]) - share * t) <= 2, "the action fills its real share of the window"
    stretched = clip_windows(seq, fps, bundle)  # what the clip benchmark scores: the clip over the whole window
    assert live.shape == stretched.shape and len(stretched) == 1
    assert _moving_frames(stretched[0]) >= t - 2
