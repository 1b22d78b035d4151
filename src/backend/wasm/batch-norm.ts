// BatchNorm in training mode on wasm as two kernels that work in place on wasm's heap (contract:
// ops/batch-norm-training.ts). tfjs-layers' composite runs about 12 wasm kernels forward and 35 backward per
// layer, most of them full passes over the activations on one thread (Multiply, Sum, Sub, Mean, Tile, Add:
// 0.5 s of a 2.4-s ResNet-18 step with 2 threads); these make 3 passes forward and 2 backward, accumulating
// per channel in float64, as WebAssembly SIMD or JavaScript (batch-norm-passes.ts).
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, registerBatchNormTrainingGradient } from '../ops/batch-norm-training';
import { elementOffset, heapView, type WasmHeapBackend } from './heap';
import { PassOp } from './batch-norm-pass';
import { runPass } from './batch-norm-passes';

const WASM = 'wasm';

function channelsLast4D(kernel: string, info: tf.TensorInfo | undefined, what: string): tf.TensorInfo {
  if (!info || info.shape.length !== 4 || info.dtype !== 'float32') {
    throw new Error(`${kernel} (wasm): expected '${what}' to be a float32 rank-4 NHWC tensor, got [${info?.shape.join(', ')}] ${info?.dtype}`);
  }
  return info;
}

const forwardConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: WASM,
  kernelFunc: ({ inputs, backend: b, attrs }) => {
    const backend = b as unknown as WasmHeapBackend;
    const { scale, offset } = inputs as unknown as Record<string, tf.TensorInfo>;
    const x = channelsLast4D(BATCH_NORM_TRAINING, inputs['x'] as tf.TensorInfo, 'x');
    const epsilon = (attrs as { epsilon: number }).epsilon;
    const channels = x.shape[3] as number;
    const out = {
      y: backend.makeOutput(x.shape.slice(), 'float32'),
      mean: backend.makeOutput([channels], 'float32'),
      variance: backend.makeOutput([channels], 'float32'),
      reserveMean: backend.makeOutput([channels], 'float32'),
      reserveInvStd: backend.makeOutput([channels], 'float32'),
      reserveUnused: backend.makeOutput([0], 'float32'),
    };
    const gamma = heapView(backend, scale!);
    const beta = heapView(backend, offset!);
    const rows = tf.util.sizeFromShape(x.shape) / channels;
    const at = { x: elementOffset(backend, x), y: elementOffset(backend, out.y), channels, rows };
    const sum = new Float64Array(channels);
    runPass(backend, { ...at, op: PassOp.Sum, outputs: [sum] });
    const mean = sum.map((s) => s / rows);
    // The variance from the centred values (as tf.moments), not E[x^2] - E[x]^2, which cancels badly.
    const squares = new Float64Array(channels);
    runPass(backend, { ...at, op: PassOp.SquaredDeviation, inputs: [mean], outputs: [squares] });
    const variance = squares.map((s) => s / rows);
    const invStd = variance.map((v) => 1 / Math.sqrt(v + epsilon));
    // y = (x - mean) * invStd * gamma + beta = x * a + b per channel.
    const a = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      a[c] = invStd[c]! * gamma[c]!;
      shift[c] = beta[c]! - mean[c]! * a[c]!;
    }
    runPass(backend, { ...at, op: PassOp.Affine, inputs: [a, shift] });
    heapView(backend, out.mean).set(mean);
    heapView(backend, out.variance).set(variance);
    heapView(backend, out.reserveMean).set(mean);
    heapView(backend, out.reserveInvStd).set(invStd);
    return [out.y, out.mean, out.variance, out.reserveMean, out.reserveInvStd, out.reserveUnused];
  },
};

/**
 * dbeta = sum(dy); dgamma = sum(dy * xhat); dx = gamma * invStd * (dy - dbeta / M - xhat * dgamma / M),
 * with xhat = (x - mean) * invStd and M the values per channel (the batch statistics' own gradient included).
 */
const gradientConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: WASM,
  kernelFunc: ({ inputs, backend: b }) => {
    const backend = b as unknown as WasmHeapBackend;
    const { scale, reserve1, reserve2 } = inputs as unknown as Record<string, tf.TensorInfo>;
    const x = channelsLast4D(BATCH_NORM_TRAINING_GRAD, inputs['x'] as tf.TensorInfo, 'x');
    const dyInfo = channelsLast4D(BATCH_NORM_TRAINING_GRAD, inputs['dy'] as tf.TensorInfo, 'dy');
    const channels = x.shape[3] as number;
    const out = {
      dx: backend.makeOutput(x.shape.slice(), 'float32'),
      dScale: backend.makeOutput([channels], 'float32'),
      dOffset: backend.makeOutput([channels], 'float32'),
    };
    const gamma = heapView(backend, scale!);
    const mean = Float64Array.from(heapView(backend, reserve1!));
    const invStd = heapView(backend, reserve2!);
    const rows = tf.util.sizeFromShape(x.shape) / channels;
    const at = { x: elementOffset(backend, x), y: elementOffset(backend, dyInfo), dx: elementOffset(backend, out.dx), channels, rows };
    const sumDy = new Float64Array(channels);
    const sumDyCentred = new Float64Array(channels);
    runPass(backend, { ...at, op: PassOp.GradientSums, inputs: [mean], outputs: [sumDy, sumDyCentred] });
    // dx = k1 * dy - k2 - k3 * (x - mean) per channel.
    const k1 = new Float64Array(channels);
    const k2 = new Float64Array(channels);
    const k3 = new Float64Array(channels);
    const dScale = heapView(backend, out.dScale);
    const dOffset = heapView(backend, out.dOffset);
    for (let c = 0; c < channels; c++) {
      const s = invStd[c]!;
      k1[c] = gamma[c]! * s;
      k2[c] = (k1[c]! * sumDy[c]!) / rows;
      k3[c] = (k1[c]! * s * s * sumDyCentred[c]!) / rows;
      dScale[c] = sumDyCentred[c]! * s;
      dOffset[c] = sumDy[c]!;
    }
    runPass(backend, { ...at, op: PassOp.InputGradient, inputs: [k1, k2, k3, mean] });
    return [out.dx, out.dScale, out.dOffset];
  },
};

let registered = false;

/** Registers the fused BatchNorm training kernels for wasm, and their gradient. Idempotent. */
export function registerWasmBatchNorm(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel(forwardConfig);
  tf.registerKernel(gradientConfig);
  registerBatchNormTrainingGradient();
}
