"""Motion programs: one function per action, writing joint-angle and hand-target trajectories into a Pose.

A program only touches the body parts its action uses. Upper-body programs (arms, neck, chest) run on top
of a lower-body program (standing, sitting, walking, squatting, hopping), which is how the compositional
classes ("hand waving while walking") are made: the same arm program over a different leg program.
Names follow NTU RGB+D 120 where NTU has the action; "walking" and the composites are this project's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime.synth.body import SIDES, SIGN, BodyShape, Pose, rest_hand_target, shoulder_offset, spine_rotation

# --------------------------------------------------------------------------------- time helpers


def smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(s: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 before a, 1 after b, smooth in between."""
    return smooth((s - a) / max(b - a, 1e-6))


def window(s: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Rises over [a, b], holds, falls over [c, d]."""
    return ramp(s, a, b) * (1 - ramp(s, c, d))


def col(x: np.ndarray) -> np.ndarray:
    return np.asarray(x)[:, None]


@dataclass
class Motion:
    """Everything a program may read: the clock, the body, and this sample's random style."""

    pose: Pose
    shape: BodyShape
    t: np.ndarray  # seconds
    s: np.ndarray  # 0..1 over the clip
    duration: float
    rng: np.random.Generator
    side: str  # the dominant hand for one-handed actions
    amp: float  # amplitude scale, ~0.8..1.2
    seated: bool

    @property
    def other(self) -> str:
        return "left" if self.side == "right" else "right"

    @property
    def n(self) -> int:
        return self.pose.frames

    def reps(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def freq(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    # Points of the body in the chest frame (origin at the spine shoulder joint), following the neck.
    def head_point(self, offset) -> np.ndarray:
        sh = self.shape
        r = spine_rotation(self.pose.neck)
        neck = r @ np.array([0.0, sh.neck, 0.0])
        return neck + r @ np.array([0.0, sh.head, 0.0]) + r @ np.asarray(offset, dtype=float)

    def mouth(self) -> np.ndarray:
        return self.head_point([0.0, -0.075, 0.1])

    def shoulder(self, side: str) -> np.ndarray:
        return shoulder_offset(self.shape, side)

    def rest(self, side: str) -> np.ndarray:
        return np.repeat(rest_hand_target(self.shape, side)[None], self.n, axis=0)

    def front(self, side: str, height: float, dist: float, lateral: float = 0.1) -> np.ndarray:
        """A point in front of the chest: height relative to the spine shoulder, dist forward, lateral out."""
        parts = [SIGN[side] * np.asarray(lateral, float), np.asarray(height, float), np.asarray(dist, float)]
        return np.stack([np.broadcast_to(p, (self.n,)) for p in parts], axis=-1)

    # Arm writers -----------------------------------------------------------------------------
    def reach(self, side: str, target: np.ndarray, w: np.ndarray, pole=None, bulge: float = 0.12,
              wrist: np.ndarray | float | None = None) -> None:
        """Move the wrist from where it is to ``target`` with weight w (0..1), arcing forward on the way."""
        start = self.pose.hand_target.get(side)
        start = self.rest(side) if start is None else start
        target = np.broadcast_to(target, (self.n, 3))
        w = np.broadcast_to(w, (self.n,))
        path = start + (target - start) * col(w)
        path = path + col(bulge * np.sin(np.pi * w)) * np.array([0.0, 0.0, 1.0])
        self.pose.hand_target[side] = path
        if pole is not None:
            self.pose.elbow_pole[side] = np.broadcast_to(np.asarray(pole, dtype=float), (self.n, 3)).copy()
        if wrist is not None:
            self.pose.wrist_flex[side] = np.broadcast_to(np.asarray(wrist, dtype=float) * w, (self.n,)).copy()

    def set_arm(self, side: str, target: np.ndarray, pole=None) -> None:
        self.pose.hand_target[side] = np.broadcast_to(target, (self.n, 3)).copy()
        if pole is not None:
            self.pose.elbow_pole[side] = np.broadcast_to(np.asarray(pole, dtype=float), (self.n, 3)).copy()

    def arm_swing(self, side: str, phase: np.ndarray, amount: float = 0.12) -> None:
        """A relaxed arm swinging forward and back (walking), unless the arm is already in use."""
        if side in self.pose.hand_target:
            return
        target = self.rest(side)
        target[:, 2] += amount * np.sin(phase)
        target[:, 1] += 0.03 * (1 - np.cos(2 * phase))
        self.pose.hand_target[side] = target


Program = Callable[[Motion], None]

# ------------------------------------------------------------------------------- lower body


def stand(m: Motion) -> None:
    """Standing with a slight weight shift, or sitting on an unseen chair."""
    n = m.n
    sway = 0.015 * np.sin(2 * np.pi * m.t * m.freq(0.1, 0.35) + m.rng.uniform(0, 6.28))
    m.pose.root_xz[:, 0] += sway
    m.pose.lumbar[:, 1] += sway * 1.5
    if m.seated:
        for side in SIDES:
            m.pose.hip[side][:, 0] = np.radians(85) + m.rng.normal(0, 0.05)
            m.pose.hip[side][:, 1] = np.radians(8)
            m.pose.knee[side][:] = np.radians(90) + m.rng.normal(0, 0.05)
    else:
        bend = np.radians(m.rng.uniform(0, 6))
        for side in SIDES:
            m.pose.knee[side][:] += bend
            m.pose.hip[side][:, 0] += bend * 0.5
            m.pose.hip[side][:, 1] += np.radians(3)
    _ = n


def _gait(m: Motion, cadence: float, stride: float, knee_lift: float = 0.0) -> np.ndarray:
    """Leg angles of a walk (or a run in place when stride is 0); returns the gait phase."""
    phase = 2 * np.pi * cadence * m.t + m.rng.uniform(0, 2 * np.pi)
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        ph = phase if sgn > 0 else phase + np.pi
        m.pose.hip[side][:, 0] = (0.3 * stride / 0.7) * np.sin(ph) + knee_lift * np.clip(np.sin(ph), 0, None)
        swing = np.clip(np.sin(ph + 0.9), 0, None)
        m.pose.knee[side][:] = 0.12 + (0.9 + 1.2 * knee_lift) * swing**1.5
        m.pose.ankle[side][:] = 0.15 * np.sin(ph - 0.5)
        m.pose.hip[side][:, 1] = np.radians(2)
    return phase


def walk(m: Motion) -> None:
    """Walking forward (toward where the person faces), arms swinging when free."""
    speed = m.rng.uniform(0.7, 1.3)
    cadence = speed / 0.7 * 0.9
    phase = _gait(m, cadence, stride=0.7)
    m.pose.root_xz[:, 1] += speed * (m.t - m.t[0])
    m.pose.lumbar[:, 2] += 0.06 * np.sin(phase)
    m.pose.lumbar[:, 0] += 0.04
    m.arm_swing("left", phase + np.pi)
    m.arm_swing("right", phase)


def squat(m: Motion) -> None:
    """Bend the knees into a half squat and stay there, then come up at the end."""
    w = window(m.s, 0.05, 0.25, 0.8, 0.98)
    depth = np.radians(m.rng.uniform(70, 110)) * m.amp
    for side in SIDES:
        m.pose.knee[side][:] = depth * w
        m.pose.hip[side][:, 0] = 0.8 * depth * w
        m.pose.hip[side][:, 1] = np.radians(12) * w
        m.pose.ankle[side][:] = -0.3 * depth * w
    m.pose.lumbar[:, 0] += 0.35 * depth * w


def hop(m: Motion) -> None:
    """Hopping on one foot: the other knee stays bent, the body bounces."""
    lift_side = m.other
    stand_side = m.side
    f = m.freq(1.6, 2.4)
    up = ramp(m.s, 0.03, 0.15) * (1 - ramp(m.s, 0.9, 1.0))
    bounce = np.clip(np.sin(2 * np.pi * f * m.t), 0, None) * up
    m.pose.lift[:] = 0.09 * m.amp * bounce
    m.pose.knee[lift_side][:] = np.radians(80) * up
    m.pose.hip[lift_side][:, 0] = np.radians(25) * up
    m.pose.knee[stand_side][:] = 0.35 * (1 - bounce) * up
    m.pose.hip[stand_side][:, 0] = 0.2 * (1 - bounce) * up
    m.pose.roll[:] = 0.05 * SIGN[stand_side] * up


LOWER: dict[str, Program] = {"stand": stand, "walk": walk, "squat": squat, "hop": hop}

# ------------------------------------------------------------------------------ upper body


def drink_water(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.35, 0.7, 0.92)
    tilt = window(m.s, 0.3, 0.42, 0.62, 0.72)
    m.pose.neck[:, 0] -= 0.3 * tilt * m.amp
    target = m.mouth() + np.array([SIGN[side] * 0.03, -0.1, 0.04])
    m.reach(side, target, w, pole=[SIGN[side] * 0.4, -1.0, 0.3], wrist=-0.5)


def eat(m: Motion) -> None:
    side = m.side
    reps = m.reps(2, 4)
    m.pose.neck[:, 0] += 0.12 * ramp(m.s, 0.05, 0.2)
    base = m.front(side, -0.28, 0.3, 0.1)
    mouth = m.mouth() + np.array([SIGN[side] * 0.03, -0.1, 0.04])
    trips = 0.5 - 0.5 * np.cos(2 * np.pi * reps * np.clip((m.s - 0.12) / 0.8, 0, 1))
    target = base + (mouth - base) * col(trips)
    m.reach(side, base, ramp(m.s, 0.0, 0.12))
    m.pose.hand_target[side] = np.where(col(m.s > 0.12), target, m.pose.hand_target[side])
    m.pose.elbow_pole[side] = np.broadcast_to([SIGN[side] * 0.4, -1.0, 0.2], (m.n, 3)).copy()
    m.reach(m.other, m.front(m.other, -0.35, 0.28, 0.08), ramp(m.s, 0.0, 0.15))


def brush_teeth(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(2.5, 4.0)
    target = m.mouth() + np.array([SIGN[side] * 0.04, -0.08, 0.04])
    target = target + col(0.04 * m.amp * np.sin(2 * np.pi * f * m.t) * w) * np.array([1.0, 0.0, 0.0])
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, -0.5, 0.0], wrist=-0.3)


def brush_hair(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(0.8, 1.4)
    stroke = 0.5 - 0.5 * np.cos(2 * np.pi * f * m.t)
    start = m.head_point([SIGN[side] * 0.1, 0.02, 0.1])
    end = m.head_point([SIGN[side] * 0.12, -0.04, -0.12])
    target = start + (end - start) * col(stroke)
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.3, 0.2], wrist=-0.4)
    m.pose.neck[:, 1] -= SIGN[side] * 0.12 * w


def pickup(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.42, 0.58, 0.9)
    m.pose.lumbar[:, 0] += np.radians(55) * w * m.amp
    m.pose.chest[:, 0] += np.radians(20) * w
    for leg in SIDES:
        m.pose.hip[leg][:, 0] += np.radians(35) * w
        m.pose.knee[leg][:] += np.radians(55) * w
        m.pose.ankle[leg][:] -= np.radians(15) * w
    reach_down = m.rest(side) + np.array([0.0, -0.15, 0.25])
    m.reach(side, reach_down, w, bulge=0.05)
    m.pose.neck[:, 0] += 0.3 * w


def throw(m: Motion) -> None:
    side = m.side
    s = SIGN[side]
    windup = window(m.s, 0.1, 0.4, 0.45, 0.52)
    release = window(m.s, 0.45, 0.55, 0.7, 0.95)
    back = np.array([s * 0.3, 0.25, -0.35])
    fwd = np.array([s * 0.05, -0.05, 0.55])
    target = m.rest(side) + (back - m.rest(side)) * col(windup)
    target = target + (fwd - target) * col(release)
    m.set_arm(side, target, pole=[s * 1.0, 0.2, -0.5])
    m.pose.chest[:, 2] += s * 0.4 * windup - s * 0.5 * release
    m.pose.lumbar[:, 0] += 0.15 * release
    m.reach(m.other, m.front(m.other, -0.15, 0.35, 0.15), windup)


def sit_down(m: Motion) -> None:
    w = ramp(m.s, 0.2, 0.75)
    lean = window(m.s, 0.2, 0.45, 0.6, 0.85)
    for side in SIDES:
        m.pose.hip[side][:, 0] = np.radians(85) * w
        m.pose.hip[side][:, 1] = np.radians(8) * w
        m.pose.knee[side][:] = np.radians(90) * w
    m.pose.lumbar[:, 0] += np.radians(30) * lean * m.amp
    for side in SIDES:
        m.reach(side, m.rest(side) + np.array([0.0, 0.1, 0.25]), lean * 0.6, bulge=0.0)


def stand_up(m: Motion) -> None:
    w = 1 - ramp(m.s, 0.25, 0.8)
    lean = window(m.s, 0.1, 0.35, 0.5, 0.75)
    for side in SIDES:
        m.pose.hip[side][:, 0] = np.radians(85) * w
        m.pose.hip[side][:, 1] = np.radians(8) * w
        m.pose.knee[side][:] = np.radians(90) * w
    m.pose.lumbar[:, 0] += np.radians(35) * lean * m.amp
    for side in SIDES:
        m.reach(side, m.rest(side) + np.array([0.0, 0.2, 0.3]), lean * 0.6, bulge=0.0)


def clap(m: Motion) -> None:
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(1.8, 3.0)
    gap = 0.5 - 0.5 * np.cos(2 * np.pi * f * m.t)
    h = m.rng.uniform(-0.25, -0.05)
    for side in SIDES:
        target = m.front(side, h, 0.35, 0.02 + 0.16 * m.amp * gap)
        m.reach(side, target, w, pole=[SIGN[side] * 0.6, -1.0, 0.0], wrist=-0.2)


def cheer_up(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.75, 0.95)
    f = m.freq(1.0, 2.0)
    pump = 0.06 * np.sin(2 * np.pi * f * m.t) * w
    for side in SIDES:
        target = np.repeat(np.array([[SIGN[side] * 0.3, 0.55, 0.1]]), m.n, axis=0)
        target[:, 1] += pump
        m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.0, -0.3], bulge=0.0)
    m.pose.neck[:, 0] -= 0.15 * w


