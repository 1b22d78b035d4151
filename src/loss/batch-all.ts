// Batch-all (Hermans et al. 2017; the AT&T reference): every valid triplet (a, p, n) in the batch,
// loss = relu(d(a,p) - d(a,n) + margin) averaged over the triplets whose loss is positive, so the many
// easy triplets do not dilute the gradient. activeFraction is the "fraction of positive triplets".
import * as tf from '@tensorflow/tfjs-core';
import { tripletMask } from './masks';
import { nonDifferentiable } from './no-gradient';
import type { MinedLoss } from './types';

/** A triplet counts as positive above this loss, so float noise around 0 does not. */
const POSITIVE_LOSS = 1e-16;

export function batchAllTripletLoss(distances: tf.Tensor2D, labels: tf.Tensor1D, margin: number): MinedLoss {
  return tf.tidy(() => {
    const dap = tf.expandDims(distances, 2); // [a, p, 1]
    const dan = tf.expandDims(distances, 1); // [a, 1, n]
    const valid = tripletMask(labels);
    const losses = tf.mul(tf.relu(tf.add(tf.sub(dap, dan), margin)), valid);
    const positive = nonDifferentiable((l) => tf.cast(tf.greater(l, POSITIVE_LOSS), 'float32'), losses);
    const numPositive = tf.sum(positive);
    return {
      loss: tf.div(tf.sum(losses), tf.maximum(numPositive, 1)) as tf.Scalar,
      activeFraction: tf.div(numPositive, tf.maximum(tf.sum(valid), 1)) as tf.Scalar,
    };
  });
}
