#!/usr/bin/env bash
# First-run setup behind `npm start` and `npm test`: installs the npm packages when they are missing
# and the temporal CLI (the embedded dev server) into .tools/. Quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/@temporalio/worker ] || [ ! -d node_modules/@tensorflow/tfjs-core ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-temporal-cli.sh >/dev/null
