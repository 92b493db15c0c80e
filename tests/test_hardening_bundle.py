"""The bundle loader opens nothing outside the bundle directory and nothing it has not checked (issue 18, defect 5).

Every path the manifest names (``files``, ``encoder``, ``prototypes.file``, ``text_encoder.dir``, the entries of
``text_encoder/checksums.json``) must stay inside the bundle after links are resolved; every file that is loaded
must be listed with a checksum (the manifest's ``files`` or ``text_encoder/checksums.json``) and match it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from runtime.bundle import BundleError, load_bundle, sha256


def small_bundle(src: Path, dst: Path) -> Path:
    """A copy of the shipped bundle without its text encoder and engines (a few MB)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("text_encoder", "engines"))
    return dst


def edit_manifest(d: Path, change) -> None:
    m = json.loads((d / "manifest.json").read_text())
    change(m)
    (d / "manifest.json").write_text(json.dumps(m, indent=1))


def listing(f: Path) -> dict:
    return {"sha256": sha256(f), "bytes": f.stat().st_size}


# ------------------------------------------------------------------------------------- manifest paths
def _files_dotdot(d: Path, outside: Path):
    (outside / "extra.bin").write_bytes(b"not part of the bundle")
    edit_manifest(d, lambda m: m["files"].update({"../outside/extra.bin": listing(outside / "extra.bin")}))
    return r"files.*'\.\./outside/extra\.bin'"


def _files_absolute(d: Path, outside: Path):
    (outside / "extra.bin").write_bytes(b"not part of the bundle")
    name = str((outside / "extra.bin").resolve())
    edit_manifest(d, lambda m: m["files"].update({name: listing(outside / "extra.bin")}))
    return r"files.*extra\.bin.*absolute"


def _encoder_dotdot(d: Path, outside: Path):
    shutil.copyfile(d / "encoder.onnx", outside / "encoder.onnx")

    def change(m):
        m["encoder"]["fp32"] = "../outside/encoder.onnx"
        m["files"]["../outside/encoder.onnx"] = listing(outside / "encoder.onnx")

    edit_manifest(d, change)
    return r"encoder\.fp32.*'\.\./outside/encoder\.onnx'"


def _encoder_absolute(d: Path, outside: Path):
    shutil.copyfile(d / "encoder.onnx", outside / "encoder.onnx")
    name = str((outside / "encoder.onnx").resolve())

    def change(m):
        m["encoder"]["fp32"] = name
        m["files"][name] = listing(outside / "encoder.onnx")

    edit_manifest(d, change)
    return r"encoder\.fp32.*encoder\.onnx.*absolute"


def _prototypes_dotdot(d: Path, outside: Path):
    shutil.copyfile(d / "prototypes.npz", outside / "prototypes.npz")

    def change(m):
        m["prototypes"]["file"] = "../outside/prototypes.npz"
        m["files"]["../outside/prototypes.npz"] = listing(outside / "prototypes.npz")

    edit_manifest(d, change)
    return r"prototypes\.file.*'\.\./outside/prototypes\.npz'"


def _text_encoder_dir_dotdot(d: Path, outside: Path):
    edit_manifest(d, lambda m: m["text_encoder"].update(dir="../outside"))
    return r"text_encoder\.dir.*'\.\./outside'"


def _text_encoder_dir_absolute(d: Path, outside: Path):
    edit_manifest(d, lambda m: m["text_encoder"].update(dir=str(outside.resolve())))
    return r"text_encoder\.dir.*absolute"


def _encoder_symlink_out(d: Path, outside: Path):
    # the same bytes, so the checksum matches: only the link betrays it
    shutil.copyfile(d / "encoder.onnx", outside / "encoder.onnx")
    (d / "encoder.onnx").unlink()
    (d / "encoder.onnx").symlink_to(outside / "encoder.onnx")
    return r"encoder\.onnx.*outside the bundle"


def _prototypes_symlink_out(d: Path, outside: Path):
    shutil.copyfile(d / "prototypes.npz", outside / "prototypes.npz")
    (d / "prototypes.npz").unlink()
    (d / "prototypes.npz").symlink_to(os.path.relpath(outside / "prototypes.npz", d))
    return r"prototypes\.npz.*outside the bundle"


def _manifest_symlink_out(d: Path, outside: Path):
    shutil.move(d / "manifest.json", outside / "manifest.json")
    (d / "manifest.json").symlink_to(outside / "manifest.json")
    return r"manifest\.json.*outside the bundle"


def _unlisted_u8_swapped(d: Path, outside: Path):
    # the case: encoder.int8-u8.onnx named by the encoder section but absent from files, and swapped
    shutil.copyfile(d / "encoder.onnx", d / "encoder.int8-u8.onnx")
    edit_manifest(d, lambda m: m["files"].pop("encoder.int8-u8.onnx"))
    return r"encoder\.int8_u8.*'encoder\.int8-u8\.onnx'.*not listed in files"


