// The loss a training step minimises: the triplet loss, the supervised contrastive loss, or a weighted sum of both
// (config.loss). With the default weights (1, 0) it is the triplet loss itself, computed exactly as before.
import * as tf from '@tensorflow/tfjs-core';
import type { DistanceMetric } from './distances';
import { supervisedContrastiveLoss } from './supervised-contrastive';
import { tripletLoss, type MinerName } from './triplet-loss';
import type { MinedLoss } from './types';

/** Compatible with LossConfig (src/config/schema.ts). */
export interface TrainingLossOptions {
  miner: MinerName;
  margin: number;
  distance: DistanceMetric;
  tripletWeight: number;
  contrastiveWeight: number;
  temperature: number;
}

/**
 * tripletWeight x triplet + contrastiveWeight x supervised contrastive; a term of weight 0 is not computed.
 * `activeFraction` is the triplet loss's when it is used, else the contrastive loss's. Two new scalars.
 */
export function trainingLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, opts: TrainingLossOptions): MinedLoss {
  const { tripletWeight: wt, contrastiveWeight: wc } = opts;
  if (!(wt >= 0 && wc >= 0 && wt + wc > 0) || !Number.isFinite(wt + wc)) {
    throw new Error(`Expected non-negative finite loss weights, not both 0, but got tripletWeight ${String(wt)} and contrastiveWeight ${String(wc)}`);
  }
  if (wc === 0) {
    const r = tripletLoss(embeddings, labels, opts);
    tf.dispose([r.meanPositiveDistance, r.meanNegativeDistance]);
    return wt === 1 ? { loss: r.loss, activeFraction: r.activeFraction } : { loss: scaled(r.loss, wt), activeFraction: r.activeFraction };
  }
  const c = supervisedContrastiveLoss(embeddings, labels, opts.temperature);
  if (wt === 0) return wc === 1 ? c : { loss: scaled(c.loss, wc), activeFraction: c.activeFraction };
  const t = tripletLoss(embeddings, labels, opts);
  const loss = tf.tidy(() => tf.add(tf.mul(t.loss, wt), tf.mul(c.loss, wc)) as tf.Scalar);
  tf.dispose([t.loss, t.meanPositiveDistance, t.meanNegativeDistance, c.loss, c.activeFraction]);
  return { loss, activeFraction: t.activeFraction };
}

function scaled(loss: tf.Scalar, weight: number): tf.Scalar {
  const out = tf.mul(loss, weight) as tf.Scalar;
  loss.dispose();
  return out;
}
