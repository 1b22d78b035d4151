// Step 4: verification metrics of the model after `epoch` on the run's test pairs (and, for LFW, also
// the View 2 10-fold protocol at the final evaluation). The model is read from that epoch's checkpoint
// into an inference model: evaluation never trains. Results are files in runs/<id>/eval/; the workflow
// gets a few numbers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { RunConfig } from '../config/schema';
import { assembleBatch, resolveSplit, type CachedDataset, type Normalization, type TestPair } from '../data';
import { averageAndRenormalize, distancesForPairs, evaluateKFold, evaluateVerification, stratifiedPairFolds, type KFoldReport, type VerificationReport } from '../eval';
import { checkpointName, embedBatches, loadCheckpointModel, recordBest, runDataOf } from '../train';
import { upsertMetricsRows } from '../run/metrics-log';
import { readRunConfig, runPaths } from '../run/run-dir';
import { writeJsonAtomic } from '../util/durable-fs';
import type { Sessions } from './sessions';
import type { ProgressFn } from './data';

export interface EvalResult {
  epoch: number;
  accuracy: number;
  auc: number;
  eer: number;
  threshold: number;
  /** Accuracy at thresholds chosen without the pairs they score (the protocol's folds, else 10 folds of pairs); null with too few pairs. */
  heldOutAccuracy: number | null;
  /**
   * Balanced accuracy, (TAR + 1 - FAR) / 2, on the validation identities' pairs (dataset.validationIdentities) at their
   * own (Youden) threshold: what picks the best checkpoint; null without them. Plain accuracy would not do: those
   * pairs are ~98% different-person pairs, so it rewards a checkpoint that rejects more and recognises less.
   */
  validationBalancedAccuracy: number | null;
  tarAtFar1e2: number | null;
  resultPath: string;
}

/** What eval/epoch-NNNN.json holds. */
export interface EvalFile {
  epoch: number;
  checkpoint: string;
  /** Epoch ends averaged into the evaluated weights (training.averageWeights); 0 = the checkpoint's raw weights. */
  averagedEpochs: number;
  protocol: string;
  /** Metrics on the run's test pairs; the threshold is chosen on those same pairs (config evaluation.threshold): in-sample. */
  verification: VerificationReport;
  /** k-fold protocol (threshold chosen on the other folds), when the pairs come in folds. */
  kfold: KFoldReport | null;
  /**
   * When the pairs come without folds: the same pairs dealt into 10 folds (stratifiedPairFolds), each scored at a
   * threshold chosen (by evaluation.threshold) on the other nine. The honest counterpart of `verification`.
   */
  heldOut: KFoldReport | null;
  /**
   * Held-out training identities (dataset.validationIdentities), threshold chosen on their own pairs: what picks the
   * exported checkpoint (export.checkpoint: best-validation) and its threshold. Null without a validation set.
   */
  validation: VerificationReport | null;
  /** LFW trained on View 1: View 2 (pairs.txt) 10-fold, whose people overlap the training people. */
  view2: KFoldReport | null;
  /** View 2's pair distances (full precision) and labels, so that its figures can be recomputed. */
  view2Pairs: { distances: number[]; same: boolean[]; folds: number[] } | null;
  embedding: { images: number; seconds: number; imagesPerSecond: number; flipTTA: boolean };
  /** Pair distances (full precision) and labels, for plots and for recomputing every figure; the test embeddings with their identities. */
  plotData: { distances: number[]; same: boolean[]; embeddings: number[]; dim: number; identities: string[] };
}

/** The best.json metric of runs with a validation set. */
export const VALIDATION_METRIC = 'validationBalancedAccuracy';

export function evalPath(runDir: string, epoch: number): string {
  return join(runPaths(runDir).evalDir, `epoch-${String(epoch).padStart(4, '0')}.json`);
}

/** Embeddings of `indices` in inference mode; with flip TTA, averaged with the mirror image's and re-normalised. */
export async function embedImages(model: LayersModel, ds: CachedDataset, indices: number[], config: RunConfig, norm: Normalization): Promise<Float32Array> {
  const batchOf = (flip: boolean) => (start: number, end: number) => {
    const b = assembleBatch(ds, indices.slice(start, end), config.preprocess, norm, null);
    const x = tf.tensor4d(b.data, b.shape);
    if (!flip) return x;
    const mirrored = tf.reverse(x, 2);
    x.dispose();
    return mirrored as tf.Tensor4D;
  };
  const plain = await embedBatches(model, indices.length, config.evaluation.batchSize, batchOf(false));
  if (!config.evaluation.flipTTA) return plain;
  const mirrored = await embedBatches(model, indices.length, config.evaluation.batchSize, batchOf(true));
  return averageAndRenormalize(plain, mirrored, plain.length / Math.max(indices.length, 1));
}

/** Pair distances, with pair image indices mapped to rows of an embedding matrix of `indices`. */
function pairDistances(emb: Float32Array, dim: number, indices: number[], pairs: TestPair[], kind: RunConfig['loss']['distance']): Float64Array {
  const row = new Map(indices.map((datasetIndex, i) => [datasetIndex, i]));
  const mapped = pairs.map((p) => ({ a: row.get(p.a) as number, b: row.get(p.b) as number }));
  return distancesForPairs(emb, dim, mapped, kind);
}

