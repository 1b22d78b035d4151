// Pairwise distances between the rows of a batch of embeddings, from the Gram matrix:
// ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, which costs one matmul instead of an [N, N, D] difference tensor.
import * as tf from '@tensorflow/tfjs-core';
import { nonDifferentiable } from './no-gradient';

export type DistanceMetric = 'euclidean' | 'squared-euclidean';
export const DISTANCE_METRICS: readonly DistanceMetric[] = ['euclidean', 'squared-euclidean'];

/**
 * Below this squared distance two embeddings count as identical. sqrt has an infinite derivative at 0
 * (the diagonal, duplicate images, a collapsed model), so such entries are set to exactly 0 with a
 * zero gradient instead of NaN. Float32 rounding of the Gram formula is ~1e-7, far above this.
 */
const ZERO_SQUARED_DISTANCE = 1e-12;

/** [N, N] squared Euclidean distances, clamped at 0 (rounding can make the Gram formula slightly negative). */
export function pairwiseSquaredDistances(embeddings: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const gram = tf.matMul(embeddings, embeddings, false, true);
    const squaredNorms = tf.sum(tf.square(embeddings), 1);
    const sq = tf.add(tf.sub(tf.expandDims(squaredNorms, 1), tf.mul(gram, 2)), tf.expandDims(squaredNorms, 0));
    return tf.relu(sq) as tf.Tensor2D;
  });
}

/**
 * [N, N] distances. The Euclidean case is masked ("double where"): sqrt only ever sees values above the
 * threshold (others are replaced by 1 before the sqrt and by 0 after), so both the value and the gradient
 * of a zero distance are exactly 0.
 */
export function pairwiseDistances(embeddings: tf.Tensor2D, metric: DistanceMetric): tf.Tensor2D {
  if (!DISTANCE_METRICS.includes(metric)) {
    throw new Error(`Expected distance to be one of 'euclidean', 'squared-euclidean', but got '${String(metric)}'`);
  }
  if (embeddings.rank !== 2) {
    throw new Error(`Expected embeddings to be a rank-2 tensor [batch, dim], but got shape [${embeddings.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const sq = pairwiseSquaredDistances(embeddings);
    if (metric === 'squared-euclidean') return sq;
    const nonZero = nonDifferentiable((d) => tf.greater(d, ZERO_SQUARED_DISTANCE), sq);
    const safe = tf.where(nonZero, sq, tf.onesLike(sq));
    return tf.where(nonZero, tf.sqrt(safe), tf.zerosLike(sq)) as tf.Tensor2D;
  });
}
