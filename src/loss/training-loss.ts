// The loss a training step minimises: a weighted sum of the triplet loss, the supervised contrastive loss and the
// CosFace loss (config.loss). With the default weights (1, 0, 0) it is the triplet loss itself, computed exactly as before.
import * as tf from '@tensorflow/tfjs-core';
import { cosFaceLoss } from './cosface';
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
  cosFaceWeight: number;
  cosFaceMargin: number;
  cosFaceScale: number;
}

/** What the CosFace term needs besides the batch: the trained class matrix and the class of each dataset label. */
export interface ClassHead {
  /** [C, dim], one row per training person. */
  classMatrix: tf.Tensor2D;
  /** [maxLabel + 1] int32: the row of each dataset label (-1 for people not trained on). */
  classOf: tf.Tensor1D;
}

/**
 * tripletWeight x triplet + contrastiveWeight x supervised contrastive + cosFaceWeight x CosFace; a term of weight 0
 * is not computed, and CosFace needs `head`. `activeFraction` is that of the first term used. Two new scalars.
 */
export function trainingLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, opts: TrainingLossOptions, head?: ClassHead): MinedLoss {
  const { tripletWeight: wt, contrastiveWeight: wc, cosFaceWeight: wf } = opts;
  if (!(wt >= 0 && wc >= 0 && wf >= 0 && wt + wc + wf > 0) || !Number.isFinite(wt + wc + wf)) {
    throw new Error(`Expected non-negative finite loss weights, not all 0, but got tripletWeight ${String(wt)}, contrastiveWeight ${String(wc)} and cosFaceWeight ${String(wf)}`);
  }
  if (wf > 0 && !head) throw new Error('The CosFace loss (loss.cosFaceWeight > 0) needs the class matrix of the training people.');
  // The contrastive term is computed first: the tape then sums the embeddings' gradient in the order recipe 4's
  // runs were trained with (floating-point addition is not associative, and training amplifies the last bit).
  const contrastive = wc > 0 ? supervisedContrastiveLoss(embeddings, labels, opts.temperature) : null;
  const terms: Array<{ weight: number; result: MinedLoss }> = [];
  if (wt > 0) {
    const r = tripletLoss(embeddings, labels, opts);
    tf.dispose([r.meanPositiveDistance, r.meanNegativeDistance]);
    terms.push({ weight: wt, result: { loss: r.loss, activeFraction: r.activeFraction } });
  }
  if (contrastive) terms.push({ weight: wc, result: contrastive });
  if (wf > 0 && head) {
    const classes = tf.gather(head.classOf, labels);
    terms.push({ weight: wf, result: cosFaceLoss(embeddings, classes, head.classMatrix, { margin: opts.cosFaceMargin, scale: opts.cosFaceScale }) });
    classes.dispose();
  }
  const [first, ...rest] = terms as [{ weight: number; result: MinedLoss }, ...Array<{ weight: number; result: MinedLoss }>];
  if (rest.length === 0) return first.weight === 1 ? first.result : { loss: scaled(first.result.loss, first.weight), activeFraction: first.result.activeFraction };
  const loss = tf.tidy(() => terms.map((t) => tf.mul(t.result.loss, t.weight)).reduce((a, b) => tf.add(a, b)) as tf.Scalar);
  tf.dispose(terms.flatMap((t) => [t.result.loss, ...(t === first ? [] : [t.result.activeFraction])]));
  return { loss, activeFraction: first.result.activeFraction };
}

function scaled(loss: tf.Scalar, weight: number): tf.Scalar {
  const out = tf.mul(loss, weight) as tf.Scalar;
  loss.dispose();
  return out;
}