export async function evaluateRun(
  sessions: Sessions,
  runDir: string,
  epoch: number,
  cachePath: string,
  opts: { onProgress?: ProgressFn; final?: boolean } = {},
): Promise<EvalResult> {
  // Idempotent: an evaluation already written (a retried activity, a resumed run) is read back.
  const resultPath = evalPath(runDir, epoch);
  const config = readRunConfig(runDir);
  if (existsSync(resultPath)) {
    const done = JSON.parse(readFileSync(resultPath, 'utf8')) as EvalFile;
    if (!opts.final || done.view2 !== null || !needsView2(config)) return summarize(done, resultPath);
  }
  await sessions.backend.ensure(config);
  const { dataset, split, normalization } = await runDataOf(await sessions.dataset(cachePath), config);
  const paths = runPaths(runDir);
  const checkpointPath = join(paths.checkpoints, checkpointName(epoch));
  const { model, averagedEpochs } = await loadCheckpointModel({ config, inputShape: [dataset.height, dataset.width, dataset.channels], checkpointPath });
  try {
    const dim = config.model.embeddingDim;
    opts.onProgress?.({ phase: 'embedding', epoch, images: split.testIndices.length });
    const started = Date.now();
    const emb = await embedImages(model, dataset, split.testIndices, config, normalization);
    const seconds = (Date.now() - started) / 1000;
    const distances = pairDistances(emb, dim, split.testIndices, split.testPairs, config.loss.distance);
    const same = split.testPairs.map((p) => p.same);
    const farTargets = config.evaluation.farTargets;
    const verification = evaluateVerification(distances, same, { criterion: config.evaluation.threshold, farTargets });
    const folds = split.testPairs.map((p) => p.fold);
    const kfold = new Set(folds).size > 1 ? evaluateKFold(distances, same, folds, { farTargets }) : null;
    const pairFolds = kfold ? null : stratifiedPairFolds(same);
    const heldOut = pairFolds ? evaluateKFold(distances, same, pairFolds, { farTargets, criterion: config.evaluation.threshold }) : null;

    let validation: VerificationReport | null = null;
    if (split.validationPairs.length > 0) {
      opts.onProgress?.({ phase: 'embedding the validation images', epoch, images: split.validationIndices.length });
      const vemb = await embedImages(model, dataset, split.validationIndices, config, normalization);
      const vdist = pairDistances(vemb, dim, split.validationIndices, split.validationPairs, config.loss.distance);
      // Youden's J whatever evaluation.threshold says: these are all pairs of a few people's images, mostly
      // different-person pairs (LFW's 50 people: 2% same), and the most accurate threshold on them says "different"
      // to nearly everything (LFW: 0.55 on pairsDevTest's balanced pairs, against 0.87 at J's). On balanced pairs
      // the two criteria pick the same threshold.
      validation = evaluateVerification(vdist, split.validationPairs.map((p) => p.same), { criterion: 'youden', farTargets });
    }

    let view2: KFoldReport | null = null;
    let view2Pairs: EvalFile['view2Pairs'] = null;
    if (opts.final && needsView2(config)) {
      opts.onProgress?.({ phase: 'embedding View 2', epoch });
      const v2 = await resolveSplit(dataset, { ...config.dataset, split: { kind: 'lfw', view: 'view2', fold: 0 } });
      const v2emb = await embedImages(model, dataset, v2.testIndices, config, normalization);
      const v2dist = pairDistances(v2emb, dim, v2.testIndices, v2.testPairs, config.loss.distance);
      view2Pairs = { distances: Array.from(v2dist), same: v2.testPairs.map((p) => p.same), folds: v2.testPairs.map((p) => p.fold) };
      view2 = evaluateKFold(v2dist, view2Pairs.same, view2Pairs.folds, { farTargets });
    }

    const file: EvalFile = {
      epoch,
      checkpoint: checkpointName(epoch),
      averagedEpochs,
      protocol: describeProtocol(config),
      verification,
      kfold,
      heldOut,
      validation,
      view2,
      view2Pairs,
      embedding: { images: split.testIndices.length, seconds, imagesPerSecond: split.testIndices.length / Math.max(seconds, 1e-9), flipTTA: config.evaluation.flipTTA },
      plotData: {
        distances: Array.from(distances),
        same,
        embeddings: Array.from(emb, (v) => Math.round(v * 1e5) / 1e5),
        dim,
        identities: split.testIndices.map((i) => dataset.identities[dataset.labels[i] as number] as string),
      },
    };
    writeJsonAtomic(resultPath, file);

    const result = summarize(file, resultPath);
    upsertMetricsRows(paths.metrics, [{ epoch, accuracy: result.accuracy, auc: result.auc, eer: result.eer, threshold: result.threshold }]);
    // best.json: the training session reads it before each checkpoint, so the best one is never pruned. With a
    // validation set the best is chosen on it (what export.checkpoint: best-validation exports), else on the test pairs.
    const best = validation
      ? { metric: VALIDATION_METRIC, value: balancedAccuracy(validation), threshold: validation.threshold }
      : { metric: 'accuracy', value: result.accuracy, threshold: result.threshold };
    await recordBest(paths.checkpoints, { ...best, checkpoint: checkpointName(epoch) });
    return result;
  } finally {
    model.dispose();
  }
}

/** The mean of the accept rate on same-person pairs and the reject rate on different-person pairs, at r's threshold. */
export function balancedAccuracy(r: Pick<VerificationReport, 'tar' | 'far'>): number {
  return (r.tar + 1 - r.far) / 2;
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
    heldOutAccuracy: (kfold ?? file.heldOut)?.accuracy.mean ?? null,
    validationBalancedAccuracy: file.validation ? balancedAccuracy(file.validation) : null,
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
