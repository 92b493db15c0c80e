"""Who may import whom (ARCHITECTURE.md: runtime imports). The device code never pulls in torch, the training
package, export or the measurement tools; training never imports export or bench; calibration never imports
export; the measurement tools (bench/) are imported by nothing but themselves and the tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("torch", "train", "export", "calibration", "bench", "sentence_transformers", "transformers")
PACKAGES = ("runtime", "train", "export", "calibration", "bench")
# package -> top-level packages its modules may not import (at any depth: functions' imports count too)
BOUNDARIES = {
    "runtime": FORBIDDEN,
    "train": ("export", "bench"),
    "calibration": ("export", "bench"),
    "export": ("bench",),
}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {name}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, name in imports(path) if name.split(".")[0] in forbidden]


@pytest.mark.parametrize("package", sorted(BOUNDARIES))
def test_package_boundaries(package):
    bad = offenders(package, BOUNDARIES[package])
    assert not bad, "\n".join(bad)


def test_nothing_outside_bench_and_tests_imports_bench():
    bad = [b for p in PACKAGES if p != "bench" for b in offenders(p, ("bench",))]
    bad += [f"{p.name}:{line} imports {name}" for p in ROOT.glob("*.py") for line, name in imports(p)
            if name.split(".")[0] == "bench"]
    assert not bad, "\n".join(bad)


def test_importing_every_runtime_module_loads_no_torch():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "runtime").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m.removesuffix('.__init__'))\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
