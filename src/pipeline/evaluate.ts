// Step 4: verification metrics of the model after `epoch` on the run's test pairs (and, for LFW, also
// the View 2 10-fold protocol at the final evaluation). Results are files in runs/<id>/eval/; the
// workflow gets a few numbers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { RunConfig } from '../config/schema';
import { assembleBatch, resolveSplit, type CachedDataset, type Normalization, type TestPair } from '../data';
import { averageAndRenormalize, distancesForPairs, evaluateKFold, evaluateVerification, type KFoldReport, type VerificationReport } from '../eval';
import { checkpointName, embedBatches, type TrainingSession } from '../train';
import { readMetricsLog, upsertMetricsRow } from '../run/metrics-log';
import { readRunConfig, runPaths } from '../run/run-dir';
import { writeJsonAtomic } from '../util/durable-fs';
import { openSession } from './sessions';
import { trainRunEpochs } from './train';
import type { ProgressFn } from './data';

export interface EvalResult {
  epoch: number;
  accuracy: number;
  auc: number;
  eer: number;
  threshold: number;
  tarAtFar1e2: number | null;
  resultPath: string;
}

/** What eval/epoch-NNNN.json holds. */
export interface EvalFile {
  epoch: number;
  checkpoint: string;
  protocol: string;
  /** Metrics on the run's test pairs; the threshold is chosen on those same pairs (config evaluation.threshold). */
  verification: VerificationReport;
  /** k-fold protocol (threshold chosen on the other folds), when the pairs come in folds. */
  kfold: KFoldReport | null;
  /** LFW trained on View 1: View 2 (pairs.txt) 10-fold, whose people overlap the training people. */
  view2: KFoldReport | null;
  embedding: { images: number; seconds: number; imagesPerSecond: number; flipTTA: boolean };
  /** For plots: pair distances and labels, and the test embeddings with their identities. */
  plotData: { distances: number[]; same: boolean[]; embeddings: number[]; dim: number; identities: string[] };
}

export function evalPath(runDir: string, epoch: number): string {
  return join(runPaths(runDir).evalDir, `epoch-${String(epoch).padStart(4, '0')}.json`);
}

/** Embeddings of `indices` in inference mode; with flip TTA, averaged with the mirror image's and re-normalised. */
export function embedImages(model: LayersModel, ds: CachedDataset, indices: number[], config: RunConfig, norm: Normalization): Float32Array {
  const batchOf = (flip: boolean) => (start: number, end: number) => {
    const b = assembleBatch(ds, indices.slice(start, end), config.preprocess, norm, null);
    const x = tf.tensor4d(b.data, b.shape);
    if (!flip) return x;
    const mirrored = tf.reverse(x, 2);
    x.dispose();
    return mirrored as tf.Tensor4D;
  };
  const plain = embedBatches(model, indices.length, config.evaluation.batchSize, batchOf(false));
  if (!config.evaluation.flipTTA) return plain;
  const mirrored = embedBatches(model, indices.length, config.evaluation.batchSize, batchOf(true));
  return averageAndRenormalize(plain, mirrored, plain.length / Math.max(indices.length, 1));
}

/** Pair distances, with pair image indices mapped to rows of an embedding matrix of `indices`. */
function pairDistances(emb: Float32Array, dim: number, indices: number[], pairs: TestPair[], kind: RunConfig['loss']['distance']): Float64Array {
  const row = new Map(indices.map((datasetIndex, i) => [datasetIndex, i]));
  const mapped = pairs.map((p) => ({ a: row.get(p.a) as number, b: row.get(p.b) as number }));
  return distancesForPairs(emb, dim, mapped, kind);
}

