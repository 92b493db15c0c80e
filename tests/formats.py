"""Writers of the real dataset file formats, so tests can make small files exactly as the datasets ship them."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_ntu_skeleton(path: Path, bodies: list[np.ndarray], present: list[np.ndarray] | None = None) -> None:
    """bodies: one (T, 25, 3) array per tracked body; present: (T,) bool per body (default: all frames)."""
    t = len(bodies[0])
    present = present or [np.ones(t, bool) for _ in bodies]
    lines = [str(t)]
    for f in range(t):
        here = [b for b, p in zip(range(len(bodies)), present) if p[f]]
        lines.append(str(len(here)))
        for b in here:
            lines.append(f"{72057594037931101 + b} 0 1 1 1 1 0 0.02 0.05 2")
            lines.append("25")
            for x, y, z in bodies[b][f]:
                lines.append(f"{x:.7g} {y:.7g} {z:.7g} 277.4 191.8 1036.2 519.2 -0.2 0.05 0.97 -0.12 2")
    path.write_text("\n".join(lines) + "\n")


def write_pku_sequence(path: Path, frames: np.ndarray) -> None:
    """frames: (T, 2, 25, 3) -> one row of 150 numbers per frame."""
    rows = [" ".join(f"{v:.6f}" for v in f.reshape(-1)) for f in frames]
    path.write_text("\n".join(rows) + "\n")


def write_pku_labels(path: Path, rows: list[tuple[int, int, int, int]]) -> None:
    path.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
