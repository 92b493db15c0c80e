"""Camera, video file and network stream sources with MediaPipe pose.

Capture runs in its own thread and keeps only the newest frame: a slow consumer never builds a queue, it skips
frames, and the skipped ones are counted. Cameras and streams that drop are reopened with back-off; a source
that cannot be opened at all is a clear error. Frames never leave the process: only skeletons do (unless the
user asks for --show or --record). Files can be processed frame by frame (realtime=False), for exact replays.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.frames import Frame, Person, SourceInfo
from runtime.pose import create_pose_backend
from runtime.skeleton import ntu_from_mediapipe
from runtime.sources import SourceError
from runtime.tracker import Tracker, keypoint_box

log = logging.getLogger("runtime")


@dataclass
class SourceState:
    """Shared with the app: counters for the heartbeat and the last picture for --show / --record."""

    dropped: int = 0
    frames: int = 0
    reconnects: int = 0
    image: np.ndarray | None = None  # BGR, only kept when show/record asked for it
    detections: dict = field(default_factory=dict)  # person id -> (33, 4) image landmarks
    pose_ms: list = field(default_factory=list)


def parse_spec(spec: str):
    """A camera index ("0"), a device path (/dev/video0), a URL (rtsp://, http://) or a file path."""
    if spec.isdigit():
        return int(spec), "camera"
    if spec.startswith(("rtsp://", "rtmp://", "http://", "https://", "udp://")):
        return spec, "stream"
    if spec.startswith("/dev/video"):
        return spec, "camera"
    p = Path(spec)
    if not p.exists():
        raise SourceError(f"{spec}: no such file, and not a camera index, device or stream URL")
    return str(p), "file"


class Capture(threading.Thread):
    def __init__(self, spec: str, realtime: bool = True, state: SourceState | None = None):
        super().__init__(daemon=True, name="capture")
        import cv2

        self.cv2 = cv2
        self.target, self.kind = parse_spec(spec)
        self.spec = spec
        self.realtime = realtime or self.kind != "file"  # live sources are always real time
        self.state = state or SourceState()
        self.cond = threading.Condition()
        self.latest: tuple[int, float, np.ndarray] | None = None
        self.ended = False
        self.stop_event = threading.Event()
        self.cap = self._open()
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else 30.0
        self.size = (int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def _open(self):
        cap = self.cv2.VideoCapture(self.target)
        if not cap.isOpened():
            what = {"camera": "camera", "stream": "stream", "file": "video file"}[self.kind]
            raise SourceError(f"cannot open {what} {self.spec!r}" + (
                " (is a camera connected, and is the device passed to the container?)" if self.kind == "camera" else ""))
        return cap

    def run(self) -> None:
        index, start, backoff = 0, time.monotonic(), 0.5
        while not self.stop_event.is_set():
            ok, img = self.cap.read()
            if not ok:
                if self.kind == "file":
                    break
                log.warning(f"{self.spec}: no frame, reconnecting in {backoff:.1f} s")
                self.cap.release()
                if self.stop_event.wait(backoff):
                    break
                backoff = min(backoff * 2, 8.0)
                try:
                    self.cap = self._open()
                    self.state.reconnects += 1
                except SourceError as e:
                    log.warning(str(e))
                continue
            backoff = 0.5
            t = index / self.fps if self.kind == "file" else time.monotonic() - start
            if self.kind == "file" and self.realtime:  # play the file at its own pace
                wait = start + t - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    break
            with self.cond:
                if self.realtime:
                    if self.latest is not None:
                        self.state.dropped += 1  # the consumer did not take the previous one: skip it
                else:
                    while self.latest is not None and not self.stop_event.is_set():
                        self.cond.wait(0.1)  # file, frame by frame: wait for the consumer
                self.latest = (index, t, img)
                self.cond.notify_all()
            index += 1
        with self.cond:
            self.ended = True
            self.cond.notify_all()
        self.cap.release()

    def take(self, timeout: float = 0.5):
        """The newest frame (index, t, BGR image), None while waiting, or raises StopIteration at the end."""
        with self.cond:
            if self.latest is None and not self.ended:
                self.cond.wait(timeout)
            if self.latest is None:
                if self.ended:
                    raise StopIteration
                return None
            item, self.latest = self.latest, None
            self.cond.notify_all()
            return item

    def stop(self) -> None:
        self.stop_event.set()


def pose_frames(capture: Capture, pose, state: SourceState, fov_deg: float, mirror: bool, keep_image: bool,
                max_fps: float = 0.0) -> Iterator[Frame]:
    """Capture -> MediaPipe -> NTU-25 people with stable ids."""
    import cv2

    tracker = Tracker()
    last_t = -1e9
    capture.start()
    try:
        while True:
            try:
                item = capture.take()
            except StopIteration:
                return
            if item is None:
                continue
            index, t, img = item
            if max_fps and t - last_t < 1.0 / max_fps:
                state.dropped += 1
                continue
            last_t = t
            rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            t0 = time.perf_counter()
            dets = pose.detect(rgb, int(t * 1000))
            state.pose_ms.append((time.perf_counter() - t0) * 1000)
            h, w = img.shape[:2]
            ids = tracker.update(t, [keypoint_box(d.image) for d in dets])
            people, drawn = [], {}
            for pid, d in zip(ids, dets):
                if pid < 0:
                    continue
                joints, conf = ntu_from_mediapipe(d.world, image=d.image, image_size=(w, h), fov_deg=fov_deg,
                                                  mirror=mirror)
                people.append(Person(pid, joints, conf))
                drawn[pid] = d.image
            state.frames += 1
            state.detections = drawn
            if keep_image:
                state.image = img
            yield Frame(t, people)
    finally:
        capture.stop()
        pose.close()


def open_video_source(spec: str, pose: str = "", pose_model: str | None = None, max_people: int = 1,
                      realtime: bool = True, fov_deg: float = 65.0, mirror: bool = False, keep_image: bool = False,
                      max_fps: float = 0.0, **_) -> tuple[Iterator[Frame], SourceInfo]:
    state = SourceState()
    capture = Capture(spec, realtime, state)
    backend = create_pose_backend(pose or ("tasks" if pose_model else "solutions"), pose_model, max_people)
    tracking = "multi-person" if backend.max_people > 1 else "single-person"
    name = f"camera{capture.target}" if capture.kind == "camera" else Path(str(capture.target)).stem if capture.kind == "file" else capture.spec
    info = SourceInfo(name, capture.kind, tracking, state=state, fps=capture.fps, size=capture.size, pose=backend.name)
    return pose_frames(capture, backend, state, fov_deg, mirror, keep_image, max_fps), info
