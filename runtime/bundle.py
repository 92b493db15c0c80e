"""The model bundle (ARCHITECTURE.md, contract 1): a directory with ``manifest.json`` that says everything the
device needs. ``export`` writes bundles; this module reads and verifies them, and refuses a bundle whose files
do not match its manifest, saying which file and how.

Layout:
    manifest.json           schema, model, input spec, scoring (mode; score: "cosine" or "logit" with its
                            logit_scale; range: the interval scores lie in, [-1, 1] unless it says), text encoder (with the class text rule that makes a new word's
                            per-granularity texts, where the method has one), files with sha256, calibration,
                            adaptation (enabled unless the method has no shared feature space)
    encoder.onnx            skeleton encoder, fp32: skeleton (N, C, T, V, M) -> features (N, G, D)
    encoder.int8.onnx       the same in Q/DQ INT8 (onnxruntime and TensorRT 10/11 build from it)
    prototypes.npz          labels, description texts, prototypes (C, G, D), probe embedding of the text encoder
    text_encoder/           model.onnx + tokenizer.json + text_encoder.json, and checksums.json with the sha256 of
                            each (made at setup from the installed text-encoder package by the command in the
                            manifest's text_encoder.generated_by; checked against checksums.json and by its probe)
    engines/                TensorRT engines built on the device (python -m export.tensorrt)

What the loader opens stays inside the bundle directory after links are resolved (a manifest path that is
absolute, climbs out with ``..`` or reaches a link to somewhere else is refused), and every file it hands out to be
loaded is listed with a checksum and matches it: the encoders and the prototype table in the manifest's
``files``, the text encoder's files in ``text_encoder/checksums.json`` (which ``python -m export.text_encoder``
writes beside them), checked when the directory is asked for, right before use.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from runtime.skeleton import SUPPORTED_NORMALIZATIONS, InputSpec
from runtime.vocab import CLASS_TEXT_RULES

SCHEMA = "zsar.bundle/1"
SCORE_KINDS = ("cosine", "logit")  # scoring.score: what the runtime's scores are (Bundle.score_kind)
MANIFEST = "manifest.json"
TEXT_ENCODER_CHECKSUMS = "checksums.json"
# what runtime.text.OnnxTextEncoder reads from the text encoder's directory (text_encoder.json when present)
TEXT_ENCODER_FILES = ("model.onnx", "tokenizer.json", "text_encoder.json")
DEFAULT_BUNDLE = Path(__file__).parent / "assets" / "default_bundle"


class BundleError(ValueError):
    """The bundle cannot be used; the message names the bundle and the file or field at fault."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SHA256 = re.compile(r"[0-9a-f]{64}")
_CACHE_MIN_BYTES = 16 << 20  # files this large (the text encoder) are hashed again only when they change
_verified_cache: dict[str, tuple] = {}
_cache_lock = threading.Lock()