def _unlisted_prototypes(d: Path, outside: Path):
    edit_manifest(d, lambda m: m["files"].pop("prototypes.npz"))
    return r"prototypes\.file.*'prototypes\.npz'.*not listed in files"


def _encoder_is_a_directory(d: Path, outside: Path):
    (d / "sub").mkdir()

    def change(m):
        m["encoder"]["fp32"] = "sub"
        m["files"]["sub"] = {"sha256": "0" * 64, "bytes": 0}

    edit_manifest(d, change)
    return r"'sub'.*not a regular file"


def _encoder_not_a_string(d: Path, outside: Path):
    edit_manifest(d, lambda m: m["encoder"].update(fp32=None))
    return r"encoder\.fp32.*relative path"


def _files_entry_without_sha256(d: Path, outside: Path):
    edit_manifest(d, lambda m: m["files"]["encoder.onnx"].pop("sha256"))
    return r"files\['encoder\.onnx'\].*sha256"


BAD = {
    "files-dotdot": _files_dotdot,
    "files-absolute": _files_absolute,
    "encoder-dotdot": _encoder_dotdot,
    "encoder-absolute": _encoder_absolute,
    "prototypes-dotdot": _prototypes_dotdot,
    "text-encoder-dir-dotdot": _text_encoder_dir_dotdot,
    "text-encoder-dir-absolute": _text_encoder_dir_absolute,
    "encoder-symlink-outside": _encoder_symlink_out,
    "prototypes-symlink-outside": _prototypes_symlink_out,
    "manifest-symlink-outside": _manifest_symlink_out,
    "unlisted-int8-u8-swapped": _unlisted_u8_swapped,
    "unlisted-prototypes": _unlisted_prototypes,
    "encoder-is-a-directory": _encoder_is_a_directory,
    "encoder-not-a-string": _encoder_not_a_string,
    "files-entry-without-sha256": _files_entry_without_sha256,
}


@pytest.mark.parametrize("case", list(BAD))
def test_bundle_paths_outside_or_unverified_are_refused(case, tmp_path, bundle_dir):
    d = small_bundle(bundle_dir, tmp_path / "bundle")
    outside = tmp_path / "outside"
    outside.mkdir()
    pattern = BAD[case](d, outside)
    with pytest.raises(BundleError, match=pattern) as e:
        load_bundle(d)
    assert str(d) in str(e.value), "the error names the bundle"
    with pytest.raises(BundleError, match=pattern):  # skipping the checksums never lets a path escape either
        load_bundle(d, verify=False)


def test_links_that_stay_inside_the_bundle_are_fine(tmp_path, bundle_dir):
    d = small_bundle(bundle_dir, tmp_path / "real")
    (d / "models").mkdir()
    shutil.move(d / "encoder.onnx", d / "models" / "encoder.onnx")
    (d / "encoder.onnx").symlink_to(Path("models") / "encoder.onnx")
    link = tmp_path / "current"
    link.symlink_to(d)  # a bundle reached through a link (e.g. /opt/zsar/current -> bundle-v3)
    b = load_bundle(link)
    assert b.file("fp32").resolve() == (d / "models" / "encoder.onnx").resolve()
    assert len(b.table.labels) > 10


def test_a_swapped_encoder_is_refused_when_asked_for_even_after_loading(tmp_path, bundle_dir):
    """Bundle.file() checks the file again right before handing it out (a swap after load_bundle)."""
    d = small_bundle(bundle_dir, tmp_path / "bundle")
    b = load_bundle(d)
    assert b.file("int8_u8").name == "encoder.int8-u8.onnx"
    shutil.copyfile(d / "encoder.int8.onnx", d / "encoder.int8-u8.onnx")  # the same size, other bytes
    with pytest.raises(BundleError, match=r"encoder\.int8-u8\.onnx does not match"):
        b.file("int8_u8")
    with pytest.raises(BundleError, match=r"no encoder 'fp16'"):
        b.file("fp16")


@pytest.mark.parametrize("rng", [[0.0, -1.0], [None], "wide", [float("nan"), 0.0], [True, 2.0]])
def test_a_bad_score_range_is_refused(rng, tmp_path, bundle_dir):
    d = small_bundle(bundle_dir, tmp_path / "bundle")
    edit_manifest(d, lambda m: m["scoring"].update(range=rng))
    with pytest.raises(BundleError, match=r"scoring\.range must be \[low, high\]"):
        load_bundle(d, verify=False)


def test_a_bundle_without_a_score_range_scores_cosines(tmp_path, bundle_dir):
    d = small_bundle(bundle_dir, tmp_path / "bundle")
    edit_manifest(d, lambda m: m["scoring"].pop("range", None))  # bundles made before the field
    assert load_bundle(d, verify=False).score_range == (-1.0, 1.0)


def test_the_shipped_bundle_still_loads(bundle_dir):
    b = load_bundle(bundle_dir)
    assert set(b.manifest["encoder"]) <= {"fp32", "int8", "int8_u8"}
    for key in b.manifest["encoder"]:
        assert b.file(key).is_file()
    assert (b.text_encoder_dir() / "model.onnx").is_file()


