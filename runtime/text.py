"""The bundle's text encoder on the device: a HuggingFace ``tokenizers`` tokenizer plus the ONNX graph that export
wrote (BERT, masked mean pooling and L2 normalisation inside). No torch, no transformers.

A bundle records a probe sentence and its embedding; ``check_probe`` refuses a text encoder that would place
new vocabulary somewhere else than where the prototype table was built.

Encoding more than ``PROGRESS_MIN`` texts (a long vocabulary, e.g. hundreds of new labels with descriptions,
takes seconds to a minute on one CPU core) logs its progress on the ``runtime`` logger: a line when it starts,
one every ``PROGRESS_EVERY_S`` seconds, and one when it is done, so that a slow start is visibly busy.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from runtime.bundle import BundleError

log = logging.getLogger("runtime")
PROGRESS_MIN = 256  # texts; fewer encode in well under a second
PROGRESS_EVERY_S = 2.0


class OnnxTextEncoder:
    def __init__(self, directory: str | Path, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        directory = Path(directory)
        model, tok = directory / "model.onnx", directory / "tokenizer.json"
        for f in (model, tok):
            if not f.exists():
                raise BundleError(f"{directory}: text encoder file {f.name} is missing; make it with "
                                  f"`python -m export.text_encoder --out {directory}`")
        meta_path = directory / "text_encoder.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        self.max_length = int(meta.get("max_length", 256))
        self.tokenizer = Tokenizer.from_file(str(tok))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding(pad_id=int(meta.get("pad_id", 0)), pad_token=meta.get("pad_token", "[PAD]"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(N, D) float32, L2-normalised; logs progress when N > ``PROGRESS_MIN``."""
        out = []
        n = len(texts)
        report = n > PROGRESS_MIN
        start = last = time.monotonic()
        if report:
            log.info(f"encoding {n} texts with the text encoder on the device")
        for i in range(0, n, batch_size):
            enc = self.tokenizer.encode_batch(list(texts[i : i + batch_size]))
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
            done = min(i + batch_size, n)
            if report and done < n and time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                log.info(f"encoding texts: {done}/{n} ({last - start:.0f} s)")
        if report:
            log.info(f"encoding texts: {n}/{n} done in {time.monotonic() - start:.1f} s")
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)

    def check_probe(self, text: str, expected: np.ndarray, tolerance: float = 1e-4) -> None:
        got = self.encode([text])[0]
        cos = float(got @ expected / max(np.linalg.norm(expected), 1e-12))
        if cos < 1 - tolerance:
            raise BundleError(f"the text encoder gives cos {cos:.6f} to the bundle's probe embedding: it is not the "
                              "encoder the prototype table was built with")
