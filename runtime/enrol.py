"""python -m runtime.enrol --label LABEL (--source 0 [--count 3] | REC.jsonl ...) | --list | --remove LABEL

Teach the recogniser an action from a few examples of it, on the device, in seconds. Each example becomes the
encoder's features of the motion and joins the label's prototype (``runtime.enrolment``); a running
``python -m runtime.camera`` picks the change up within a second. A label that the vocabulary lacks is added to
it with the examples alone; one that it has keeps its words and gains the examples.

  from the camera (a guided capture: a countdown, then one example of the bundle's window length, --count times):
    python -m runtime.enrol --label "wave to the robot" --source 0 --count 3 --show
  from recordings (``python -m runtime.camera --save-skeletons rec.jsonl``), whole or cut:
    python -m runtime.enrol --label "wave to the robot" rec1.jsonl rec2.jsonl
    python -m runtime.enrol --label "wave to the robot" rec3.jsonl --start 4.0 --end 6.5
  what is enrolled, and forgetting a label:
    python -m runtime.enrol --list
    python -m runtime.enrol --remove "wave to the robot"

The examples go to the store beside the vocabulary (``--vocab actions.txt`` -> ``actions.enrolled.npz``) or to
``--store FILE``. A store belongs to the bundle's skeleton encoder: one made with another bundle is refused.
Exit status 2 for bad input (the message names the file, the line or the field).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

from runtime.app import DEFAULT_VOCAB
from runtime.bundle import BundleError
from runtime.enrolment import (
    EnrolmentError,
    EnrolmentStore,
    check_label,
    default_store,
    describe,
    example_features,
    open_store,
)
from runtime.factory import open_bundle
from runtime.recording import RecordingError, read_recording
from runtime.sources import SourceError
from runtime.vocab import VocabError, read_vocab

log = logging.getLogger("runtime")
MIN_FRAMES = 8  # of the person, for an example (about a quarter of a second at 30 fps)


def person_track(frames, person: int | None = None, start: float | None = None,
                 end: float | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """(T, 25, 3) joints and (T,) times of one person in frames (``t`` within [start, end] when given): the
    given id, else the person seen in the most frames. Frames without that person are left out (the windows
    resample by time, as the recogniser does across a dropped frame)."""
    by_id: dict[int, list[tuple[float, np.ndarray]]] = {}
    for fr in frames:
        if (start is not None and fr.t < start) or (end is not None and fr.t > end):
            continue
        for p in fr.people:
            by_id.setdefault(p.id, []).append((fr.t, np.asarray(p.joints, dtype=np.float64)))
    if person is None:
        if not by_id:
            return np.zeros((0, 25, 3)), np.zeros(0), -1
        person = max(by_id, key=lambda k: len(by_id[k]))
    track = by_id.get(person, [])
    ts = np.array([t for t, _ in track], dtype=np.float64)
    joints = np.stack([j for _, j in track]) if track else np.zeros((0, 25, 3))
    return joints, ts, person


def from_recording(path: Path, start: float | None, end: float | None, person: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    if not path.is_file():
        raise EnrolmentError(f"{path}: no such recording")
    joints, ts, pid = person_track(read_recording(path), person, start, end)
    cut = f" between {start if start is not None else 'the start'} and {end if end is not None else 'the end'} s" \
        if start is not None or end is not None else ""
    if len(ts) < MIN_FRAMES:
        who = f"person {person}" if person is not None else "any person"
        raise EnrolmentError(f"{path}: {len(ts)} frames of {who}{cut}; an example needs at least {MIN_FRAMES}")
    where = f"{path}" + (f" [{start if start is not None else ''}:{end if end is not None else ''}]" if cut else "")
    return joints, ts, f"{where} person {pid}"


def capture(frames, state, seconds: float, countdown: float, index: int, count: int, show: bool) -> tuple[np.ndarray, np.ndarray]:
    """One guided example from a live source: ``countdown`` seconds to get ready, then ``seconds`` of motion
    (both counted in the source's own time, so that a replayed video works the same). Returns the person seen
    most during the recording part."""
    t0, recorded, said = None, [], None
    for fr in frames:
        t0 = fr.t if t0 is None else t0
        left = countdown - (fr.t - t0)
        if left > 0:
            text = f"example {index}/{count} in {int(np.ceil(left))}"
        else:
            recorded.append(fr)
            text = f"recording {index}/{count}: {seconds + left:.1f} s"
            if -left >= seconds:
                break
        if text.split(":")[0] != said:
            said = text.split(":")[0]
            print(said, flush=True)
        if show:
            _show(state, text)
    else:
        if t0 is None or not recorded:
            raise SourceError("the source ended before the example was recorded")
    joints, ts, _ = person_track(recorded)
    return joints, ts


def _show(state, text: str) -> None:
    if state is None or getattr(state, "image", None) is None:
        return
    import cv2

    from runtime.overlay import draw

    img = draw(state.image, state.detections, {pid: {"active": text} for pid in state.detections})
    cv2.putText(img, text, (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (80, 220, 100), 2, cv2.LINE_AA)
    cv2.imshow("zsar enrol", img)
    cv2.waitKey(1)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m runtime.enrol", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recordings", nargs="*", help="skeleton recordings (.jsonl) with one example each")
    ap.add_argument("--label", default="", help="the action the examples show (a vocabulary line's label)")
    ap.add_argument("--list", action="store_true", help="print the enrolled labels and examples")
    ap.add_argument("--remove", default="", metavar="LABEL", help="forget every example of LABEL")
    g = ap.add_argument_group("where")
    g.add_argument("--vocab", default=str(DEFAULT_VOCAB), help="the vocabulary the examples go with (store beside it)")
    g.add_argument("--store", default="", help="the enrolment store (default: beside --vocab, NAME.enrolled.npz)")
    g.add_argument("--bundle", default="", help="model bundle directory (default: the one that ships)")
    g.add_argument("--backend", default="auto", help="as python -m runtime.camera")
    g.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"])
    g = ap.add_argument_group("examples from recordings")
    g.add_argument("--start", type=float, default=None, help="seconds (the recording's t) where the example starts")
    g.add_argument("--end", type=float, default=None, help="seconds where it ends")
    g.add_argument("--person", type=int, default=None, help="person id (default: the one in the most frames)")
    g = ap.add_argument_group("examples from a camera (guided)")
    g.add_argument("--source", default="", help="camera index or device, video file or stream (as runtime.camera)")
    g.add_argument("--count", type=int, default=3, help="examples to record")
    g.add_argument("--countdown", type=float, default=3.0, help="seconds to get ready before each example")
    g.add_argument("--seconds", type=float, default=0.0, help="length of each example (0: the bundle's window)")
    g.add_argument("--show", action="store_true", help="a window with the skeleton and the countdown")
    g.add_argument("--pose", choices=["solutions", "tasks"], default=None, help="MediaPipe API (as runtime.camera)")
    g.add_argument("--pose-model", default="", help="a MediaPipe PoseLandmarker .task file")
    g.add_argument("--fov", type=float, default=65.0, help="camera horizontal field of view in degrees")
    g.add_argument("--mirror", action="store_true", help="the camera image is mirrored")
    g.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=True,
                   help="replay a file source at its own pace (--no-realtime: as fast as possible)")
    return ap


def check_args(ap: argparse.ArgumentParser, args) -> None:
    modes = sum([bool(args.list), bool(args.remove), bool(args.label)])
    if modes != 1:
        ap.error("give one of --label LABEL (with recordings or --source), --list, --remove LABEL")
    if args.label and bool(args.recordings) == bool(args.source):
        ap.error("--label needs examples: recordings (.jsonl files) or --source (a camera), one of the two")
    if args.count < 1 or args.countdown < 0 or args.seconds < 0:
        ap.error("--count must be >= 1, --countdown and --seconds >= 0")
    if args.start is not None and args.end is not None and args.start >= args.end:
        ap.error(f"--start {args.start} must be before --end {args.end}")
    if (args.start is not None or args.end is not None or args.person is not None) and not args.recordings:
        ap.error("--start, --end and --person cut recordings; give recordings")


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    check_args(ap, args)
    logging.basicConfig(level="WARNING", format="%(levelname)s %(message)s")
    try:
        return run(args)
    except (EnrolmentError, BundleError, RecordingError, SourceError, VocabError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    bundle = open_bundle(args.bundle)
    path = Path(args.store) if args.store else default_store(args.vocab)
    store = open_store(path, bundle.encoder_sha256)
    if args.list:
        print(describe(store))
        for label, source in zip(store.labels, store.sources):
            print(f"  {label}: {source}")
        return 0
    if args.remove:
        n = store.remove(args.remove)
        if not n:
            raise EnrolmentError(f"{path}: no examples of {args.remove!r} (enrolled: {', '.join(store.counts()) or 'none'})")
        store.save()
        print(f"removed {n} examples of {args.remove!r}; {describe(store)}")
        return 0
    if bundle.mode != "features":
        raise EnrolmentError(f"{bundle.path}: this bundle scores in {bundle.mode} mode (class text inside the model), "
                             "so examples have no prototype to join; enrolment needs a features-mode bundle")
    label = check_label(args.label)
    from runtime.backends import create_backend

    backend = create_backend(bundle, args.backend, args.precision)
    if args.recordings:
        examples = [from_recording(Path(r), args.start, args.end, args.person) for r in args.recordings]
        for joints, ts, source in examples:  # all read before any is stored: a bad file stores nothing
            store.add(label, example_features(backend, bundle, joints, ts), source)
        store.save()
        print(f"enrolled {len(examples)} example{'s' if len(examples) > 1 else ''} of {label!r}")
    else:
        _guided(args, bundle, backend, store, label)
    _vocab_note(args, store, label)
    print(describe(store))
    return 0


def _guided(args, bundle, backend, store: EnrolmentStore, label: str) -> None:
    from runtime.sources import open_source

    seconds = args.seconds or bundle.spec.window_seconds
    frames, info = open_source(args.source, pose=args.pose or "", pose_model=args.pose_model or None,
                               realtime=args.realtime, fov_deg=args.fov, mirror=args.mirror, keep_image=args.show)
    frames = iter(frames)
    print(f"{label!r}: {args.count} examples of {seconds:.1f} s from {info.name}; "
          f"get ready during each {args.countdown:g} s countdown", flush=True)
    done, tries = 0, 0
    while done < args.count:
        joints, ts = capture(frames, info.state, seconds, args.countdown, done + 1, args.count, args.show)
        if len(ts) < MIN_FRAMES:
            tries += 1
            print(f"no person seen long enough ({len(ts)} frames); again", flush=True)
            if tries >= 3:
                raise SourceError(f"{args.source}: no person in three tries; is anyone in front of the camera?")
            continue
        tries = 0
        store.add(label, example_features(backend, bundle, joints, ts),
                  f"{info.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}")
        store.save()  # after every example: an interrupted session keeps what it recorded
        done += 1
        print(f"example {done}/{args.count} stored ({len(ts)} frames)", flush=True)


def _vocab_note(args, store: EnrolmentStore, label: str) -> None:
    try:
        labels = {e.label.lower() for e in read_vocab(args.vocab)}
    except VocabError:
        return
    if label.lower() not in labels:
        print(f"{label!r} is not in {args.vocab}: the runtime adds it with the examples alone; a line "
              f"'{label}' there gives it words too")


if __name__ == "__main__":
    sys.exit(main())