def wave(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(1.5, 2.5)
    # upper arm out to the side at shoulder height, forearm up, the hand swinging side to side
    target = np.repeat(np.array([[SIGN[side] * 0.42, 0.3, 0.12]]), m.n, axis=0)
    target[:, 0] += 0.12 * m.amp * np.sin(2 * np.pi * f * m.t)
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, -0.4, 0.0], bulge=0.05)


def kick(m: Motion) -> None:
    side = m.side
    prep = window(m.s, 0.2, 0.38, 0.4, 0.45)
    fire = window(m.s, 0.4, 0.5, 0.58, 0.8)
    m.pose.hip[side][:, 0] = -np.radians(15) * prep + np.radians(65) * m.amp * fire
    m.pose.knee[side][:] = np.radians(70) * prep + np.radians(10) * fire
    m.pose.lumbar[:, 0] -= 0.15 * fire
    m.pose.ankle[side][:] = -0.3 * fire
    for s_ in SIDES:
        m.reach(s_, m.rest(s_) + np.array([SIGN[s_] * 0.12, 0.12, 0.05]), fire * 0.7, bulge=0.0)


def side_kick(m: Motion) -> None:
    side = m.side
    fire = window(m.s, 0.3, 0.45, 0.55, 0.75)
    m.pose.hip[side][:, 1] = np.radians(60) * m.amp * fire
    m.pose.hip[side][:, 0] = np.radians(15) * fire
    m.pose.knee[side][:] = np.radians(25) * window(m.s, 0.2, 0.32, 0.42, 0.5)
    m.pose.roll[:] = -SIGN[side] * 0.35 * fire
    m.reach(m.other, m.rest(m.other) + np.array([SIGN[m.other] * 0.2, 0.2, 0.0]), fire, bulge=0.0)


