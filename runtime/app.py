"""The runtime as a whole: bundle, backend, vocabulary (watched for edits), recogniser, event stream, heartbeat,
a frame source, and a clean shutdown. ``python -m runtime.camera`` builds one from its command line."""

from __future__ import annotations

import gc
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.backends import create_backend
from runtime.bundle import BundleError
from runtime.cli import from_args
from runtime.decisions import DecisionConfig
from runtime.enrolment import EnrolmentError, apply_examples, default_store, load_store
from runtime.factory import build_recognizer, open_bundle, text_encoder, vocabulary
from runtime.frames import Frame, SourceInfo
from runtime.publisher import DEFAULT_ENDPOINT, Publisher
from runtime.recognizer import RecognizerConfig, check_thresholds
from runtime.recording import RecordingWriter
from runtime.sources import SourceError
from runtime.vocab import VocabError, Vocabulary, read_vocab

log = logging.getLogger("runtime")
EXIT_SOURCE = 2  # the source failed (or cannot be opened; also bad settings, from the command line)
EXIT_RECOGNITION = 3  # recognition failed (inference, scoring): a supervisor should restart
DEFAULT_FRAME_S = 1 / 30  # a looped source of one frame repeats it at this interval
DEFAULT_VOCAB = Path(__file__).parent / "assets" / "actions.txt"


@dataclass
class AppConfig:
    # the runtime's settings; runtime.camera makes its flags from these fields (defaults and help written once)
    bundle: str = ""  # model bundle directory (default: the one that ships)
    vocab: str = str(DEFAULT_VOCAB)  # actions.txt: one action a line, optional '| description'. Write what the body visibly does: a verb, the body part and the direction ('raising both arms straight forward', 'swiping the right hand to the left'), not one word or an intention ('reach', 'greeting')
    store: str = ""  # enrolled examples (python -m runtime.enrol; default: beside the vocabulary, actions.txt -> actions.enrolled.npz, when it exists)
    backend: str = "auto"  # auto: TensorRT, then onnxruntime CUDA, then CPU
    precision: str = "auto"  # auto runs INT8 on a CPU with 8-bit dot products (VNNI, Arm dotprod), else fp32
    threads: int = 0  # inference threads (0: onnxruntime's default)
    bind: str = DEFAULT_ENDPOINT  # ZeroMQ PUB endpoint
    bind_wide: bool = False  # allow an endpoint beyond loopback
    curve: str = ""  # CURVE key directory (python -m runtime.keys) to encrypt and authenticate
    source_id: str = ""  # name of this source in every event (default: from the source)
    realtime: bool = True  # replay files at their own pace (--no-realtime: as fast as possible)
    speed: float = 1.0  # replay speed factor for files
    loop: bool = False  # replay a file source forever
    duration: float = 0.0  # stop after this many seconds (0: until the source ends, or never with --loop)
    heartbeat_s: float = 1.0
    # seconds between binding and the first event, so that subscribers already waiting (ZeroMQ reconnects every
    # 100 ms by default) are connected before `started` (the "slow joiner"); it overlaps loading the bundle
    startup_grace_s: float = 0.5
    adapt_state: str = ""  # save the adaptation bank here on exit, restore it on start
    save_skeletons: str = ""  # record the skeleton stream (.jsonl) for replay, calibration, enrolment or fine-tuning
    show: bool = False  # a window with the skeleton, action and top-k over the frame
    record: str = ""  # write the annotated video (.mp4); frames are kept only then
    recognizer: RecognizerConfig = field(default_factory=RecognizerConfig)


