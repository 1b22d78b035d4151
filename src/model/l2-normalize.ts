// The embedding head's last layer: project each row onto the unit sphere, as FaceNet does.
// A custom layer (not a Lambda) so that the model saves and loads as a standard tfjs model.json:
// loading only needs this module imported, which registers the class by name.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Added to the squared norm so that an all-zero row maps to zero instead of NaN (and so does its gradient). */
const EPSILON = 1e-12;

/** x / sqrt(max(sum(x^2), 1e-12)) along the last axis, like tf.math.l2_normalize. */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const squaredNorm = tf.sum(tf.square(x), -1, true);
    return tf.mul(x, tf.rsqrt(tf.maximum(squaredNorm, EPSILON)));
  });
}

export class L2Normalize extends tfl.layers.Layer {
  static className = 'L2Normalize';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) {
      throw new Error('L2Normalize expected one input tensor, but got none');
    }
    return l2Normalize(x);
  }
}

tf.serialization.registerClass(L2Normalize);