def butt_kicks(m: Motion) -> None:
    f = m.freq(1.2, 1.8)
    w = window(m.s, 0.03, 0.12, 0.9, 0.99)
    for side, ph in (("left", 0.0), ("right", np.pi)):
        up = np.clip(np.sin(2 * np.pi * f * m.t + ph), 0, None) * w
        m.pose.knee[side][:] = np.radians(125) * m.amp * up
        m.pose.hip[side][:, 0] = -np.radians(8) * up
    bounce = np.abs(np.sin(2 * np.pi * f * m.t)) * w
    m.pose.lift[:] = 0.03 * bounce
    phase = 2 * np.pi * f * m.t
    m.arm_swing("left", phase, 0.1)
    m.arm_swing("right", phase + np.pi, 0.1)


def run_in_place(m: Motion) -> None:
    f = m.freq(1.4, 2.0)
    w = window(m.s, 0.03, 0.12, 0.9, 0.99)
    for side, ph in (("left", 0.0), ("right", np.pi)):
        up = np.clip(np.sin(2 * np.pi * f * m.t + ph), 0, None) * w
        m.pose.knee[side][:] = np.radians(85) * m.amp * up
        m.pose.hip[side][:, 0] = np.radians(55) * m.amp * up
    m.pose.lift[:] = 0.04 * np.abs(np.sin(2 * np.pi * f * m.t)) * w
    for side, ph in (("left", np.pi), ("right", 0.0)):
        swing = np.sin(2 * np.pi * f * m.t + ph) * w
        target = m.front(side, -0.3, 0.15, 0.2) + col(swing) * np.array([0.0, 0.05, 0.2])
        m.set_arm(side, target, pole=[SIGN[side] * 0.2, -0.5, -1.0])


def jump_up(m: Motion) -> None:
    crouch = window(m.s, 0.15, 0.35, 0.38, 0.45) + window(m.s, 0.62, 0.68, 0.72, 0.85) * 0.7
    air = window(m.s, 0.4, 0.48, 0.55, 0.64)
    m.pose.lift[:] = 0.35 * m.amp * air
    for side in SIDES:
        m.pose.knee[side][:] = np.radians(80) * crouch + np.radians(15) * air
        m.pose.hip[side][:, 0] = np.radians(60) * crouch + np.radians(10) * air
        m.pose.ankle[side][:] = -np.radians(20) * crouch - np.radians(20) * air
        back = m.rest(side) + np.array([0.0, 0.1, -0.25])
        up = np.repeat(np.array([[SIGN[side] * 0.25, 0.45, 0.2]]), m.n, axis=0)
        target = m.rest(side) + (back - m.rest(side)) * col(crouch)
        target = target + (up - target) * col(air)
        m.set_arm(side, target)
    m.pose.lumbar[:, 0] += 0.4 * crouch


def phone_call(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.08, 0.25, 0.8, 0.95)
    target = m.head_point([SIGN[side] * 0.11, -0.12, 0.02])
    m.reach(side, target, w, pole=[SIGN[side] * 0.6, -1.0, 0.2], wrist=-0.6)
    m.pose.neck[:, 1] -= SIGN[side] * 0.1 * w


def point(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.7, 0.9)
    az = m.rng.uniform(-0.3, 0.8) * SIGN[side]
    el = m.rng.uniform(-0.2, 0.35)
    reach = m.shape.upper_arm + m.shape.forearm
    d = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    target = m.shoulder(side) + reach * d
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, -1.0, 0.0], bulge=0.0)
    m.pose.neck[:, 2] += az * 0.5 * w


def check_time(m: Motion) -> None:
    watch = "left" if m.side == "right" else "right"
    w = window(m.s, 0.1, 0.3, 0.7, 0.9)
    target = m.front(watch, -0.2, 0.35, -0.02)
    m.reach(watch, target, w, pole=[SIGN[watch] * 1.0, -0.6, 0.0])
    m.pose.neck[:, 0] += 0.35 * w


