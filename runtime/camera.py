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

from runtime.app import DEFAULT_VOCAB, App, AppConfig, recognizer_config
from runtime.backends import NAMES as BACKENDS
from runtime.bundle import BundleError
from runtime.cli import (
    add_fields,
    cosine,
    fraction,
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
)
from runtime.decisions import DecisionConfig
from runtime.publisher import DEFAULT_ENDPOINT
from runtime.recognizer import RecognizerConfig
from runtime.sources import SourceError, open_source
from runtime.vocab import VocabError

# range checks of the recognition flags, by config field (refused before anything starts)
RECOGNITION_TYPES = {
    "stride": positive_int, "window_seconds": non_negative_float, "min_coverage": fraction, "top_k": positive_int,
    "person_timeout": positive_float, "unknown_threshold": cosine, "smoothing": fraction,
    "enter_margin": non_negative_float, "exit_margin": non_negative_float, "min_duration": non_negative_float,
    "default_threshold": cosine,
}
field_of_view = number(float, lambda v: 0 < v < 180, "an angle in degrees in (0, 180)")


def label_threshold(text: str) -> tuple[str, float]:
    """--threshold LABEL=VALUE (the last '=' separates, so a label may hold one)."""
    label, sep, value = text.rpartition("=")
    if not sep or not label.strip():
        raise argparse.ArgumentTypeError(f"expects LABEL=VALUE, got {text!r}")
    try:
        return label.strip(), cosine(value.strip())
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{label.strip()!r}: {e}") from None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m runtime.camera", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_argument_group("what to recognise")
    g.add_argument("--vocab", default=str(DEFAULT_VOCAB),
                   help="actions.txt: one action a line, optional '| description'. Write what the body visibly does: "
                        "a verb, the body part and the direction ('raising both arms straight forward', 'swiping the "
                        "right hand to the left'), not one word or an intention ('reach', 'greeting')")
    g.add_argument("--store", default="", help="enrolled examples (python -m runtime.enrol; default: beside the "
                                               "vocabulary, actions.txt -> actions.enrolled.npz, when it exists)")
    g.add_argument("--bundle", default="", help="model bundle directory (default: the one that ships)")
    g.add_argument("--backend", default="auto", choices=BACKENDS, help="auto: TensorRT, then onnxruntime CUDA, then CPU")
    g.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"])
    g.add_argument("--threads", type=non_negative_int, default=0, help="inference threads (0: onnxruntime's default)")
    g = ap.add_argument_group("source")
    g.add_argument("--source", default="0", help="camera index or device, video file, rtsp/http URL, 'demo', "
                                                  "a recording (.jsonl) or an NTU .skeleton file")
    g.add_argument("--source-id", default="", help="name of this source in every event (default: from the source)")
    g.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=True,
                   help="replay files at their own pace (--no-realtime: as fast as possible)")
    g.add_argument("--speed", type=positive_float, default=1.0, help="replay speed factor for files")
    g.add_argument("--loop", action="store_true", help="replay a file source forever")
    g.add_argument("--duration", type=non_negative_float, default=0.0,
                   help="stop after this many seconds (0: until the source ends, or never with --loop)")
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
                   "unknown_threshold": {"help": "weighted cosine below which a window is 'unknown' (default: the "
                                                 "bundle's calibrated value)"},
                   "thresholds": {"action": "append", "type": label_threshold, "metavar": "LABEL=VALUE", "default": None,
                                  "help": "per-label threshold, a cosine in [-1, 1] (repeatable; a label not in the "
                                          "vocabulary is warned about)"},
                   "predictions": {"help": "publish a prediction per window (--no-predictions: only start/end events, "
                                           "heartbeats, status)"}})
    g.add_argument("--adapt-state", default="", help="save the adaptation bank here on exit, restore it on start")
    add_fields(g, DecisionConfig, types=RECOGNITION_TYPES, extra={
        "smoothing": {"help": "weight of the newest window in the moving average"},
        "enter_margin": {"help": "cosine over its threshold a label needs to start"},
        "exit_margin": {"help": "cosine under its threshold at which an active action ends"}})
    g = ap.add_argument_group("event stream")
    g.add_argument("--bind", default=DEFAULT_ENDPOINT, help="ZeroMQ PUB endpoint")
    g.add_argument("--bind-wide", action="store_true", help="allow an endpoint beyond loopback")
    g.add_argument("--curve", default="", help="CURVE key directory (python -m runtime.keys) to encrypt and authenticate")
    g = ap.add_argument_group("output")
    g.add_argument("--save-skeletons", default="", help="record the skeleton stream (.jsonl) for replay or calibration")
    g.add_argument("--show", action="store_true", help="a window with the skeleton, action and top-k over the frame")
    g.add_argument("--record", default="", help="write the annotated video (.mp4); frames are kept only then")
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
        config = AppConfig(
            bundle=args.bundle, vocab=args.vocab, store=args.store, backend=args.backend, precision=args.precision, threads=args.threads,
            bind=args.bind, bind_wide=args.bind_wide, curve=args.curve, source_id=args.source_id,
            realtime=args.realtime, speed=args.speed, loop=args.loop, duration=args.duration,
            adapt_state=args.adapt_state, save_skeletons=args.save_skeletons, recognizer=recognizer_config(args),
            show=args.show, record=args.record,
        )
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
