"""python -m runtime.camera --vocab actions.txt [--source 0|video.mp4|rtsp://..|demo|rec.jsonl|x.skeleton] ...

Recognise actions from a camera, a video, a stream or recorded skeletons, against the vocabulary you write in
actions.txt (edit it while running: it reloads within a second; examples you enrol with
``python -m runtime.enrol`` join it the same way), and publish the results as a ZeroMQ event
stream on tcp://127.0.0.1:5556 (topics zsar.prediction, zsar.action.start, zsar.action.end, zsar.heartbeat,
zsar.status; see the README). Watch it with: python -m runtime.listen

Exit codes: 0 (the source ended, --duration passed, SIGINT/SIGTERM), 2 (bad settings, bundle, vocabulary or source;
the source failed), 3 (recognition failed). Out-of-range options are refused before anything starts.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from runtime.app import App, AppConfig, recognizer_config
from runtime.backends import NAMES as BACKENDS
from runtime.bundle import BundleError
from runtime.cli import (
    add_fields,
    fraction,
    from_args,
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
    score,
)
from runtime.decisions import DecisionConfig
from runtime.recognizer import RecognizerConfig
from runtime.sources import SourceError, open_source
from runtime.vocab import VocabError

# range checks of the recognition flags, by config field (refused before anything starts)
RECOGNITION_TYPES = {
    "stride": positive_int, "window_seconds": non_negative_float, "min_coverage": fraction, "top_k": positive_int,
    "person_timeout": positive_float, "unknown_threshold": score, "smoothing": fraction,
    "enter_margin": non_negative_float, "exit_margin": non_negative_float, "min_duration": non_negative_float,
    "default_threshold": score,
}
field_of_view = number(float, lambda v: 0 < v < 180, "an angle in degrees in (0, 180)")


def label_threshold(text: str) -> tuple[str, float]:
    """--threshold LABEL=VALUE (the last '=' separates, so a label may hold one)."""
    label, sep, value = text.rpartition("=")
    if not sep or not label.strip():
        raise argparse.ArgumentTypeError(f"expects LABEL=VALUE, got {text!r}")
    try:
        return label.strip(), score(value.strip())
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{label.strip()!r}: {e}") from None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m runtime.camera", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    # AppConfig's fields (runtime.app) hold these flags' defaults and help, RecognizerConfig's and DecisionConfig's
    # the recognition ones: written once
    g = ap.add_argument_group("what to recognise")
    add_fields(g, AppConfig, only=("vocab", "store", "bundle", "backend", "precision", "threads"),
               types={"threads": non_negative_int},
               extra={"backend": {"choices": BACKENDS}, "precision": {"choices": ["auto", "fp32", "fp16", "int8"]}})
    g = ap.add_argument_group("source")
    g.add_argument("--source", default="0", help="camera index or device, video file, rtsp/http URL, 'demo', "
                                                  "a recording (.jsonl) or an NTU .skeleton file")
    add_fields(g, AppConfig, only=("source_id", "realtime", "speed", "loop", "duration"),
               types={"speed": positive_float, "duration": non_negative_float})
    g.add_argument("--seed", type=int, default=0, help="seed of the demo source")
    g = ap.add_argument_group("pose (camera, video and stream sources)")
    g.add_argument("--pose", choices=["solutions", "tasks"], default=None,
                   help="MediaPipe API: solutions (default; bundled model, one person) or tasks (needs --pose-model)")
    g.add_argument("--pose-model", default="", help="a MediaPipe PoseLandmarker .task file (selects the Tasks API)")
    g.add_argument("--max-people", type=positive_int, default=1, help="people to track (Tasks API only)")
    g.add_argument("--max-fps", type=non_negative_float, default=0.0, help="cap pose frames per second (weak devices)")
    g.add_argument("--fov", type=field_of_view, default=65.0, help="camera horizontal field of view in degrees")
    g.add_argument("--mirror", action="store_true", help="the camera image is mirrored (selfie view)")
    g = ap.add_argument_group("recognition")
    # defaults and help come from the config dataclasses (runtime.recognizer, runtime.decisions): written once
    add_fields(g, RecognizerConfig, types=RECOGNITION_TYPES, skip=("adaptation", "decisions"),
               flags={"window_seconds": "--window", "thresholds": "--threshold"}, extra={
                   "window_seconds": {"default": 0.0, "metavar": "SECONDS", "help": "seconds of motion per window (0, the default: the bundle's)"},
                   "top_k": {"help": "labels in each prediction"},
                   "adapt": {"help": "refine class prototypes from confident windows (on-device adaptation)"},
                   "unknown_threshold": {"help": "score below which a window is 'unknown': a weighted cosine in [-1, 1], "
                                                 "or in the bundle's score range (default: the bundle's calibrated value)"},
                   "thresholds": {"action": "append", "type": label_threshold, "metavar": "LABEL=VALUE", "default": None,
                                  "help": "per-label threshold, a score as --unknown-threshold (repeatable; a label not in the "
                                          "vocabulary is warned about)"},
                   "predictions": {"help": "publish a prediction per window (--no-predictions: only start/end events, "
                                           "heartbeats, status)"}})
    add_fields(g, AppConfig, only=("adapt_state",))
    add_fields(g, DecisionConfig, types=RECOGNITION_TYPES, extra={
        "smoothing": {"help": "weight of the newest window in the moving average"},
        "enter_margin": {"help": "score over its threshold a label needs to start"},
        "exit_margin": {"help": "score under its threshold at which an active action ends"}})
    g = ap.add_argument_group("event stream")
    add_fields(g, AppConfig, only=("bind", "bind_wide", "curve"))
    g = ap.add_argument_group("output")
    add_fields(g, AppConfig, only=("save_skeletons", "show", "record"))
    g.add_argument("--log-level", default="INFO")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("runtime")
    try:
        source_kw = dict(seed=args.seed, pose=args.pose or "", pose_model=args.pose_model or None,
                         max_people=args.max_people, realtime=args.realtime, fov_deg=args.fov, mirror=args.mirror,
                         keep_image=args.show or bool(args.record), max_fps=args.max_fps)
        frames, info = open_source(args.source, **source_kw)
        config = from_args(AppConfig, args, recognizer=recognizer_config(args))
        app = App(config, info)
    except (SourceError, BundleError, VocabError, OSError, ValueError, RuntimeError) as e:
        log.error(str(e))
        return 2
    signal.signal(signal.SIGINT, app.stop)
    signal.signal(signal.SIGTERM, app.stop)
    log.info(f"publishing on {app.publisher.endpoint}; vocabulary {len(app.recognizer.vocab.labels)} labels "
             f"({len(app.recognizer.vocab.encoded_on_device)} encoded on the device); source {info.name}")
    first = [frames]

    def open_frames():
        if first:
            return first.pop()
        frames_again, info_again = open_source(args.source, **source_kw)
        if info_again.state is not None:
            app.set_source_state(info_again.state)
        return frames_again

    return app.run(open_frames, info)


if __name__ == "__main__":
    sys.exit(main())
