// Training kernels for the wasm and cpu backends. @tensorflow/tfjs-backend-wasm 4.22 can run a ResNet
// forward pass and most of its backward pass, but:
// - it has no Conv2DBackpropFilter, so the gradient of every convolution weight fails with
//   "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'";
// - its Conv2DBackpropInput and Tile are scalar loops that made a training step 2x slower than needed.
// We register replacements composed of kernels wasm runs fast (XNNPACK conv2d, pad, transpose, add), so
// training runs on wasm unchanged. Every other kernel a ResNet + triplet-loss step needs (MaxPoolGrad,
// FusedBatchNorm and the element-wise ops of its gradient, Step for the ReLU gradient, BatchMatMul, Sum,
// Mean, Max, Min, Select, ...) is present; tests/unit/training-kernels.test.ts runs whole steps on wasm and
// compares every gradient with the cpu backend. The cpu backend gets the same weight-gradient kernel: its
// own is a scalar loop about 20x slower.
//
// The replacements call tf ops from inside a kernel: the engine pauses the gradient tape while a kernel
// runs, so those ops are not recorded, and a returned (tidy-kept) tensor becomes the kernel's output.
import * as tf from '@tensorflow/tfjs-core';
import { runSimdMaxPoolGrad } from './max-pool-grad-simd';
import { elementOffset, heapView, type WasmHeapBackend } from './heap';

const WASM = 'wasm';

/**
 * dW[kh, kw, ci, co] = sum over b, oh, ow of x[b, oh*s + kh - padTop, ow*s + kw - padLeft, ci] * dy[b, oh, ow, co].
 *
 * Read with the batch axis as the channel axis, that sum is itself a convolution: the input is x with
 * batch and channel swapped ([ci, H, W, b]), the "filter" is dy ([oh, ow, b, co]) dilated by the
 * forward stride, and the output is [ci, kh, kw, co]. One conv2d call does the whole reduction in
 * XNNPACK: 6-15x faster here than one matmul per kernel offset, and it needs no im2col buffer.
 */
export function conv2dBackpropFilterViaConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
    );
    const [kh, kw] = filterShape;
    const { strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
    const { top, left } = info.padInfo;
    // Pad the bottom/right just enough for kh x kw outputs; any surplus output rows are sliced off.
    const bottom = Math.max(0, kh + (outHeight - 1) * sh - inHeight - top);
    const right = Math.max(0, kw + (outWidth - 1) * sw - inWidth - left);
    const xT = tf.transpose(x, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const full = tf.conv2d(xT, dyT, 1, [[0, 0], [top, bottom], [left, right], [0, 0]], 'NHWC', [sh, sw]);
    const cropped = full.shape[1] === kh && full.shape[2] === kw
      ? full
      : tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cropped, [1, 2, 0, 3]);
  });
}

/** Pads (positive) or crops (negative) the top/bottom/left/right of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const cut = (n: number) => Math.max(0, -n);
  const keep = (n: number) => Math.max(0, n);
  const cropped = cut(top) + cut(bottom) + cut(left) + cut(right) > 0
    ? tf.slice(x, [0, cut(top), cut(left), 0], [-1, h - cut(top) - cut(bottom), w - cut(left) - cut(right), -1])
    : x;
  return keep(top) + keep(bottom) + keep(left) + keep(right) === 0
    ? cropped
    : tf.pad(cropped, [[0, 0], [keep(top), keep(bottom)], [keep(left), keep(right)], [0, 0]]);
}

/**
 * One phase of a strided convolution's input gradient along one axis. With stride s, the input rows
 * i = r, r + s, r + 2s, ... (r < s) receive gradient only from the filter taps k = rho, rho + s, ...
 * where rho = (r + padBefore) mod s; over those rows the gradient is a stride-1 correlation of dy with
 * that sub-filter, flipped. `before`/`after` pad (or, if negative, crop) dy so the correlation yields
 * exactly `length` rows (rows past the input's end are computed and cropped after interleaving).
 */
interface Phase {
  rho: number;
  taps: number;
  before: number;
  after: number;
}