def rub_hands(m: Motion) -> None:
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(2.0, 3.5)
    osc = 0.04 * np.sin(2 * np.pi * f * m.t) * w
    for side, sgn in (("left", 1), ("right", -1)):
        target = m.front(side, -0.25, 0.32, 0.03) + col(sgn * osc) * np.array([0.0, 1.0, 0.5])
        m.reach(side, target, w, pole=[SIGN[side] * 0.6, -1.0, 0.0])
    m.pose.neck[:, 0] += 0.15 * w


def nod_bow(m: Motion) -> None:
    if m.rng.random() < 0.5:  # a bow from the waist
        w = window(m.s, 0.15, 0.4, 0.55, 0.85)
        m.pose.lumbar[:, 0] += np.radians(40) * m.amp * w
        m.pose.neck[:, 0] += 0.2 * w
    else:  # nodding
        f = m.freq(1.0, 2.0)
        w = window(m.s, 0.05, 0.15, 0.85, 0.97)
        m.pose.neck[:, 0] += 0.3 * m.amp * np.clip(np.sin(2 * np.pi * f * m.t), 0, None) * w
        m.pose.chest[:, 0] += 0.05 * w


def shake_head(m: Motion) -> None:
    f = m.freq(1.5, 2.5)
    w = window(m.s, 0.05, 0.15, 0.85, 0.97)
    m.pose.neck[:, 2] += 0.45 * m.amp * np.sin(2 * np.pi * f * m.t) * w


def wipe_face(m: Motion) -> None:
    w = window(m.s, 0.05, 0.2, 0.8, 0.95)
    f = m.freq(0.8, 1.4)
    stroke = 0.5 - 0.5 * np.cos(2 * np.pi * f * m.t)
    hands = SIDES if m.rng.random() < 0.6 else (m.side,)
    for side in hands:
        top = m.head_point([SIGN[side] * 0.05, 0.02, 0.12])
        bottom = m.head_point([SIGN[side] * 0.05, -0.12, 0.12])
        target = top + (bottom - top) * col(stroke) + np.array([0, -0.08, 0.03])
        m.reach(side, target, w, pole=[SIGN[side] * 0.5, -1.0, 0.0], wrist=-0.5)
    m.pose.neck[:, 0] += 0.15 * w


def salute(m: Motion) -> None:
    side = "right" if m.rng.random() < 0.9 else "left"
    w = window(m.s, 0.1, 0.25, 0.7, 0.9)
    target = m.head_point([SIGN[side] * 0.05, -0.02, 0.1]) + np.array([SIGN[side] * 0.12, -0.08, 0.02])
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.0, 0.1], wrist=-0.3, bulge=0.05)


def palms_together(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.75, 0.95)
    h = m.rng.uniform(-0.2, 0.0)
    for side in SIDES:
        m.reach(side, m.front(side, h, 0.25, 0.02), w, pole=[SIGN[side] * 1.0, -1.0, -0.2], wrist=-0.9)
    m.pose.neck[:, 0] += 0.12 * w


def cross_hands_stop(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.7, 0.9)
    h = m.rng.uniform(-0.2, 0.0)
    for side in SIDES:  # the wrists cross over the midline into an X
        m.reach(side, m.front(side, h, 0.38, -0.07), w, pole=[SIGN[side] * 1.0, -1.0, 0.0], wrist=-0.4)


def sneeze_cough(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.7, 0.9)
    jerk = window(m.s, 0.38, 0.45, 0.5, 0.6)
    m.reach(side, m.mouth() + np.array([SIGN[side] * 0.02, -0.1, 0.06]), w, pole=[SIGN[side] * 0.5, -1, 0.2], wrist=-0.5)
    m.pose.neck[:, 0] += (0.45 * jerk - 0.15 * window(m.s, 0.25, 0.35, 0.38, 0.42)) * m.amp
    m.pose.chest[:, 0] += 0.3 * jerk * m.amp
    m.pose.lumbar[:, 0] += 0.15 * jerk


def stagger(m: Motion) -> None:
    walk(m)
    f = m.freq(0.5, 0.9)
    sway = np.sin(2 * np.pi * f * m.t + m.rng.uniform(0, 6))
    m.pose.root_xz[:, 0] += 0.25 * m.amp * sway
    m.pose.roll[:] += 0.12 * sway
    m.pose.lumbar[:, 1] += 0.12 * np.sin(2 * np.pi * f * 1.7 * m.t)
    m.pose.neck[:, 0] += 0.2
    m.pose.root_xz[:, 1] *= 0.5


def fall(m: Motion) -> None:
    w = ramp(m.s, 0.25, 0.6)
    direction = m.rng.choice([1.0, 1.0, -1.0])  # mostly forward
    m.pose.pitch[:] = direction * np.radians(85) * w
    m.pose.root_xz[:, 1] += direction * 0.8 * w
    buckle = window(m.s, 0.2, 0.35, 0.5, 0.7)
    for side in SIDES:
        m.pose.knee[side][:] = np.radians(70) * buckle + np.radians(10) * w
        m.pose.hip[side][:, 0] = np.radians(50) * buckle
        m.reach(side, m.front(side, 0.05, 0.45, 0.3), ramp(m.s, 0.3, 0.5), bulge=0.0)
    m.pose.neck[:, 0] -= 0.3 * w * direction


def touch_head(m: Motion) -> None:
    side = m.side
    both = m.rng.random() < 0.3
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    for s_ in (SIDES if both else (side,)):
        target = m.head_point([SIGN[s_] * 0.06, 0.05, 0.1]) + np.array([SIGN[s_] * 0.03, -0.1, 0.03])
        m.reach(s_, target, w, pole=[SIGN[s_] * 1.0, -0.3, 0.3], wrist=-0.6)
    m.pose.neck[:, 0] += 0.2 * w
    m.pose.neck[:, 1] -= SIGN[side] * 0.1 * w


