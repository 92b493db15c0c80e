"""Everything after "a skeleton frame arrives": per-person ring buffers, a window every ``stride`` frames, batched
inference, scoring against the vocabulary, decisions, the events they publish, then on-device adaptation.

A window's score of a label is what the bundle's manifest says a score is (``Bundle.score_kind``): a weighted
cosine (features mode: the runtime computes it; conditioned mode: the graph returns it), or the conditioned graph's
logit divided by the logit scale. Thresholds, smoothing, margins and events all read that one scale, and
``prob`` is the softmax of score x logit scale. Adaptation runs only where the bundle allows it (a method without a
shared feature space turns it off).

    rec = Recognizer(bundle, backend, vocabulary, publisher, RecognizerConfig())
    rec.push(time.monotonic(), [Person(id=0, joints=...)])   # per frame, from any source
    rec.close()                                               # ends what is active, flushes
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from runtime.adaptation import AdaptationConfig, PrototypeAdapter, softmax
from runtime.backends.base import Backend
from runtime.bundle import Bundle
from runtime.decisions import DecisionConfig, Ended, PersonDecider, Started
from runtime.enrolment import calibrated
from runtime.frames import Person
from runtime.scoring import score, score_matrix
from runtime.skeleton import pad_persons, preprocess, resample_by_time
from runtime.vocab import Vocabulary

log = logging.getLogger("runtime")
STAGES = ("preprocess", "encoder", "scoring", "decisions", "publish", "adaptation")  # in the order they run


@dataclass
class RecognizerConfig:
    stride: int = 8  # frames of a person between two windows
    window_seconds: float | None = None  # default: the bundle's input spec
    min_coverage: float = 0.6  # a window needs frames over this fraction of its duration
    top_k: int = 5
    person_timeout: float = 2.0  # seconds without a frame before a person's track is dropped
    adapt: bool = True
    adaptation: AdaptationConfig | None = None  # default: the bundle's
    decisions: DecisionConfig = field(default_factory=DecisionConfig)
    thresholds: dict[str, float] = field(default_factory=dict)  # per-label "unknown" thresholds
    unknown_threshold: float | None = None  # overrides the bundle's calibrated one
    predictions: bool = True  # publish a prediction per window


class FrameBuffer:
    """A person's recent frames in two preallocated arrays (timestamps, joints), so that a window is a slice,
    not a stack of many small arrays. Holds the last ``capacity`` frames; storage is twice that, and the newest
    half moves to the front when it fills (amortised O(1) per frame)."""

    def __init__(self, capacity: int, joints: int = 25):
        self.capacity = capacity
        self.t = np.empty(2 * capacity, dtype=np.float64)
        self.joints = np.empty((2 * capacity, joints, 3), dtype=np.float64)
        self.start = self.end = 0

    def __len__(self) -> int:
        return self.end - self.start

    def append(self, t: float, joints: np.ndarray) -> None:
        joints = np.asarray(joints)
        if joints.shape != self.joints.shape[1:]:  # numpy would broadcast a wrong shape into the buffer
            raise ValueError(f"a person's joints must be {self.joints.shape[1:]}, got {joints.shape}")
        finite = np.isfinite(joints)
        if not finite.all():  # a joint with a NaN or inf coordinate is missing (all zero), as in NTU files
            joints = np.where(finite.all(axis=-1, keepdims=True), joints, 0.0)
        if self.end == len(self.t):
            keep = self.capacity - 1
            self.t[:keep] = self.t[self.end - keep:self.end]
            self.joints[:keep] = self.joints[self.end - keep:self.end]
            self.start, self.end = 0, keep
        self.t[self.end] = t
        self.joints[self.end] = joints
        self.end += 1
        if self.end - self.start > self.capacity:
            self.start += 1

    @property
    def first_t(self) -> float:
        return float(self.t[self.start])

    @property
    def last_t(self) -> float:
        return float(self.t[self.end - 1])

    def since(self, t_start: float) -> tuple[np.ndarray, np.ndarray]:
        """Timestamps and joints of the frames at or after ``t_start`` (views, oldest first)."""
        i = self.start + int(np.searchsorted(self.t[self.start:self.end], t_start, side="left"))
        return self.t[i:self.end], self.joints[i:self.end]


@dataclass
class _Track:
    frames: FrameBuffer
    since_last: int = 0
    last_seen: float = 0.0


def check_thresholds(rc: RecognizerConfig, bundle: Bundle) -> None:
    """The thresholds set lie in the bundle's score range (a cosine's [-1, 1]; InfoCPL's log-probabilities
    (-inf, 0]): one outside could never be crossed, or always is. The default threshold counts only where neither
    the bundle nor the configuration gives one. A ValueError naming the flag and the range."""
    lo, hi = bundle.score_range
    given = ([("--unknown-threshold", rc.unknown_threshold)] if rc.unknown_threshold is not None else []) + \
        [(f"--threshold {label}=", v) for label, v in rc.thresholds.items()]
    if rc.unknown_threshold is None and bundle.unknown_threshold is None:
        given.append(("--default-threshold", rc.decisions.default_threshold))
    ends = f"{'(-inf' if math.isinf(lo) else f'[{lo:g}'}, {'inf)' if math.isinf(hi) else f'{hi:g}]'}"
    for name, value in given:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"{name}{'' if name.endswith('=') else ' '}{value!r}: a threshold must be a score in "
                             f"{ends}, what this bundle's scores ({bundle.score_kind}) range over")


class Recognizer:
    def __init__(self, bundle: Bundle, backend: Backend, vocabulary: Vocabulary, publisher, config: RecognizerConfig,
                 tracking: str = "single-person"):
        check_thresholds(config, bundle)
        self.bundle, self.backend, self.publisher, self.config = bundle, backend, publisher, config
        self.spec = bundle.spec
        self.window_s = config.window_seconds or self.spec.window_seconds
        self.tracks: dict[int, _Track] = {}
        self.deciders: dict[int, PersonDecider] = {}
        self.lock = threading.RLock()
        self.tracking = tracking
        adaptation = config.adaptation or AdaptationConfig.from_dict(bundle.manifest.get("adaptation", {}))
        adapt = config.adapt and bundle.adaptation_enabled
        if config.adapt and not adapt:
            log.info("adaptation off: the bundle's method has no shared feature space (manifest adaptation.enabled)")
        self.adapter = PrototypeAdapter(vocabulary.prototypes, adaptation, vocabulary.labels) if adapt else None
        # scores on one scale: weighted cosines, or a conditioned graph's logits divided by the logit scale
        self._score_unit = bundle.logit_scale if bundle.score_kind == "logit" else 1.0
        self.vocab = vocabulary
        self.thresholds = self._thresholds(vocabulary)
        self._matrix, self._matrix_for = None, None  # scoring's matrix, and the prototypes it was made from
        self._floor, self._floor_for = None, None  # the same for enrolled labels' words (runtime.enrolment)
        # figures for the heartbeat
        self.started = time.monotonic()
        self.frames_in = 0
        self.windows = 0
        self.dropped_frames = 0
        self.latency: dict[str, deque] = {s: deque(maxlen=256) for s in STAGES}
        self.latest: dict[int, dict] = {}  # person -> last window's result (for overlays)
        # so that a user can tell "not recognised" from "not running": totals since start, and the best score
        # against its threshold, since start and per heartbeat interval
        self.windows_total = 0
        self.actions_total = 0
        self.best_total: dict | None = None
        self.best_interval: dict | None = None

    # ------------------------------------------------------------------------------ vocabulary
    def _thresholds(self, vocab: Vocabulary) -> np.ndarray:
        base = self.config.unknown_threshold
        if base is None:
            base = self.bundle.unknown_threshold
        if base is None:
            base = self.config.decisions.default_threshold
        over = {k.lower(): v for k, v in {**vocab.thresholds, **self.config.thresholds}.items()}
        return np.array([over.get(label.lower(), base) for label in vocab.labels], dtype=np.float64)

    def set_vocabulary(self, vocab: Vocabulary) -> None:
        """Swap the vocabulary between two windows: active actions end, adaptation starts over."""
        with self.lock:
            for pid, d in self.deciders.items():
                self._emit(pid, d.finish("vocabulary_changed"))
            self.vocab = vocab
            self.thresholds = self._thresholds(vocab)
            for d in self.deciders.values():
                d.set_vocabulary(vocab.labels, self.thresholds)
            if self.adapter is not None:
                self.adapter.reset(vocab.prototypes, vocab.labels)

    @property
    def prototypes(self) -> np.ndarray:
        return self.adapter.prototypes if self.adapter is not None else self.vocab.prototypes

    # ------------------------------------------------------------------------------------ frames
    def push(self, t: float, people: list[Person]) -> int:
        """A frame at monotonic time t with the people in it; returns how many windows it completed."""
        with self.lock:
            self.frames_in += 1
            due = []
            maxlen = int(self.window_s * 60) + 8  # enough for a window at up to 60 fps
            for p in people:
                track = self.tracks.get(p.id)
                if track is None:
                    track = self.tracks[p.id] = _Track(FrameBuffer(maxlen))
                    self.deciders[p.id] = PersonDecider(self.vocab.labels, self.thresholds, self.config.decisions)
                track.frames.append(t, p.joints)
                track.last_seen = t
                track.since_last += 1
                if track.since_last >= self.config.stride and self._covered(track, t):
                    track.since_last = 0
                    due.append(p.id)
            self.tick(t)
            if due:
                self._infer(t, due)
            return len(due)

    def tick(self, t: float) -> None:
        """Drop the tracks of people not seen for ``person_timeout`` (also called when no frame comes at all)."""
        with self.lock:
            for pid in [pid for pid, tr in self.tracks.items() if t - tr.last_seen > self.config.person_timeout]:
                self._emit(pid, self.deciders[pid].finish("person_lost"))
                del self.tracks[pid], self.deciders[pid]
                self.latest.pop(pid, None)

    def _covered(self, track: _Track, t: float) -> bool:
        return len(track.frames) >= 4 and t - track.frames.first_t >= self.config.min_coverage * self.window_s

    def window(self, pid: int) -> np.ndarray:
        """The model input of a person's last ``window_s`` seconds: resampled by timestamp, then the shared
        preprocessing (the same function training used)."""
        frames = self.tracks[pid].frames
        ts, joints = frames.since(frames.last_t - self.window_s - 1e-6)
        seq = resample_by_time(joints, ts, self.spec.frames, self.window_s)
        return preprocess(pad_persons(seq[:, None], self.spec.persons), self.spec)

    def _infer(self, t: float, pids: list[int]) -> None:
        lat = self.latency
        t0 = time.perf_counter()
        x = np.stack([self.window(pid) for pid in pids])
        t1 = time.perf_counter()
        protos = self.prototypes
        if self.bundle.mode == "features":
            feats = self.backend.features(x)
            t2 = time.perf_counter()
            if self._matrix_for is not protos:  # the prototypes changed (adaptation, new vocabulary)
                self._matrix, self._matrix_for = score_matrix(protos, self.bundle.weights), protos
            floor = self.vocab.floor_prototypes
            if floor is not None and self._floor_for is not floor:
                self._floor, self._floor_for = score_matrix(floor, self.bundle.weights), floor
            # enrolled labels: put on the text prototypes' scale, floored at their words' score
            cos = calibrated(score(feats, protos, self.bundle.weights, 1.0, self._matrix), feats, self.vocab,
                             self.bundle.weights, self._floor if floor is not None else None)
        else:
            cos, emb = self.backend.conditioned(x, protos)
            t2 = time.perf_counter()
            if self._score_unit != 1.0:  # logits: thresholds, margins and smoothing read logit / scale
                cos = cos / self._score_unit
            feats = emb[np.arange(len(cos)), cos.argmax(1)]
        probs = softmax(cos * self.bundle.logit_scale)
        self._track_best(cos)
        t3 = time.perf_counter()
        events = [(pid, self.deciders[pid].update(t, cos[i])) for i, pid in enumerate(pids)]
        t4 = time.perf_counter()
        k = min(self.config.top_k, cos.shape[1])
        for i, pid in enumerate(pids):
            order = np.argsort(-cos[i])[:k]
            best = int(order[0])
            unknown = bool(cos[i, best] < self.thresholds[best])
            top_k = [{"label": self.vocab.labels[j], "score": round(float(cos[i, j]), 4),
                      "prob": round(float(probs[i, j]), 4)} for j in order]
            active = self.deciders[pid].active
            self.latest[pid] = {"label": None if unknown else self.vocab.labels[best], "unknown": unknown,
                                "top_k": top_k, "active": active.label if active else None,
                                "score": float(cos[i, best])}
            if self.config.predictions:
                self.publisher.publish("prediction", person=int(pid), frame_ts=t, window_s=self.window_s, top_k=top_k,
                                       label=self.latest[pid]["label"], unknown=unknown)
        for pid, evs in events:
            self._emit(pid, evs)
        t5 = time.perf_counter()
        # adaptation last: what it learns from this window serves the next ones, so it waits until this
        # window's results are out
        if self.adapter is not None:
            self.adapter.observe(feats, cos)
        t6 = time.perf_counter()
        for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            lat[stage].append(dt * 1000)
        self.windows += len(pids)
        self.windows_total += len(pids)

    def _track_best(self, cos: np.ndarray) -> None:
        """Remember the window score closest to (or furthest over) its label's threshold."""
        margin = cos - self.thresholds[None, :]
        i, j = np.unravel_index(int(np.argmax(margin)), margin.shape)
        best = {"label": self.vocab.labels[j], "score": round(float(cos[i, j]), 4),
                "threshold": round(float(self.thresholds[j]), 4)}
        for attr in ("best_total", "best_interval"):
            cur = getattr(self, attr)
            if cur is None or best["score"] - best["threshold"] > cur["score"] - cur["threshold"]:
                setattr(self, attr, best)

    def summary(self) -> dict:
        """Windows scored, actions decided and the best score against its threshold, since start, with a
        sentence that says which of "not running", "nothing recognised" and "recognised" it was."""
        with self.lock:
            best = self.best_total
            if self.windows_total == 0:
                msg = "no window was scored (no person was seen long enough for one window)"
            elif self.actions_total == 0:
                msg = (f"no action decided: {self.windows_total} windows scored; the best was '{best['label']}' "
                       f"at {best['score']:.3f}, under its threshold {best['threshold']:.3f}"
                       if best["score"] < best["threshold"] else
                       f"no action decided: {self.windows_total} windows scored; '{best['label']}' reached "
                       f"{best['score']:.3f} over its threshold {best['threshold']:.3f} but never for the minimum duration")
            else:
                msg = f"{self.actions_total} actions decided from {self.windows_total} windows"
            return {"windows_scored": self.windows_total, "actions_decided": self.actions_total, "best": best,
                    "message": msg}

    def _emit(self, pid: int, events: list[Started | Ended]) -> None:
        now_mono, now_wall = time.monotonic(), time.time()
        for e in events:
            if isinstance(e, Started):
                self.actions_total += 1
                log.info(f"person {pid}: START {e.label} (score {e.score:.2f})")
                self.publisher.publish("action.start", person=int(pid), label=e.label, score=round(e.score, 4),
                                       start_ts=e.t, start_wall=now_wall - (now_mono - e.t))
            else:
                log.info(f"person {pid}: END   {e.label} after {e.duration:.1f} s ({e.reason})")
                self.publisher.publish("action.end", person=int(pid), label=e.label, start_ts=e.t_start, end_ts=e.t_end,
                                       duration_s=round(e.duration, 3), mean_score=round(e.mean_score, 4),
                                       peak_score=round(e.peak_score, 4), reason=e.reason)

    # ---------------------------------------------------------------------------------- health
    def health(self, interval_s: float) -> dict:
        """Figures for a heartbeat; counters are per interval, latencies the medians of recent windows."""
        with self.lock:
            fps, windows = self.frames_in / interval_s, self.windows / interval_s
            self.frames_in = self.windows = 0
            latency = {s: round(float(np.median(v)), 3) if v else 0.0 for s, v in self.latency.items()}
            for v in self.latency.values():
                v.clear()
            best, self.best_interval = self.best_interval, None
            return {"windows_total": self.windows_total, "actions_total": self.actions_total, "best": best,
                    "uptime_s": round(time.monotonic() - self.started, 2), "fps_in": round(fps, 2),
                    "windows_per_s": round(windows, 2), "dropped_frames": int(self.dropped_frames),
                    "people": len(self.tracks), "backend": self.backend.describe(), "latency_ms": latency,
                    "vocab_size": len(self.vocab.labels), "vocab_id": self.vocab.fingerprint, "tracking": self.tracking}

    def close(self, reason: str = "shutdown") -> None:
        with self.lock:
            for pid, d in self.deciders.items():
                self._emit(pid, d.finish(reason))
