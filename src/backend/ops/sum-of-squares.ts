// Half the sum of squares of a tensor's values, one kernel where the active backend registers it: the native
// backend runs TensorFlow's L2Loss (native/kernels.ts), one multi-threaded pass. The global gradient norm takes
// it over the flat gradient every step; tfjs's square + sum makes a second full-size tensor and two passes
// (ResNet-18's 11.2 M values: 5.2 ms against 1.6 on the 2-core machine). Summed in another order, so the
// norm differs from the composite's in the last bits.
//
// The kernel's contract:
//   HALF_SUM_OF_SQUARES  input x (float32, any shape); output a float32 scalar, sum(x^2) / 2
import * as tf from '@tensorflow/tfjs-core';

/** This project's kernel name, prefixed so it can never clash with a tfjs kernel. */
export const HALF_SUM_OF_SQUARES = 'FacenetHalfSumOfSquares';

/** sum(x^2) / 2 as one kernel where the active backend has it; null elsewhere (the caller runs the composite). */
export function halfSumOfSquares(x: tf.Tensor): tf.Scalar | null {
  if (x.dtype !== 'float32' || tf.getKernel(HALF_SUM_OF_SQUARES, tf.getBackend()) === undefined) return null;
  return tf.engine().runKernel(HALF_SUM_OF_SQUARES, { x }) as tf.Scalar;
}
