// One epoch of training: steps from a deterministic batch source, progress callbacks (the activity
// heartbeats from them and may throw to cancel), a tensor-leak guard, and a checkpoint at the end unless
// the caller trains on (and every N steps, and on cancellation when asked). Every checkpoint is whole on
// disk when the function that writes it returns.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ScheduleConfig } from '../config/schema';
import { learningRateAt } from './schedule';
import { trainStep, type EmbedFn, type LossFn } from './step';
import { TensorLeakError } from './errors';
import type { Optimizer } from './optimizers';
import { writeCheckpointAndPrune } from './checkpoint';
import { modelWeightsToArrays } from './weights';
import { readBest } from './best';
import { averageAfterEpoch, type AverageConfig, type WeightAverage } from './weight-average';
import type { NamedArray } from './tensor-file';
import type { BatchSource, EpochAccumulator, EpochSummary, StepProgress, TrainingState } from './state';

export interface TrainContext {
  model: LayersModel;
  params: tf.Variable[];
  optimizer: Optimizer;
  source: BatchSource;
  lossFn: LossFn;
  embed: EmbedFn;
  clipGradNorm: number | null;
  schedule: ScheduleConfig;
  baseLearningRate: number;
  totalEpochs: number;
  checkpointsDir: string;
  keepLastCheckpoints: number;
  checkpointEverySteps: number | null;
  /** Training state; updated in place as steps are taken and checkpoints written. */
  state: TrainingState;
  averageWeights: AverageConfig;
  /** The weight average after the last finished epoch (null before averaging starts); updated at every epoch end. */
  average: WeightAverage | null;
  /** The loss's own trained weights (the CosFace class matrix) for the checkpoint, or null when it has none. */
  lossWeights: (() => NamedArray[]) | null;
}

export interface EpochOptions {
  /** Progress after every step. May throw to cancel (e.g. a Temporal CancelledFailure). */
  onStep?: (p: StepProgress) => void | Promise<void>;
  /**
   * On a throw from onStep, whether to write a checkpoint of the steps done before rethrowing. Default: always.
   * The activity declines when it was not asked to stop but lost its attempt (timed out, or no longer known to
   * the server): the run has moved on without it, and a checkpoint written now would be a stale leftover.
   */
  checkpointOnCancel?: (err: unknown) => boolean;
  /** Throw TensorLeakError when the live-tensor count grows across a step. Default true. */
  leakGuard?: boolean;
  /**
   * Write the epoch-end checkpoint. Default true. False for an epoch that the same call chain follows with
   * another (a crash then redoes it from the checkpoint before, deterministically).
   */
  checkpoint?: boolean;
}

/**
 * Trains epoch `epoch` (counted from 1) to its end, writes its checkpoint (opts.checkpoint) and returns the summary. It
 * starts where the state is (mid-epoch after a resumed mid-epoch checkpoint), never at a step given from
 * outside: steps done after the last checkpoint are lost with the process and are redone.
 */
