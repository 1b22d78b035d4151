#!/usr/bin/env bash
# First-run setup behind `npm start` and `npm test`: installs the npm packages when they are missing
# and the temporal CLI (the embedded dev server) into .tools/. Quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/@temporalio/worker ] || [ ! -d node_modules/@tensorflow/tfjs-core ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-temporal-cli.sh >/dev/null
# The native TensorFlow backend trains 3-8x faster than wasm on a CPU (docs/benchmarks.md); where it cannot be built,
# runs fall back to wasm (backend: auto).
if [ "${FACENET_SKIP_NATIVE:-}" != 1 ]; then
  bash scripts/install-tfjs-node-offline.sh >/dev/null 2>&1 \
    || echo "bootstrap: the native tensorflow backend could not be built here; using wasm (see docs/native-tensorflow.md)"
fi
