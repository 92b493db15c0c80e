"""A person's whole sequence cut into the device's windows: what the recogniser would score while it plays.

The recogniser (``runtime.recognizer``) makes a window every ``stride`` frames once a person has been seen for
``min_coverage`` of the window length, each window the last ``window_s`` seconds resampled by time and put
through the shared preprocessing. Enrolment (``runtime.enrolment``) and the clip benchmarks (``bench.clips``)
replay recordings and datasets through this one function, so that an example's or a clip's windows are the
ones the device would see.
"""

from __future__ import annotations

import numpy as np

from runtime.skeleton import InputSpec, pad_persons, preprocess, resample_by_time


def window_at(seq: np.ndarray, ts: np.ndarray, k: int, spec: InputSpec, window_s: float) -> np.ndarray:
    """(C, T, V, M): the model input of the window that ends at frame ``k``, the last ``window_s`` seconds
    resampled by time (stretched over what there is when the frames cover less)."""
    lo = int(np.searchsorted(ts, ts[k] - window_s - 1e-6, side="left"))
    w = resample_by_time(seq[lo : k + 1], ts[lo : k + 1], spec.frames, window_s)
    return preprocess(pad_persons(w[:, None], spec.persons), spec)


def sequence_windows(seq: np.ndarray, ts: np.ndarray, spec: InputSpec, window_s: float | None = None,
                     stride: int = 4, min_coverage: float = 0.6) -> np.ndarray:
    """(W, C, T, V, M) model inputs of one person's frames ``seq`` (T, 25, 3) at times ``ts`` (T,) seconds.

    A sequence shorter than one window's minimum coverage gives one window of what there is (the device would
    wait for more frames; an example or a clip is all there is)."""
    seq, ts = np.asarray(seq, dtype=np.float64), np.asarray(ts, dtype=np.float64)
    if len(seq) == 0:
        raise ValueError("no frames")
    window_s = window_s or spec.window_seconds
    out = []
    since = 0
    for k in range(len(seq)):
        since += 1
        covered = k + 1 >= 4 and ts[k] - ts[0] >= min_coverage * window_s
        if since >= stride and covered:
            since = 0
            out.append(window_at(seq, ts, k, spec, window_s))
    if not out:
        w = resample_by_time(seq, ts, spec.frames, max(ts[-1] - ts[0], 1e-3))
        out.append(preprocess(pad_persons(w[:, None], spec.persons), spec))
    return np.stack(out)
