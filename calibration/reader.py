"""onnxruntime's calibration interface over an array of model inputs."""

from __future__ import annotations

import numpy as np
from onnxruntime.quantization import CalibrationDataReader


class ArrayReader(CalibrationDataReader):
    """Batches of ``inputs`` under ``input_name``; ``constants`` are fed unchanged with every batch (a conditioned
    graph's class-text input: the candidate classes' text)."""

    def __init__(self, inputs: np.ndarray, input_name: str = "skeleton", batch: int = 16,
                 constants: dict[str, np.ndarray] | None = None):
        self.inputs, self.name, self.batch = inputs.astype(np.float32), input_name, batch
        self.constants = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in (constants or {}).items()}
        self.i = 0

    def get_next(self):
        if self.i >= len(self.inputs):
            return None
        x = self.inputs[self.i : self.i + self.batch]
        self.i += self.batch
        return {self.name: x, **self.constants}

    def rewind(self) -> None:
        self.i = 0