def touch_chest(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    hands = SIDES if m.rng.random() < 0.4 else (side,)
    for s_ in hands:
        m.reach(s_, m.front(s_, -0.22, 0.12, 0.04), w, pole=[SIGN[s_] * 1.0, -1.0, 0.0], wrist=-0.4)
    m.pose.lumbar[:, 0] += 0.3 * w * m.amp
    m.pose.neck[:, 0] += 0.2 * w


def touch_back(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    hands = SIDES if m.rng.random() < 0.4 else (m.side,)
    for s_ in hands:
        target = np.repeat(np.array([[SIGN[s_] * 0.14, -0.48, -0.16]]), m.n, axis=0)
        m.reach(s_, target, w, pole=[SIGN[s_] * 1.0, -0.2, -1.0], bulge=-0.05)
    arch = window(m.s, 0.3, 0.45, 0.65, 0.8)
    m.pose.lumbar[:, 0] -= 0.25 * arch * m.amp
    m.pose.lumbar[:, 1] += 0.1 * arch * SIGN[m.side]


def touch_neck(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    target = m.head_point([SIGN[side] * 0.06, -0.13, -0.07])
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.2, 0.5], wrist=-0.7)
    m.pose.neck[:, 0] -= 0.1 * w
    m.pose.neck[:, 1] += SIGN[side] * 0.2 * w


def nausea(m: Motion) -> None:
    w = window(m.s, 0.1, 0.35, 0.75, 0.95)
    heave = np.clip(np.sin(2 * np.pi * m.freq(0.8, 1.5) * m.t), 0, None) * w
    m.pose.lumbar[:, 0] += (np.radians(35) * w + 0.2 * heave) * m.amp
    m.pose.neck[:, 0] += 0.3 * w + 0.2 * heave
    m.reach(m.side, m.front(m.side, -0.35, 0.1, 0.05), w, pole=[SIGN[m.side] * 1.0, -1.0, 0.0])
    if m.rng.random() < 0.5:
        m.reach(m.other, m.mouth() + np.array([0, -0.1, 0.06]), w, pole=[SIGN[m.other] * 0.5, -1, 0.2], wrist=-0.5)
    for side in SIDES:
        m.pose.knee[side][:] += np.radians(15) * w


def fan(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(2.0, 3.5)
    osc = np.sin(2 * np.pi * f * m.t) * w
    target = m.head_point([SIGN[side] * 0.1, -0.08, 0.25]) + np.array([0, -0.12, 0.0])
    target = target + col(0.07 * m.amp * osc) * np.array([SIGN[side] * 0.5, 0.0, 1.0])
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, -1.0, 0.0], wrist=-0.3)
    m.pose.neck[:, 0] -= 0.1 * w


def squat_down(m: Motion) -> None:
    squat(m)
    w = window(m.s, 0.05, 0.25, 0.8, 0.98)
    for side in SIDES:
        m.reach(side, m.front(side, -0.3, 0.35, 0.15), w * 0.7, bulge=0.0)


def arm_circles(m: Motion) -> None:
    f = m.freq(0.7, 1.3)
    w = window(m.s, 0.05, 0.15, 0.88, 0.98)
    direction = m.rng.choice([1.0, -1.0])
    both = m.rng.random() < 0.7
    reach = 0.95 * (m.shape.upper_arm + m.shape.forearm)
    for side in (SIDES if both else (m.side,)):
        ang = direction * 2 * np.pi * f * m.t
        if m.rng.random() < 0.5:  # big circles in the sagittal plane
            d = np.stack([np.full(m.n, SIGN[side] * 0.25), -np.cos(ang), np.sin(ang)], -1)
        else:  # circles with the arms out to the side
            d = np.stack([np.full(m.n, SIGN[side] * 1.0), 0.35 * np.sin(ang), 0.35 * np.cos(ang)], -1)
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        m.reach(side, m.shoulder(side) + reach * d * m.amp**0.2, w, pole=[SIGN[side] * 1.0, 0.0, -0.3], bulge=0.0)


def swing_arms(m: Motion) -> None:
    f = m.freq(0.7, 1.2)
    w = window(m.s, 0.05, 0.15, 0.88, 0.98)
    reach = 0.96 * (m.shape.upper_arm + m.shape.forearm)
    for side, ph in (("left", 0.0), ("right", np.pi)):
        ang = 1.1 * m.amp * np.sin(2 * np.pi * f * m.t + ph)
        d = np.stack([np.full(m.n, SIGN[side] * 0.15), -np.cos(ang), np.sin(ang)], -1)
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        m.reach(side, m.shoulder(side) + reach * d, w, bulge=0.0)


def cross_toe_touch(m: Motion) -> None:
    w = window(m.s, 0.05, 0.12, 0.9, 0.98)
    f = m.freq(0.4, 0.7)
    phase = 2 * np.pi * f * m.t
    down = (0.5 - 0.5 * np.cos(2 * phase)) * w
    alt = np.sign(np.sin(phase))
    m.pose.lumbar[:, 0] += np.radians(75) * down * m.amp
    m.pose.lumbar[:, 2] += 0.35 * alt * down
    for side in SIDES:
        m.pose.hip[side][:, 1] = np.radians(15) * w
        hand_down = m.rest(side) + col(down) * np.array([0.0, -0.1, 0.2])
        m.set_arm(side, hand_down)


def yawn(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.7, 0.9)
    m.reach(side, m.mouth() + np.array([SIGN[side] * 0.02, -0.08, 0.05]), w, pole=[SIGN[side] * 0.5, -1, 0.2], wrist=-0.6)
    m.pose.neck[:, 0] -= 0.35 * w * m.amp
    m.pose.chest[:, 0] -= 0.1 * w
    if m.rng.random() < 0.4:  # and stretch the other arm
        m.reach(m.other, np.array([SIGN[m.other] * 0.3, 0.45, 0.0]), window(m.s, 0.25, 0.45, 0.6, 0.85), bulge=0.0)


def stretch(m: Motion) -> None:
    w = window(m.s, 0.1, 0.35, 0.65, 0.9)
    for side in SIDES:
        target = np.repeat(np.array([[SIGN[side] * 0.12, 0.58, 0.0]]), m.n, axis=0)
        m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.0, -0.2], bulge=0.05, wrist=0.4)
    m.pose.lumbar[:, 0] -= 0.2 * w * m.amp
    m.pose.neck[:, 0] -= 0.3 * w
    m.pose.lumbar[:, 1] += 0.2 * np.sin(2 * np.pi * 0.5 * m.t) * w * (m.rng.random() < 0.5)


def raise_hands(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.72, 0.92)
    for side in SIDES:
        target = np.repeat(np.array([[SIGN[side] * 0.18, 0.55, 0.08]]), m.n, axis=0)
        m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.0, -0.2], bulge=0.05)


def cross_arms(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    for side in SIDES:
        target = m.front(side, -0.2, 0.2, -0.12)
        m.reach(side, target, w, pole=[SIGN[side] * 1.0, -1.0, 0.3], bulge=0.08, wrist=0.2)


def shake_fist(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.08, 0.25, 0.8, 0.95)
    f = m.freq(2.0, 3.0)
    target = np.repeat(np.array([[SIGN[side] * 0.28, 0.1, 0.25]]), m.n, axis=0)
    target[:, 1] += 0.07 * m.amp * np.sin(2 * np.pi * f * m.t)
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, -1.0, 0.0])


