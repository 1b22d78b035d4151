// tfjs has no stopGradient, and its tape refuses to differentiate through a comparison
// ("gradient function not found for Greater"): any Greater/Any/LogicalAnd whose input depends on the
// embeddings and whose output steers the loss (a where() condition, a count) breaks tf.grad. Running
// such a computation inside tf.customGrad hides it from the tape (custom-gradient forwards run with
// recording paused) and declares its gradient zero, which is the true derivative of a piecewise-constant
// mask almost everywhere.
import * as tf from '@tensorflow/tfjs-core';

/** fn(...inputs), computed off the gradient tape; its gradient with respect to every input is zero. */
export function nonDifferentiable<T extends tf.Tensor>(fn: (...inputs: tf.Tensor[]) => T, ...inputs: tf.Tensor[]): T {
  const wrapped = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const tensors = args.slice(0, inputs.length) as tf.Tensor[];
    return {
      value: fn(...tensors),
      // float32 even for a bool input: the tape requires float gradients.
      gradFunc: () => tensors.map((t) => tf.zeros(t.shape, 'float32')),
    };
  });
  return wrapped(...inputs) as T;
}
