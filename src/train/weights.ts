// Model weights <-> named plain arrays. Matched by position (layer-name counters differ between
// models built in one process) with a shape check, so a mismatch names the offending weight.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { NamedArray } from './tensor-file';
import { BadInputError } from '../errors';

/** All weights (trainable and BatchNorm statistics), in the model's order, read out (not to be modified). */
export function modelWeightsToArrays(model: LayersModel): NamedArray[] {
  return model.weights.map((w) => {
    const t = w.read();
    const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
    return { name: w.originalName ?? w.name, shape: t.shape.slice(), dtype, values: t.dataSync() as Float32Array | Int32Array };
  });
}

/** Writes saved arrays into the model's weights; `source` names where they came from, for errors. */
export function setModelWeightsFromArrays(model: LayersModel, arrays: NamedArray[], source: string): void {
  const weights = model.weights;
  if (arrays.length !== weights.length) {
    throw new BadInputError(`${source} holds ${arrays.length} weights but the model has ${weights.length}; it was saved from a different architecture.`);
  }
  const tensors = arrays.map((a, i) => {
    const w = weights[i]!;
    if (a.shape.join(',') !== w.shape.join(',')) {
      throw new BadInputError(`${source}: weight ${i} '${a.name}' has shape [${a.shape}] but the model's '${w.name}' has [${w.shape}]; check model.widths, embeddingDim and the input size.`);
    }
    return tf.tensor(a.values, a.shape, a.dtype);
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
}
