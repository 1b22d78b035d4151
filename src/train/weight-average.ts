// Weight averaging over epoch ends (training.averageWeights): an exponential moving average, or the plain
// mean of stochastic weight averaging. Training goes on from the raw weights; evaluation and export use
// the average. It covers every model weight, BatchNorm's moving statistics included, so the averaged
// model's statistics are the average of the ones it was trained with. Plain arrays, computed once an
// epoch in float64 and stored as float32: the same on every backend, and saved in every checkpoint so a
// resumed run continues the same average.
import type { TrainingConfig } from '../config/schema';
import type { NamedArray } from './tensor-file';

export type AverageConfig = TrainingConfig['averageWeights'];

export interface WeightAverage {
  /** Epoch ends averaged so far. */
  epochs: number;
  /** The averaged weights, in the model's order (as modelWeightsToArrays). */
  weights: NamedArray[];
}

/**
 * The average after epoch `epoch` (from 1) ends with weights `current`. `previous` is updated in place and
 * returned; before fromEpoch (or with kind none) the result is `previous` unchanged (null).
 */
export function averageAfterEpoch(cfg: AverageConfig, epoch: number, previous: WeightAverage | null, current: NamedArray[]): WeightAverage | null {
  if (cfg.kind === 'none' || epoch < cfg.fromEpoch) return previous;
  if (!previous) return { epochs: 1, weights: current.map((w) => ({ ...w, shape: w.shape.slice(), values: w.values.slice() })) };
  if (previous.weights.length !== current.length) {
    throw new Error(`The weight average holds ${previous.weights.length} weights but the model has ${current.length}.`);
  }
  const epochs = previous.epochs + 1;
  // The new weights' share: 1 - decay for ema, 1/n for the mean of n epochs (a running mean).
  const rate = cfg.kind === 'ema' ? 1 - cfg.decay : 1 / epochs;
  previous.weights.forEach((avg, i) => {
    const w = current[i] as NamedArray;
    if (avg.values.length !== w.values.length) throw new Error(`Weight ${i} '${w.name}' has ${w.values.length} values but its average ${avg.values.length}.`);
    const a = avg.values;
    const v = w.values;
    // Integer weights (none in these models) are not averaged: they take the latest value.
    if (avg.dtype === 'int32') a.set(v);
    else for (let j = 0; j < a.length; j++) a[j] = (a[j] as number) + ((v[j] as number) - (a[j] as number)) * rate;
  });
  previous.epochs = epochs;
  return previous;
}
