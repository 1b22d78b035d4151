// Batch-hard (Hermans et al. 2017; the LFW reference): per anchor, the farthest positive and the closest
// negative; loss = mean of relu(hardest positive - hardest negative + margin) over the anchors that have
// at least one positive and one negative. activeFraction: share of those anchors with a positive loss.
import * as tf from '@tensorflow/tfjs-core';
import { broadcastByAdding, maskedMean, negativePairMask, positivePairMask } from './masks';
import { nonDifferentiable } from './no-gradient';
import type { MinedLoss } from './types';

export function batchHardTripletLoss(distances: tf.Tensor2D, labels: tf.Tensor1D, margin: number): MinedLoss {
  return tf.tidy(() => {
    const pos = positivePairMask(labels);
    const neg = negativePairMask(labels);
    // Distances are >= 0, so zeroing the non-positives leaves the max over the positives.
    const hardestPositive = tf.max(tf.mul(distances, pos), 1);
    // Non-negatives are lifted above every distance so the min ignores them. The filler carries no
    // gradient into the loss: it is picked only for anchors without negatives, which are masked out.
    const filler = nonDifferentiable((d) => tf.add(tf.max(d), 1), distances);
    const hardestNegative = tf.min(tf.where(tf.cast(neg, 'bool'), distances, broadcastByAdding(filler, distances.shape)), 1);
    const anchorValid = tf.mul(tf.cast(tf.greater(tf.sum(pos, 1), 0), 'float32'), tf.cast(tf.greater(tf.sum(neg, 1), 0), 'float32'));
    const losses = tf.relu(tf.add(tf.sub(hardestPositive, hardestNegative), margin));
    const active = nonDifferentiable((l) => tf.cast(tf.greater(tf.mul(l, anchorValid), 0), 'float32'), losses);
    return {
      loss: maskedMean(losses, anchorValid),
      activeFraction: tf.div(tf.sum(active), tf.maximum(tf.sum(anchorValid), 1)) as tf.Scalar,
    };
  });
}
