// A synthetic, fully deterministic batch source: P identities x K noisy copies of a per-identity
// prototype image. For tests, smoke runs and benchmarks of the training machinery without a
// dataset on disk; batch (epoch, step) depends only on (seed, epoch, step), like the real sampler.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, deriveSeed } from '../util/rng';
import type { BatchSource, TrainBatch } from './state';

export interface SyntheticSourceOptions {
  seed: number;
  identities: number;
  identitiesPerBatch: number;
  imagesPerIdentity: number;
  stepsPerEpoch: number;
  /** [height, width, channels] */
  inputShape: [number, number, number];
  /** Standard deviation of the per-image noise around the prototype. */
  noise?: number;
}

const PURPOSE_PROTOTYPE = 101;
const PURPOSE_BATCH = 102;

export function syntheticBatchSource(o: SyntheticSourceOptions): BatchSource {
  if (o.identitiesPerBatch > o.identities) {
    throw new Error(`Expected identitiesPerBatch <= identities (${o.identities}), but got ${o.identitiesPerBatch}.`);
  }
  const pixels = o.inputShape[0] * o.inputShape[1] * o.inputShape[2];
  const prototypes = Array.from({ length: o.identities }, (_, id) => {
    const rng = Rng.derive(o.seed, PURPOSE_PROTOTYPE, id);
    return Float32Array.from({ length: pixels }, () => rng.next() * 2 - 1);
  });
  const noise = o.noise ?? 0.3;
  return {
    stepsPerEpoch: o.stepsPerEpoch,
    batch(epoch: number, step: number): TrainBatch {
      const rng = new Rng(deriveSeed(o.seed, PURPOSE_BATCH, epoch, step));
      const ids = rng.shuffle(Array.from({ length: o.identities }, (_, i) => i)).slice(0, o.identitiesPerBatch);
      const n = ids.length * o.imagesPerIdentity;
      const data = new Float32Array(n * pixels);
      const labels = new Int32Array(n);
      let row = 0;
      for (const id of ids) {
        const proto = prototypes[id] as Float32Array;
        for (let k = 0; k < o.imagesPerIdentity; k++, row++) {
          labels[row] = id;
          for (let p = 0; p < pixels; p++) data[row * pixels + p] = (proto[p] as number) + noise * rng.gaussian();
        }
      }
      return {
        x: tf.tensor4d(data, [n, ...o.inputShape]),
        labels: tf.tensor1d(labels, 'int32'),
      };
    },
  };
}
