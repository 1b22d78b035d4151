// Semi-hard (FaceNet, Schroff et al. 2015), with the exact rule of TF-Addons' triplet_semihard_loss:
// for each (anchor, positive) pair, the negative is the CLOSEST negative strictly FARTHER than d(a,p)
// (semi-hard: d(a,p) < d(a,n)); when the anchor has no such negative, the fallback is the FARTHEST negative
// of the anchor over all its negatives (all of them are then <= d(a,p), so this is the least hard of the
// hard ones). loss = mean of relu(d(a,p) - d(a,n*) + margin) over all (a, p) pairs whose anchor has at
// least one negative (TF-Addons averages over all positive pairs, including those with zero loss).
// activeFraction: share of those pairs with a positive loss.
import * as tf from '@tensorflow/tfjs-core';
import { broadcastByAdding, maskedMean, negativePairMask, positivePairMask } from './masks';
import { nonDifferentiable } from './no-gradient';
import type { MinedLoss } from './types';

export function semiHardTripletLoss(distances: tf.Tensor2D, labels: tf.Tensor1D, margin: number): MinedLoss {
  return tf.tidy(() => {
    const n = distances.shape[0];
    const pos = positivePairMask(labels);
    const neg = negativePairMask(labels);
    const negBool = tf.cast(neg, 'bool');
    const dan = tf.expandDims(distances, 1); // [a, 1, n]
    // [a, p, n]: n is a negative of a and d(a, n) > d(a, p).
    const farther = nonDifferentiable((d) => tf.logicalAnd(tf.expandDims(negBool, 1), tf.greater(tf.expandDims(d, 1), tf.expandDims(d, 2))), distances);
    // Filler above every distance, for the masked min; never selected for a valid pair, so no gradient.
    const big = nonDifferentiable((d) => tf.add(tf.max(d), 1), distances);
    const cube: [number, number, number] = [n, n, n];
    const outside = tf.min(tf.where(farther, broadcastByAdding(dan, cube), broadcastByAdding(big, cube)), 2); // [a, p]
    const hasOutside = nonDifferentiable((f) => tf.any(f, 2), farther); // [a, p]
    // Fallback: the farthest negative of the anchor; non-negatives are replaced by -1 (distances are >= 0).
    const inside = tf.max(tf.where(negBool, distances, tf.fill([n, n], -1)), 1, true); // [a, 1]
    const chosen = tf.where(hasOutside, outside, broadcastByAdding(inside, [n, n]));
    const anchorHasNegative = tf.cast(tf.greater(tf.sum(neg, 1, true), 0), 'float32'); // [a, 1]
    const pairValid = tf.mul(pos, anchorHasNegative);
    const losses = tf.relu(tf.add(tf.sub(distances, chosen), margin));
    const active = nonDifferentiable((l) => tf.cast(tf.greater(tf.mul(l, pairValid), 0), 'float32'), losses);
    return {
      loss: maskedMean(losses, pairValid),
      activeFraction: tf.div(tf.sum(active), tf.maximum(tf.sum(pairValid), 1)) as tf.Scalar,
    };
  });
}
