// The real batch source: the data layer's sampler picks image indices from (seed, epoch), and
// augmentation draws from an Rng derived from (seed, epoch, step). Resuming at (epoch, step) thus
// needs no stored generator state.
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../config/schema';
import { Rng } from '../util/rng';
import { assembleBatch, augmentationEnabled, computeNormalization, makeSampler, resolveSplit, type CachedDataset, type Normalization, type Sampler, type Split } from '../data';
import type { BatchSource, TrainBatch } from './state';

/** A run's view of its dataset: the split of its config, and the normalisation computed on the training images. */
export interface RunData {
  dataset: CachedDataset;
  split: Split;
  normalization: Normalization;
}

export async function runDataOf(dataset: CachedDataset, config: Pick<RunConfig, 'dataset' | 'preprocess'>): Promise<RunData> {
  const split = await resolveSplit(dataset, config.dataset);
  const normalization = computeNormalization(dataset, split.trainIndices, config.preprocess);
  return { dataset, split, normalization };
}

/** Purpose tag for the augmentation Rng (distinct from the sampler's and the split's). */
export const AUGMENT_PURPOSE = 0xa06e;

export interface DatasetSourceOptions {
  dataset: CachedDataset;
  trainIndices: number[];
  normalization: Normalization;
  config: Pick<RunConfig, 'sampler' | 'preprocess' | 'training'>;
}

export interface DatasetBatchSource extends BatchSource {
  sampler: Sampler;
}

export function datasetBatchSource(o: DatasetSourceOptions): DatasetBatchSource {
  const { dataset, config } = o;
  const seed = config.training.seed;
  const sampler = makeSampler(dataset.labels, o.trainIndices, config.sampler, seed);
  const stepsPerEpoch = config.training.stepsPerEpoch ?? sampler.stepsPerEpoch;
  const augmenting = augmentationEnabled(config.preprocess.augment);
  // The sampler computes a whole epoch at once; keep the last epoch's list instead of recomputing per step.
  let cached: { epoch: number; batches: number[][] } | null = null;
  return {
    sampler,
    stepsPerEpoch,
    batch(epoch: number, step: number): TrainBatch {
      if (!cached || cached.epoch !== epoch) cached = { epoch, batches: sampler.batches(epoch, stepsPerEpoch) };
      const indices = cached.batches[step];
      if (!indices) throw new Error(`Step ${step} is outside epoch ${epoch} (${stepsPerEpoch} steps per epoch).`);
      const rng = augmenting ? Rng.derive(seed, AUGMENT_PURPOSE, epoch, step) : null;
      const b = assembleBatch(dataset, indices, config.preprocess, o.normalization, rng);
      return { x: tf.tensor4d(b.data, b.shape), labels: tf.tensor1d(b.labels, 'int32') };
    },
  };
}
