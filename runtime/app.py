"""The runtime as a whole: bundle, backend, vocabulary (watched for edits), recogniser, event stream, heartbeat,
a frame source, and a clean shutdown. ``python -m runtime.camera`` builds one from its command line."""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.backends import create_backend
from runtime.bundle import BundleError, load_bundle
from runtime.decisions import DecisionConfig
from runtime.publisher import DEFAULT_ENDPOINT, Publisher
from runtime.recognizer import Recognizer, RecognizerConfig
from runtime.recording import Frame, RecordingWriter
from runtime.vocab import VocabError, Vocabulary, read_vocab, resolve

log = logging.getLogger("runtime")
DEFAULT_VOCAB = Path(__file__).parent / "assets" / "actions.txt"


@dataclass
class AppConfig:
    bundle: str = ""
    vocab: str = str(DEFAULT_VOCAB)
    backend: str = "auto"
    precision: str = "auto"
    threads: int = 0
    bind: str = DEFAULT_ENDPOINT
    bind_wide: bool = False
    curve: str = ""
    source_id: str = ""
    realtime: bool = True
    speed: float = 1.0
    loop: bool = False
    duration: float = 0.0  # stop after this many seconds (0 = until the source ends or a signal)
    heartbeat_s: float = 1.0
    adapt_state: str = ""  # save the adaptation bank here on exit, restore it on start
    save_skeletons: str = ""
    show: bool = False  # a window with the skeleton and the current action drawn over the frame
    record: str = ""  # write the same annotated video here
    recognizer: RecognizerConfig = field(default_factory=RecognizerConfig)


class VocabularyWatcher(threading.Thread):
    """Polls the vocabulary file; a valid edit is swapped in within ``interval`` seconds (encoding new labels
    here, off the frame path); a broken edit keeps the last good vocabulary and is reported."""

    def __init__(self, app: App, interval: float = 0.25):
        super().__init__(daemon=True, name="vocab-watch")
        self.app, self.interval = app, interval
        self.path = Path(app.config.vocab)
        self.last = self._stamp()
        self.stop_event = threading.Event()

    def _stamp(self):
        try:
            st = self.path.stat()
            return st.st_mtime_ns, st.st_size
        except FileNotFoundError:
            return None

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            stamp = self._stamp()
            if stamp == self.last:
                continue
            self.last = stamp
            try:
                vocab = self.app.load_vocabulary()
            except (VocabError, BundleError) as e:
                log.error(f"vocabulary not reloaded, keeping the last good one: {e}")
                self.app.publisher.publish("status", event="vocabulary_error", message=str(e))
                continue
            self.app.recognizer.set_vocabulary(vocab)
            log.info(f"vocabulary reloaded: {len(vocab.labels)} labels")
            self.app.publisher.publish("status", event="vocabulary_loaded", message=f"{len(vocab.labels)} labels",
                                       labels=vocab.labels, encoded_on_device=vocab.encoded_on_device,
                                       vocab_id=vocab.fingerprint)


