// The triplet loss used by training: distance -> miner -> reduced loss, plus diagnostics.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions; tfjs-layers registers all of them on import, and
// training imports it anyway. Importing it here keeps the loss differentiable when used on its own.
import '@tensorflow/tfjs-layers';
import { batchAllTripletLoss } from './batch-all';
import { batchAllTripletLossOnHost } from './batch-all-host';
import { batchHardTripletLoss } from './batch-hard';
import { type DistanceMetric, pairwiseDistances } from './distances';
import { maskedMean, negativePairMask, positivePairMask } from './masks';
import { semiHardTripletLoss } from './semi-hard';
import type { Miner } from './types';

/** tfjs-node's (and tfjs-node-gpu's) backend name. */
const NATIVE_BACKEND = 'tensorflow';

export type MinerName = 'batch-all' | 'batch-hard' | 'semi-hard';

/** Compatible with LossConfig (src/config/schema.ts). */
export interface TripletLossOptions {
  miner: MinerName;
  margin: number;
  distance: DistanceMetric;
}

export interface TripletLossResult {
  /** Differentiable in the embeddings. */
  loss: tf.Scalar;
  /** Share of the miner's candidates with positive loss (batch-all: the "fraction of positive triplets"). */
  activeFraction: tf.Scalar;
  /** Mean distance over all (a, p) pairs with a != p in the batch (0 when there are none). */
  meanPositiveDistance: tf.Scalar;
  /** Mean distance over all pairs with different labels (0 when there are none). */
  meanNegativeDistance: tf.Scalar;
}

export const MINERS: Record<MinerName, Miner> = {
  'batch-all': batchAllTripletLoss,
  'batch-hard': batchHardTripletLoss,
  'semi-hard': semiHardTripletLoss,
};

function validate(embeddings: tf.Tensor, labels: tf.Tensor, opts: TripletLossOptions): void {
  if (!Object.hasOwn(MINERS, opts.miner)) {
    throw new Error(`Expected miner to be one of ${Object.keys(MINERS).map((m) => `'${m}'`).join(', ')}, but got '${String(opts.miner)}'`);
  }
  if (typeof opts.margin !== 'number' || !Number.isFinite(opts.margin) || opts.margin < 0) {
    throw new Error(`Expected margin to be a non-negative finite number, but got ${String(opts.margin)}`);
  }
  if (embeddings.rank !== 2) {
    throw new Error(`Expected embeddings to be a rank-2 tensor [batch, dim], but got shape [${embeddings.shape.join(', ')}]`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== embeddings.shape[0]) {
    throw new Error(`Expected labels to be a rank-1 tensor of length ${embeddings.shape[0]} (one per embedding), but got shape [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'int32') {
    throw new Error(`Expected labels to have dtype 'int32', but got '${labels.dtype}'`);
  }
}

/**
 * Triplet loss of a batch. Returns four new scalars and nothing else (the caller disposes them);
 * usable inside tf.variableGrads / tf.grad (return `.loss` from the closure).
 */
export function tripletLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, opts: TripletLossOptions): TripletLossResult {
  validate(embeddings, labels, opts);
  // On the native backend every kernel costs tens of microseconds to dispatch, whatever its size: batch-all on
  // Euclidean distances (the CPU configs' loss) runs there as one op computed on the host (batch-all-host.ts).
  if (opts.miner === 'batch-all' && opts.distance === 'euclidean' && tf.getBackend() === NATIVE_BACKEND) {
    return batchAllTripletLossOnHost(embeddings, labels, opts.margin);
  }
  return tf.tidy(() => {
    const distances = pairwiseDistances(embeddings, opts.distance);
    const mined = MINERS[opts.miner](distances, labels, opts.margin);
    return {
      loss: mined.loss,
      activeFraction: mined.activeFraction,
      meanPositiveDistance: maskedMean(distances, positivePairMask(labels)),
      meanNegativeDistance: maskedMean(distances, negativePairMask(labels)),
    };
  });
}
