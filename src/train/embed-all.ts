// Inference over many images in batches: inference mode (BatchNorm moving statistics, folded into the
// convolutions: src/model/folded-inference.ts), no augmentation, results copied into one Float32Array so no
// tensor outlives a batch. The native backend computes synchronously: each batch is followed by a turn of the
// event loop, so an activity's heartbeats get out while a large set is embedded (LFW's View 2 takes minutes
// with a wide model, longer than a heartbeat timeout).
import { setImmediate } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { PreprocessConfig } from '../config/schema';
import { assembleBatch, type CachedDataset, type Normalization } from '../data';
import { foldedEmbedder } from '../model/folded-inference';

/** Returns the images [start, end) of the set to embed, as a [end - start, h, w, c] tensor (disposed here). */
export type ImageBatchFn = (start: number, end: number) => tf.Tensor4D;

/** Embeds `count` images, `batchSize` at a time; returns count * D values, row-major. */
export async function embedBatches(model: LayersModel, count: number, batchSize: number, images: ImageBatchFn): Promise<Float32Array> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`Expected batchSize to be a positive integer, but got ${batchSize}.`);
  const outShape = model.outputs[0]?.shape ?? [];
  const dim = outShape[outShape.length - 1];
  if (typeof dim !== 'number') throw new Error('Expected the model output to be [batch, embeddingDim], but its last dimension is unknown.');
  const out = new Float32Array(count * dim);
  const embedder = foldedEmbedder(model);
  try {
    for (let start = 0; start < count; start += batchSize) {
      const end = Math.min(count, start + batchSize);
      const x = images(start, end);
      try {
        const e = embedder.embed(x);
        out.set(e.dataSync() as Float32Array, start * dim);
        e.dispose();
      } finally {
        x.dispose();
      }
      await setImmediate();
    }
  } finally {
    embedder.dispose();
  }
  return out;
}

/**
 * Embeds the dataset images `indices` (in that order) with the training normalisation and no
 * augmentation; returns indices.length * D values, row i = embedding of image indices[i].
 */
export function embedAll(
  model: LayersModel,
  ds: Pick<CachedDataset, 'height' | 'width' | 'channels' | 'pixels' | 'labels'>,
  indices: number[],
  pre: PreprocessConfig,
  norm: Normalization,
  batchSize: number,
): Promise<Float32Array> {
  return embedBatches(model, indices.length, batchSize, (start, end) => {
    const b = assembleBatch(ds, indices.slice(start, end), pre, norm, null);
    return tf.tensor4d(b.data, b.shape);
  });
}