# ------------------------------------------------------------------------------------- the text encoder
def fake_text_encoder(d: Path, listed=("model.onnx", "tokenizer.json", "text_encoder.json")) -> Path:
    """What export.text_encoder writes, with stand-in contents (the loader checks, it does not run them)."""
    te = d / "text_encoder"
    te.mkdir()
    (te / "model.onnx").write_bytes(b"onnx")
    (te / "tokenizer.json").write_text("{}")
    (te / "text_encoder.json").write_text('{"max_length": 256}')
    (te / "checksums.json").write_text(json.dumps({n: sha256(te / n) for n in listed}))
    return te


def test_a_missing_text_encoder_is_still_a_clear_missing_file(tmp_path, bundle_dir):
    from runtime.text import OnnxTextEncoder

    b = load_bundle(small_bundle(bundle_dir, tmp_path / "bundle"))
    with pytest.raises(BundleError, match=r"model\.onnx is missing; make it with"):
        OnnxTextEncoder(b.text_encoder_dir())


def _te_edited(te: Path):
    (te / "tokenizer.json").write_text('{"edited": true}')
    return r"text_encoder/tokenizer\.json does not match its sha256 in text_encoder/checksums\.json"


def _te_no_checksums(te: Path):
    (te / "checksums.json").unlink()
    return r"text_encoder/checksums\.json is missing.*python -m export\.text_encoder"


def _te_unlisted_tokenizer(te: Path):
    sums = json.loads((te / "checksums.json").read_text())
    sums.pop("tokenizer.json")
    (te / "checksums.json").write_text(json.dumps(sums))
    return r"text_encoder/tokenizer\.json is not listed in text_encoder/checksums\.json"


def _te_unlisted_meta(te: Path):
    sums = json.loads((te / "checksums.json").read_text())
    sums.pop("text_encoder.json")
    (te / "checksums.json").write_text(json.dumps(sums))
    return r"text_encoder/text_encoder\.json is not listed"


def _te_checksums_dotdot(te: Path):
    sums = json.loads((te / "checksums.json").read_text())
    sums["../manifest.json"] = sha256(te.parent / "manifest.json")
    (te / "checksums.json").write_text(json.dumps(sums))
    return r"checksums\.json.*'\.\./manifest\.json'"


def _te_model_symlink_out(te: Path):
    outside = te.parent.parent / "outside"
    outside.mkdir()
    shutil.move(te / "model.onnx", outside / "model.onnx")
    (te / "model.onnx").symlink_to(outside / "model.onnx")
    return r"text_encoder/model\.onnx.*outside the bundle"


def _te_dir_symlink_out(te: Path):
    outside = te.parent.parent / "outside"
    shutil.move(te, outside)
    te.symlink_to(outside)
    return r"text_encoder.*outside the bundle"


def _te_checksums_not_json(te: Path):
    (te / "checksums.json").write_text("{ not json")
    return r"text_encoder/checksums\.json.*invalid JSON"


TE_BAD = {
    "edited-tokenizer": _te_edited,
    "no-checksums-json": _te_no_checksums,
    "tokenizer-not-listed": _te_unlisted_tokenizer,
    "text-encoder-json-not-listed": _te_unlisted_meta,
    "checksums-names-dotdot": _te_checksums_dotdot,
    "model-symlink-outside": _te_model_symlink_out,
    "dir-symlink-outside": _te_dir_symlink_out,
    "checksums-not-json": _te_checksums_not_json,
}


@pytest.mark.parametrize("case", list(TE_BAD))
def test_text_encoder_files_are_checked_before_use(case, tmp_path, bundle_dir):
    d = small_bundle(bundle_dir, tmp_path / "bundle")
    te = fake_text_encoder(d)
    b = load_bundle(d)
    assert b.text_encoder_dir() == d / "text_encoder"  # as export wrote it: checks out
    pattern = TE_BAD[case](te)
    with pytest.raises(BundleError, match=pattern) as e:
        b.text_encoder_dir()
    assert str(d) in str(e.value)


def test_real_text_encoder_verified_then_tampered(tmp_path, bundle_dir):
    """The real encoder loads through the checked directory; an edit after a successful check is caught
    (the check is cached by file identity and modification, not once per process)."""
    from runtime.text import OnnxTextEncoder

    d = small_bundle(bundle_dir, tmp_path / "bundle")
    shutil.copytree(bundle_dir / "text_encoder", d / "text_encoder")
    b = load_bundle(d)
    enc = OnnxTextEncoder(b.text_encoder_dir())
    enc.check_probe(b.table.probe_text, b.table.probe_embedding)
    meta = json.loads((d / "text_encoder" / "text_encoder.json").read_text())
    meta["max_length"] = 8  # loads fine and silently truncates every description
    (d / "text_encoder" / "text_encoder.json").write_text(json.dumps(meta, indent=2))
    with pytest.raises(BundleError, match=r"text_encoder/text_encoder\.json does not match"):
        OnnxTextEncoder(b.text_encoder_dir())
