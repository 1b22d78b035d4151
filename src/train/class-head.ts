// The CosFace loss's class matrix (loss.cosFaceWeight > 0): one learnt vector per training person. It trains with
// the network (the same optimiser), is saved in every checkpoint beside the model's weights, and is not part of the
// exported model: verification compares embeddings, never classes.
import * as tf from '@tensorflow/tfjs-core';
import { BadInputError } from '../errors';
import type { ClassHead } from '../loss';
import { Rng } from '../util/rng';
import type { NamedArray } from './tensor-file';

/** Purpose tag of the class matrix's initialisation Rng (distinct from the sampler's, the split's, augmentation's). */
const CLASS_HEAD_PURPOSE = 0xc1a55;
export const CLASS_MATRIX_NAME = 'loss/cosface_classes';

export interface TrainableClassHead extends ClassHead {
  classMatrix: tf.Variable<tf.Rank.R2>;
  dispose(): void;
}

/**
 * A class matrix for the people of `trainLabels` (the dataset labels of the training images; classes in ascending
 * label order), dim columns, rows drawn from N(0, 1/dim) by the run's seed: unit length on average.
 */
export function createClassHead(trainLabels: Iterable<number>, dim: number, seed: number): TrainableClassHead {
  const people = [...new Set(trainLabels)].sort((a, b) => a - b);
  if (people.length < 2) throw new BadInputError(`The CosFace loss (loss.cosFaceWeight) needs at least 2 training people, but the split has ${people.length}.`);
  const maxLabel = people[people.length - 1]!;
  const lookup = new Int32Array(maxLabel + 1).fill(-1);
  people.forEach((label, row) => (lookup[label] = row));
  const rng = Rng.derive(seed, CLASS_HEAD_PURPOSE);
  const values = new Float32Array(people.length * dim);
  const std = 1 / Math.sqrt(dim);
  for (let i = 0; i < values.length; i++) values[i] = rng.gaussian() * std;
  const init = tf.tensor2d(values, [people.length, dim]);
  // Unnamed: tfjs variable names are process-wide, and sessions of parallel trials share a worker process.
  const classMatrix = tf.variable(init, true) as tf.Variable<tf.Rank.R2>;
  init.dispose();
  const classOf = tf.tensor1d(lookup, 'int32');
  return {
    classMatrix,
    classOf,
    dispose() {
      classMatrix.dispose();
      classOf.dispose();
    },
  };
}

export function classHeadToArrays(head: TrainableClassHead): NamedArray[] {
  return [{ name: CLASS_MATRIX_NAME, shape: head.classMatrix.shape.slice(), dtype: 'float32', values: head.classMatrix.dataSync() as Float32Array }];
}

/** Restores the class matrix from a checkpoint's arrays; `source` names the checkpoint for errors. */
export function setClassHeadFromArrays(head: TrainableClassHead, arrays: NamedArray[] | null | undefined, source: string): void {
  const saved = arrays?.find((a) => a.name === CLASS_MATRIX_NAME);
  if (!saved) {
    throw new BadInputError(`${source} has no CosFace class matrix, but loss.cosFaceWeight is above 0: resume with the loss it was trained with, or start a new run id.`);
  }
  if (saved.shape.join(',') !== head.classMatrix.shape.join(',')) {
    throw new BadInputError(`${source}: the CosFace class matrix has shape [${saved.shape}] but this run needs [${head.classMatrix.shape}] (training people x embedding size); resume with the same split and model.`);
  }
  const values = tf.tensor2d(saved.values as Float32Array, saved.shape as [number, number]);
  head.classMatrix.assign(values);
  values.dispose();
}
