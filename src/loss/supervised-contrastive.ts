// Supervised contrastive loss (Khosla et al. 2020, "L_out"): every other image of the anchor's person against all
// other images of the batch, a softmax over cosine similarities at a temperature. Unlike the triplet loss it has no
// margin at which a pair stops teaching: every pair contributes, weighted by how confusable it is.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradient functions (see triplet-loss.ts)
import { negativePairMask, positivePairMask } from './masks';
import type { MinedLoss } from './types';

/** Added to the diagonal's logits so that an image is never its own candidate (exp underflows to 0). */
const SELF_LOGIT = -1e9;

/**
 * For L2-normalised embeddings [N, dim] and labels [N]: the mean over anchors with at least one positive of
 * -mean_p log(exp(s_ap / t) / sum_{j != a} exp(s_aj / t)), s the dot product. `activeFraction` is the share of
 * (anchor, positive) pairs with a negative at least as similar to the anchor as the positive (no gradient).
 * Returns two new scalars owned by the caller.
 */
export function supervisedContrastiveLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): MinedLoss {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`Expected temperature to be a positive finite number, but got ${String(temperature)}`);
  }
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const similarity = tf.matMul(embeddings, embeddings, false, true);
    const logits = tf.add(tf.div(similarity, temperature), tf.mul(tf.eye(n), SELF_LOGIT));
    const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
    const positives = positivePairMask(labels);
    const positivesPerAnchor = tf.sum(positives, 1);
    const anchors = tf.cast(tf.greater(positivesPerAnchor, 0), 'float32');
    const perAnchor = tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(positivesPerAnchor, 1));
    const loss = tf.neg(tf.div(tf.sum(tf.mul(perAnchor, anchors)), tf.maximum(tf.sum(anchors), 1))) as tf.Scalar;

    // Similarities lie in [-1, 1]: -4 where j is not a negative of i keeps it out of the row's maximum.
    const negatives = negativePairMask(labels);
    const closestNegative = tf.max(tf.add(tf.mul(similarity, negatives), tf.mul(tf.sub(negatives, 1), 4)), 1, true);
    const violated = tf.mul(positives, tf.cast(tf.greaterEqual(closestNegative, similarity), 'float32'));
    const activeFraction = tf.div(tf.sum(violated), tf.maximum(tf.sum(positives), 1)) as tf.Scalar;
    return { loss, activeFraction };
  });
}