class VocabularyWatcher(threading.Thread):
    """Polls the vocabulary file; a valid edit is swapped in within ``interval`` seconds (encoding new labels
    here, off the frame path); a broken edit keeps the last good vocabulary and is reported."""

    def __init__(self, app: App, interval: float = 0.25):
        super().__init__(daemon=True, name="vocab-watch")
        self.app, self.interval = app, interval
        self.path = Path(app.config.vocab)
        store = getattr(app, "store_path", None)  # the enrolled examples, where there is a store to watch
        self.paths = (self.path,) if store is None else (self.path, store)
        self.last = self._stamp()
        self.stop_event = threading.Event()

    def _stamp(self):
        return tuple(self._stat(p) for p in self.paths)

    @staticmethod
    def _stat(path: Path):
        try:
            st = path.stat()
            return st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino
        except OSError:  # gone, or not readable: reloading says why
            return None

    def run(self) -> None:
        # nothing may end this thread but stop_event: an error is reported and the next edit is tried again
        while not self.stop_event.wait(self.interval):
            try:
                self.check()
            except Exception as e:
                log.exception("vocabulary watcher: unexpected error (still watching)")
                self._report(e)

    def _report(self, e: Exception) -> None:
        message = str(e) if isinstance(e, (VocabError, BundleError, EnrolmentError)) else f"{self.path}: {type(e).__name__}: {e}"
        try:
            self.app.publisher.publish("status", event="vocabulary_error", message=message)
        except Exception:
            log.exception("vocabulary watcher: cannot publish the error")

    def check(self) -> None:
        """Reload when the file changed (one poll)."""
        stamp = self._stamp()
        if stamp == self.last:
            return
        self.last = stamp
        try:
            vocab = self.app.load_vocabulary()
        except Exception as e:  # a broken file, a folder in its place, no permission, an encoder failure...
            log.error(f"vocabulary not reloaded, keeping the last good one: "
                      f"{e if isinstance(e, (VocabError, BundleError, EnrolmentError)) else f'{type(e).__name__}: {e}'}")
            self._report(e)
            return
        self.app.recognizer.set_vocabulary(vocab)
        log.info(f"vocabulary reloaded: {len(vocab.labels)} labels, {len(vocab.enrolled)} with enrolled examples")
        self.app.publisher.publish("status", event="vocabulary_loaded",
                                   message=f"{len(vocab.labels)} labels, {len(vocab.enrolled)} with enrolled examples",
                                   labels=vocab.labels, encoded_on_device=vocab.encoded_on_device,
                                   enrolled=vocab.enrolled, vocab_id=vocab.fingerprint)


def check_config(config: AppConfig) -> None:
    """Refuse settings that would only fail later, in a thread (a ValueError naming the setting)."""
    rc = config.recognizer

    def need(name: str, value, ok: bool, what: str):
        if not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"{name} must be {what}, got {value!r}")

    need("speed", config.speed, config.speed > 0, "> 0")
    need("duration", config.duration, config.duration >= 0, ">= 0 (0: no limit)")
    need("heartbeat_s", config.heartbeat_s, config.heartbeat_s > 0, "> 0")
    need("startup_grace_s", config.startup_grace_s, config.startup_grace_s >= 0, ">= 0")
    need("threads", config.threads, config.threads >= 0, ">= 0")
    need("top_k", rc.top_k, isinstance(rc.top_k, int) and rc.top_k >= 1, "an integer >= 1")
    need("stride", rc.stride, isinstance(rc.stride, int) and rc.stride >= 1, "an integer >= 1")
    if rc.window_seconds is not None:
        need("window_seconds", rc.window_seconds, rc.window_seconds > 0, "> 0 (or None: the bundle's)")
    need("min_coverage", rc.min_coverage, 0 < rc.min_coverage <= 1, "in (0, 1]")
    need("person_timeout", rc.person_timeout, rc.person_timeout > 0, "> 0")
    # thresholds: finite here; their range is the bundle's (runtime.recognizer.check_thresholds, once it is loaded)
    if rc.unknown_threshold is not None:
        need("unknown_threshold", rc.unknown_threshold, isinstance(rc.unknown_threshold, (int, float)), "a number")
    for label, value in rc.thresholds.items():
        need(f"threshold of {label!r}", value, isinstance(value, (int, float)), "a number")


