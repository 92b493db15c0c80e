"""Does this CPU have 8-bit dot-product instructions? Without them onnxruntime's INT8 convolutions are no faster
than its fp32 ones (measured on an AVX2-only EPYC: 2.5 ms INT8 against 2.05 ms fp32 at batch 1, see docs/results.md),
and its u8 x s8 AVX2 kernel saturates 16-bit sums, so the CPU backend only picks INT8 where it pays."""

from __future__ import annotations

import platform
from pathlib import Path

# x86: VNNI (AVX-512 or AVX) and AMX; Arm: the dot-product extension (SDOT/UDOT) and i8mm
INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The feature flags of the first CPU listed in /proc/cpuinfo (empty where there is no such file)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return set(value.split())
    return set()


def int8_dot_product(cpuinfo: str | Path = "/proc/cpuinfo") -> str | None:
    """The first flag that makes INT8 fast here, or None. Apple silicon (no /proc/cpuinfo) always has dotprod."""
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "arm64-dotprod"
    flags = cpu_flags(cpuinfo)
    return next((f for f in INT8_DOT_FLAGS if f in flags), None)
