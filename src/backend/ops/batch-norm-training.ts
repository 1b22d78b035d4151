// BatchNorm in training mode as one kernel forward and one backward, on the backends that register
// them: the native backend runs TensorFlow's FusedBatchNormV3 / FusedBatchNormGradV3
// (native/kernels.ts), wasm a JavaScript loop over its heap (wasm/batch-norm.ts). tfjs-layers builds
// the same from moments + batchNorm: about 12 kernels forward and 35 backward a layer, each a pass
// over the activations. Backends without the kernels keep that composite.
//
// The kernels' contract:
//   BATCH_NORM_TRAINING     inputs x [N, H, W, C], scale [C], offset [C]; attr epsilon
//                           outputs y, mean [C], variance [C] (biased, divided by N*H*W as tf.moments'; on a
//                           backend registered with registerUnbiasedVariance, the unbiased variance, divided by
//                           N*H*W - 1, which batchNormTraining reports with the factor that makes it biased),
//                           and three reserve tensors that only the gradient kernel reads
//   BATCH_NORM_TRAINING_GRAD inputs dy, x, scale, reserve1..3; attr epsilon; outputs dx, dscale, doffset
import * as tf from '@tensorflow/tfjs-core';

/** This project's kernel names, prefixed so they can never clash with a tfjs kernel. */
export const BATCH_NORM_TRAINING = 'FacenetFusedBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'FacenetFusedBatchNormTrainingGrad';

/** Batch statistics and normalised output of one BatchNorm layer in training mode. */
export interface BatchNormTrainingResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  /** Times varianceScale it is biased (divided by N) like tf.moments', so moving statistics are the same on every backend. */
  variance: tf.Tensor1D;
  /** 1, or (N - 1) / N where the kernel gives the unbiased variance (the moving average applies it, batched). */
  varianceScale: number;
}

/** Backends whose BATCH_NORM_TRAINING kernel returns the unbiased variance (TensorFlow's FusedBatchNormV3 does). */
const unbiasedVariance = new Set<string>();

/** Declares that `backendName`'s BATCH_NORM_TRAINING kernel returns the unbiased (N - 1) variance. */
export function registerUnbiasedVariance(backendName: string): void {
  unbiasedVariance.add(backendName);
}

let gradientRegistered = false;

/** The gradient of BATCH_NORM_TRAINING: one BATCH_NORM_TRAINING_GRAD kernel on the active backend. Idempotent. */
export function registerBatchNormTrainingGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, false, false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, scale, reserve1, reserve2, reserve3] = saved as tf.Tensor[];
      // One kernel gives all three gradients; the engine disposes them when the backward pass ends.
      const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x: x!, scale: scale!, reserve1: reserve1!, reserve2: reserve2!, reserve3: reserve3! }, attrs) as tf.Tensor[];
      return { x: () => dx as tf.Tensor, scale: () => dScale as tf.Tensor, offset: () => dOffset as tf.Tensor };
    },
  });
}

/**
 * BatchNorm in training mode over all axes but the last, as one kernel with a one-kernel gradient, when
 * the active backend has them; null elsewhere (the caller then uses tfjs's composite). Only `y` carries
 * a gradient: the statistics feed the moving averages, which no loss depends on.
 */
export function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult | null {
  if (x.dtype !== 'float32' || !gradientRegistered) return null;
  if (tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) === undefined || tf.getKernel(BATCH_NORM_TRAINING_GRAD, tf.getBackend()) === undefined) return null;
  // The reserve outputs are for the gradient only (the engine keeps them while it records).
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const n = tf.util.sizeFromShape(x.shape) / (x.shape[3] as number);
  const varianceScale = unbiasedVariance.has(tf.getBackend()) ? (n - 1) / n : 1;
  return { y: y as tf.Tensor, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, varianceScale };
}
