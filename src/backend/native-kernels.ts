// Fused gradients for the native TensorFlow backend. tfjs differentiates ReLU as dy * cast(step(x)),
// and tfjs-node builds Step itself from isNaN, greater, ones, fill and two selects: eight passes over
// every activation for each ReLU of the backward pass (a fifth of a ResNet training step's time on the
// 2-core machine). TensorFlow's own ReluGrad op does it in one. The override applies only while the
// native backend is active; on the others ReLU keeps tfjs's formula.
import * as tf from '@tensorflow/tfjs-core';

/** The native backend's name in tfjs (tfjs-node and tfjs-node-gpu both register as 'tensorflow'). */
const NATIVE = 'tensorflow';
export const RELU_GRAD = 'ReluGrad';

interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: Array<{ name: string; type: number; value: number }>, inputs: tf.TensorInfo[]): tf.Tensor;
}

let registered = false;

/** Registers the ReluGrad kernel for the native backend and routes ReLU's gradient to it there. Idempotent. */
export function registerNativeGradients(): void {
  if (registered) return;
  registered = true;
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