export async function evaluateRun(
  runDir: string,
  epoch: number,
  cachePath: string,
  opts: { onProgress?: ProgressFn; final?: boolean } = {},
): Promise<EvalResult> {
  // Idempotent: an evaluation already written (a retried activity, a resumed run) is read back.
  const resultPath = evalPath(runDir, epoch);
  if (existsSync(resultPath)) {
    const done = JSON.parse(readFileSync(resultPath, 'utf8')) as EvalFile;
    if (!opts.final || done.view2 !== null || !needsView2(readRunConfig(runDir))) return summarize(done, resultPath);
  }
  const { session, config } = await sessionAtEpoch(runDir, epoch, cachePath, opts.onProgress);
  const data = session.data;
  if (!data) throw new Error('The training session has no dataset; evaluation needs the cached dataset.');
  const { dataset, split, normalization } = data;
  const model = session.model;
  const dim = config.model.embeddingDim;
  opts.onProgress?.({ phase: 'embedding', epoch, images: split.testIndices.length });

  const started = Date.now();
  const emb = embedImages(model, dataset, split.testIndices, config, normalization);
  const seconds = (Date.now() - started) / 1000;
  const distances = pairDistances(emb, dim, split.testIndices, split.testPairs, config.loss.distance);
  const same = split.testPairs.map((p) => p.same);
  const farTargets = config.evaluation.farTargets;
  const verification = evaluateVerification(distances, same, { criterion: config.evaluation.threshold, farTargets });
  const folds = split.testPairs.map((p) => p.fold);
  const kfold = new Set(folds).size > 1 ? evaluateKFold(distances, same, folds, { farTargets }) : null;

  let view2: KFoldReport | null = null;
  if (opts.final && needsView2(config)) {
    opts.onProgress?.({ phase: 'embedding View 2', epoch });
    const v2 = await resolveSplit(dataset, { ...config.dataset, split: { kind: 'lfw', view: 'view2', fold: 0 } });
    const v2emb = embedImages(model, dataset, v2.testIndices, config, normalization);
    const v2dist = pairDistances(v2emb, dim, v2.testIndices, v2.testPairs, config.loss.distance);
    view2 = evaluateKFold(v2dist, v2.testPairs.map((p) => p.same), v2.testPairs.map((p) => p.fold), { farTargets });
  }

  // The epoch's checkpoint may still be being written on the checkpoint thread (the training activity
  // left it to overlap this evaluation's embedding). The evaluation is recorded, and the checkpoint
  // possibly named best, only once it is whole on disk.
  await session.flushCheckpoint();

  const file: EvalFile = {
    epoch,
    checkpoint: checkpointName(epoch),
    protocol: describeProtocol(config),
    verification,
    kfold,
    view2,
    embedding: { images: split.testIndices.length, seconds, imagesPerSecond: split.testIndices.length / Math.max(seconds, 1e-9), flipTTA: config.evaluation.flipTTA },
    plotData: {
      distances: Array.from(distances, (d) => Math.round(d * 1e6) / 1e6),
      same,
      embeddings: Array.from(emb, (v) => Math.round(v * 1e5) / 1e5),
      dim,
      identities: split.testIndices.map((i) => dataset.identities[dataset.labels[i] as number] as string),
    },
  };
  writeJsonAtomic(resultPath, file);

  const result = summarize(file, resultPath);
  upsertMetricsRow(runPaths(runDir).metrics, { epoch, accuracy: result.accuracy, auc: result.auc, eer: result.eer, threshold: result.threshold });
  await session.recordEvaluation({ metric: 'accuracy', value: result.accuracy, threshold: result.threshold });
  return result;
}

/**
 * The run's session at the end of `epoch`. When that epoch's checkpoint was written in the background and
 * lost with its process (the worker died before the write landed), the session restored from disk is
 * behind: the epochs the metrics log says were trained are retrained from the checkpoint before them,
 * which is deterministic, so the evaluated weights are those the lost checkpoint held.
 */
async function sessionAtEpoch(runDir: string, epoch: number, cachePath: string, onProgress?: ProgressFn): Promise<{ session: TrainingSession; config: RunConfig }> {
  let { session, config } = await openSession(runDir, cachePath);
  const behind = session.state.epoch < epoch;
  if (behind && trainedEpochsLogged(runDir, session.state.epoch + 1, epoch)) {
    onProgress?.({ phase: 'retraining epochs whose checkpoint was lost', epoch, from: session.state.epoch + 1 });
    await trainRunEpochs(runDir, session.state.epoch + 1, epoch, cachePath, { onProgress, deferLastCheckpoint: true });
    ({ session, config } = await openSession(runDir, cachePath));
  }
  if (session.state.epoch !== epoch || session.state.step !== 0) {
    throw new Error(
      `Evaluation of epoch ${epoch} needs checkpoint ${checkpointName(epoch)}, but the run's latest valid checkpoint is ` +
        `${checkpointName(session.state.epoch, session.state.step)}` +
        (session.state.epoch < epoch ? ` and the metrics log does not show epoch ${epoch} as trained: train it first.` : '.'),
    );
  }
  return { session, config };
}

/** True when metrics.csv has a training row (a loss) for every epoch first..last. */
function trainedEpochsLogged(runDir: string, first: number, last: number): boolean {
  const trained = new Set(readMetricsLog(runPaths(runDir).metrics).filter((r) => Number.isFinite(r.loss)).map((r) => r.epoch));
  for (let e = first; e <= last; e++) if (!trained.has(e)) return false;
  return true;
}

/** LFW trained on View 1 is also scored on View 2 at the end, as the reference reported it. */
function needsView2(config: RunConfig): boolean {
  return config.dataset.split.kind === 'lfw' && config.dataset.split.view === 'view1';
}

/** The headline numbers: k-fold figures when the protocol has folds, else those of the single test set. */
function summarize(file: EvalFile, resultPath: string): EvalResult {
  const { verification, kfold } = file;
  const tar1e2 = verification.tarAtFar.find((t) => t.farTarget === 1e-2);
  return {
    epoch: file.epoch,
    accuracy: kfold ? kfold.accuracy.mean : verification.accuracy,
    auc: verification.auc,
    eer: verification.eer,
    threshold: kfold ? kfold.threshold.mean : verification.threshold,
    tarAtFar1e2: tar1e2 ? tar1e2.tar : null,
    resultPath,
  };
}

function describeProtocol(config: RunConfig): string {
  const split = config.dataset.split;
  const rule = config.evaluation.threshold === 'youden' ? "Youden's J" : 'best accuracy';
  if (split.kind === 'att-subjects') {
    return `AT&T: all unordered pairs of the held-out subjects' images; threshold by ${rule} on those pairs`;
  }
  return split.view === 'view1'
    ? `LFW View 1: pairsDevTest (people disjoint from peopleDevTrain); threshold by ${rule} on those pairs`
    : `LFW View 2: pairs.txt 10-fold, training without fold ${split.fold}'s people; thresholds from the other folds`;
}
