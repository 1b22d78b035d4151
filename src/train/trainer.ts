// One epoch of training: steps from a deterministic batch source, progress callbacks (the activity
// heartbeats from them and may throw to cancel), a tensor-leak guard, and a checkpoint at the end
// (and every N steps, and on cancellation when asked).
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ScheduleConfig } from '../config/schema';
import { learningRateAt } from './schedule';
import { trainStep, type EmbedFn, type LossFn } from './step';
import { TensorLeakError } from './errors';
import type { Optimizer } from './optimizers';
import { writeCheckpointAndPrune, checkpointName, type CheckpointContents, type TrainingState } from './checkpoint';
import { modelWeightsToArrays } from './weights';
import { writeCheckpointOffThread } from './checkpoint-writer';
import { readBest } from './best';

/** One training batch; created by the source for each step and disposed by the trainer. */
export interface TrainBatch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
}

/**
 * Where batches come from. Must be a pure function of (epoch, step) — sampler order and augmentation
 * derived from the run seed — so a resumed run sees exactly the batches an uninterrupted one would.
 */
export interface BatchSource {
  stepsPerEpoch: number;
  batch(epoch: number, step: number): TrainBatch;
}

export interface StepProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  activeFraction: number;
  lr: number;
  imagesPerSecond: number;
}

export interface EpochSummary {
  epoch: number;
  meanLoss: number;
  meanActiveFraction: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
  checkpointPath: string;
}

/** Running sums of the epoch in progress; stored in the state so a mid-epoch resume reports the whole epoch. */
export interface EpochAccumulator {
  lossSum: number;
  activeSum: number;
  steps: number;
  images: number;
  seconds: number;
}

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
  /** Checkpoint names never pruned (the one resumed from). The best one is protected via state.best. */
  protect: Set<string>;
  /** An epoch-end checkpoint still being written in the background (deferCheckpoint), if any. */
  pendingSave?: PendingSave | null;
}

interface PendingSave {
  name: string;
  done: Promise<void>;
  /** Set when the background write failed; the next save or flush throws it. */
  error: Error | null;
}

export interface TrainEpochOptions {
  /** Progress after every step. May throw to cancel (e.g. a Temporal CancelledFailure). */
  onStep?: (p: StepProgress) => void | Promise<void>;
  /** On a throw from onStep, write a checkpoint of the steps done before rethrowing. Default true. */
  checkpointOnCancel?: boolean;
  /** Throw TensorLeakError when the live-tensor count grows across a step. Default true. */
  leakGuard?: boolean;
  /**
   * Return as soon as the epoch-end checkpoint's contents are copied, and write it while the next epoch
   * trains (it is awaited before the next checkpoint, and by flushCheckpoint). The caller must then
   * tolerate losing this checkpoint to a crash: the next epoch resumes from the previous one and redoes
   * this epoch, which is deterministic. Default false.
   */
  deferCheckpoint?: boolean;
}

/**
 * Runs epoch `epoch` (0-based) to its end and returns the summary. It starts where the state is
 * (mid-epoch after a resumed mid-epoch checkpoint), never at a step given from outside: steps done
 * after the last checkpoint (e.g. reported in a heartbeat) are lost with the process and are redone.
 */