def hush(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.1, 0.3, 0.75, 0.92)
    m.reach(side, m.mouth() + np.array([SIGN[side] * 0.0, -0.13, 0.05]), w, pole=[SIGN[side] * 0.3, -1, 0.2], wrist=-0.1)
    m.pose.neck[:, 0] += 0.05 * w


def shoot_basket(m: Motion) -> None:
    load = window(m.s, 0.15, 0.35, 0.38, 0.45)
    shot = window(m.s, 0.4, 0.5, 0.6, 0.85)
    for side in SIDES:
        chest = m.front(side, -0.05, 0.3, 0.05)
        up = np.repeat(np.array([[SIGN[side] * 0.08, 0.55, 0.3]]), m.n, axis=0)
        target = m.rest(side) + (chest - m.rest(side)) * col(ramp(m.s, 0.1, 0.3) * (1 - ramp(m.s, 0.8, 0.95)))
        target = target + (up - target) * col(shot)
        m.set_arm(side, target, pole=[SIGN[side] * 0.5, -1.0, 0.0])
        m.pose.knee[side][:] += np.radians(45) * load
        m.pose.hip[side][:, 0] += np.radians(30) * load
    m.pose.lift[:] = 0.12 * m.amp * window(m.s, 0.45, 0.5, 0.55, 0.62)
    m.pose.neck[:, 0] -= 0.3 * shot


def bounce_ball(m: Motion) -> None:
    side = m.side
    w = window(m.s, 0.05, 0.2, 0.85, 0.97)
    f = m.freq(1.2, 2.0)
    target = m.front(side, -0.42, 0.35, 0.2) + col(0.1 * m.amp * np.sin(2 * np.pi * f * m.t) * w) * np.array([0, 1.0, 0])
    m.reach(side, target, w, pole=[SIGN[side] * 1.0, 0.0, -0.5], wrist=0.3)
    m.pose.lumbar[:, 0] += 0.2 * w
    m.pose.neck[:, 0] += 0.2 * w
    for leg in SIDES:
        m.pose.knee[leg][:] += np.radians(20) * w


def tennis_swing(m: Motion) -> None:
    side = m.side
    s = SIGN[side]
    back = window(m.s, 0.1, 0.35, 0.4, 0.45)
    swing = window(m.s, 0.42, 0.55, 0.65, 0.9)
    start = np.array([s * 0.45, -0.25, -0.25])
    finish = np.array([-s * 0.35, 0.1, 0.35])
    target = m.rest(side) + (start - m.rest(side)) * col(back)
    target = target + (finish - target) * col(swing)
    m.set_arm(side, target, pole=[s * 0.5, -1.0, -0.5])
    m.pose.chest[:, 2] += s * 0.5 * back - s * 0.6 * swing
    m.pose.lumbar[:, 2] += s * 0.2 * back - s * 0.3 * swing
    for leg in SIDES:
        m.pose.knee[leg][:] += np.radians(15)


def blow_nose(m: Motion) -> None:
    w = window(m.s, 0.1, 0.3, 0.72, 0.92)
    jerk = window(m.s, 0.4, 0.45, 0.5, 0.58) + window(m.s, 0.55, 0.6, 0.63, 0.7)
    for side in SIDES:
        m.reach(side, m.head_point([SIGN[side] * 0.03, -0.04, 0.12]) + np.array([0, -0.1, 0.05]), w,
                pole=[SIGN[side] * 0.6, -1.0, 0.0], wrist=-0.6)
    m.pose.neck[:, 0] += 0.1 * w + 0.2 * jerk


def put_on_hat(m: Motion) -> None:
    up = window(m.s, 0.1, 0.35, 0.55, 0.85)
    for side in SIDES:
        start = m.front(side, -0.2, 0.3, 0.1)
        top = m.head_point([SIGN[side] * 0.08, 0.12, 0.0]) + np.array([0, -0.06, 0.0])
        path = start + (top - start) * col(ramp(m.s, 0.15, 0.45))
        target = m.rest(side) + (path - m.rest(side)) * col(up)
        m.set_arm(side, target, pole=[SIGN[side] * 1.0, -0.3, 0.2])
    m.pose.neck[:, 0] += 0.15 * window(m.s, 0.4, 0.5, 0.55, 0.65)


def take_off_hat(m: Motion) -> None:
    up = window(m.s, 0.1, 0.3, 0.6, 0.9)
    for side in SIDES:
        top = m.head_point([SIGN[side] * 0.08, 0.12, 0.0]) + np.array([0, -0.06, 0.0])
        away = m.front(side, -0.15, 0.35, 0.12)
        path = top + (away - top) * col(ramp(m.s, 0.4, 0.65))
        target = m.rest(side) + (path - m.rest(side)) * col(up)
        m.set_arm(side, target, pole=[SIGN[side] * 1.0, -0.3, 0.2])


def tear_paper(m: Motion) -> None:
    w = window(m.s, 0.1, 0.25, 0.8, 0.95)
    f = m.freq(0.8, 1.4)
    pull = np.clip(np.sin(2 * np.pi * f * m.t), 0, None) * w
    for side in SIDES:
        target = m.front(side, -0.22, 0.32, 0.04) + col(pull) * np.array([SIGN[side] * 0.12, 0.02, -0.03])
        m.reach(side, target, w, pole=[SIGN[side] * 0.7, -1.0, 0.0])
    m.pose.neck[:, 0] += 0.3 * w


def _straight_arm(m: Motion, side: str, elevation: np.ndarray, azimuth: float, reach: float) -> np.ndarray:
    """Wrist target of a (nearly) straight arm swung up from hanging: ``elevation`` 0 hangs, pi/2 is level with
    the shoulder, pi overhead; ``azimuth`` is the plane it swings in, 0 straight forward, pi/2 out to the side."""
    s = SIGN[side]
    el = np.asarray(elevation, dtype=float)
    d = np.stack([s * (np.sin(el) * np.sin(azimuth) + 0.06), -np.cos(el), np.sin(el) * np.cos(azimuth)], -1)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    return m.shoulder(side) + reach * (m.shape.upper_arm + m.shape.forearm) * d


