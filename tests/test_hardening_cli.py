"""The command-line tools refuse bad input in one line and never destroy what they did not make (issue 18).

- ``python -m export`` builds the bundle beside --out and swaps it in only once it loads: a failed export leaves
  a previous bundle byte-identical, and a non-empty folder that is not a bundle is refused without --overwrite;
- ``python -m train`` / ``python -m export`` with a missing path or an unknown name end in one error line;
- a failed training run leaves no empty ``runs/<name>/`` behind (and never deletes a folder that had content);
- a folder named ``*.skeleton`` inside an NTU directory is no sample."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TINY = ["--backbone", "edge-tiny", "--frames", "16", "--batch-size", "16", "--workers", "0", "--eval-per-class", "3",
        "--per-class", "3", "--epochs", "1", "--threads", "1"]
QUICK_EXPORT = ["--no-int8", "--no-text-encoder", "--calib", "16", "--per-class", "4"]


def snapshot(d: Path) -> dict[str, str]:
    """Every file and folder under ``d`` with its content hash: equal snapshots, byte-identical trees."""
    return {str(p.relative_to(d)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
            for p in sorted(d.rglob("*"))}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A training run of a few seconds (synthetic data, one epoch of a tiny backbone)."""
    from train.__main__ import main as train_main

    out = tmp_path_factory.mktemp("runs")
    train_main(["--method", "baseline", "--data", "synthetic", "--out", str(out), "--name", "tiny", *TINY])
    return out / "tiny"


@pytest.fixture
def previous_bundle(tmp_path, tiny_run) -> Path:
    """A bundle already in place (the shipped one, without its 90 MB text encoder, and a stand-in for it that is
    the run's text encoder by id and checksum)."""
    import torch

    from runtime.bundle import DEFAULT_BUNDLE

    d = tmp_path / "site" / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, d, ignore=shutil.ignore_patterns("text_encoder", "engines"))
    te = torch.load(tiny_run / "best.pt", map_location="cpu", weights_only=False)["text_encoder"]
    (d / "text_encoder").mkdir()
    (d / "text_encoder" / "text_encoder.json").write_text(json.dumps({"id": te["id"], "checksum": te["checksum"]}))
    (d / "text_encoder" / "model.onnx").write_bytes(b"stand-in")
    return d


def export_main(*args: str):
    from export.__main__ import main

    return main([str(a) for a in args])


def one_error_line(text: str, *needles: str) -> None:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    assert "error" in lines[0] and all(n in lines[0] for n in needles), lines[0]


# ----------------------------------------------------------------------------------------- export: data loss


def test_export_with_a_missing_vocab_leaves_the_previous_bundle_byte_identical(tiny_run, previous_bundle, tmp_path, capsys):
    before = snapshot(previous_bundle)
    with pytest.raises(SystemExit) as e:
        export_main("--run", tiny_run, "--out", previous_bundle, "--vocab", tmp_path / "no-such-actions.txt", *QUICK_EXPORT)
    assert e.value.code == 2
    assert snapshot(previous_bundle) == before
    assert sorted(os.listdir(previous_bundle.parent)) == ["bundle"]
    one_error_line(capsys.readouterr().err, "--vocab", "no-such-actions.txt")


def test_export_failing_midway_leaves_the_previous_bundle_and_no_temporary_folder(tiny_run, previous_bundle, monkeypatch):
    import export.__main__ as ex

    def broken(*a, **k):
        raise RuntimeError("text encoder crashed")

    monkeypatch.setattr(ex, "build_table", broken)
    before = snapshot(previous_bundle)
    with pytest.raises(RuntimeError, match="text encoder crashed"):
        export_main("--run", tiny_run, "--out", previous_bundle, *QUICK_EXPORT)
    assert snapshot(previous_bundle) == before
    assert sorted(os.listdir(previous_bundle.parent)) == ["bundle"]


