// One optimisation step: forward in training mode, triplet loss, gradients, optional clipping,
// update. Everything it creates is disposed before it returns.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { withBatchedMovingAverages } from '../model/moving-averages';
import { clipFlatGradient, flatNorm, type Optimizer } from './optimizers';
import { NonFiniteLossError } from './errors';

/** The loss contract of src/loss (tripletLoss with its options bound). */
export type LossFn = (embeddings: tf.Tensor2D, labels: tf.Tensor1D) => { loss: tf.Scalar; activeFraction: tf.Scalar };

/** Embeddings of a batch; `training` selects BatchNorm's batch statistics (and their moving-average update). */
export type EmbedFn = (model: LayersModel, x: tf.Tensor4D, training: boolean) => tf.Tensor2D;

export const defaultEmbed: EmbedFn = (model, x, training) => model.apply(x, { training }) as tf.Tensor2D;

export interface StepInputs {
  model: LayersModel;
  params: tf.Variable[];
  optimizer: Optimizer;
  lossFn: LossFn;
  embed: EmbedFn;
  clipGradNorm: number | null;
}

export interface StepResult {
  loss: number;
  activeFraction: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * Runs one step on (x, labels); the caller owns and disposes x and labels. A non-finite loss or
 * gradient throws NonFiniteLossError and leaves the model exactly as it was (weights untouched,
 * BatchNorm moving statistics rolled back), so the last checkpoint and the in-memory model agree.
 */
export function trainStep(s: StepInputs, x: tf.Tensor4D, labels: tf.Tensor1D, lr: number, where: { epoch: number; step: number }): StepResult {
  // BatchNorm updates its moving statistics during the forward pass; keep the old values to roll
  // back on a non-finite loss. tf.clone shares the data, so this costs no copy.
  const stateVars = s.model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
  const snapshot = stateVars.map((v) => tf.clone(v));
  let active: tf.Scalar | undefined;
  let grads: tf.NamedTensorMap = {};
  let gradList: tf.Tensor[] = [];
  let flat: tf.Tensor1D | undefined;
  try {
    // BatchNorm's moving-average updates run together after the forward pass: 6 kernels instead of 120.
    const out = withBatchedMovingAverages(() =>
      tf.variableGrads(() => {
        const embeddings = s.embed(s.model, x, true);
        const r = s.lossFn(embeddings, labels);
        active = tf.keep(r.activeFraction);
        return r.loss;
      }, s.params),
    );
    grads = out.grads;
    const loss = out.value.dataSync()[0] as number;
    out.value.dispose();
    const activeFraction = active ? (active.dataSync()[0] as number) : NaN;
    gradList = s.params.map((p) => {
      const g = grads[p.name];
      if (!g) throw new Error(`No gradient for variable '${p.name}': is it used by the model's output?`);
      return g;
    });
    // Checked before the update, so a non-finite value never reaches the weights.
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(where.epoch, where.step, loss);
    // All gradients end to end: the norm, the clipping and the update each take a few kernels, not a few per weight.
    flat = s.optimizer.flattenGradients(gradList);
    const gradNorm = flatNorm(flat);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(where.epoch, where.step, gradNorm, 'gradient norm');
    if (s.clipGradNorm !== null && gradNorm > s.clipGradNorm) {
      const clipped = clipFlatGradient(flat, s.clipGradNorm, gradNorm);
      flat.dispose();
      flat = clipped;
    }
    s.optimizer.applyFlatGradient(flat, lr);
    return { loss, activeFraction, gradNorm };
  } catch (err) {
    if (err instanceof NonFiniteLossError) stateVars.forEach((v, i) => v.assign(snapshot[i] as tf.Tensor));
    throw err;
  } finally {
    active?.dispose();
    flat?.dispose();
    tf.dispose(gradList);
    tf.dispose(grads);
    tf.dispose(snapshot);
  }
}