def _signature(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _matches(path: Path, expected: str) -> bool:
    """sha256(path) == expected. A large file found to match is not hashed again while its inode, size,
    modification and change times stay the same (any write changes them); small files are always hashed."""
    before = _signature(path.stat())
    large = before[2] >= _CACHE_MIN_BYTES
    if large:
        with _cache_lock:
            if _verified_cache.get(str(path)) == (expected, before):
                return True
    ok = sha256(path) == expected
    if ok and large and _signature(path.stat()) == before:  # unchanged while it was read
        with _cache_lock:
            _verified_cache[str(path)] = (expected, before)
    return ok


def resolve_inside(bundle: Path, root: Path, field: str, name, where: Path | None = None, named: bool = True) -> Path:
    """The real path of ``name`` (relative, as a manifest writes it) under ``where`` (default: the bundle's
    resolved ``root``), refused unless it stays inside the bundle after links are resolved. ``field`` says where
    the name comes from, for the message (followed by ``= name`` when ``named``)."""
    what = f"{field} = {name!r}" if named else field
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise BundleError(f"{bundle}: {field} must be a relative path inside the bundle, got {name!r}")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise BundleError(f"{bundle}: {what} is an absolute path; a bundle names its files relative to its directory")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise BundleError(f"{bundle}: {what} climbs out of the bundle directory ('..')")
    try:
        real = ((where or root) / name).resolve()
    except (OSError, RuntimeError, ValueError) as e:  # a link loop, an unreadable directory
        raise BundleError(f"{bundle}: {what} cannot be resolved ({e})") from e
    if not real.is_relative_to(root):
        raise BundleError(f"{bundle}: {what} leads outside the bundle directory (to {real}, through a link)")
    return real


@dataclass
class PrototypeTable:
    labels: list[str]
    texts: list[list[str]]  # per class, the text behind each granularity (first text of an ensemble)
    prototypes: np.ndarray  # (C, G, D) float32, L2-normalised
    aliases: list[list[str]]
    probe_text: str
    probe_embedding: np.ndarray  # (D,) what the bundle's text encoder gives for probe_text

    def index(self) -> dict[str, int]:
        """Lower-cased label and alias -> row."""
        out: dict[str, int] = {}
        for i, (label, aliases) in enumerate(zip(self.labels, self.aliases)):
            for key in (label, *aliases):
                out.setdefault(key.strip().lower(), i)
        return out

    def save(self, path: Path) -> None:
        np.savez(path, labels=np.array(self.labels), texts=np.array(json.dumps(self.texts)),
                 aliases=np.array(json.dumps(self.aliases)), prototypes=self.prototypes.astype(np.float32),
                 probe_text=np.array(self.probe_text), probe_embedding=self.probe_embedding.astype(np.float32))

    @classmethod
    def load(cls, path: Path) -> PrototypeTable:
        try:
            with np.load(path, allow_pickle=False) as z:
                t = cls(labels=[str(x) for x in z["labels"]], texts=json.loads(str(z["texts"])),
                        prototypes=z["prototypes"].astype(np.float32), aliases=json.loads(str(z["aliases"])),
                        probe_text=str(z["probe_text"]), probe_embedding=z["probe_embedding"].astype(np.float32))
        except (OSError, KeyError, ValueError) as e:
            raise BundleError(f"{path}: not a prototype table ({e})") from e
        if t.prototypes.ndim != 3 or len(t.prototypes) != len(t.labels):
            raise BundleError(f"{path}: prototypes {t.prototypes.shape} do not match {len(t.labels)} labels")
        return t


@dataclass
class Bundle:
    path: Path
    manifest: dict
    spec: InputSpec
    table: PrototypeTable
    granularities: list[str] = field(default_factory=list)
    verify: bool = True  # load_bundle(verify=False) skips the checksums (never the containment checks)

    @property
    def mode(self) -> str:
        return self.manifest["scoring"]["mode"]

    @property
    def weights(self) -> np.ndarray:
        return np.asarray(self.manifest["scoring"]["weights"], dtype=np.float32)

    @property
    def logit_scale(self) -> float:
        return float(self.manifest["scoring"]["logit_scale"])

    @property
    def score_kind(self) -> str:
        """What a score is (``scoring.score``): "cosine", a weighted cosine (features mode always; bundles made
        before the field existed); or "logit", the conditioned graph's output, which the runtime divides by
        ``logit_scale`` so that thresholds, margins and smoothing read one scale."""
        return self.manifest["scoring"].get("score", "cosine")

    @property
    def score_range(self) -> tuple[float, float]:
        """The interval a score lies in (``scoring.range``, null for an open end): thresholds outside it could
        never be crossed. Where the manifest does not say (bundles made before the field): a cosine's [-1, 1], and
        no bounds for logits (an InfoCPL bundle's are log-probabilities, below -1 too)."""
        unsaid = [-1.0, 1.0] if self.score_kind == "cosine" else [None, None]
        lo, hi = self.manifest["scoring"].get("range", unsaid)
        return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))

    @property
    def class_text_rule(self) -> str | None:
        """How a word the table lacks gets its per-granularity texts (``text_encoder.class_text_rule``, one of
        ``runtime.vocab.CLASS_TEXT_RULES``); None: its description or label prompt in every granularity."""
        return self.manifest.get("text_encoder", {}).get("class_text_rule")

    @property
    def adaptation_enabled(self) -> bool:
        """False where the method declares no shared feature space (``adaptation.enabled``): moving prototypes
        toward window embeddings would mean nothing."""
        return bool(self.manifest.get("adaptation", {}).get("enabled", True))

    @property
    def root(self) -> Path:
        """The bundle directory with links resolved: nothing the bundle names may lead outside it."""
        return self.path.resolve()

    def file(self, key: str) -> Path:
        """The encoder file for ``key`` (fp32, int8, int8_u8), checked again right before it is handed out:
        inside the bundle, listed in ``files``, matching its checksum."""
        encoders = self.manifest["encoder"]
        if key not in encoders:
            raise BundleError(f"{self.path}: no encoder {key!r} in the manifest (it has {', '.join(encoders)})")
        check_listed(self.path, self.root, self.manifest, f"encoder.{key}", encoders[key], verify=self.verify)
        return self.path / encoders[key]

    @property
    def encoder_sha256(self) -> str:
        """The fp32 skeleton encoder's checksum: the identity of the feature space (enrolled examples are tied
        to it; the INT8 copies are the same model)."""
        return str(self.manifest["files"][self.manifest["encoder"]["fp32"]]["sha256"])

    def background(self) -> np.ndarray | None:
        """(N, G, D) float32 features of real held-out windows that export stored (``background.npy``), the
        reference against which enrolled examples' scores are put on the text prototypes' scale; None for a
        bundle exported before they were."""
        meta = self.manifest.get("background")
        if not meta:
            return None
        real = check_listed(self.path, self.root, self.manifest, "background.file", meta.get("file"), verify=self.verify)
        try:
            x = np.load(real, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as e:
            raise BundleError(f"{self.path}: background.file {meta.get('file')!r} is not a .npy array ({e})") from e
        if x.ndim != 3 or x.shape[1:] != self.table.prototypes.shape[1:] or not np.isfinite(x).all():
            raise BundleError(f"{self.path}: background features {x.shape} are not (N, {self.table.prototypes.shape[1]}, "
                              f"{self.table.prototypes.shape[2]}) finite numbers")
        return x

    @property
    def unknown_threshold(self) -> float | None:
        t = self.manifest.get("calibration", {}).get("unknown_threshold")
        return None if t is None else float(t["value"])

    def text_encoder_dir(self) -> Path:
        """The text encoder's directory, its files checked against its ``checksums.json`` first (every file the
        text encoder loads must be listed there and match). A directory without ``model.onnx`` (the encoder is
        made at setup and may not exist yet) is handed back unchecked: loading it fails with how to make it."""
        name = self.manifest["text_encoder"]["dir"]
        root = self.root
        real = resolve_inside(self.path, root, "text_encoder.dir", name)
        directory = self.path / name
        if not real.is_dir() or not os.path.lexists(real / "model.onnx"):
            return directory
        label = PurePosixPath(name).as_posix().rstrip("/")
        remake = f"remake it with `python -m export.text_encoder --out {directory}`"
        sums_file = resolve_inside(self.path, root, f"{label}/{TEXT_ENCODER_CHECKSUMS}", TEXT_ENCODER_CHECKSUMS, real,
                                   named=False)
        if not sums_file.is_file():
            raise BundleError(f"{self.path}: {label}/{TEXT_ENCODER_CHECKSUMS} is missing, so the text encoder's "
                              f"files cannot be verified (python -m export.text_encoder writes it); {remake}")
        try:
            sums = json.loads(sums_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BundleError(f"{self.path}: {label}/{TEXT_ENCODER_CHECKSUMS} is invalid JSON ({e}); {remake}") from e
        if not isinstance(sums, dict):
            raise BundleError(f"{self.path}: {label}/{TEXT_ENCODER_CHECKSUMS} must map file names to sha256; {remake}")
        loads = {fname: resolve_inside(self.path, root, f"{label}/{fname}", fname, real, named=False)
                 for fname in TEXT_ENCODER_FILES if os.path.lexists(real / fname)}
        listed: dict[Path, tuple[str, str]] = {}
        for fname, digest in sums.items():
            where = f"{label}/{TEXT_ENCODER_CHECKSUMS} entry {fname!r}"
            f = resolve_inside(self.path, root, where, fname, real, named=False)
            if not f.is_relative_to(real):
                raise BundleError(f"{self.path}: {where} is outside the text encoder directory (through a link)")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise BundleError(f"{self.path}: {where} has no valid sha256 ({digest!r}); {remake}")
            listed[f] = (fname, digest)
        for fname, f in loads.items():  # what the text encoder loads must be listed
            if f not in listed:
                raise BundleError(f"{self.path}: {label}/{fname} is not listed in {label}/{TEXT_ENCODER_CHECKSUMS}, "
                                  f"so it cannot be verified; {remake}")
        for f, (fname, digest) in listed.items():
            if not f.is_file():
                raise BundleError(f"{self.path}: {label}/{fname}, listed in {label}/{TEXT_ENCODER_CHECKSUMS}, is "
                                  f"missing or not a regular file; {remake}")
            if not _matches(f, digest):
                raise BundleError(f"{self.path}: {label}/{fname} does not match its sha256 in "
                                  f"{label}/{TEXT_ENCODER_CHECKSUMS} (edited or corrupt); {remake}")
        return directory


def _require(d: dict, key: str, where: str):
    if key not in d:
        raise BundleError(f"{where}: missing field {key!r}")
    return d[key]


def _files(path: Path, manifest: dict) -> dict:
    files = _require(manifest, "files", f"{path / MANIFEST}")
    if not isinstance(files, dict):
        raise BundleError(f"{path / MANIFEST}: files must map file names to their sha256 and size")
    return files


def check_listed(path: Path, root: Path, manifest: dict, field: str, name, verify: bool = True) -> Path:
    """A file the runtime loads (``field`` = ``name`` in the manifest): inside the bundle, listed in ``files``
    (matched on the real path, so ``./x`` and ``x`` are the same file) and, with ``verify``, matching its
    checksum. Returns its real path."""
    real = resolve_inside(path, root, field, name)
    for listed, meta in _files(path, manifest).items():
        if resolve_inside(path, root, f"files[{listed!r}]", listed, named=False) == real:
            _check_file(path, root, listed, meta, verify)
            return real
    raise BundleError(f"{path}: {field} = {name!r} is not listed in files (no checksum to verify it against); "
                      "a bundle lists every file the runtime loads")


def _check_file(path: Path, root: Path, name, meta, verify: bool) -> None:
    f = resolve_inside(path, root, f"files[{name!r}]", name, named=False)
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str) or not _SHA256.fullmatch(meta["sha256"]):
        raise BundleError(f"{path}: files[{name!r}] in {MANIFEST} has no valid sha256")
    if not f.exists():
        raise BundleError(f"{path}: file {name} listed in the manifest is missing")
    if not f.is_file():
        raise BundleError(f"{path}: files[{name!r}] is not a regular file")
    if not verify:
        return
    size = f.stat().st_size
    if size != meta.get("bytes", size):
        raise BundleError(f"{path}: {name} has {size} bytes, the manifest says {meta['bytes']}")
    if not _matches(f, meta["sha256"]):
        raise BundleError(f"{path}: {name} does not match its sha256 in the manifest (edited or corrupt)")


def verify_files(path: Path, manifest: dict, verify: bool = True) -> None:
    """Every file listed in ``files``: inside the bundle, present, a regular file and (with ``verify``) of the
    listed size and sha256."""
    root = Path(path).resolve()
    for name, meta in _files(path, manifest).items():
        _check_file(path, root, name, meta, verify)


def loaded_files(manifest: dict) -> list[tuple[str, object]]:
    """(field, name) of every file in the manifest that the runtime loads (the text encoder's are in its
    checksums.json)."""
    encoders = manifest["encoder"]
    if not isinstance(encoders, dict) or not encoders:
        raise BundleError("encoder must map precisions (fp32, int8, ...) to files")
    prototypes = manifest["prototypes"]
    background = manifest.get("background")  # optional (bundles before enrolment lack it)
    return [*((f"encoder.{k}", v) for k, v in encoders.items()),
            ("prototypes.file", prototypes.get("file") if isinstance(prototypes, dict) else None),
            *([("background.file", background.get("file") if isinstance(background, dict) else None)]
              if background is not None else [])]


def load_bundle(path: str | Path = DEFAULT_BUNDLE, verify: bool = True) -> Bundle:
    """Read and check a bundle: schema version, required fields, every path inside the bundle, every file the
    runtime loads listed in ``files``, every listed file's size and sha256 (``verify=False`` skips only these)."""
    path = Path(path)
    mf = path / MANIFEST
    if not mf.exists():
        raise BundleError(f"{path}: no {MANIFEST} (not a bundle directory)")
    try:
        root = path.resolve(strict=True)
    except (OSError, RuntimeError) as e:
        raise BundleError(f"{path}: cannot resolve the bundle directory ({e})") from e
    resolve_inside(path, root, MANIFEST, MANIFEST, named=False)
    try:
        manifest = json.loads(mf.read_text())
    except json.JSONDecodeError as e:
        raise BundleError(f"{mf}: invalid JSON at line {e.lineno}: {e.msg}") from e
    if not isinstance(manifest, dict):
        raise BundleError(f"{mf}: not a JSON object")
    schema = manifest.get("schema")
    if schema != SCHEMA:
        raise BundleError(f"{mf}: schema {schema!r} is not supported (this runtime reads {SCHEMA!r})")
    for key in ("model", "input", "output", "scoring", "encoder", "prototypes", "text_encoder", "files"):
        _require(manifest, key, str(mf))
    try:
        loaded = loaded_files(manifest)
    except BundleError as e:
        raise BundleError(f"{mf}: {e}") from None
    if not isinstance(manifest["text_encoder"], dict):
        raise BundleError(f"{mf}: text_encoder must be an object with the encoder's id and dir")
    resolve_inside(path, root, "text_encoder.dir", manifest["text_encoder"].get("dir"))
    for fld, name in loaded:  # the files the runtime loads: inside, listed, (verified below)
        check_listed(path, root, manifest, fld, name, verify=False)
    verify_files(path, manifest, verify)
    spec = InputSpec.from_dict(manifest["input"])
    if spec.normalization not in SUPPORTED_NORMALIZATIONS:
        raise BundleError(f"{mf}: input.normalization {spec.normalization!r} is none of this runtime's "
                          f"({', '.join(SUPPORTED_NORMALIZATIONS)}); re-export the bundle with this version")
    mode = manifest["scoring"].get("mode")
    if mode not in ("features", "conditioned"):
        raise BundleError(f"{mf}: scoring.mode must be 'features' or 'conditioned', got {mode!r}")
    kind = manifest["scoring"].get("score", "cosine")
    if kind not in SCORE_KINDS or (mode == "features" and kind != "cosine"):
        raise BundleError(f"{mf}: scoring.score must be 'cosine' or 'logit' (features mode: 'cosine'), got {kind!r}")
    rng = manifest["scoring"].get("range", [-1.0, 1.0])
    if not isinstance(rng, list) or len(rng) != 2 \
            or not all(e is None or (isinstance(e, (int, float)) and not isinstance(e, bool) and abs(e) < 1e300)
                       for e in rng) or (None not in rng and rng[0] >= rng[1]):
        raise BundleError(f"{mf}: scoring.range must be [low, high] (numbers or null for an open end, low < high), "
                          f"got {rng!r}")
    scale = manifest["scoring"].get("logit_scale")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise BundleError(f"{mf}: scoring.logit_scale must be a positive number, got {scale!r}")
    table = PrototypeTable.load(path / manifest["prototypes"]["file"])
    granularities = list(manifest["output"]["granularities"])
    if table.prototypes.shape[1] != len(granularities):
        raise BundleError(f"{mf}: prototypes have {table.prototypes.shape[1]} granularities, output lists {len(granularities)}")
    if len(manifest["scoring"]["weights"]) != len(granularities):
        raise BundleError(f"{mf}: scoring.weights has {len(manifest['scoring']['weights'])} entries for {len(granularities)} granularities")
    rule = manifest["text_encoder"].get("class_text_rule")
    if rule is not None and rule not in CLASS_TEXT_RULES:
        raise BundleError(f"{mf}: text_encoder.class_text_rule {rule!r} is unknown to this runtime (it knows "
                          f"{', '.join(CLASS_TEXT_RULES)}); update the runtime or re-export the bundle")
    if rule is not None and CLASS_TEXT_RULES[rule][0] != len(granularities):
        raise BundleError(f"{mf}: text_encoder.class_text_rule {rule!r} makes {CLASS_TEXT_RULES[rule][0]} texts per "
                          f"word, output lists {len(granularities)} granularities")
    return Bundle(path=path, manifest=manifest, spec=spec, table=table, granularities=granularities, verify=verify)