def test_export_refuses_a_folder_that_is_not_a_bundle_unless_told(tiny_run, tmp_path, capsys):
    from runtime.bundle import load_bundle

    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("years of work")
    with pytest.raises(SystemExit) as e:
        export_main("--run", tiny_run, "--out", folder, *QUICK_EXPORT)
    assert e.value.code == 2
    assert (folder / "chapter1.tex").read_text() == "years of work" and len(os.listdir(folder)) == 1
    one_error_line(capsys.readouterr().err, str(folder), "not a model bundle", "--overwrite")
    export_main("--run", tiny_run, "--out", folder, "--overwrite", *QUICK_EXPORT)  # said so: replaced
    assert not (folder / "chapter1.tex").exists()
    load_bundle(folder)
    assert sorted(os.listdir(tmp_path)) == ["thesis"]


def test_export_replaces_a_previous_bundle_and_leaves_no_temporary_folder(tiny_run, previous_bundle, tmp_path):
    from runtime.bundle import PrototypeTable, load_bundle

    vocab = tmp_path / "actions.txt"
    vocab.write_text("juggling three balls\n")
    out = export_main("--run", tiny_run, "--out", previous_bundle, "--vocab", vocab, *QUICK_EXPORT)
    assert Path(out).resolve() == previous_bundle.resolve()
    assert sorted(os.listdir(previous_bundle.parent)) == ["bundle"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert previous_bundle.stat().st_mode & 0o777 == 0o777 & ~umask  # usual permissions (a temporary folder's are 0700)
    b = load_bundle(previous_bundle)
    assert b.manifest["model"]["run"] == str(tiny_run)
    assert "juggling three balls" in PrototypeTable.load(previous_bundle / "prototypes.npz").labels
    assert not (previous_bundle / "encoder.int8.onnx").exists()  # nothing of the old bundle is left over ...
    assert (previous_bundle / "text_encoder" / "model.onnx").read_bytes() == b"stand-in"  # ... but its text encoder


def test_export_refuses_to_write_over_the_run_it_exports(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = snapshot(run)
    for out in (run, tmp_path):
        with pytest.raises(SystemExit) as e:
            export_main("--run", run, "--out", out, *QUICK_EXPORT)
        assert e.value.code == 2
        one_error_line(capsys.readouterr().err, "--out", "training run")
    assert snapshot(run) == before


def test_swap_puts_the_previous_bundle_back_when_the_new_one_cannot_be_moved_in(tmp_path, monkeypatch):
    from export.__main__ import swap_in

    out, new = tmp_path / "bundle", tmp_path / ".bundle.new"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    new.mkdir()
    (new / "manifest.json").write_text("new")
    rename = Path.rename

    def failing(self, target):
        if self == new:
            raise OSError("disk says no")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="disk says no"):
        swap_in(new, out)
    assert (out / "manifest.json").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == [".bundle.new", "bundle"]  # the caller removes its own new folder
    monkeypatch.setattr(Path, "rename", rename)
    swap_in(new, out)
    assert (out / "manifest.json").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["bundle"]


# ------------------------------------------------------------------------------------ one line, not a traceback


@pytest.mark.parametrize("args, needles", [
    (["train", "--root", "/nonexistent/ntu", *TINY], ["--root", "/nonexistent/ntu"]),
    (["train", "--data", "nosuch", *TINY], ["--data", "nosuch", "ntu60", "synthetic", "utd_mhad"]),
    (["export", "--run", "/nonexistent/run"], ["--run", "/nonexistent/run"]),
])
def test_cli_bad_path_or_name_is_one_error_line(tmp_path, args, needles):
    module, *rest = args
    rest += ["--out", str(tmp_path / "out")]
    p = subprocess.run([sys.executable, "-m", module, *rest], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    one_error_line(p.stderr, *needles)
    assert not (tmp_path / "out").exists()  # nothing was written


@pytest.mark.parametrize("args, needle", [
    (["--data", "ntu60"], "--root is required"),
    (["--data", "ntu60", "--root", "{tmp}/archive.txt"], "--root"),
    (["--data", "synthetic", "--split", "nosuch"], "--split nosuch"),
    (["--data", "utd_mhad+nosuch"], "unknown dataset 'nosuch'"),
    (["--data", "synthetic+ntu60"], "'ntu60' cannot be mixed"),
    (["--data", "synthetic", "--holdout", "nosuch"], "--holdout nosuch"),
    (["--data", "synthetic", "--resume", "{tmp}/nosuch/last.pt"], "--resume"),
    (["--data", "utd_mhad+utd_mhad"], "names a source twice"),
])
def test_train_checks_its_settings_before_making_the_run_folder(tmp_path, capsys, args, needle):
    from train.__main__ import main as train_main

    (tmp_path / "archive.txt").write_text("not a dataset")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as e:
        train_main([*args, "--out", str(tmp_path / "runs"), "--name", "r", *TINY])
    assert e.value.code == 2
    one_error_line(capsys.readouterr().err, needle)
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------------------------------- failed runs


def test_failed_train_leaves_no_run_folder(tmp_path, capsys):
    from train.__main__ import main as train_main

    empty = tmp_path / "ntu"  # exists, but holds no .skeleton file: found only when the data is read
    empty.mkdir()
    try:
        train_main(["--data", "ntu60", "--root", str(empty), "--out", str(tmp_path / "runs"), "--name", "r", *TINY])
    except SystemExit as e:
        assert e.code == 1
    except Exception:
        pass  # (before the fix: a traceback)
    assert not (tmp_path / "runs" / "r").exists() and not (tmp_path / "runs").exists()
    err = capsys.readouterr().err  # the engine's log line naming the run, then the error
    assert "Traceback" not in err and err.strip().splitlines()[-1] == f"python -m train: error: {empty}: no .skeleton files found"


def test_failing_run_is_removed_but_a_folder_with_content_is_kept(tmp_path, monkeypatch):
    import logging

    import train.engine
    from train.__main__ import main as train_main

    def broken(*a, **k):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(train.engine, "load_parts", broken)
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="out of memory"):
        train_main(["--data", "synthetic", "--out", str(runs), *TINY])  # the default, dated name
    assert not runs.exists()
    assert not any(isinstance(h, logging.FileHandler) for h in logging.getLogger("train").handlers)

    mine = runs / "mine"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="out of memory"):
        train_main(["--data", "synthetic", "--out", str(runs), "--name", "mine", *TINY])
    assert (mine / "notes.txt").read_text() == "keep me"


