// Large-margin cosine loss (CosFace, Wang et al. 2018): a softmax over the training people, each represented by a
// learnt unit vector (a row of the class matrix). The logit of image i for person j is scale x cos(e_i, w_j), less
// the margin for i's own person. Unlike the triplet and contrastive losses, which compare the images of one batch,
// every step compares each image with all training people.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradient functions (see triplet-loss.ts)
import type { MinedLoss } from './types';

export interface CosFaceOptions {
  margin: number;
  scale: number;
}

/**
 * For L2-normalised embeddings [N, dim], class indices [N] (int32, 0..C-1) and the class matrix [C, dim] (rows
 * normalised here): the mean over images of -log softmax(scale x (cos - margin x onehot))[class]. `activeFraction` is
 * the share of images whose own class does not have the largest margin-reduced logit (no gradient). Two new scalars.
 */
export function cosFaceLoss(embeddings: tf.Tensor2D, classes: tf.Tensor1D, classMatrix: tf.Tensor2D, opts: CosFaceOptions): MinedLoss {
  const { margin, scale } = opts;
  if (!(margin >= 0 && scale > 0) || !Number.isFinite(margin + scale)) {
    throw new Error(`Expected a non-negative finite margin and a positive finite scale, but got margin ${String(margin)} and scale ${String(scale)}`);
  }
  if (embeddings.shape[1] !== classMatrix.shape[1]) {
    throw new Error(`The embeddings have ${embeddings.shape[1]} dimensions but the class matrix has ${classMatrix.shape[1]}.`);
  }
  return tf.tidy(() => {
    const rows = tf.div(classMatrix, tf.maximum(tf.norm(classMatrix, 'euclidean', 1, true), 1e-12));
    const cosine = tf.matMul(embeddings, rows, false, true);
    const target = tf.cast(classes, 'int32') as tf.Tensor1D;
    const onehot = tf.oneHot(target, classMatrix.shape[0], 1, 0, 'float32');
    const logits = tf.mul(tf.sub(cosine, tf.mul(onehot, margin)), scale);
    const logProb = tf.logSoftmax(logits);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProb), 1))) as tf.Scalar;
    const wrong = tf.cast(tf.notEqual(tf.argMax(logits, 1), target), 'float32');
    return { loss, activeFraction: tf.mean(wrong) as tf.Scalar };
  });
}