class App:
    def __init__(self, config: AppConfig, source_info: dict | None = None):
        self.config = config
        self.bundle = load_bundle(config.bundle) if config.bundle else load_bundle()
        self._text_encoder = None
        self._text_lock = threading.Lock()
        self.backend = create_backend(self.bundle, config.backend, config.precision, config.threads)
        vocab = self.load_vocabulary()
        info = source_info or {}
        self.publisher = Publisher(config.bind, config.source_id or info.get("name", "source"), config.bind_wide,
                                   config.curve or None)
        self.recognizer = Recognizer(self.bundle, self.backend, vocab, self.publisher, config.recognizer,
                                     tracking=info.get("tracking", "single-person"))
        if config.adapt_state and self.recognizer.adapter is not None and Path(config.adapt_state).exists():
            ok = self.recognizer.adapter.load(config.adapt_state)
            log.info(f"adaptation bank {'restored from' if ok else 'NOT restored (other vocabulary or model):'} "
                     f"{config.adapt_state}")
        self.stop_event = threading.Event()
        self.watcher = VocabularyWatcher(self)
        self.heartbeat = threading.Thread(target=self._heartbeat, daemon=True, name="heartbeat")
        self.recorder = RecordingWriter(config.save_skeletons, source=self.publisher.source) if config.save_skeletons else None
        # recognition runs in its own thread so that it never slows the pose loop down: the pose loop hands
        # frames over a queue; a live source drops the oldest frame when recognition falls behind, a file
        # replayed frame by frame waits instead (nothing is lost)
        self.frames: queue.Queue = queue.Queue(maxsize=64)
        self.worker = threading.Thread(target=self._recognise, daemon=True, name="recognition")
        self.worker_error: Exception | None = None
        self.source_state = (source_info or {}).get("state")
        self.queue_drops = 0
        self.video_writer = None

    # -------------------------------------------------------------------------------- vocabulary
    def text_encoder(self):
        with self._text_lock:
            if self._text_encoder is None:
                from runtime.text import OnnxTextEncoder

                enc = OnnxTextEncoder(self.bundle.text_encoder_dir())
                enc.check_probe(self.bundle.table.probe_text, self.bundle.table.probe_embedding)
                self._text_encoder = enc
            return self._text_encoder

    def _preload_text_encoder(self) -> None:
        """Load it in the background, so that a vocabulary edit with a new label reloads in well under a second."""
        if (self.bundle.text_encoder_dir() / "model.onnx").exists():
            try:
                self.text_encoder()
            except BundleError as e:
                log.warning(f"text encoder unusable, new labels cannot be encoded: {e}")

    def load_vocabulary(self) -> Vocabulary:
        entries = read_vocab(self.config.vocab)
        index = self.bundle.table.index()
        needs_encoder = any(e.description or e.label.lower() not in index for e in entries)
        encoder = None
        if needs_encoder:
            try:
                encoder = self.text_encoder()
            except BundleError as e:
                missing = [e_.label for e_ in entries if e_.description or e_.label.lower() not in index]
                raise VocabError(f"{self.config.vocab}: {', '.join(map(repr, missing))} need the text encoder: {e}") from e
        return resolve(entries, self.bundle.table, encoder, len(self.bundle.granularities))

    # ---------------------------------------------------------------------------------- running
    def _heartbeat(self) -> None:
        interval = self.config.heartbeat_s
        while not self.stop_event.wait(interval):
            if self.config.realtime:
                self.recognizer.tick(time.monotonic())
            if self.source_state is not None:
                self.recognizer.dropped_frames = self.source_state.dropped + self.queue_drops
            self.publisher.publish("heartbeat", **self.recognizer.health(interval))

    def _recognise(self) -> None:
        while True:
            item = self.frames.get()
            try:
                if item is None:
                    return
                self.recognizer.push(*item)
            except Exception as e:  # an inference failure must not die silently in a thread
                log.exception("recognition failed")
                self.worker_error = e
                self.stop_event.set()
            finally:
                self.frames.task_done()

    def _hand_over(self, t: float, people, lossless: bool) -> None:
        if lossless:
            self.frames.put((t, people))
            return
        while True:
            try:
                self.frames.put_nowait((t, people))
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.frames.task_done()
                    self.queue_drops += 1
                except queue.Empty:
                    pass

    def _draw(self) -> None:
        state = self.source_state
        if state is None or state.image is None:
            return
        import cv2

        from runtime.overlay import draw

        fps = float(np.median(1000 / np.array(state.pose_ms[-30:]))) if state.pose_ms else None
        img = draw(state.image, state.detections, dict(self.recognizer.latest), fps)
        if self.config.record:
            if self.video_writer is None:
                h, w = img.shape[:2]
                self.video_writer = cv2.VideoWriter(self.config.record, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
            self.video_writer.write(img)
        if self.config.show:
            cv2.imshow("zsar", img)
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                self.stop_event.set()

    def stop(self, *_) -> None:
        self.stop_event.set()

    def run(self, open_frames, info: dict) -> int:
        """Feed frames from ``open_frames()`` until the source ends (again, with --loop), the duration passes or
        stop() is called. Returns an exit code: 0, or 2 when the source failed."""
        pub, rec, cfg = self.publisher, self.recognizer, self.config
        pub.publish("status", event="started", message=f"{info.get('name', '')} via {self.backend.describe()}",
                    bundle=str(self.bundle.path), backend=self.backend.describe(), labels=rec.vocab.labels,
                    encoded_on_device=rec.vocab.encoded_on_device, vocab_id=rec.vocab.fingerprint,
                    source_kind=info.get("kind", ""), endpoint=pub.endpoint)
        # what loading made (modules, bundle, sessions) is never garbage: keep the collector from walking it on
        # every full collection, which otherwise lands in the middle of a window
        gc.collect()
        gc.freeze()
        threading.Thread(target=self._preload_text_encoder, daemon=True, name="text-encoder").start()
        self.watcher.start()
        self.heartbeat.start()
        self.worker.start()
        code = 0
        start = time.monotonic()
        try:
            while not self.stop_event.is_set():
                code = self._feed(open_frames(), start)
                if code != 0 or not cfg.loop:
                    break
        finally:
            self.close()
        return code

    def _feed(self, frames, start: float) -> int:
        cfg = self.config
        t_base = None
        try:
            for frame in frames:
                if self.stop_event.is_set():
                    return 0
                frame: Frame
                if t_base is None:
                    t_base = time.monotonic() - frame.t / cfg.speed
                if cfg.realtime:
                    wait = t_base + frame.t / cfg.speed - time.monotonic()
                    if wait > 0 and self.stop_event.wait(wait):
                        return 0
                    t = time.monotonic()
                else:
                    t = t_base + frame.t
                self._hand_over(t, frame.people, lossless=not cfg.realtime)
                if self.recorder is not None:
                    self.recorder.write(t - start, frame.people)
                if cfg.show or cfg.record:
                    self._draw()
                if cfg.duration and time.monotonic() - start >= cfg.duration:
                    return 0
        except Exception as e:  # a source that fails mid-stream: say so, flush what was decided, exit non-zero
            log.error(f"source failed: {e}")
            self.frames.join()
            self.publisher.publish("status", event="source_error", message=str(e))
            return 2
        self.frames.join()  # what the source delivered is recognised before saying it ended
        if self.worker_error is not None:
            return 2
        summary = self.recognizer.summary()
        log.info(f"source ended: {summary['message']}")  # a user sees "not recognised" apart from "not running"
        message = summary.pop("message")
        self.publisher.publish("status", event="source_ended",
                               message=f"the source has no more frames; {message}", **summary)
        return 0

    def close(self) -> None:
        self.stop_event.set()
        self.watcher.stop_event.set()
        if self.worker.is_alive():
            self.frames.put(None)
            self.worker.join(timeout=10)
        self.recognizer.close("shutdown")
        if self.video_writer is not None:
            self.video_writer.release()
        if self.config.show:
            import cv2

            cv2.destroyAllWindows()
        if self.config.adapt_state and self.recognizer.adapter is not None:
            self.recognizer.adapter.save(self.config.adapt_state)
            log.info(f"adaptation bank saved to {self.config.adapt_state}")
        if self.recorder is not None:
            self.recorder.close()
        self.publisher.publish("status", event="stopping", message="shutting down")
        if self.heartbeat.is_alive():
            self.heartbeat.join(timeout=2)
        self.publisher.close()


def recognizer_config(args) -> RecognizerConfig:
    thresholds = {}
    for item in args.threshold or []:
        label, sep, value = item.rpartition("=")
        if not sep:
            raise SystemExit(f"--threshold expects LABEL=VALUE, got {item!r}")
        thresholds[label.strip()] = float(value)
    return RecognizerConfig(
        stride=args.stride, window_seconds=args.window or None, top_k=args.top_k, adapt=args.adapt,
        thresholds=thresholds, unknown_threshold=args.unknown_threshold, predictions=not args.no_predictions,
        decisions=DecisionConfig(smoothing=args.smoothing, min_duration=args.min_duration),
    )