export async function trainEpoch(ctx: TrainContext, epoch: number, opts: TrainEpochOptions = {}): Promise<EpochSummary> {
  // The previous epoch's background write already failed: do not train on top of an unsaved epoch.
  if (ctx.pendingSave?.error) await flushCheckpoint(ctx);
  const stepsPerEpoch = ctx.source.stepsPerEpoch;
  const resumingHere = ctx.state.epoch === epoch && ctx.state.step > 0;
  const startStep = resumingHere ? ctx.state.step : 0;
  if (startStep > stepsPerEpoch) {
    throw new Error(`The state is at step ${startStep} of epoch ${epoch}, but the batch source has only ${stepsPerEpoch} steps per epoch.`);
  }
  const acc: EpochAccumulator =
    resumingHere && ctx.state.epochAccumulator ? { ...ctx.state.epochAccumulator } : { lossSum: 0, activeSum: 0, steps: 0, images: 0, seconds: 0 };
  const leakGuard = opts.leakGuard ?? true;
  let lr = ctx.state.learningRate;

  for (let step = startStep; step < stepsPerEpoch; step++) {
    const t0 = performance.now();
    const before = tf.memory().numTensors;
    lr = learningRateAt(ctx.schedule, ctx.baseLearningRate, epoch, step, stepsPerEpoch, ctx.totalEpochs);
    const batch = ctx.source.batch(epoch, step);
    const images = batch.x.shape[0];
    let result;
    try {
      result = trainStep(ctx, batch.x, batch.labels, lr, { epoch, step });
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
    advance(ctx, epoch, step + 1, lr, acc);
    ctx.state.timing.trainSeconds += seconds;
    // After advancing: the update was applied, so state and weights stay consistent even when this throws.
    if (leakGuard && after > before) throw new TensorLeakError(after - before, step);

    try {
      await opts.onStep?.({ epoch, step, stepsPerEpoch, loss: result.loss, activeFraction: result.activeFraction, lr, imagesPerSecond: images / Math.max(seconds, 1e-9) });
    } catch (err) {
      // Even after the last step: resuming at (epoch, stepsPerEpoch) just writes the epoch-end checkpoint.
      if (opts.checkpointOnCancel ?? true) await saveCheckpoint(ctx);
      throw err;
    }
    const every = ctx.checkpointEverySteps;
    if (every !== null && (step + 1) % every === 0 && step + 1 < stepsPerEpoch) await saveCheckpoint(ctx);
  }

  const summary: Omit<EpochSummary, 'checkpointPath'> = {
    epoch,
    meanLoss: acc.steps > 0 ? acc.lossSum / acc.steps : NaN,
    meanActiveFraction: acc.steps > 0 ? acc.activeSum / acc.steps : NaN,
    lr,
    imagesPerSecond: acc.images / Math.max(acc.seconds, 1e-9),
    seconds: acc.seconds,
  };
  // Epoch boundary: position (epoch + 1, 0).
  ctx.state.epoch = epoch + 1;
  ctx.state.step = 0;
  ctx.state.sampler = { epoch: epoch + 1, step: 0 };
  ctx.state.epochAccumulator = undefined;
  ctx.state.metrics = { ...ctx.state.metrics, loss: summary.meanLoss, activeFraction: summary.meanActiveFraction };
  const checkpointPath = path.join(ctx.checkpointsDir, checkpointName(epoch + 1));
  const full: EpochSummary = { ...summary, checkpointPath };
  ctx.state.history = [...(ctx.state.history ?? []), full];
  if (opts.deferCheckpoint) await startCheckpoint(ctx);
  else await saveCheckpoint(ctx);
  return full;
}

function advance(ctx: TrainContext, epoch: number, nextStep: number, lr: number, acc: EpochAccumulator): void {
  ctx.state.epoch = epoch;
  ctx.state.step = nextStep;
  ctx.state.globalStep += 1;
  ctx.state.stepsPerEpoch = ctx.source.stepsPerEpoch;
  ctx.state.learningRate = lr;
  ctx.state.sampler = { epoch, step: nextStep };
  ctx.state.epochAccumulator = { ...acc };
}

/** Writes a checkpoint of the current state (after any background write has finished) and prunes old ones; returns its path. */
export async function saveCheckpoint(ctx: TrainContext): Promise<string> {
  await flushCheckpoint(ctx);
  const contents = await snapshot(ctx);
  return writeCheckpointAndPrune(ctx.checkpointsDir, contents, ctx.keepLastCheckpoints, keptFromPruning(ctx, contents));
}

/**
 * Copies the current weights, optimiser slots and state, and writes them as a checkpoint on a worker
 * thread: the write (tens of MB, hashed and fsynced) then overlaps the next epoch's steps instead of
 * adding to the epoch's time. A failure is kept and thrown by the next save or flushCheckpoint.
 */
async function startCheckpoint(ctx: TrainContext): Promise<void> {
  await flushCheckpoint(ctx);
  const contents = await snapshot(ctx);
  const pending: PendingSave = { name: checkpointName(contents.state.epoch, contents.state.step), done: Promise.resolve(), error: null };
  pending.done = writeCheckpointOffThread(ctx.checkpointsDir, contents, ctx.keepLastCheckpoints, keptFromPruning(ctx, contents)).then(
    () => undefined,
    (err: unknown) => {
      pending.error = err instanceof Error ? err : new Error(String(err));
    },
  );
  ctx.pendingSave = pending;
}

/** Waits for a background checkpoint write; throws its error if it failed (once: the state is then unsaved). */
export async function flushCheckpoint(ctx: TrainContext): Promise<void> {
  const pending = ctx.pendingSave;
  if (!pending) return;
  await pending.done;
  ctx.pendingSave = null;
  if (pending.error) throw new Error(`Writing checkpoint ${pending.name} in the background failed: ${pending.error.message}`, { cause: pending.error });
}

/** Name of the checkpoint being written in the background, or null. */
export function pendingCheckpointName(ctx: TrainContext): string | null {
  return ctx.pendingSave?.name ?? null;
}

async function snapshot(ctx: TrainContext): Promise<CheckpointContents> {
  ctx.state.timing = { ...ctx.state.timing, savedAt: new Date().toISOString() };
  // An evaluation in another process may have named a new best since this session started.
  const best = await readBest(ctx.checkpointsDir);
  if (best) ctx.state.best = best;
  // Weights and slots are copied out of the tensors; the state is cloned, since training goes on changing it.
  return { weights: modelWeightsToArrays(ctx.model), optimizer: ctx.optimizer.exportState(), state: structuredClone(ctx.state) };
}

/** The checkpoint resumed from and the best one are never pruned. */
function keptFromPruning(ctx: TrainContext, contents: CheckpointContents): Set<string> {
  const protect = new Set(ctx.protect);
  if (contents.state.best) protect.add(contents.state.best.checkpoint);
  return protect;
}
