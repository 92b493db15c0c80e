#!/usr/bin/env bash
# Container entry point: on a GPU device, build TensorRT engines for it on first start (into the mounted
# cache, beside a copy of the bundle, with the timing cache), then run the runtime with the given arguments.
#   ZSAR_BUNDLE       bundle to run (default: the one that ships)
#   ZSAR_CACHE        writable volume for engines and the adaptation bank (default /cache)
#   ZSAR_ENGINES      "auto" (build when TensorRT is present), "0" (never)
#   ZSAR_PRECISIONS   engines to build (default "fp16 int8")
#   ZSAR_BIND         event stream endpoint inside the container (default tcp://0.0.0.0:5556; publish the
#                     port on the host's loopback only, as docker/compose.yaml does)
set -euo pipefail

PY=$(command -v python3 || command -v python)
BUNDLE=${ZSAR_BUNDLE:-/opt/zsar/runtime/assets/default_bundle}
CACHE=${ZSAR_CACHE:-/cache}
mkdir -p "$CACHE"

if [ "${ZSAR_ENGINES:-auto}" != "0" ] && "$PY" -c "import tensorrt" 2>/dev/null; then
    if [ ! -f "$CACHE/bundle/manifest.json" ] || ! cmp -s "$BUNDLE/manifest.json" "$CACHE/bundle/manifest.json"; then
        rm -rf "$CACHE/bundle"
        cp -r "$BUNDLE" "$CACHE/bundle"
    fi
    BUNDLE="$CACHE/bundle"
    if ! ls "$BUNDLE"/engines/*.engine > /dev/null 2>&1; then
        echo "building TensorRT engines for this device (first start only)..."
        # shellcheck disable=SC2086
        "$PY" -m export.tensorrt "$BUNDLE" --precision ${ZSAR_PRECISIONS:-fp16 int8} \
            || echo "TensorRT engine build failed: the runtime falls back to onnxruntime"
    fi
fi

exec "$PY" -m runtime.camera --bundle "$BUNDLE" --adapt-state "$CACHE/adaptation.npz" \
    --bind "${ZSAR_BIND:-tcp://0.0.0.0:5556}" --bind-wide "$@"
