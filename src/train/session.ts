// A training session: the model, optimiser, batch source and state of one run, restored from the
// newest valid checkpoint when there is one. The training activity keeps one across its epochs and
// calls session.trainEpoch(epoch); a crashed activity simply creates a new session.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import path from 'node:path';
import type { RunConfig } from '../config/schema';
import { createOptimizer, type Optimizer } from './optimizers';
import { learningRateAt } from './schedule';
import { loadLatestCheckpoint } from './checkpoint';
import { setModelWeightsFromArrays, modelWeightsToArrays } from './weights';
import { trainEpoch, type EpochOptions, type TrainContext } from './trainer';
import type { BatchSource, EpochSummary, TrainingState } from './state';
import { defaultEmbed, type EmbedFn, type LossFn } from './step';
import { loadExportedModel } from './export';
import { datasetBatchSource, runDataOf, type RunData } from './dataset-source';
import { buildEmbeddingModel } from '../model';
import { trainingLoss } from '../loss';
import { loadCachedDataset, type CachedDataset, type Sampler } from '../data';
import { readBest } from './best';
import { CLASS_MATRIX_NAME, classHeadToArrays, createClassHead, setClassHeadFromArrays, type TrainableClassHead } from './class-head';

export interface SessionOptions {
  config: RunConfig;
  /** runs/<id>: checkpoints go to <runDir>/checkpoints. */
  runDir: string;
  /** The preprocessed dataset (or its cache folder): gives the batch source, input shape and normalisation. */
  dataset?: CachedDataset;
  cachePath?: string;
  /** Deterministic batches for (epoch, step); default: the dataset's sampler + assembleBatch. */
  source?: BatchSource;
  /** Input [h, w, c] when there is no dataset (with `source`). */
  inputShape?: [number, number, number];
  /** Builds the (untrained, seeded) model; default buildEmbeddingModel(config.model, input shape, training.seed). */
  buildModel?: (config: RunConfig, inputShape: [number, number, number]) => LayersModel;
  /** Default: trainingLoss with config.loss (and the CosFace class matrix when loss.cosFaceWeight > 0). */
  lossFn?: LossFn;
  /** The people the CosFace loss classifies, as the labels of the training images; default: those the dataset's sampler draws. */
  trainLabels?: Iterable<number>;
  /** Training-mode forward pass; default model.apply(x, { training }). */
  embed?: EmbedFn;
}

export interface TrainingSession {
  readonly model: LayersModel;
  readonly optimizer: Optimizer;
  readonly state: TrainingState;
  readonly checkpointsDir: string;
  /** Name of the checkpoint this session was restored from, or null for a fresh start. */
  readonly resumedFrom: string | null;
  /** Damaged checkpoints skipped and temp dirs cleaned while loading. */
  readonly warnings: string[];
  /** With a dataset: the split, and the normalisation applied (for the export sidecar and evaluation). */
  readonly data: RunData | null;
  readonly source: BatchSource;
  /**
   * Runs epoch `epoch` (counted from 1), continuing mid-epoch when the state is there; its checkpoint is on
   * disk when it returns. An epoch already done returns its recorded summary.
   */
  trainEpoch(epoch: number, opts?: EpochOptions): Promise<EpochSummary>;
  dispose(): void;
}


export async function createTrainingSession(deps: SessionOptions): Promise<TrainingSession> {
  const { config } = deps;
  const checkpointsDir = path.join(deps.runDir, 'checkpoints');
  const data = await resolveData(deps);
  const datasetSource = !deps.source && data ? datasetBatchSource({ ...data, trainIndices: data.split.trainIndices, config }) : null;
  const source = deps.source ?? datasetSource;
  if (!source) throw new Error('createTrainingSession needs a dataset, a cachePath or a batch source.');
  const inputShape = data ? ([data.dataset.height, data.dataset.width, data.dataset.channels] as [number, number, number]) : deps.inputShape;
  if (!inputShape) throw new Error('createTrainingSession needs inputShape when it is given a batch source without a dataset.');
  const buildModel = deps.buildModel ?? defaultBuildModel;
  const model = buildModel(config, inputShape);
  let head: TrainableClassHead | null;
  try {
    head = createHeadIfUsed(config, model, deps.trainLabels ?? (data && datasetSource ? sampledLabels(data, datasetSource.sampler) : undefined));
  } catch (err) {
    model.dispose();
    throw err;
  }
  const lossFn = deps.lossFn ?? ((e: tf.Tensor2D, l: tf.Tensor1D) => trainingLoss(e, l, config.loss, head ?? undefined));
  const params = model.trainableWeights.map((w) => ({ name: w.originalName ?? w.name, variable: w.read() as tf.Variable }));
  if (head) params.push({ name: CLASS_MATRIX_NAME, variable: head.classMatrix });
  const optimizer = createOptimizer(config.optimizer, params);
  const stepsPerEpoch = source.stepsPerEpoch;

  let restored: { loaded: Awaited<ReturnType<typeof loadLatestCheckpoint>>; state: TrainingState };
  try {
    restored = await restoreOrInit(deps, model, head, optimizer, checkpointsDir, stepsPerEpoch);
  } catch (err) {
    // Nothing of a half-built session may outlive it (tensors are not garbage-collected).
    optimizer.dispose();
    model.dispose();
    head?.dispose();
    throw err;
  }
  const { loaded, state } = restored;
  const best = await readBest(checkpointsDir);
  if (best) state.best = best;

  const ctx: TrainContext = {
    model,
    params: params.map((p) => p.variable),
    optimizer,
    source,
    lossFn,
    embed: deps.embed ?? defaultEmbed,
    clipGradNorm: config.optimizer.clipGradNorm,
    schedule: config.schedule,
    baseLearningRate: config.optimizer.learningRate,
    totalEpochs: config.training.epochs,
    checkpointsDir,
    keepLastCheckpoints: config.training.keepLastCheckpoints,
    checkpointEverySteps: config.training.checkpointEverySteps,
    state,
    averageWeights: config.training.averageWeights,
    average: loaded.checkpoint?.average ?? null,
    lossWeights: head ? () => classHeadToArrays(head) : null,
  };

  return {
    model,
    optimizer,
    get state() {
      return ctx.state;
    },
    checkpointsDir,
    resumedFrom: loaded.checkpoint?.name ?? null,
    warnings: loaded.warnings,
    data,
    source,
    async trainEpoch(epoch, opts) {
      if (epoch <= ctx.state.epoch) {
        const done = ctx.state.history?.find((h) => h.epoch === epoch);
        if (done) return done;
        throw new Error(`Epoch ${epoch} was already trained (the checkpoint is after epoch ${ctx.state.epoch}) and its summary is not in the state.`);
      }
      if (epoch > ctx.state.epoch + 1) {
        throw new Error(`Cannot train epoch ${epoch}: the latest checkpoint continues with epoch ${ctx.state.epoch + 1}; train the epochs in order.`);
      }
      return trainEpoch(ctx, epoch, opts);
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
      head?.dispose();
    },
  };
}