function phases(inSize: number, outSize: number, k: number, s: number, padBefore: number): { length: number; list: Phase[] } {
  const length = Math.ceil(inSize / s);
  const list: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const rho = (r + padBefore) % s;
    const qFirst = (r + padBefore - rho) / s; // dy row aligned with tap rho for input row r
    const taps = rho < k ? Math.ceil((k - rho) / s) : 0;
    const before = taps - 1 - qFirst;
    list.push({ rho, taps, before, after: length + taps - 1 - before - outSize });
  }
  return { length, list };
}

/**
 * The flipped sub-filter of one (row, column) phase with its channel axes swapped:
 * out[a, b, o, c] = W[rh + (th - 1 - a) * sh, rw + (tw - 1 - b) * sw, c, o], shape [th, tw, outC, inC].
 * Built in JS from the filter's values: wasm's Reverse is a scalar loop about 4x slower than this for
 * a 3x3x512x512 filter, and the filter is small next to the activations.
 */
function phaseFilter(w: Float32Array, shape: [number, number, number, number], ph: Phase, pw: Phase, sh: number, sw: number): tf.Tensor4D {
  const [, kw, ci, co] = shape;
  const out = new Float32Array(ph.taps * pw.taps * co * ci);
  for (let a = 0; a < ph.taps; a++) {
    for (let b = 0; b < pw.taps; b++) {
      const src = ((ph.rho + (ph.taps - 1 - a) * sh) * kw + (pw.rho + (pw.taps - 1 - b) * sw)) * ci * co;
      const dst = (a * pw.taps + b) * co * ci;
      for (let c = 0; c < ci; c++) {
        const row = src + c * co;
        for (let o = 0; o < co; o++) out[dst + o * ci + c] = w[row + o] as number;
      }
    }
  }
  return tf.tensor4d(out, [ph.taps, pw.taps, co, ci]);
}

/**
 * dx[b, i, j, ci] = sum over oh, ow, kh, kw with oh*s + kh - padTop = i (likewise for j) of
 * dy[b, oh, ow, co] * W[kh, kw, ci, co].
 *
 * For stride 1 that is one stride-1 correlation of padded dy with the flipped filter (channel axes
 * swapped). For stride s it splits into s x s such correlations, one per (row, column) phase of the
 * input, each with a sub-filter of about (k/s)^2 taps, whose outputs are interleaved: the same work as
 * the forward convolution, run in XNNPACK's conv2d. (wasm's own Conv2DBackpropInput is a scalar loop;
 * zero-dilating dy instead would multiply by zeros s^2 times as often.)
 */
export function conv2dBackpropInputViaConv(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth, inChannels } = info;
  const rows = phases(inHeight, outHeight, filter.shape[0], sh, info.padInfo.top);
  const cols = phases(inWidth, outWidth, filter.shape[1], sw, info.padInfo.left);
  const w = filter.dataSync() as Float32Array;
  return tf.tidy(() => {
    const batch = dy.shape[0];
    const phaseGradient = (ph: Phase, pw: Phase): tf.Tensor4D => {
      if (ph.taps === 0 || pw.taps === 0) return tf.zeros([batch, rows.length, cols.length, inChannels]);
      const subFilter = phaseFilter(w, filter.shape, ph, pw, sh, sw);
      // Padding only: the convolution pads as it goes (XNNPACK takes explicit padding), so no padded copy of
      // dy is made (a single-threaded PadV2 per layer, 4 % of a 2-thread att-cpu step). A crop still slices.
      if (Math.min(ph.before, ph.after, pw.before, pw.after) >= 0) {
        return tf.conv2d(dy, subFilter, 1, [[0, 0], [ph.before, ph.after], [pw.before, pw.after], [0, 0]]);
      }
      return tf.conv2d(padOrCrop(dy, ph.before, ph.after, pw.before, pw.after), subFilter, 1, 'valid');
    };
    if (sh === 1 && sw === 1) {
      return phaseGradient(rows.list[0] as Phase, cols.list[0] as Phase);
    }
    // Interleave: [b, rows, sh, cols, sw, c] puts phase (r, c) at input position (q*sh + r, p*sw + c).
    const perRow = rows.list.map((ph) => tf.stack(cols.list.map((pw) => phaseGradient(ph, pw)), 3));
    const woven = tf.reshape(tf.stack(perRow, 2), [batch, rows.length * sh, cols.length * sw, inChannels]);
    return tf.slice(woven, [0, 0, 0, 0], [-1, inHeight, inWidth, -1]) as tf.Tensor4D;
  });
}

