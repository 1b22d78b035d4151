// Label masks shared by the miners, as float32 0/1 tensors (they multiply losses and count triplets).
import * as tf from '@tensorflow/tfjs-core';

/** [N, N]: 1 where labels match and i != j (the valid (anchor, positive) pairs). */
export function positivePairMask(labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const n = labels.shape[0];
    const same = tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32');
    return tf.sub(same, tf.eye(n)) as tf.Tensor2D;
  });
}

/** [N, N]: 1 where labels differ (the valid (anchor, negative) pairs). */
export function negativePairMask(labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.cast(tf.notEqual(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32') as tf.Tensor2D,
  );
}

/** [N, N, N]: 1 where (a, p, n) is a valid triplet: p != a with a's label, n with another label. */
export function tripletMask(labels: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const pos = positivePairMask(labels);
    const neg = negativePairMask(labels);
    return tf.mul(tf.expandDims(pos, 2), tf.expandDims(neg, 1)) as tf.Tensor3D;
  });
}

/** sum(values * mask) / max(sum(mask), 1): a masked mean that is 0 (not NaN) when the mask is empty. */
export function maskedMean(values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

/**
 * `x` broadcast to `shape` by adding zeros. tfjs's broadcastTo runs the Tile kernel, whose gradient is one
 * slice and one add per repetition: a scalar tiled to a 35 x 35 x 35 cube (semi-hard mining of a 7 x 5
 * batch) made 86,000 kernels and 3 s a step. The gradient of a broadcasting add is one sum.
 */
export function broadcastByAdding(x: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.add(x, tf.zeros(shape));
}
