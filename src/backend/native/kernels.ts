// Fused gradients for the native TensorFlow backend. tfjs differentiates ReLU as dy * cast(step(x)),
// and tfjs-node builds Step itself from isNaN, greater, ones, fill and two selects: eight passes over
// every activation for each ReLU of the backward pass (a fifth of a ResNet training step's time on the
// 2-core machine). TensorFlow's own ReluGrad op does it in one. Likewise BatchNorm in training mode:
// tfjs-layers builds it from moments + batchNorm, about 12 kernels forward and 35 backward per layer,
// where TensorFlow has FusedBatchNormV3 and FusedBatchNormGradV3 (the op and its contract:
// ops/batch-norm-training.ts). The ReLU override applies only while the native backend is active.
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, registerBatchNormTrainingGradient, registerUnbiasedVariance } from '../ops/batch-norm-training';
import { registerFlatAdam } from '../ops/flat-adam';
import { HALF_SUM_OF_SQUARES } from '../ops/sum-of-squares';
import { ResourceFlatAdam, type ResourceBackend } from './resource-adam';

/** The native backend's name in tfjs (tfjs-node and tfjs-node-gpu both register as 'tensorflow'). */
const NATIVE = 'tensorflow';
export const RELU_GRAD = 'ReluGrad';

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean | string | number[];
}

interface NativeBackend {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number; TF_ATTR_STRING: number; TF_FLOAT: number;
    isUsingGpuDevice(): boolean;
  };
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
  registerBatchNormTrainingGradient();
  registerFlatAdam(NATIVE, (size) => new ResourceFlatAdam(tf.backend() as unknown as ResourceBackend, size));
  registerOneDnnMaxPoolGrad();
  registerLeanGradients();
  tf.registerKernel({
    kernelName: HALF_SUM_OF_SQUARES,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as unknown as { x: tf.TensorInfo };
      const native = backend as unknown as NativeBackend;
      return native.executeSingleOutput('L2Loss', [{ name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT }], [x]);
    },
  });
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

function registerBatchNormTraining(): void {
  registerUnbiasedVariance(NATIVE);
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAINING,
    backendName: NATIVE,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, scale, offset } = inputs as unknown as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
      const native = backend as unknown as NativeBackend;
      // In training mode the op ignores its running-statistics inputs; it takes them empty.
      const emptyId = native.write(new Float32Array(0), [0], 'float32');
      const empty: tf.TensorInfo = { dataId: emptyId, shape: [0], dtype: 'float32' };
      let out: tf.Tensor[];
      try {
        // Outputs: y, batch mean, batch variance (Bessel-corrected), and three reserve spaces for the gradient.
        out = native.executeMultipleOutputs('FusedBatchNormV3', batchNormAttrs(native, (attrs as { epsilon: number }).epsilon), [x, scale, offset, empty, empty], 6);
      } finally {
        native.disposeData(emptyId);
      }
      // The variance is Bessel-corrected (N - 1); registerUnbiasedVariance below says so, and the batched
      // moving-average update takes it back to the biased one (one kernel a step instead of one a layer).
      return out;
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
}

/**
 * MaxPoolGrad through oneDNN. TensorFlow's own CPU kernel for it is single-threaded Eigen code: 16 ms for the
 * stem's pool of an att-cpu batch of 16 (a 3x3/2 window over 16x58x48x32), 7 % of the step. oneDNN's kernels are
 * in the same library, registered for the CPU under the label 'MklNameChangeOp' (TensorFlow's graph rewrite picks
 * them; eager mode does not for pooling, which needs the forward pass's workspace). The `_kernel` attribute selects
 * that label from eager mode: the forward pool is run again for its workspace (1.8 ms), then the gradient (3.7 ms).
 * Equal to TensorFlow's MaxPoolGrad but for the order in which overlapping windows add up (ulps). On a GPU, or if
 * the oneDNN kernels are missing, TensorFlow's own kernel runs.
 */
function registerOneDnnMaxPoolGrad(): void {
  const stock = tf.getKernel(tf.MaxPoolGrad, NATIVE);
  if (!stock) return;
  let oneDnn = true;
  tf.unregisterKernel(tf.MaxPoolGrad, NATIVE);
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) => {
      const { dy, input, output } = args.inputs as unknown as Record<string, tf.TensorInfo>;
      const native = args.backend as unknown as NativeBackend;
      if (oneDnn && input!.dtype === 'float32' && !native.binding.isUsingGpuDevice()) {
        const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
        const info = tf.backend_util.computePool2DInfo(input!.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
        if (info.padInfo.type === 'VALID' || info.padInfo.type === 'SAME') {
          const b = native.binding;
          const attrs: OpAttr[] = [
            { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
            { name: 'ksize', type: b.TF_ATTR_INT, value: [1, info.filterHeight, info.filterWidth, 1] },
            { name: 'strides', type: b.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
            { name: 'padding', type: b.TF_ATTR_STRING, value: info.padInfo.type },
            { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
            { name: 'workspace_enabled', type: b.TF_ATTR_BOOL, value: true },
            { name: '_kernel', type: b.TF_ATTR_STRING, value: 'MklNameChangeOp' },
          ];
          try {
            const [y, workspace] = native.executeMultipleOutputs('_MklNativeMaxPool', attrs, [input!], 2);
            y!.dispose();
            try {
              return native.executeSingleOutput('_MklNativeMaxPoolGrad', attrs, [input!, output!, dy!, workspace!]);
            } finally {
              workspace!.dispose();
            }
          } catch {
            oneDnn = false; // not in this build of TensorFlow: its own kernel from now on
          }
        }
      }
      return stock.kernelFunc(args);
    },
  });
}

/**
 * tfjs's gradients of Add and Identity end in a kernel that changes nothing when no broadcasting is involved: Add's
 * reshapes dy to each input's shape (16 Reshape ops a ResNet-18 step, from the residual additions) and Identity's
 * casts float32 dy to float32 (14 Cast ops); on the native backend each is a TensorFlow op, ~30 microseconds to
 * dispatch. There they become a clone (a new reference to the same data, no TensorFlow op); everything else keeps
 * tfjs's gradient. The values are the same bit for bit.
 */
function registerLeanGradients(): void {
  const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  const stockAdd = tf.getGradient(tf.Add);
  tf.registerGradient({
    ...stockAdd,
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor;
      const [a, b] = saved as tf.Tensor[];
      if (tf.getBackend() === NATIVE && d.dtype === 'float32' && same(a!.shape, d.shape) && same(b!.shape, d.shape)) {
        return { a: () => tf.clone(d), b: () => tf.clone(d) };
      }
      return stockAdd.gradFunc(dy, saved, attrs);
    },
  });
  const stockIdentity = tf.getGradient(tf.Identity);
  tf.registerGradient({
    ...stockIdentity,
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor;
      if (tf.getBackend() === NATIVE && d.dtype === 'float32') return { x: () => tf.clone(d) };
      return stockIdentity.gradFunc(dy, saved, attrs);
    },
  });
}