# ------------------------------------------------------------------------------------------------ NTU scan


def test_a_folder_named_skeleton_is_not_a_sample(tmp_path):
    from runtime.synth import generate
    from train.data.ntu import load_ntu_skeletons

    from formats import write_ntu_skeleton

    root = tmp_path / "nturgbd"
    (root / "S001C001P001R001A001.skeleton").mkdir(parents=True)
    (root / "S001C001P001R001A001.skeleton" / "inner.skeleton").mkdir()
    write_ntu_skeleton(root / "S001C001P002R001A002.skeleton", [generate("Clapping", 0).joints[::3][:14]])
    ds, report = load_ntu_skeletons(root, "ntu60", progress=False)
    assert len(ds) == 1 and report.loaded == 1 and list(ds.labels) == [1]
    assert len(report.skipped["not a regular file"]) == 2


def test_train_refuses_to_replace_a_finished_run_unless_told(tiny_run, capsys):
    """A second run with a finished run's --name used to overwrite its checkpoints silently."""
    from train.__main__ import main as train_main

    best = (tiny_run / "best.pt").read_bytes()
    args = ["--method", "baseline", "--data", "synthetic", "--out", str(tiny_run.parent), "--name", tiny_run.name, *TINY]
    with pytest.raises(SystemExit) as e:
        train_main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err and "--resume" in err
    assert (tiny_run / "best.pt").read_bytes() == best, "the finished run is untouched"