def _arm_raise(m: Motion, sides: tuple[str, ...], plane: str, overhead: bool) -> None:
    """Straight arms lifted in one plane, held at the top, lowered the same way, once or twice. plane 'front': the
    arms swing up in front of the body (sagittal plane); 'side': out to the sides (frontal plane). overhead: on
    past the shoulders to above the head, else they stop about level with the shoulders."""
    reps = 1 if m.rng.random() < 0.6 else 2
    start, end = m.rng.uniform(0.04, 0.12), m.rng.uniform(0.88, 0.97)
    edges = np.linspace(start, end, reps + 1)
    times = []
    for a, b in zip(edges[:-1], edges[1:]):  # each lift: up, a hold of varying length, down
        hold = m.rng.uniform(0.0, 0.35) * (b - a)
        up = (b - a - hold) / 2
        times.append(np.array([a, a + up, b - up, b]))
    top = np.radians(m.rng.uniform(150, 172) if overhead else m.rng.uniform(80, 100) * m.amp**0.3)
    azimuth = np.radians(m.rng.uniform(-5, 12) if plane == "front" else m.rng.uniform(72, 95))
    reach = m.rng.uniform(0.88, 0.98)
    for side in sides:  # the two arms of a person are never quite in step
        w = sum(window(m.s, *(t + m.rng.normal(0, 0.01, 4))) for t in times)
        el = top + np.radians(m.rng.normal(0, 4))
        target = _straight_arm(m, side, el * np.clip(w, 0.0, 1.0), azimuth + np.radians(m.rng.normal(0, 4)), reach)
        pole = [SIGN[side] * 0.8, -1.0, 0.0] if plane == "front" else [0.0, -1.0, -0.6]
        m.set_arm(side, target, pole=pole)
        m.pose.wrist_flex[side] = 0.1 * w
    if overhead:
        m.pose.neck[:, 0] -= 0.1 * m.rng.random() * np.clip(w, 0.0, 1.0) ** 2


def front_raise(m: Motion) -> None:
    _arm_raise(m, SIDES, "front", overhead=False)


def lateral_raise(m: Motion) -> None:
    _arm_raise(m, SIDES, "side", overhead=False)


def overhead_front(m: Motion) -> None:
    _arm_raise(m, SIDES, "front", overhead=True)


def overhead_side(m: Motion) -> None:
    _arm_raise(m, SIDES, "side", overhead=True)


def front_raise_one(m: Motion) -> None:
    _arm_raise(m, (m.side,), "front", overhead=False)


def side_raise_one(m: Motion) -> None:
    _arm_raise(m, (m.side,), "side", overhead=False)


def _push(m: Motion, direction: str) -> None:
    """Both hands come up to the chest, palms out, and are pushed away (forward or out to the sides) one to
    three times, then drop."""
    up = window(m.s, 0.04, 0.18, 0.84, 0.97)
    reps = m.reps(1, 3)
    phase = np.clip((m.s - 0.18) / 0.64, 0.0, 1.0)
    out = smooth(np.clip(1.6 * np.abs(np.sin(np.pi * reps * phase)), 0.0, 1.0))
    length = (m.shape.upper_arm + m.shape.forearm) * m.rng.uniform(0.86, 0.96)
    h = m.rng.uniform(-0.12, 0.0)
    for side in SIDES:
        s = SIGN[side]
        chest = m.front(side, h - 0.06, 0.16, 0.1)
        if direction == "forward":
            away = m.shoulder(side) + np.array([s * 0.04, h + 0.04, length])
            pole = [s * 0.8, -1.0, 0.0]
        else:
            away = m.shoulder(side) + np.array([s * length, h + 0.06, 0.08])
            pole = [0.0, -1.0, -0.5]
        target = m.rest(side) + (chest - m.rest(side)) * col(up)
        target = target + (away - target) * col(out)
        m.set_arm(side, target, pole=pole)
        m.pose.wrist_flex[side] = -0.7 * out * up
    m.pose.lumbar[:, 0] += 0.06 * out * (direction == "forward")


def push_forward(m: Motion) -> None:
    _push(m, "forward")


def push_sideways(m: Motion) -> None:
    _push(m, "sideways")


def walking(m: Motion) -> None:
    """The arms of plain walking: they swing, which the lower-body walk adds by itself."""


def still(m: Motion) -> None:
    """No action: the arms hang (with the idle sway every generated body has)."""


UPPER: dict[str, Program] = {
    "drink": drink_water, "eat": eat, "brush_teeth": brush_teeth, "brush_hair": brush_hair, "pickup": pickup,
    "throw": throw, "sit_down": sit_down, "stand_up": stand_up, "clap": clap, "cheer": cheer_up, "wave": wave,
    "kick": kick, "side_kick": side_kick, "butt_kicks": butt_kicks, "run_in_place": run_in_place, "jump": jump_up,
    "phone": phone_call, "point": point, "check_time": check_time, "rub_hands": rub_hands, "nod": nod_bow,
    "shake_head": shake_head, "wipe_face": wipe_face, "salute": salute, "palms": palms_together,
    "cross_stop": cross_hands_stop, "sneeze": sneeze_cough, "stagger": stagger, "fall": fall,
    "touch_head": touch_head, "touch_chest": touch_chest, "touch_back": touch_back, "touch_neck": touch_neck,
    "nausea": nausea, "fan": fan, "squat_down": squat_down, "arm_circles": arm_circles, "swing_arms": swing_arms,
    "cross_toe_touch": cross_toe_touch, "yawn": yawn, "stretch": stretch, "raise_hands": raise_hands,
    "cross_arms": cross_arms, "shake_fist": shake_fist, "hush": hush, "shoot_basket": shoot_basket,
    "bounce_ball": bounce_ball, "tennis": tennis_swing, "blow_nose": blow_nose, "put_on_hat": put_on_hat,
    "take_off_hat": take_off_hat, "tear_paper": tear_paper, "walking": walking, "still": still,
    "front_raise": front_raise, "lateral_raise": lateral_raise, "overhead_front": overhead_front,
    "overhead_side": overhead_side, "front_raise_one": front_raise_one, "side_raise_one": side_raise_one,
    "push_forward": push_forward, "push_sideways": push_sideways,
}  # fmt: skip


@dataclass(frozen=True)
class ActionSpec:
    """A class of the synthetic set: which programs make it and how long it lasts."""

    upper: str
    lower: str = "stand"  # or a program that also drives the legs itself ("none")
    seconds: tuple[float, float] = (2.0, 3.5)
    seated_ok: bool = False  # may start seated (upper-body actions people also do sitting)


