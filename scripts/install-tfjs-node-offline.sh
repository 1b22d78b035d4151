#!/usr/bin/env bash
# Makes the native `tensorflow` backend (@tensorflow/tfjs-node) work without storage.googleapis.com;
# with --gpu, the `tensorflow-gpu` backend (@tensorflow/tfjs-node-gpu) on CUDA 12, needing only the NVIDIA driver.
#
# tfjs-node's own install script downloads libtensorflow from Google's bucket, which is unreachable
# here (and npm >= 11 skips dependency install scripts anyway). The same TensorFlow C API ships in
# the PyPI wheel `tensorflow-cpu` (libtensorflow_cc.so.2 exports every TF_*/TFE_* symbol the
# binding uses, libtensorflow_framework.so.2 is its companion), so this script:
#   1. makes sure the JS of @tensorflow/tfjs-node@4.22.0 is in node_modules (npm, scripts ignored);
#   2. downloads the tensorflow-cpu wheel with pip (cached under .tools/tfjs-node/);
#   3. lays out its C headers and the two libraries as tfjs-node's deps/{include,lib};
#   4. builds lib/napi-v8/tfjs_binding.node with node-gyp against the local Node headers;
#   5. checks that require('@tensorflow/tfjs-node') runs a conv2d.
# With --gpu the same steps build @tensorflow/tfjs-node-gpu's binding against the CUDA 12 build of
# TensorFlow in the PyPI wheel `tensorflow` (cache .tools/tfjs-node-gpu/), and also:
#   2b. download the nvidia-*-cu12 wheels that the wheel's `tensorflow[and-cuda]` extra pins (read
#       from its METADATA) and extract their libraries as deps/nvidia/<name>/lib, where the RUNPATH
#       that libtensorflow_framework.so.2 already carries ($ORIGIN/../nvidia/<name>/lib) finds them;
#   4b. build deps/gpu-probe (scripts/gpu/gpu-probe.c), which src/backend/native/gpu.ts runs to learn the
#       CUDA/cuDNN versions and the visible GPUs before it loads TensorFlow.
# About 2.4 GB to download and 6.0 GB on disk (docs/native-tensorflow.md).
# Idempotent: each step is skipped when its result is already in place. Details and the reasons
# behind each choice: docs/native-tensorflow.md.
#
# Environment overrides:
#   TF_WHEEL_VERSION   tensorflow(-cpu) version to take the C library from (default 2.15.1)
#   NODEDIR            directory holding include/node/node_api.h (default: detected)
#   TFJS_NODE_FORCE=1  rebuild the binding even if one is already there
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

GPU=0
case "${1:-}" in
  --gpu) GPU=1 ;;
  '') ;;
  *) echo "usage: $0 [--gpu]" >&2; exit 2 ;;
esac

TFJS_NODE_VERSION=4.22.0
TF_WHEEL_VERSION="${TF_WHEEL_VERSION:-2.15.1}"
if [ "$GPU" = 1 ]; then
  NPM_NAME=@tensorflow/tfjs-node-gpu
  WHEEL_NAME=tensorflow          # the Linux x86_64 wheel is the CUDA 12 build (since 2.15)
  CACHE="$ROOT/.tools/tfjs-node-gpu"
else
  NPM_NAME=@tensorflow/tfjs-node
  WHEEL_NAME=tensorflow-cpu
  CACHE="$ROOT/.tools/tfjs-node"
fi
WHEEL_DIR="$CACHE/wheels"
TF_DIR="$CACHE/libtensorflow-$TF_WHEEL_VERSION"
CUDA_DIR="$CACHE/cuda-for-tf$TF_WHEEL_VERSION"
PKG="$ROOT/node_modules/$NPM_NAME"

say() { echo "install-tfjs-node-offline: $*"; }
die() { echo "install-tfjs-node-offline: ERROR: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  die "only linux x86_64 is handled (the PyPI $WHEEL_NAME manylinux wheel); this is $(uname -s)-$(uname -m)"
for tool in node npm python3 make g++ gcc; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed to build the native binding; install it (e.g. apt-get install build-essential python3)"
done
python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip; install it (apt-get install python3-pip) to download the $WHEEL_NAME wheel"

# --- 1. the JS package --------------------------------------------------------------------------
installed_version() { node -p "require('$PKG/package.json').version" 2>/dev/null || true; }
if [ "$(installed_version)" != "$TFJS_NODE_VERSION" ]; then
  say "installing $NPM_NAME@$TFJS_NODE_VERSION (JS only; its download script is not run)"
  # --no-save: package.json already lists it under optionalDependencies; the lock stays as it is.
  npm install --no-save --ignore-scripts --no-audit --no-fund "$NPM_NAME@$TFJS_NODE_VERSION"
  [ "$(installed_version)" = "$TFJS_NODE_VERSION" ] || die "npm did not install $NPM_NAME@$TFJS_NODE_VERSION into $PKG"
fi

# Where tfjs-node looks for its binding (node-pre-gyp's choice of napi-vN for this Node).
BINDING="$(cd "$PKG" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))")"
case "$BINDING" in */tfjs_binding.node) ;; *) die "could not work out where tfjs-node expects tfjs_binding.node (got '$BINDING')" ;; esac
NAPI_VERSION="$(basename "$(dirname "$BINDING")")"; NAPI_VERSION="${NAPI_VERSION#napi-v}"