function asTensor4D(kernel: string, info: tf.TensorInfo, name: string): tf.Tensor4D {
  // The engine hands kernels the op's input tensors; a bare TensorInfo would mean a caller ran the
  // kernel through backend internals, which this composite kernel does not support.
  if (!(info instanceof tf.Tensor) || info.rank !== 4) {
    throw new Error(`${kernel} (wasm): expected input '${name}' to be a rank-4 tensor, but got shape [${info.shape.join(', ')}]`);
  }
  return info as tf.Tensor4D;
}

function rejectNchw(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} (wasm): only dataFormat 'NHWC' is supported, but got '${dataFormat}'`);
  }
}

const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    rejectNchw('Conv2DBackpropFilter', a.dataFormat);
    return conv2dBackpropFilterViaConv(
      asTensor4D(tf.Conv2DBackpropFilter, x, 'x'), asTensor4D(tf.Conv2DBackpropFilter, dy, 'dy'), a.filterShape, a.strides, a.pad, a.dimRoundingMode,
    );
  },
};

const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: WASM,
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    rejectNchw('Conv2DBackpropInput', a.dataFormat);
    return conv2dBackpropInputViaConv(
      asTensor4D(tf.Conv2DBackpropInput, dy, 'dy'), asTensor4D(tf.Conv2DBackpropInput, filter, 'filter'), a.inputShape, a.strides, a.pad, a.dimRoundingMode,
    );
  },
};

/** The native kernels replaced below, kept for the cases the replacements hand back to them. */
const nativeKernels = new Map<string, tf.KernelFunc>();

/**
 * Tile of a tensor whose tiled axes all have size 1 is a broadcast; tfjs-core's FusedBatchNorm gradient
 * does exactly that on every BatchNorm ([1, 1, 1, C] to the activation's shape), and wasm's Tile is a
 * scalar loop about 17x slower than a broadcasting add onto zeros (630 ms vs 37 ms for 16x56x56x64).
 * Other tiles, and non-float32 ones, go to the native kernel.
 */
const tileConfig: tf.KernelConfig = {
  kernelName: tf.Tile,
  backendName: WASM,
  kernelFunc: (args) => {
    const x = args.inputs['x'];
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    if (x instanceof tf.Tensor && x.dtype === 'float32' && reps.length === x.rank
      && reps.every((r, i) => r === 1 || x.shape[i] === 1)) {
      const outShape = x.shape.map((d: number, i: number) => d * (reps[i] as number));
      return tf.tidy(() => tf.add(tf.zeros(outShape), x));
    }
    return nativeKernel(tf.Tile)(args);
  },
};

/**
 * A slice copied inside wasm's heap, run by run: the trailing axes it takes whole and the last one it
 * cuts form one contiguous run of the source per index of the axes before (a contiguous slice, such as a
 * piece of a flat vector, is a single run). tfjs-wasm's Slice first reads the whole source out of the
 * heap (readSync) for every slice: splitting the optimiser's flat update (2.8-11 M values) into a ResNet's
 * 62 parameters copied the whole vector 62 times (0.4 s of a step), and the crops of the backward
 * convolutions cost 87 ms of a ResNet-18 step. Returns null for what it does not handle (strings, scalars).
 */
function heapSlice(x: tf.TensorInfo, begin: number | number[], size: number | number[] | undefined, backend: WasmHeapBackend): tf.TensorInfo | null {
  if (x.dtype === 'string' || x.dtype === 'complex64' || x.shape.length === 0) return null;
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  const out = backend.makeOutput(size_, x.dtype);
  if (tf.util.sizeFromShape(size_) === 0) return out;
  const bytes = tf.util.bytesPerElement(x.dtype);
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // The last axis the slice cuts; the axes after it are taken whole.
  let cut = x.shape.length - 1;
  while (cut > 0 && size_[cut] === x.shape[cut]) cut--;
  const runBytes = (size_[cut] as number) * (strides[cut] as number) * bytes;
  const outer = size_.slice(0, cut);
  const runs = tf.util.sizeFromShape(outer);
  const heap = backend.wasm.HEAPU8;
  const source = backend.dataIdMap.get(x.dataId).memoryOffset;
  let target = backend.dataIdMap.get(out.dataId).memoryOffset;
  const index = new Array<number>(cut).fill(0);
  for (let r = 0; r < runs; r++) {
    let offset = (begin_[cut] as number) * (strides[cut] as number);
    for (let a = 0; a < cut; a++) offset += ((begin_[a] as number) + (index[a] as number)) * (strides[a] as number);
    const from = source + offset * bytes;
    heap.copyWithin(target, from, from + runBytes);
    target += runBytes;
    // Next index of the outer axes, last fastest.
    for (let a = cut - 1; a >= 0; a--) {
      index[a] = (index[a] as number) + 1;
      if ((index[a] as number) < (outer[a] as number)) break;
      index[a] = 0;
    }
  }
  return out;
}

function nativeKernel(name: string): tf.KernelFunc {
  const native = nativeKernels.get(name);
  if (native === undefined) {
    throw new Error(`${name} (wasm): the native kernel was not found; call registerWasmTrainingKernels() after importing @tensorflow/tfjs-backend-wasm`);
  }
  return native;
}

const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: WASM,
  kernelFunc: (args) => {
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const x = args.inputs['x'] as tf.TensorInfo;
    return heapSlice(x, begin, size, args.backend as unknown as WasmHeapBackend) ?? nativeKernel(tf.Slice)(args);
  },
};

/** tfjs-wasm's SplitV calls its own slice directly, so it gets the heap copy here, piece by piece. */
const splitVConfig: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: WASM,
  kernelFunc: (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin: number[] = new Array<number>(x.shape.length).fill(0);
    const backend = args.backend as unknown as WasmHeapBackend;
    return sizes.map((s) => {
      const size = [...x.shape];
      size[$axis] = s;
      const piece = heapSlice(x, begin, size, backend) ?? (nativeKernel(tf.Slice)({ inputs: { x }, attrs: { begin: [...begin], size } as unknown as tf.NamedAttrMap, backend: args.backend }) as tf.TensorInfo);
      begin[$axis] = (begin[$axis] as number) + s;
      return piece;
    });
  },
};

let scratch = new Float64Array(0);

/** A zeroed float64 buffer of at least n values, reused between calls (a fresh 21 MB one a step showed in the time). */
function float64Scratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  const view = scratch.subarray(0, n);
  view.fill(0);
  return view;
}

/**
 * Max pooling's gradient: each window's dy goes to the first position (row-major) holding the window's
 * maximum, as on the cpu backend and in TensorFlow. tfjs-wasm 4.22's kernel drops the gradient of every
 * window whose maximum is negative (it starts its search from 0, not -Infinity), and on ties picks
 * another position. In this project's ResNets a ReLU comes before the pooling, so that never cost a
 * gradient, but the kernel is wrong. This one is right, and faster on the stem's pooling at batch 16
 * (16 x 56 x 46 x 64): about 50 ms against 83-105. With channels in fours it runs as SIMD
 * (max-pool-grad-simd.ts), with the same result bit for bit.
 */
const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: WASM,
  kernelFunc: (args) => {
    const { dy, input } = args.inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return nativeKernel(tf.MaxPoolGrad)(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const dxInfo = backend.makeOutput(input.shape.slice(), 'float32');
    const bytes = (t: tf.TensorInfo): number => elementOffset(backend, t) * 4;
    if (runSimdMaxPoolGrad(backend, info, bytes(input), bytes(dy), bytes(dxInfo))) return dxInfo;
    const xs = heapView(backend, input);
    const dys = heapView(backend, dy);
    // Overlapping windows add into one position: summed in float64 and rounded once, as the cpu backend does.
    const sums = float64Scratch(xs.length);
    const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels: channels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    const best = new Float32Array(channels);
    const at = new Int32Array(channels);
    for (let b = 0; b < batchSize; b++) {
      for (let oh = 0; oh < outHeight; oh++) {
        const h0 = Math.max(0, oh * strideHeight - top);
        const h1 = Math.min(inHeight, oh * strideHeight - top + filterHeight);
        for (let ow = 0; ow < outWidth; ow++) {
          const w0 = Math.max(0, ow * strideWidth - left);
          const w1 = Math.min(inWidth, ow * strideWidth - left + filterWidth);
          best.fill(-Infinity);
          at.fill(-1);
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const base = ((b * inHeight + h) * inWidth + w) * channels;
              for (let c = 0; c < channels; c++) {
                const v = xs[base + c]!;
                if (v > best[c]!) {
                  best[c] = v;
                  at[c] = base + c;
                }
              }
            }
          }
          const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
          for (let c = 0; c < channels; c++) {
            const i = at[c]!;
            if (i >= 0) sums[i]! += dys[dyBase + c]!;
          }
        }
      }
    }
    heapView(backend, dxInfo).set(sums.subarray(0, xs.length));
    return dxInfo;
  },
};

/** Kernels wasm lacks; added only when absent, so a later tfjs-backend-wasm that has them keeps its own. */
export const WASM_MISSING_KERNELS: readonly tf.KernelConfig[] = [conv2dBackpropFilterConfig];

/**
 * Kernels wasm has but implements as scalar loops, replaced by equivalents built from its fast kernels.
 * Measured on one ResNet-18 step (16 images of 112 x 112 x 1, single-threaded): Conv2DBackpropInput
 * took 12.6 s of 15.7 s natively; Tile took 1.4 s. Slice and SplitV copy their whole source per piece
 * (see heapSlice); MaxPoolGrad loses gradients (see maxPoolGradConfig).
 */
export const WASM_REPLACED_KERNELS: readonly tf.KernelConfig[] = [conv2dBackpropInputConfig, tileConfig, sliceConfig, splitVConfig, maxPoolGradConfig];

/** Every kernel this module registers; exported so tests can list them. */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [...WASM_MISSING_KERNELS, ...WASM_REPLACED_KERNELS];

/**
 * Registers the training kernels for the 'wasm' backend. Idempotent. Call it after importing
 * @tensorflow/tfjs-backend-wasm (which registers the native kernels kept for fallback), before or after
 * tf.setBackend('wasm'): kernels are looked up by backend name each time an op runs.
 */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_MISSING_KERNELS) {
    if (tf.getKernel(config.kernelName, WASM) === undefined) {
      tf.registerKernel(config);
    }
  }
  for (const config of WASM_REPLACED_KERNELS) {
    const current = tf.getKernel(config.kernelName, WASM);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) {
      nativeKernels.set(config.kernelName, current.kernelFunc);
      tf.unregisterKernel(config.kernelName, WASM);
    }
    // Keep the native kernel's setup (it binds the wasm function the fallback path calls when the
    // backend initialises, which may happen after this call) and disposal.
    tf.registerKernel({ ...config, setupFunc: current?.setupFunc, disposeFunc: current?.disposeFunc });
  }
}

/**
 * The cpu backend has a Conv2DBackpropFilter, but as a scalar loop: 4.1 s of a 6 s training step of the
 * smoke model (28x24 inputs). The composite kernel above is built from ops only, so it serves cpu too,
 * at about 1/20 of the time.
 */
export function registerCpuTrainingKernels(): void {
  const current = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
  if (current?.kernelFunc === conv2dBackpropFilterConfig.kernelFunc) return;
  if (current !== undefined) tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({ ...conv2dBackpropFilterConfig, backendName: 'cpu' });
}
