import type * as tf from '@tensorflow/tfjs-core';

/** What a miner reduces a distance matrix to. Both are scalars owned by the caller. */
export interface MinedLoss {
  loss: tf.Scalar;
  /** Fraction of the miner's candidates (triplets, anchors, or (a, p) pairs) with a positive loss. */
  activeFraction: tf.Scalar;
}

/** A miner: [N, N] distances + [N] labels + margin -> loss. Pure tensor code, differentiable in the distances. */
export type Miner = (distances: tf.Tensor2D, labels: tf.Tensor1D, margin: number) => MinedLoss;