export async function trainEpoch(ctx: TrainContext, epoch: number, opts: EpochOptions = {}): Promise<EpochSummary> {
  if (ctx.state.epoch !== epoch - 1) {
    throw new Error(`Cannot train epoch ${epoch}: the training state continues with epoch ${ctx.state.epoch + 1}.`);
  }
  const index = epoch - 1; // the sampler's and the schedule's 0-based epoch
  const stepsPerEpoch = ctx.source.stepsPerEpoch;
  const startStep = ctx.state.step;
  if (startStep > stepsPerEpoch) {
    throw new Error(`The state is at step ${startStep} of epoch ${epoch}, but the batch source has only ${stepsPerEpoch} steps per epoch.`);
  }
  const acc: EpochAccumulator =
    startStep > 0 && ctx.state.epochAccumulator ? { ...ctx.state.epochAccumulator } : { lossSum: 0, activeSum: 0, steps: 0, images: 0, seconds: 0 };
  const leakGuard = opts.leakGuard ?? true;
  let lr = ctx.state.learningRate;

  for (let step = startStep; step < stepsPerEpoch; step++) {
    const t0 = performance.now();
    const before = tf.memory().numTensors;
    lr = learningRateAt(ctx.schedule, ctx.baseLearningRate, index, step, stepsPerEpoch, ctx.totalEpochs);
    const batch = ctx.source.batch(index, step);
    const images = batch.x.shape[0];
    let result;
    try {
      result = trainStep(ctx, batch.x, batch.labels, lr, { epoch, step: step + 1 });
    } finally {
      tf.dispose([batch.x, batch.labels]);
    }
    const after = tf.memory().numTensors;

    const seconds = (performance.now() - t0) / 1000;
    acc.lossSum += result.loss;
    acc.activeSum += result.activeFraction;
    acc.steps += 1;
    acc.images += images;
    acc.seconds += seconds;
    advance(ctx, index, step + 1, lr, acc);
    ctx.state.timing.trainSeconds += seconds;
    // After advancing: the update was applied, so state and weights stay consistent even when this throws.
    if (leakGuard && after > before) throw new TensorLeakError(after - before, step + 1);

    try {
      await opts.onStep?.({ epoch, step: step + 1, stepsPerEpoch, loss: result.loss, activeFraction: result.activeFraction, lr, imagesPerSecond: images / Math.max(seconds, 1e-9) });
    } catch (err) {
      // Even after the last step: resuming at (epoch, stepsPerEpoch) just writes the epoch-end checkpoint.
      if (opts.checkpointOnCancel?.(err) ?? true) await saveCheckpoint(ctx);
      throw err;
    }
    const every = ctx.checkpointEverySteps;
    if (every !== null && (step + 1) % every === 0 && step + 1 < stepsPerEpoch) await saveCheckpoint(ctx);
  }

  // Epoch boundary: `epoch` epochs done, step 0 of the next.
  ctx.state.epoch = epoch;
  ctx.state.step = 0;
  ctx.state.sampler = { epoch, step: 0 };
  ctx.state.epochAccumulator = undefined;
  const summary: EpochSummary = {
    epoch,
    meanLoss: acc.steps > 0 ? acc.lossSum / acc.steps : NaN,
    meanActiveFraction: acc.steps > 0 ? acc.activeSum / acc.steps : NaN,
    lr,
    imagesPerSecond: acc.images / Math.max(acc.seconds, 1e-9),
    seconds: acc.seconds,
  };
  ctx.state.metrics = { ...ctx.state.metrics, loss: summary.meanLoss, activeFraction: summary.meanActiveFraction };
  ctx.state.history = [...(ctx.state.history ?? []), summary];
  if (ctx.averageWeights.kind !== 'none') ctx.average = averageAfterEpoch(ctx.averageWeights, epoch, ctx.average, modelWeightsToArrays(ctx.model));
  if (opts.checkpoint ?? true) await saveCheckpoint(ctx);
  return summary;
}

function advance(ctx: TrainContext, index: number, nextStep: number, lr: number, acc: EpochAccumulator): void {
  ctx.state.epoch = index;
  ctx.state.step = nextStep;
  ctx.state.globalStep += 1;
  ctx.state.stepsPerEpoch = ctx.source.stepsPerEpoch;
  ctx.state.learningRate = lr;
  ctx.state.sampler = { epoch: index, step: nextStep };
  ctx.state.epochAccumulator = { ...acc };
}

/** Writes a checkpoint of the current state and prunes old ones; returns its path once it is whole on disk. */
export async function saveCheckpoint(ctx: TrainContext): Promise<string> {
  ctx.state.timing = { ...ctx.state.timing, savedAt: new Date().toISOString() };
  // An evaluation (another activity, maybe another process) may have named a new best since this session started.
  const best = await readBest(ctx.checkpointsDir);
  if (best) ctx.state.best = best;
  const contents = {
    weights: modelWeightsToArrays(ctx.model),
    optimizer: ctx.optimizer.exportState(),
    state: ctx.state,
    average: ctx.average,
    lossWeights: ctx.lossWeights?.() ?? null,
  };
  // The best checkpoint is never pruned; the one a run resumed from is pruned like any other once newer ones exist.
  return writeCheckpointAndPrune(ctx.checkpointsDir, contents, ctx.keepLastCheckpoints, ctx.state.best ? [ctx.state.best.checkpoint] : []);
}