class App:
    def __init__(self, config: AppConfig, source_info: SourceInfo | None = None):
        check_config(config)
        self.config = config
        info = source_info or SourceInfo()
        # bound first: the start-up grace for subscribers runs while the bundle loads
        self.publisher = Publisher(config.bind, config.source_id or info.name, config.bind_wide,
                                   config.curve or None, grace_s=config.startup_grace_s)
        try:
            self._load(config, info)
        except BaseException:
            self.publisher.close()
            raise

    def _load(self, config: AppConfig, info: SourceInfo) -> None:
        self.bundle = open_bundle(config.bundle)
        check_thresholds(config.recognizer, self.bundle)  # before anything slower starts
        self.store_path = Path(config.store) if config.store else default_store(config.vocab)
        self._text_encoder = None
        self._text_lock = threading.Lock()
        self.backend = create_backend(self.bundle, config.backend, config.precision, config.threads)
        vocab = self.load_vocabulary()
        self.recognizer = build_recognizer(self.bundle, vocab, config.recognizer, self.publisher, self.backend,
                                           tracking=info.tracking)
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
        self.source_state = info.state
        self.queue_drops = 0
        self.dropped_before = 0  # frames the capture of earlier passes dropped (--loop)
        self.video_writer = None

    # -------------------------------------------------------------------------------- vocabulary
    def text_encoder(self):
        with self._text_lock:
            if self._text_encoder is None:
                self._text_encoder = text_encoder(self.bundle)
            return self._text_encoder

    def _preload_text_encoder(self) -> None:
        """Load it in the background, so that a vocabulary edit with a new label reloads in well under a second."""
        try:  # text_encoder_dir() verifies the folder's checksums, so it can fail too
            if (self.bundle.text_encoder_dir() / "model.onnx").exists():
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
        vocab = vocabulary(self.bundle, entries, encoder)
        if self.store_path.exists():  # a store that appears later is read on the next change (the watcher)
            vocab = apply_examples(vocab, load_store(self.store_path, self.bundle.encoder_sha256), self.bundle)
        self._warn_thresholds(vocab)
        return vocab

    def _warn_thresholds(self, vocab: Vocabulary) -> None:
        labels = {label.lower() for label in vocab.labels}
        stray = [k for k in self.config.recognizer.thresholds if k.lower() not in labels]
        if stray:
            log.warning(f"--threshold for {', '.join(map(repr, stray))}: not in the vocabulary {self.config.vocab} "
                        "(no effect unless a label of that name is added)")

    # ---------------------------------------------------------------------------------- running
    def _heartbeat(self) -> None:
        interval = self.config.heartbeat_s
        while not self.stop_event.wait(interval):
            try:
                if self.config.realtime:
                    self.recognizer.tick(time.monotonic())
                if self.source_state is not None:
                    self.recognizer.dropped_frames = self.source_state.dropped + self.dropped_before + self.queue_drops
                self.publisher.publish("heartbeat", **self.recognizer.health(interval))
            except Exception:  # a heartbeat that fails once must not end the heartbeats
                log.exception("heartbeat failed")

    def _recognise(self) -> None:
        while True:
            item = self.frames.get()
            try:
                if item is None:
                    return
                if self.worker_error is None:  # after a failure, frames are only drained (the feeder may wait)
                    self.recognizer.push(*item)
            except Exception as e:  # an inference failure must not die silently in a thread: say what, and stop
                log.exception("recognition failed")
                self.worker_error = e
                self.stop_event.set()
                try:
                    self.publisher.publish("status", event="recognition_error",
                                           message=f"recognition failed: {type(e).__name__}: {e}; stopping "
                                                   f"(exit code {EXIT_RECOGNITION})", error=type(e).__name__)
                except Exception:
                    log.exception("cannot publish the recognition failure")
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

    def set_source_state(self, state) -> None:
        """A source reopened for the next pass (--loop): count on from the last one's figures."""
        if self.source_state is not None:
            self.dropped_before += self.source_state.dropped
        self.source_state = state

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

    def run(self, open_frames, info: SourceInfo) -> int:
        """Feed frames from ``open_frames()`` until the source ends (with --loop: forever, each pass continuing
        the timeline of the last), the duration passes or stop() is called. Returns an exit code: 0, 2 when the
        source failed (or has nothing to loop), 3 when recognition failed."""
        pub, rec, cfg = self.publisher, self.recognizer, self.config
        pub.publish("status", event="started", message=f"{info.name} via {self.backend.describe()}",
                    bundle=str(self.bundle.path), backend=self.backend.describe(), labels=rec.vocab.labels,
                    encoded_on_device=rec.vocab.encoded_on_device, enrolled=rec.vocab.enrolled,
                    vocab_id=rec.vocab.fingerprint, source_kind=info.kind, endpoint=pub.endpoint)
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
        self._t_base = None  # monotonic time of the source's time 0 (the first pass)
        self._resume_at = None  # with --loop: where on the source's timeline the next pass starts
        try:
            while not self.stop_event.is_set() and not self._expired(start):
                try:
                    frames = open_frames()
                except Exception as e:  # a source that cannot be reopened (--loop)
                    code = self._source_failed(e)
                    break
                try:
                    code = self._feed(frames, start)
                finally:
                    close = getattr(frames, "close", None)
                    if close is not None:  # a generator left early (stop, duration): release its capture now
                        close()
                if code != 0 or not cfg.loop:
                    break
        finally:
            self.close()
        if self.worker_error is not None:
            return EXIT_RECOGNITION
        return code

    def _expired(self, start: float) -> bool:
        return bool(self.config.duration) and time.monotonic() - start >= self.config.duration

    def _source_failed(self, e: Exception) -> int:
        log.error(f"source failed: {e}")
        self.frames.join()
        self.publisher.publish("status", event="source_error", message=str(e))
        return EXIT_SOURCE

    def _feed(self, frames, start: float) -> int:
        """One pass over a source. Times are kept on one timeline across passes, so that a looped source is
        paced at its own rate (the next pass starts one frame interval after the last frame) and the
        recogniser's clock never goes back."""
        cfg = self.config
        shift, n, first_t, last_t = None, 0, 0.0, 0.0
        try:
            for frame in frames:
                if self.stop_event.is_set():
                    return 0
                frame: Frame
                if shift is None:
                    shift = 0.0 if self._resume_at is None else self._resume_at - frame.t
                    first_t = frame.t
                n, last_t = n + 1, frame.t
                st = shift + frame.t  # seconds on the (continued) source timeline
                if self._t_base is None:
                    self._t_base = time.monotonic() - st / cfg.speed
                if cfg.realtime:
                    wait = self._t_base + st / cfg.speed - time.monotonic()
                    if wait > 0 and self.stop_event.wait(wait):
                        return 0
                    t = time.monotonic()
                else:
                    t = self._t_base + st
                self._hand_over(t, frame.people, lossless=not cfg.realtime)
                if self.recorder is not None:
                    self.recorder.write(t - start, frame.people)
                if cfg.show or cfg.record:
                    self._draw()
                if self._expired(start):
                    return 0
        except Exception as e:  # a source that fails mid-stream: say so, flush what was decided, exit non-zero
            return self._source_failed(e)
        self.frames.join()  # what the source delivered is recognised before saying it ended
        if self.worker_error is not None:
            return 0  # run() reports it
        if cfg.loop:
            if n == 0:
                return self._source_failed(SourceError(f"{self.publisher.source}: the source has no frames to loop"))
            period = (last_t - first_t) / (n - 1) if n > 1 and last_t > first_t else DEFAULT_FRAME_S
            self._resume_at = shift + last_t + period
            log.debug(f"source ended, looping ({n} frames)")
            return 0
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
        try:
            self.recognizer.close("shutdown")
        except Exception:
            log.exception("ending the active actions failed")
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
    """The recogniser's settings from ``runtime.camera``'s flags (made from RecognizerConfig and DecisionConfig)."""
    thresholds = {}
    for item in args.thresholds or []:  # (label, value) from the parser's type; "LABEL=VALUE" strings also do
        if isinstance(item, str):
            label, sep, value = item.rpartition("=")
            if not sep or not label.strip():
                raise ValueError(f"--threshold expects LABEL=VALUE, got {item!r}")
            item = (label, float(value))
        label, value = item
        thresholds[label.strip()] = float(value)
    return from_args(RecognizerConfig, args, window_seconds=args.window_seconds or None, thresholds=thresholds,
                     adaptation=None, decisions=from_args(DecisionConfig, args))
