// Fused gradients for the native TensorFlow backend. tfjs differentiates ReLU as dy * cast(step(x)),
// and tfjs-node builds Step itself from isNaN, greater, ones, fill and two selects: eight passes over
// every activation for each ReLU of the backward pass (a fifth of a ResNet training step's time on the
// 2-core machine). TensorFlow's own ReluGrad op does it in one. Likewise BatchNorm in training mode:
// tfjs-layers builds it from moments + batchNorm, about 12 kernels forward and 35 backward per layer,
// where TensorFlow has FusedBatchNormV3 and FusedBatchNormGradV3. The overrides apply only while the
// native backend is active; on the others ReLU and BatchNorm keep tfjs's formulas.
import * as tf from '@tensorflow/tfjs-core';

/** The native backend's name in tfjs (tfjs-node and tfjs-node-gpu both register as 'tensorflow'). */
const NATIVE = 'tensorflow';
export const RELU_GRAD = 'ReluGrad';

/** Kernels of this module; prefixed so they can never clash with a tfjs kernel name. */
const BATCH_NORM_TRAINING = 'NativeFusedBatchNormTraining';
const BATCH_NORM_TRAINING_GRAD = 'NativeFusedBatchNormTrainingGrad';

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean;
}

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
  write(values: Float32Array, shape: number[], dtype: 'float32'): tf.DataId;
  disposeData(dataId: tf.DataId): boolean;
}

/** Attributes of TensorFlow's fused BatchNorm ops in training mode, NHWC (their default layout). */
function batchNormAttrs(native: NativeBackend, epsilon: number): OpAttr[] {
  const { TF_ATTR_TYPE, TF_ATTR_FLOAT, TF_ATTR_BOOL, TF_FLOAT } = native.binding;
  return [
    { name: 'T', type: TF_ATTR_TYPE, value: TF_FLOAT },
    { name: 'U', type: TF_ATTR_TYPE, value: TF_FLOAT },
    { name: 'epsilon', type: TF_ATTR_FLOAT, value: epsilon },
    { name: 'is_training', type: TF_ATTR_BOOL, value: true },
  ];
}

let registered = false;

/** Registers the ReluGrad and fused BatchNorm kernels for the native backend and routes gradients to them there. Idempotent. */
export function registerNativeGradients(): void {
  if (registered) return;
  registered = true;
  registerBatchNormTraining();
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const native = backend as unknown as NativeBackend;
      const t = { name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT };
      return native.executeSingleOutput(RELU_GRAD, [t], [dy, x]);
    },
  });
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const x = saved[0] as tf.Tensor;
      const dyT = dy as tf.Tensor;
      if (tf.getBackend() === NATIVE && x.dtype === 'float32' && dyT.dtype === 'float32') {
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dyT, x }) as tf.Tensor };
      }
      // tfjs's own ReLU gradient, for every other backend and dtype.
      return { x: () => tf.mul(dyT, tf.cast(tf.step(x), 'float32')) };
    },
  });
}

/** Batch statistics and normalised output of one BatchNorm layer in training mode. */
export interface BatchNormTrainingResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  /** Biased (divided by N) like tf.moments', so moving statistics are the same on every backend. */
  variance: tf.Tensor1D;
}

/**
 * BatchNorm in training mode over all axes but the last, as one TensorFlow op with a one-op gradient,
 * when the native backend is active; null elsewhere (the caller then uses tfjs's composite). Only `y`
 * carries a gradient: the statistics feed the moving averages, which no loss depends on.
 */
export function nativeBatchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult | null {
  if (!registered || tf.getBackend() !== NATIVE || x.dtype !== 'float32') return null;
  const [y, mean, unbiasedVariance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // TensorFlow returns the Bessel-corrected variance (N / (N - 1)); undo it to match tf.moments.
  const n = x.size / (x.shape[3] as number);
  const variance = tf.mul(unbiasedVariance as tf.Tensor1D, (n - 1) / n) as tf.Tensor1D;
  unbiasedVariance?.dispose();
  return { y: y as tf.Tensor, mean: mean as tf.Tensor1D, variance };
}

function registerBatchNormTraining(): void {
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as unknown as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
      const native = backend as unknown as NativeBackend;
      // In training mode the op ignores its running-statistics inputs; it takes them empty.
      const emptyId = native.write(new Float32Array(0), [0], 'float32');
      const empty: tf.TensorInfo = { dataId: emptyId, shape: [0], dtype: 'float32' };
      try {
        // Outputs: y, batch mean, batch variance (Bessel-corrected), and three reserve spaces for the gradient.
        return native.executeMultipleOutputs('FusedBatchNormV3', batchNormAttrs(native, (attrs as { epsilon: number }).epsilon), [x, scale, offset, empty, empty], 6);
      } finally {
        native.disposeData(emptyId);
      }
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING_GRAD,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, x, scale, reserve1, reserve2, reserve3 } = inputs as unknown as Record<string, tf.TensorInfo>;
      const native = backend as unknown as NativeBackend;
      const epsilon = (attrs as { epsilon: number }).epsilon;
      // Outputs: dx, dscale, doffset, and two unused reserve spaces.
      const out = native.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(native, epsilon), [dy!, x!, scale!, reserve1!, reserve2!, reserve3!], 5);
      out.slice(3).forEach((t) => t.dispose());
      return out.slice(0, 3);
    },
  });
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, false, false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, scale, reserve1, reserve2, reserve3] = saved as tf.Tensor[];
      // One op gives all three gradients; the engine disposes them when the backward pass ends.
      const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x: x!, scale: scale!, reserve1: reserve1!, reserve2: reserve2!, reserve3: reserve3! }, attrs) as tf.Tensor[];
      return { x: () => dx as tf.Tensor, scale: () => dScale as tf.Tensor, offset: () => dOffset as tf.Tensor };
    },
  });
}
