"""Procedural skeleton motion (numpy only): the built-in synthetic dataset and the runtime's demo stream."""

from runtime.synth.generator import (
    SynthConfig,
    SyntheticSample,
    demo_stream,
    generate,
    generate_batch,
    sample_seed,
)
from runtime.synth.motions import ACTIONS, COMPOSITE_CLASSES, IDLE, SYNTHETIC_CLASSES

__all__ = [
    "ACTIONS", "COMPOSITE_CLASSES", "IDLE", "SYNTHETIC_CLASSES", "SynthConfig", "SyntheticSample", "demo_stream",
    "generate", "generate_batch", "sample_seed",
]  # fmt: skip
