"""From per-window scores to decided actions: smoothing, "unknown", hysteresis and a minimum duration, so that
an action yields one start event and one end event with its duration, not a flicker.

Per person, every window:
  1. smooth the scores (weighted cosines, or a conditioned bundle's logits divided by its logit scale: the
     recogniser puts them on that one scale, ``runtime.recognizer``) with an exponential moving average
     (``smoothing`` = weight of the new window);
  2. the candidate is the best label if its smoothed score reaches its threshold (the calibrated "unknown"
     threshold, per-label overrides allowed) plus ``enter_margin``; otherwise the candidate is unknown;
  3. a candidate that stays the same for ``min_duration`` seconds starts (the start time is when it first
     became the candidate); an active action ends when its smoothed score falls below threshold - ``exit_margin``
     or another label has been the candidate for ``min_duration``, then the other starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DecisionConfig:
    smoothing: float = 0.5
    enter_margin: float = 0.02
    exit_margin: float = 0.03
    min_duration: float = 0.5  # seconds a candidate must persist before it starts (and switches)
    default_threshold: float = 0.3  # used when the bundle has no calibrated threshold

    def __post_init__(self):
        checks = [("smoothing", 0 < self.smoothing <= 1, "in (0, 1]"), ("enter_margin", self.enter_margin >= 0, ">= 0"),
                  ("exit_margin", self.exit_margin >= 0, ">= 0"), ("min_duration", self.min_duration >= 0, ">= 0"),
                  ("default_threshold", math.isfinite(self.default_threshold), "a finite number (its range is the bundle's)")]
        for name, ok, what in checks:
            if not ok:  # also false for NaN
                raise ValueError(f"decisions: {name} must be {what}, got {getattr(self, name)!r}")


@dataclass
class Started:
    label: str
    t: float
    score: float


@dataclass
class Ended:
    label: str
    t_start: float
    t_end: float
    mean_score: float
    peak_score: float
    reason: str

    @property
    def duration(self) -> float:
        return self.t_end - self.t_start


@dataclass
class _Active:
    label: str
    t_start: float
    scores: list[float] = field(default_factory=list)


class PersonDecider:
    """The decision state of one person (track)."""

    def __init__(self, labels: list[str], thresholds: np.ndarray, config: DecisionConfig = DecisionConfig()):
        self.config = config
        self.set_vocabulary(labels, thresholds)
        self.active: _Active | None = None
        self.candidate: str | None = None
        self.candidate_since = 0.0
        self.last_t = 0.0

    def set_vocabulary(self, labels: list[str], thresholds: np.ndarray) -> None:
        self.labels = list(labels)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.smoothed: np.ndarray | None = None

    def update(self, t: float, cosines: np.ndarray) -> list[Started | Ended]:
        """One window's scores (C,) at time t (weighted cosines, or logits / logit scale) -> the events it decides."""
        c = self.config
        self.last_t = t
        self.smoothed = cosines.copy() if self.smoothed is None else c.smoothing * cosines + (1 - c.smoothing) * self.smoothed
        s = self.smoothed
        best = int(np.argmax(s))
        candidate = self.labels[best] if s[best] >= self.thresholds[best] + c.enter_margin else None
        if candidate != self.candidate:
            self.candidate, self.candidate_since = candidate, t
        events: list[Started | Ended] = []
        if self.active is not None:
            i = self.labels.index(self.active.label)
            self.active.scores.append(float(s[i]))
            fell = s[i] < self.thresholds[i] - c.exit_margin
            replaced = candidate not in (None, self.active.label) and t - self.candidate_since >= c.min_duration
            if fell or replaced:
                events.append(self._end(t, "replaced" if replaced and not fell else "ended"))
        if self.active is None and candidate is not None and t - self.candidate_since >= c.min_duration:
            self.active = _Active(candidate, self.candidate_since, [float(s[best])])
            events.append(Started(candidate, self.candidate_since, float(s[best])))
        return events

    def _end(self, t: float, reason: str) -> Ended:
        a = self.active
        self.active = None
        return Ended(a.label, a.t_start, t, float(np.mean(a.scores)), float(np.max(a.scores)), reason)

    def finish(self, reason: str) -> list[Ended]:
        """End what is active (person lost, vocabulary changed, shutdown)."""
        return [self._end(self.last_t, reason)] if self.active is not None else []
