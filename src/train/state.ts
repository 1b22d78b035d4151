// The training layer's data types, in one place: what a checkpoint holds, what a batch source gives,
// what an epoch reports. Epochs are counted from 1 (as users count them) everywhere except the
// innermost step loop, whose sampler and schedule take the 0-based epoch index.
import type * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from './tensor-file';
import type { OptimizerState } from './optimizers';
import type { WeightAverage } from './weight-average';

/** One training batch; created by the source for each step and disposed by the trainer. */
export interface TrainBatch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
}

/**
 * Where batches come from. Must be a pure function of (epochIndex, step) — sampler order and augmentation
 * derived from the run seed — so a resumed run sees exactly the batches an uninterrupted one would.
 */
export interface BatchSource {
  stepsPerEpoch: number;
  /** `epochIndex` is 0-based (the epoch numbered epochIndex + 1). */
  batch(epochIndex: number, step: number): TrainBatch;
}

/** After every step of epoch `epoch` (from 1); `step` counts the steps done (1..stepsPerEpoch). */
export interface StepProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  activeFraction: number;
  lr: number;
  imagesPerSecond: number;
}

/** A finished epoch (counted from 1). */
export interface EpochSummary {
  epoch: number;
  meanLoss: number;
  meanActiveFraction: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

/** Running sums of the epoch in progress; stored in the state so a mid-epoch resume reports the whole epoch. */
export interface EpochAccumulator {
  lossSum: number;
  activeSum: number;
  steps: number;
  images: number;
  seconds: number;
}

/** Everything besides tensors that a resumed run needs; stored as state.json. */
export interface TrainingState {
  /** Completed epochs: the next epoch trained is `epoch + 1`. */
  epoch: number;
  /** Steps already done in epoch `epoch + 1` (0 at an epoch boundary). */
  step: number;
  /** Optimiser updates applied since the start of training. */
  globalStep: number;
  stepsPerEpoch: number;
  /** The learning rate used by the last step (the schedule is a pure function of the position). */
  learningRate: number;
  /** Seeds and generator states; sampling and augmentation are derived from (seed, epoch, step). */
  rng: { seed: number; states: Record<string, number> };
  sampler: { epoch: number; step: number };
  /** Best evaluation so far (kept from pruning), if any. */
  best: { metric: string; value: number; checkpoint: string; threshold: number | null } | null;
  /** Latest metrics (loss, evaluation) for display and resumption of bookkeeping. */
  metrics: Record<string, number>;
  /** The resolved run config, so a checkpoint is self-describing. */
  config: unknown;
  timing: { savedAt: string; trainSeconds: number };
  /** Running sums of the epoch in progress (mid-epoch checkpoints), so its summary covers all its steps. */
  epochAccumulator?: EpochAccumulator;
  /** Summaries of the finished epochs, so re-running a finished epoch (a retried activity) returns its result. */
  history?: EpochSummary[];
}

export interface CheckpointContents {
  weights: NamedArray[];
  optimizer: OptimizerState;
  state: TrainingState;
  /** training.averageWeights: the average so far (absent before its first epoch, or when averaging is off). */
  average?: WeightAverage | null;
  /** Trained weights of the loss itself (the CosFace class matrix), absent when the loss has none. */
  lossWeights?: NamedArray[] | null;
}