# Class name -> spec. Names follow NTU RGB+D 120 where NTU has the action.
ACTIONS: dict[str, ActionSpec] = {
    "Drink water": ActionSpec("drink", seated_ok=True),
    "Eat meal/snack": ActionSpec("eat", seconds=(2.5, 4.0), seated_ok=True),
    "Brushing teeth": ActionSpec("brush_teeth", seconds=(2.5, 4.0), seated_ok=True),
    "Brushing hair": ActionSpec("brush_hair", seconds=(2.5, 4.0), seated_ok=True),
    "Pickup": ActionSpec("pickup", lower="none"),
    "Throw": ActionSpec("throw", seconds=(1.6, 2.6)),
    "Sitting down": ActionSpec("sit_down", lower="none"),
    "Standing up (from sitting position)": ActionSpec("stand_up", lower="none"),
    "Clapping": ActionSpec("clap", seated_ok=True),
    "Put on a hat/cap": ActionSpec("put_on_hat", seated_ok=True),
    "Take off a hat/cap": ActionSpec("take_off_hat", seated_ok=True),
    "Tear up paper": ActionSpec("tear_paper", seated_ok=True),
    "Cheer up": ActionSpec("cheer"),
    "Hand waving": ActionSpec("wave", seated_ok=True),
    "Kicking something": ActionSpec("kick", lower="none", seconds=(1.5, 2.5)),
    "Hopping (one foot jumping)": ActionSpec("walking", lower="hop", seconds=(2.0, 3.5)),
    "Jumping up": ActionSpec("jump", lower="none", seconds=(1.5, 2.5)),
    "Make a phone call/Answer phone": ActionSpec("phone", seconds=(2.5, 4.0), seated_ok=True),
    "Pointing to something with finger": ActionSpec("point", seated_ok=True),
    "Checking time (from watch)": ActionSpec("check_time", seated_ok=True),
    "Rubbing two hands together": ActionSpec("rub_hands", seated_ok=True),
    "Nod headbow": ActionSpec("nod"),
    "Shake head": ActionSpec("shake_head", seated_ok=True),
    "Wiping face": ActionSpec("wipe_face", seated_ok=True),
    "Salute": ActionSpec("salute"),
    "Putting the palms together": ActionSpec("palms", seated_ok=True),
    "Crossing hands in front (saying stop)": ActionSpec("cross_stop"),
    "Sneeze/cough": ActionSpec("sneeze", seated_ok=True),
    "Staggering": ActionSpec("stagger", lower="none", seconds=(2.5, 4.0)),
    "Falling": ActionSpec("fall", lower="none", seconds=(2.0, 3.0)),
    "Touching head (headache)": ActionSpec("touch_head", seated_ok=True),
    "Touching chest (stomachache/heart pain)": ActionSpec("touch_chest", seated_ok=True),
    "Touching back (backache)": ActionSpec("touch_back"),
    "Touching neck (neckache)": ActionSpec("touch_neck", seated_ok=True),
    "Nausea or vomiting": ActionSpec("nausea"),
    "Using a fan (with hand or paper)": ActionSpec("fan", seated_ok=True),
    "Hushing": ActionSpec("hush", seated_ok=True),
    "Shooting at the basket": ActionSpec("shoot_basket", seconds=(1.8, 2.8)),
    "Bouncing a ball": ActionSpec("bounce_ball", seconds=(2.5, 4.0)),
    "Tennis bat swing": ActionSpec("tennis", seconds=(1.6, 2.6)),
    "Squatting down": ActionSpec("squat_down", lower="none"),
    "Shaking fist": ActionSpec("shake_fist", seated_ok=True),
    "Raising hands up": ActionSpec("raise_hands"),
    "Crossing arms": ActionSpec("cross_arms", seated_ok=True),
    "Making arm circles": ActionSpec("arm_circles", seconds=(2.5, 4.0)),
    "Swinging arms": ActionSpec("swing_arms", seconds=(2.5, 4.0)),
    "Running on the spot": ActionSpec("run_in_place", lower="none", seconds=(2.5, 4.0)),
    "Butt kicks (kick backward)": ActionSpec("butt_kicks", lower="none", seconds=(2.5, 4.0)),
    "Cross toe touch": ActionSpec("cross_toe_touch", lower="none", seconds=(3.0, 4.5)),
    "Side kick": ActionSpec("side_kick", lower="none", seconds=(1.5, 2.5)),
    "Yawning": ActionSpec("yawn", seated_ok=True),
    "Stretching oneself": ActionSpec("stretch", seconds=(2.5, 4.0)),
    "Blowing nose": ActionSpec("blow_nose", seated_ok=True),
    "Walking": ActionSpec("walking", lower="walk", seconds=(2.0, 3.5)),
    # Compositions: a seen arm program over a seen leg program (for compositional zero-shot splits).
    "Hand waving while walking": ActionSpec("wave", lower="walk"),
    "Clapping while walking": ActionSpec("clap", lower="walk"),
    "Making arm circles while walking": ActionSpec("arm_circles", lower="walk", seconds=(2.5, 4.0)),
    "Drink water while walking": ActionSpec("drink", lower="walk"),
    "Make a phone call while walking": ActionSpec("phone", lower="walk", seconds=(2.5, 4.0)),
    "Salute while walking": ActionSpec("salute", lower="walk"),
    "Crossing arms while walking": ActionSpec("cross_arms", lower="walk"),
    "Touching head while walking": ActionSpec("touch_head", lower="walk"),
    "Clapping while squatting": ActionSpec("clap", lower="squat"),
    "Hand waving while hopping": ActionSpec("wave", lower="hop"),
    "Raising hands up while squatting": ActionSpec("raise_hands", lower="squat"),
    # Pairs that differ only in the direction the arms travel (forward or out to the sides), so that direction
    # words are tied to the direction of the motion. Appended: the classes above keep their indices and seeds.
    "Front raise (both arms forward)": ActionSpec("front_raise", seconds=(2.5, 4.0), seated_ok=True),
    "Lateral raise (arms out to the sides)": ActionSpec("lateral_raise", seconds=(2.5, 4.0), seated_ok=True),
    "Raising arms overhead through the front": ActionSpec("overhead_front", seconds=(2.5, 4.0)),
    "Raising arms overhead through the sides": ActionSpec("overhead_side", seconds=(2.5, 4.0)),
    "Front raise with one arm": ActionSpec("front_raise_one", seconds=(2.0, 3.5), seated_ok=True),
    "Side raise with one arm": ActionSpec("side_raise_one", seconds=(2.0, 3.5), seated_ok=True),
    "Pushing both hands forward": ActionSpec("push_forward", seconds=(2.0, 3.5)),
    "Pushing both hands out to the sides": ActionSpec("push_sideways", seconds=(2.0, 3.5)),
}

# Not an action class: someone standing or sitting still, for "no known action" calibration and the demo stream.
IDLE = "idle"
IDLE_SPEC = ActionSpec("still", seconds=(2.0, 4.0), seated_ok=True)

SYNTHETIC_CLASSES: tuple[str, ...] = tuple(ACTIONS)
COMPOSITE_CLASSES: tuple[str, ...] = tuple(n for n, a in ACTIONS.items() if a.lower in ("walk", "squat", "hop") and a.upper != "walking")
