"""The model bundle (ARCHITECTURE.md, contract 1): a directory with ``manifest.json`` that says everything the
device needs. ``export`` writes bundles; this module reads and verifies them, and refuses a bundle whose files
do not match its manifest, saying which file and how.

Layout:
    manifest.json           schema, model, input spec, scoring, text encoder, files with sha256, calibration
    encoder.onnx            skeleton encoder, fp32: skeleton (N, C, T, V, M) -> features (N, G, D)
    encoder.int8.onnx       the same in Q/DQ INT8 (onnxruntime and TensorRT 10/11 build from it)
    prototypes.npz          labels, description texts, prototypes (C, G, D), probe embedding of the text encoder
    text_encoder/           model.onnx + tokenizer.json (made at setup from the installed text-encoder package;
                            listed under "generated" with the command that makes it, checked by its probe)
    engines/                TensorRT engines built on the device (python -m export.tensorrt)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.skeleton import SUPPORTED_NORMALIZATIONS, InputSpec

SCHEMA = "zsar.bundle/1"
MANIFEST = "manifest.json"
DEFAULT_BUNDLE = Path(__file__).parent / "assets" / "default_bundle"


class BundleError(ValueError):
    """The bundle cannot be used; the message names the bundle and the file or field at fault."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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

    @property
    def mode(self) -> str:
        return self.manifest["scoring"]["mode"]

    @property
    def weights(self) -> np.ndarray:
        return np.asarray(self.manifest["scoring"]["weights"], dtype=np.float32)

    @property
    def logit_scale(self) -> float:
        return float(self.manifest["scoring"]["logit_scale"])

    def file(self, key: str) -> Path:
        return self.path / self.manifest["encoder"][key]

    @property
    def unknown_threshold(self) -> float | None:
        t = self.manifest.get("calibration", {}).get("unknown_threshold")
        return None if t is None else float(t["value"])

    def text_encoder_dir(self) -> Path:
        return self.path / self.manifest["text_encoder"]["dir"]


def _require(d: dict, key: str, where: str):
    if key not in d:
        raise BundleError(f"{where}: missing field {key!r}")
    return d[key]


def verify_files(path: Path, manifest: dict) -> None:
    files = _require(manifest, "files", f"{path / MANIFEST}")
    for name, meta in files.items():
        f = path / name
        if not f.exists():
            raise BundleError(f"{path}: file {name} listed in the manifest is missing")
        if f.stat().st_size != meta.get("bytes", f.stat().st_size):
            raise BundleError(f"{path}: {name} has {f.stat().st_size} bytes, the manifest says {meta['bytes']}")
        if sha256(f) != meta["sha256"]:
            raise BundleError(f"{path}: {name} does not match its sha256 in the manifest (edited or corrupt)")


def load_bundle(path: str | Path = DEFAULT_BUNDLE, verify: bool = True) -> Bundle:
    """Read and check a bundle: schema version, required fields, every listed file's size and sha256."""
    path = Path(path)
    mf = path / MANIFEST
    if not mf.exists():
        raise BundleError(f"{path}: no {MANIFEST} (not a bundle directory)")
    try:
        manifest = json.loads(mf.read_text())
    except json.JSONDecodeError as e:
        raise BundleError(f"{mf}: invalid JSON at line {e.lineno}: {e.msg}") from e
    schema = manifest.get("schema")
    if schema != SCHEMA:
        raise BundleError(f"{mf}: schema {schema!r} is not supported (this runtime reads {SCHEMA!r})")
    for key in ("model", "input", "output", "scoring", "encoder", "prototypes", "text_encoder", "files"):
        _require(manifest, key, str(mf))
    if verify:
        verify_files(path, manifest)
    spec = InputSpec.from_dict(manifest["input"])
    if spec.normalization not in SUPPORTED_NORMALIZATIONS:
        raise BundleError(f"{mf}: input.normalization {spec.normalization!r} is none of this runtime's "
                          f"({', '.join(SUPPORTED_NORMALIZATIONS)}); re-export the bundle with this version")
    mode = manifest["scoring"].get("mode")
    if mode not in ("features", "conditioned"):
        raise BundleError(f"{mf}: scoring.mode must be 'features' or 'conditioned', got {mode!r}")
    table = PrototypeTable.load(path / manifest["prototypes"]["file"])
    granularities = list(manifest["output"]["granularities"])
    if table.prototypes.shape[1] != len(granularities):
        raise BundleError(f"{mf}: prototypes have {table.prototypes.shape[1]} granularities, output lists {len(granularities)}")
    if len(manifest["scoring"]["weights"]) != len(granularities):
        raise BundleError(f"{mf}: scoring.weights has {len(manifest['scoring']['weights'])} entries for {len(granularities)} granularities")
    return Bundle(path=path, manifest=manifest, spec=spec, table=table, granularities=granularities)
