"""Bad inputs from issue 18: recording timestamps (7), unbounded vocabulary files (8), a vocabulary saved with a
byte-order mark or CRLF (10), a recording that is not UTF-8 (11). Each case must end in a clear error naming the
file (and the line where there is one), or in a logged, bounded recovery; never a stall, a hang or silence."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from runtime.recording import FORMAT, RecordingError, read_header, read_recording
from runtime.vocab import VocabError, parse_vocab, read_vocab

from conftest import rest_pose

ROOT = Path(__file__).resolve().parents[1]
HEADER = {"format": FORMAT, "layout": "ntu25", "units": "m", "axes": "kinect", "fps": 30.0, "source": "t"}


def frame_line(t, person: bool = True) -> str:
    """One frame line with the time written as given (``t`` may be a raw JSON token such as ``NaN``)."""
    people = [{"id": 0, "joints": np.round(rest_pose().reshape(-1), 4).tolist()}] if person else []
    return '{"t": ' + (t if isinstance(t, str) else json.dumps(t)) + ', "people": ' + json.dumps(people) + "}\n"


def write_rec(path: Path, times) -> Path:
    path.write_text(json.dumps(HEADER) + "\n" + "".join(frame_line(t) for t in times))
    return path


# ------------------------------------------------------------------------------- 7: recording timestamps
@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "1e300"])
def test_recording_non_finite_time_names_file_and_line(tmp_path, token):
    path = write_rec(tmp_path / "rec.jsonl", [0.0, 0.033, token, 0.1])
    with pytest.raises(RecordingError, match=r"rec\.jsonl:4: .*not a finite"):
        list(read_recording(path))


def test_recording_non_finite_first_time_names_line_2(tmp_path):
    path = write_rec(tmp_path / "rec.jsonl", ["NaN", 0.033])
    with pytest.raises(RecordingError, match=r"rec\.jsonl:2: .*not a finite"):
        next(iter(read_recording(path)))


@pytest.mark.parametrize("token", ['"0.1"', "true", "null", "[1]"])
def test_recording_time_that_is_not_a_number_names_the_line(tmp_path, token):
    path = write_rec(tmp_path / "rec.jsonl", [0.0, token])
    with pytest.raises(RecordingError, match=r"rec\.jsonl:3: .*not a number"):
        list(read_recording(path))


def test_recording_time_going_backwards_names_file_and_line(tmp_path):
    path = write_rec(tmp_path / "rec.jsonl", [0.0, 0.033, 0.066, 0.05, 0.1])
    with pytest.raises(RecordingError, match=r"rec\.jsonl:5: .*goes backwards.*line 4"):
        list(read_recording(path))


def test_recording_equal_times_and_small_gaps_are_kept(tmp_path, caplog):
    times = [0.0, 0.033, 0.033, 3.0, 3.033]
    path = write_rec(tmp_path / "rec.jsonl", times)
    with caplog.at_level(logging.WARNING, logger="runtime"):
        got = [f.t for f in read_recording(path)]
    assert got == times
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_recording_forward_jump_is_logged_and_resynchronised(tmp_path, caplog):
    import runtime.recording as recording

    gap = getattr(recording, "MAX_GAP_S", 5.0)
    path = write_rec(tmp_path / "rec.jsonl", [0.0, 0.033, 1e6, 1e6 + 0.033, 2e6])
    with caplog.at_level(logging.WARNING, logger="runtime"):
        got = [f.t for f in read_recording(path)]
    assert np.allclose(got, [0.0, 0.033, 0.033 + gap, 0.066 + gap, 0.066 + 2 * gap])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "rec.jsonl:4:" in warnings[0] and "jumps" in warnings[0] and "rec.jsonl:6:" in warnings[1]


def test_realtime_replay_does_not_stall_on_a_time_jump(tmp_path, bundle_dir):
    """End to end: a recording with one frame at t=1e6 used to make the realtime replay sleep for 11 days."""
    from streamtools import finish, start

    lines = [frame_line(i / 30) for i in range(30)] + [frame_line(1e6 + i / 30) for i in range(30)]
    path = tmp_path / "jump.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + "".join(lines))
    t0 = time.monotonic()
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), realtime=True, speed=4.0)
    try:
        thread.join(20)
        assert not thread.is_alive(), "the realtime replay stalled on the time jump"
    finally:
        app.stop_event.set()
        finish(app, sub, thread)
    assert result.get("code") == 0 and time.monotonic() - t0 < 20


def test_nan_recording_replay_reports_the_line(tmp_path, bundle_dir):
    """End to end: NaN times used to replay instantly with no prediction and no warning."""
    from streamtools import finish, start

    path = write_rec(tmp_path / "nan.jsonl", ["NaN"] * 60)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: read_recording(path), realtime=False)
    finish(app, sub, thread)
    assert result.get("code") == 2
    errors = [m for _, m, _ in sub.messages if m.get("event") == "source_error"]
    assert errors and "nan.jsonl:2:" in errors[0]["message"]


# --------------------------------------------------------------------- 11: recordings that are not UTF-8
def test_non_utf8_recording_line_names_file_and_line(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_bytes((json.dumps(HEADER) + "\n" + frame_line(0.0)).encode() + b'{"t": 0.1, "people": [], "x": "\xff\xfe"}\n')
    with pytest.raises(RecordingError, match=r"rec\.jsonl:3: not UTF-8"):
        list(read_recording(path))


def test_non_utf8_recording_header_names_file_and_line(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_bytes(b'{"format": "zsar.skeletons/1", "source": "\xe9t\xe9"}\n' + frame_line(0.0).encode())
    with pytest.raises(RecordingError, match=r"rec\.jsonl:1: not UTF-8"):
        read_header(path)
    with pytest.raises(RecordingError, match=r"rec\.jsonl:1: not UTF-8"):
        list(read_recording(path))


def test_recording_header_with_bom_is_accepted(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(HEADER) + "\r\n" + frame_line(0.0) + frame_line(0.033)).encode())
    assert read_header(path)["format"] == FORMAT
    assert [f.t for f in read_recording(path)] == [0.0, 0.033]


def test_recording_header_that_is_not_an_object_is_a_recording_error(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(RecordingError, match=r"rec\.jsonl:1: "):
        read_header(path)


def test_recording_line_too_long_is_refused_without_reading_it_all(tmp_path):
    import runtime.recording as recording

    limit = getattr(recording, "MAX_LINE_BYTES", 1 << 20)
    path = tmp_path / "rec.jsonl"
    with path.open("w") as f:
        f.write(json.dumps(HEADER) + "\n" + frame_line(0.0))
        f.write('{"t": 0.1, "people": [], "pad": "' + "x" * (limit + 10) + '"}\n')
    with pytest.raises(RecordingError, match=r"rec\.jsonl:3: line longer than"):
        list(read_recording(path))


# ----------------------------------------------------------------------- 8: unbounded vocabulary input
def run_guarded(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs ``code`` in a child with a memory cap and a timeout, so that a regression fails instead of hanging
    the test run or eating the machine's memory."""
    guard = "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
    return subprocess.run([sys.executable, "-c", guard + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_vocab_dev_zero_fails_fast():
    t0 = time.monotonic()
    try:
        p = run_guarded("from runtime.vocab import read_vocab, VocabError\n"
                        "try:\n    read_vocab('/dev/zero')\nexcept VocabError as e:\n    print('VocabError', e)\n")
    except subprocess.TimeoutExpired:
        pytest.fail("read_vocab('/dev/zero') hangs")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "VocabError /dev/zero: larger than" in p.stdout
    assert time.monotonic() - t0 < 15


def test_vocab_huge_file_fails_fast_naming_the_file(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("w") as f:  # the case: about 10 MB, 662k labels
        for i in range(662_000):
            f.write(f"label {i}\n")
    t0 = time.monotonic()
    with pytest.raises(VocabError, match=r"huge\.txt: larger than"):
        read_vocab(path)
    assert time.monotonic() - t0 < 2


def test_vocab_too_many_labels_names_file_and_line(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("# many\n" + "".join(f"action {i}\n" for i in range(2001)))
    with pytest.raises(VocabError, match=r"many\.txt:2002: more than 2000 labels"):
        read_vocab(path)
    path.write_text("# as many as allowed\n" + "".join(f"action {i}\n" for i in range(2000)))
    assert len(read_vocab(path)) == 2000


def test_vocab_line_too_long_names_the_line():
    ok = "wave | " + "The person waves the right hand above the head. " * 8  # ~400 characters, as in train/text
    assert len(parse_vocab(ok + "\n", "a.txt")) == 1
    with pytest.raises(VocabError, match=r"a\.txt:2: line longer than 1000 characters"):
        parse_vocab("clap\nwave | " + "x" * 1000 + "\n", "a.txt")
    # a long comment is not an action line and is only bounded by the file size
    assert len(parse_vocab("# " + "c" * 5000 + "\nwave\n", "a.txt")) == 1


def test_encoding_many_labels_logs_progress(bundle_dir, caplog):
    from runtime.bundle import load_bundle
    from runtime.text import OnnxTextEncoder

    enc = OnnxTextEncoder(load_bundle(bundle_dir).text_encoder_dir())
    with caplog.at_level(logging.INFO, logger="runtime"):
        enc.encode(["a person waves"] * 10)
    assert not [r for r in caplog.records if "encod" in r.getMessage()]
    with caplog.at_level(logging.INFO, logger="runtime"):
        emb = enc.encode([f"a person does action number {i}" for i in range(400)])
    assert emb.shape[0] == 400
    progress = [r.getMessage() for r in caplog.records if "encod" in r.getMessage()]
    assert progress and "400" in progress[0], progress
    assert any("400/400" in m for m in progress), progress


# ------------------------------------------------------------------ 10: byte-order mark and CRLF endings
def test_vocab_with_bom_is_accepted(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes(b"\xef\xbb\xbfhand waving\ndrink water\n")
    e = read_vocab(path)
    assert [x.label for x in e] == ["hand waving", "drink water"] and [x.line for x in e] == [1, 2]


def test_vocab_with_bom_and_crlf_is_accepted(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes("\ufeff# mine\r\nhand waving\r\n\r\njumping jacks | Jumps, arms overhead.\r\n".encode())
    e = read_vocab(path)
    assert [x.label for x in e] == ["hand waving", "jumping jacks"]
    assert e[1].description == "Jumps, arms overhead." and [x.line for x in e] == [2, 4]


def test_vocab_errors_after_bom_and_crlf_keep_line_numbers(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes(b"\xef\xbb\xbfwave\r\nclap\r\nWAVE\r\n")
    with pytest.raises(VocabError, match=r"notepad\.txt:3: duplicate label 'WAVE' \(first on line 1\)"):
        read_vocab(path)
    path.write_bytes(b"\xef\xbb\xbfwave\r\nclap\r\n\xff\r\n")
    with pytest.raises(VocabError, match=r"notepad\.txt:3: not UTF-8"):
        read_vocab(path)


def test_vocab_control_characters_still_refused_with_the_right_line():
    # a form feed or a line separator inside a label is an error on that line (not a silent extra line)
    with pytest.raises(VocabError, match=r"a\.txt:2: label has control characters"):
        parse_vocab("wave\ncl\x0cap\nsalute\n", "a.txt")
    with pytest.raises(VocabError, match=r"a\.txt:2: label has control characters"):
        parse_vocab("wave\ncl\u2028ap\nsalute\n", "a.txt")
