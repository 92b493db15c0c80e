#!/usr/bin/env bash
# Set everything up in ./.venv, then run the main job on the built-in default.
#   bash setup.sh            # install + run
#   bash setup.sh --no-run   # install only (what CI does before the tests)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
# One environment for every stage; the pins in pyproject.toml keep MediaPipe working beside torch and onnx.
.venv/bin/pip install -q -e ".[runtime,train,export,dev,bench]"

[ "${1:-}" = "--no-run" ] && exit 0
# Main job: until the runtime lands, the newest end-to-end piece (the zero-shot splits over the class lists).
exec .venv/bin/python -m train.data.splits