/** Restores model, optimiser and state from the newest valid checkpoint, or starts fresh (optionally from config.model.initFrom). */
async function restoreOrInit(
  deps: SessionOptions,
  model: LayersModel,
  head: TrainableClassHead | null,
  optimizer: Optimizer,
  checkpointsDir: string,
  stepsPerEpoch: number,
): Promise<{ loaded: Awaited<ReturnType<typeof loadLatestCheckpoint>>; state: TrainingState }> {
  const { config } = deps;
  const loaded = await loadLatestCheckpoint(checkpointsDir);
  let state: TrainingState;
  if (loaded.checkpoint) {
    const ck = loaded.checkpoint;
    setModelWeightsFromArrays(model, ck.weights, path.join(ck.path, 'weights.json'));
    if (head) setClassHeadFromArrays(head, ck.lossWeights, ck.path);
    optimizer.importState(ck.optimizer);
    state = ck.state;
    if (state.stepsPerEpoch !== stepsPerEpoch && state.step > 0) {
      throw new Error(`Checkpoint ${ck.path} is mid-epoch with ${state.stepsPerEpoch} steps per epoch, but the batch source now has ${stepsPerEpoch}; resume with the same sampler settings.`);
    }
  } else {
    if (config.model.initFrom) await initFromExport(model, config.model.initFrom);
    state = {
      epoch: 0,
      step: 0,
      globalStep: 0,
      stepsPerEpoch,
      learningRate: learningRateAt(config.schedule, config.optimizer.learningRate, 0, 0, stepsPerEpoch, config.training.epochs),
      rng: { seed: config.training.seed, states: {} },
      sampler: { epoch: 0, step: 0 },
      best: null,
      metrics: {},
      config,
      timing: { savedAt: '', trainSeconds: 0 },
    };
  }
  return { loaded, state };
}

/** The people the sampler draws (the training split less those it cannot use, e.g. one-photo people without singleImageNegatives). */
function sampledLabels(data: RunData, sampler: Sampler): number[] {
  const excluded = new Set(sampler.excludedIdentities);
  return data.split.trainIndices.map((i) => data.dataset.labels[i]!).filter((label) => !excluded.has(label));
}

/** The CosFace class matrix, when config.loss uses it: one row per training person, as wide as the model's output. */
function createHeadIfUsed(config: RunConfig, model: LayersModel, trainLabels: Iterable<number> | undefined): TrainableClassHead | null {
  if (config.loss.cosFaceWeight === 0) return null;
  if (!trainLabels) throw new Error('The CosFace loss needs the training labels: give createTrainingSession a dataset or trainLabels.');
  const dim = model.outputs[0]!.shape[1];
  if (typeof dim !== 'number') throw new Error('The model\'s output has no fixed embedding size.');
  return createClassHead(trainLabels, dim, config.training.seed);
}

function defaultBuildModel(config: RunConfig, inputShape: [number, number, number]): LayersModel {
  return buildEmbeddingModel({ ...config.model, inputShape, seed: config.training.seed });
}

async function resolveData(o: SessionOptions): Promise<RunData | null> {
  const dataset = o.dataset ?? (o.cachePath ? await loadCachedDataset(o.cachePath) : null);
  return dataset ? runDataOf(dataset, o.config) : null;
}

/** config.model.initFrom: an exported model directory or its model.json; weights copied by position. */
async function initFromExport(model: LayersModel, initFrom: string): Promise<void> {
  const dir = initFrom.endsWith('.json') ? path.dirname(initFrom) : initFrom;
  const src = await loadExportedModel(dir);
  try {
    setModelWeightsFromArrays(model, modelWeightsToArrays(src.model), `model.initFrom ${initFrom}`);
  } finally {
    src.model.dispose();
  }
}