# --- 2. the wheel -------------------------------------------------------------------------------
wheel() { ls "$WHEEL_DIR"/"${WHEEL_NAME//-/_}"-"$TF_WHEEL_VERSION"-*manylinux*x86_64*.whl 2>/dev/null | head -n 1; }
# --platform/--python-version: any wheel build carries the same C library, so this does not
# depend on the local Python version. pip checks each wheel against PyPI's sha256.
pip_download() {
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 -d "$WHEEL_DIR" "$@"
}
if [ "$GPU" = 1 ] && { [ ! -f "$TF_DIR/.complete" ] || [ ! -f "$CUDA_DIR/.complete" ]; }; then
  # The CUDA route needs room: 2.4 GB of wheels and 4 GB extracted, next to each other.
  mkdir -p "$CACHE"
  free_gb=$(( $(df -Pk "$CACHE" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
  [ "$free_gb" -ge 8 ] || die "only ${free_gb} GB free under $CACHE; the GPU binding needs about 8 GB while it is set up (6.0 GB after). Free some space and run again"
fi
if [ ! -f "$TF_DIR/.complete" ] && [ -z "$(wheel)" ]; then
  say "downloading $WHEEL_NAME==$TF_WHEEL_VERSION from PyPI (about $([ "$GPU" = 1 ] && echo 480 || echo 200) MB)"
  mkdir -p "$WHEEL_DIR"
  pip_download "$WHEEL_NAME==$TF_WHEEL_VERSION"
  [ -n "$(wheel)" ] || die "pip did not leave a $WHEEL_NAME $TF_WHEEL_VERSION wheel in $WHEEL_DIR"
fi

# --- 3. libraries + headers ---------------------------------------------------------------------
if [ ! -f "$TF_DIR/.complete" ]; then
  say "extracting the TensorFlow C library and headers from $(basename "$(wheel)")"
  rm -rf "$TF_DIR"; mkdir -p "$TF_DIR"
  python3 - "$(wheel)" "$TF_DIR" <<'PY'
import os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
# The C API headers include tsl/platform/ctstring*.h and tensorflow/core/platform/*.h.
header_roots = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
                'tensorflow/include/tsl/', 'tensorflow/include/xla/tsl/')
found = set()
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name in libs:
            dest = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith(header_roots) and not name.endswith('/'):
            dest = os.path.join(out, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        found.add(name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if dest.endswith('.so.2'):
            os.chmod(dest, 0o755)
missing = libs - found
if missing or not os.path.exists(os.path.join(out, 'include/tensorflow/c/eager/c_api.h')):
    sys.exit(f'{wheel} lacks {sorted(missing) or "tensorflow/c/eager/c_api.h"}: this TensorFlow '
             'version does not ship the C API as expected; try TF_WHEEL_VERSION=2.15.1')
PY
  # The binding links -ltensorflow; the wheel's library is named libtensorflow_cc (its SONAME,
  # libtensorflow_cc.so.2, is what the built binding records and loads).
  ln -sfn libtensorflow_cc.so.2 "$TF_DIR/lib/libtensorflow.so"
  ln -sfn libtensorflow_framework.so.2 "$TF_DIR/lib/libtensorflow_framework.so"
  touch "$TF_DIR/.complete"
fi

# --- 2b/3b. (--gpu) the CUDA 12 libraries from the nvidia-*-cu12 wheels ---------------------------
if [ "$GPU" = 1 ] && [ ! -f "$CUDA_DIR/.complete" ]; then
  # The exact list and versions are the wheel's own: its `and-cuda` extra in METADATA.
  mapfile -t CUDA_WHEELS < <(python3 - "$(wheel)" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    for line in z.read(meta).decode().splitlines():
        m = re.match(r"Requires-Dist: (nvidia-[\w-]+) \(==([\w.]+)\) ; extra == 'and-cuda'", line)
        if m:
            print(f'{m[1]}=={m[2]}')
PY
  )
  [ "${#CUDA_WHEELS[@]}" -gt 0 ] || die "$(basename "$(wheel)") names no nvidia-* wheels in its and-cuda extra; this TensorFlow version is not a CUDA build (try TF_WHEEL_VERSION=2.15.1)"
  say "downloading the ${#CUDA_WHEELS[@]} CUDA 12 wheels tensorflow[and-cuda]==$TF_WHEEL_VERSION names (about 1.9 GB): ${CUDA_WHEELS[*]}"
  pip_download "${CUDA_WHEELS[@]}"
  say "extracting their libraries into $CUDA_DIR/nvidia"
  rm -rf "$CUDA_DIR"; mkdir -p "$CUDA_DIR"
  wheel_files=()
  for spec in "${CUDA_WHEELS[@]}"; do
    f="$(ls "$WHEEL_DIR/$(echo "${spec%%==*}" | tr - _)-${spec##*==}"-*.whl 2>/dev/null | head -n 1)"
    [ -n "$f" ] || die "pip did not leave the $spec wheel in $WHEEL_DIR"
    wheel_files+=("$f")
  done
  python3 - "$CUDA_DIR" "${wheel_files[@]}" <<'PY'
import os, shutil, sys, zipfile
out, wheels = sys.argv[1], sys.argv[2:]
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            # Libraries, ptxas and libdevice; headers and Python stubs are not needed.
            if not name.startswith('nvidia/') or name.endswith(('/', '__init__.py')) or '/include/' in name:
                continue
            dest = os.path.join(out, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(info) as src, open(dest, 'wb') as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if (info.external_attr >> 16) & 0o111 or '.so' in name:
                os.chmod(dest, 0o755)
PY
  # cuDNN's RUNPATH names ../../nvrtc/lib, but the wheel installs nvidia/cuda_nvrtc (NVIDIA's packaging).
  ln -sfn cuda_nvrtc "$CUDA_DIR/nvidia/nvrtc"
  touch "$CUDA_DIR/.complete"
fi

# Into the package's deps/ (where binding.gyp and the binding's rpath $ORIGIN/../../deps/lib look).
# Hard links where possible: the C library is about 560 MB.
mkdir -p "$PKG/deps/lib"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  if ! [ "$PKG/deps/lib/$lib" -ef "$TF_DIR/lib/$lib" ] && ! cmp -s "$PKG/deps/lib/$lib" "$TF_DIR/lib/$lib"; then
    rm -f "$PKG/deps/lib/$lib"
    ln "$TF_DIR/lib/$lib" "$PKG/deps/lib/$lib" 2>/dev/null || cp "$TF_DIR/lib/$lib" "$PKG/deps/lib/$lib"
  fi
done
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -sfn libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
rm -rf "$PKG/deps/include"; cp -R "$TF_DIR/include" "$PKG/deps/include"
if [ "$GPU" = 1 ]; then
  # deps/lib/../nvidia/<name>/lib is on libtensorflow_framework.so.2's own RUNPATH; hard links again (3 GB).
  rm -rf "$PKG/deps/nvidia"
  cp -al "$CUDA_DIR/nvidia" "$PKG/deps/nvidia" 2>/dev/null || cp -a "$CUDA_DIR/nvidia" "$PKG/deps/nvidia"
  # Every CUDA library TensorFlow dlopens must resolve through that RUNPATH, with its own dependencies.
  python3 - "$PKG/deps/lib/libtensorflow_framework.so.2" <<'PY' || die "the CUDA libraries are not where TensorFlow looks for them (above)"
import os, subprocess, sys
lib = sys.argv[1]
origin = os.path.dirname(lib)
dyn = subprocess.run(['readelf', '-d', lib], capture_output=True, text=True, check=True).stdout
runpath = next(l for l in dyn.splitlines() if 'RUNPATH' in l).split('[', 1)[1].rstrip(']')
dirs = [d.replace('$ORIGIN', origin) for d in runpath.split(':')]
bad = []
for soname in ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11',
               'libcusolver.so.11', 'libcusparse.so.12', 'libcudnn.so.8']:
    found = next((os.path.join(d, soname) for d in dirs if os.path.exists(os.path.join(d, soname))), None)
    if not found:
        bad.append(f'{soname}: not on the RUNPATH of {lib}')
        continue
    ldd = subprocess.run(['ldd', found], capture_output=True, text=True).stdout
    bad += [f'{soname}: {l.strip()}' for l in ldd.splitlines() if 'not found' in l]
if bad:
    sys.exit('\n'.join(bad))
PY
fi

# --- 4. the binding -----------------------------------------------------------------------------
loads() {
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('$NPM_NAME');
    const y = tf.conv2d(tf.ones([1, 3, 3, 1]), tf.ones([2, 2, 1, 1]), 1, 'valid');
    const v = Array.from(y.dataSync());
    if (tf.getBackend() !== 'tensorflow' || v.join() !== '4,4,4,4') throw new Error('unexpected ' + v);
    const b = tf.backend().binding;
    console.log('$NPM_NAME ' + tf.version['tfjs-node'] + ' on TensorFlow ' + b.TF_Version +
      ($GPU ? (b.isUsingGpuDevice() ? ', on the GPU' : ', on the CPU (TensorFlow sees no usable GPU)') : ''));
  ")
}
# A binding built earlier for the same tfjs-node, TensorFlow and Node-API version is kept in the
# cache, so a fresh `npm ci` (which empties node_modules) does not mean compiling again.
CACHED_BINDING="$CACHE/tfjs_binding-$TFJS_NODE_VERSION-tf$TF_WHEEL_VERSION-napi$NAPI_VERSION.node"
# (--gpu) The probe src/backend/native/gpu.ts runs: rebuilt with the binding, or when missing.
PROBE="$PKG/deps/gpu-probe"
build_probe() {
  [ "$GPU" = 1 ] || return 0
  [ "${TFJS_NODE_FORCE:-0}" != 1 ] && [ -x "$PROBE" ] && [ "$PROBE" -nt "$ROOT/scripts/gpu/gpu-probe.c" ] && return 0
  gcc -O2 -Wall -Wextra -Werror -o "$PROBE.tmp" "$ROOT/scripts/gpu/gpu-probe.c" -ldl \
    -Wl,-rpath,'$ORIGIN/nvidia/cuda_runtime/lib:$ORIGIN/nvidia/cudnn/lib' || { rm -f "$PROBE.tmp"; die "compiling scripts/gpu/gpu-probe.c failed (above)"; }
  mv "$PROBE.tmp" "$PROBE"
}
probe_says() { [ "$GPU" = 1 ] && echo "; gpu-probe: $("$PROBE")"; }
if [ "${TFJS_NODE_FORCE:-0}" != 1 ]; then
  if [ -f "$BINDING" ] && [ "$BINDING" -nt "$TF_DIR/.complete" ] && loads >/dev/null 2>&1; then
    build_probe
    say "binding already built and working: $(loads 2>/dev/null)$(probe_says)"
    exit 0
  fi
  if [ -f "$CACHED_BINDING" ]; then
    mkdir -p "$(dirname "$BINDING")"; cp "$CACHED_BINDING" "$BINDING"
    if out="$(loads 2>&1)"; then build_probe; say "ok (binding from the cache): $out$(probe_says)"; exit 0; fi
    say "the cached binding does not load; building it again"
  fi
fi

if [ -z "${NODEDIR:-}" ]; then
  # Node-API is ABI-stable, so the headers only need to be Node-API 8 or newer (any Node >= 16).
  for d in "$(npm config get nodedir 2>/dev/null || true)" "$(dirname "$(dirname "$(command -v node)")")" /usr /usr/local; do
    if [ -n "$d" ] && [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ]; then NODEDIR="$d"; break; fi
  done
fi
[ -n "${NODEDIR:-}" ] && [ -f "$NODEDIR/include/node/node_api.h" ] ||
  die "no Node headers found (include/node/node_api.h + common.gypi); node-gyp would try to download them. Install them (nodesource's nodejs package ships them in /usr/include/node; Debian: apt-get install libnode-dev) or set NODEDIR"

NODE_GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$NODE_GYP" ] || NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$NODE_GYP" ] || die "node-gyp (bundled with npm) not found; expected it at $(npm root -g)/npm/node_modules/node-gyp"

say "building $BINDING against TensorFlow $TF_WHEEL_VERSION (node-gyp, Node headers from $NODEDIR)"
(cd "$PKG" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --jobs=2 \
  --module_name=tfjs_binding --module_path="$(dirname "$BINDING")" --napi_build_version="$NAPI_VERSION") \
  > "$CACHE/build.log" 2>&1 || { tail -n 30 "$CACHE/build.log" >&2; die "building the binding failed; full log: $CACHE/build.log"; }
rm -rf "$PKG/build"  # objects only; the binding was copied to $BINDING
[ -f "$BINDING" ] || die "node-gyp finished but $BINDING is missing; log: $CACHE/build.log"
touch "$BINDING"

# --- 5. check ------------------------------------------------------------------------------------
out="$(loads 2>&1)" || { echo "$out" >&2; die "the binding was built but require('$NPM_NAME') failed (above)"; }
cp "$BINDING" "$CACHED_BINDING"
build_probe
say "ok: $out$(probe_says)"
