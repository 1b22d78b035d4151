// The LFW 10-fold protocol (View 2), following davidsandberg/facenet calculate_roc / calculate_val
// but on exact ROCs instead of a 0..4 grid:
// - for each fold, the threshold is chosen on the other folds (best accuracy by default) and the
//   accuracy is measured on the held-out fold;
// - for each FAR target, the threshold reaching it is interpolated on the other folds, then TAR and
//   FAR are measured on the held-out fold (facenet's VAL@FAR);
// - AUC is reported per test fold (mean +- std) and for the whole set;
// - std is the population std (numpy.std), as facenet reports it.
import type { Distances, SameLabels } from './inputs';
import { BadInputError } from '../errors';
import { metricsAtThreshold } from './confusion';
import { exactRoc, rocAucOf, type ExactRoc } from './roc';
import { selectThresholdOf, tarAtFarOf, type ThresholdCriterion } from './operating-points';
import { meanStd, type MeanStd } from './stats';

/** facenet's VAL is TAR at FAR = 1e-3; always reported, whether or not it is among farTargets. */
export const VAL_FAR_TARGET = 1e-3;

export interface KFoldOptions {
  farTargets: readonly number[];
  /** How each fold's threshold is chosen on the training folds; LFW's protocol uses 'accuracy'. */
  criterion?: ThresholdCriterion;
}

export interface FoldFarRow {
  farTarget: number;
  /** Threshold interpolated on the training folds. */
  threshold: number;
  /** TAR and FAR measured on the test fold at that threshold. */
  tar: number;
  far: number;
  /** The target was below one false accept on the training folds. */
  belowResolution: boolean;
}

export interface FoldRow {
  fold: number;
  testPairs: number;
  threshold: number;
  trainAccuracy: number;
  accuracy: number;
  /** AUC of the test fold's own ROC. */
  auc: number;
  tarAtFar: FoldFarRow[];
  /** The FAR = 1e-3 row (facenet's VAL). */
  val: FoldFarRow;
}

export interface KFoldFarSummary {
  farTarget: number;
  tar: MeanStd;
  far: MeanStd;
  threshold: MeanStd;
  /** How many folds had a target below the training folds' resolution. */
  belowResolutionFolds: number;
}

export interface KFoldReport {
  folds: number;
  pairs: number;
  positives: number;
  negatives: number;
  criterion: ThresholdCriterion;
  accuracy: MeanStd;
  auc: MeanStd;
  /** AUC of the exact ROC of all pairs together. */
  aucAll: number;
  threshold: MeanStd;
  tarAtFar: KFoldFarSummary[];
  /** VAL@FAR=1e-3 in facenet's sense. */
  val: KFoldFarSummary;
  perFold: FoldRow[];
}

function checkFolds(folds: ArrayLike<number>, n: number): number[] {
  if (folds.length !== n) {
    throw new Error(`evaluateKFold: folds has ${folds.length} values but there are ${n} pairs; pass one fold number per pair`);
  }
  const ids = new Set<number>();
  for (let i = 0; i < n; i++) {
    const f = folds[i] as number;
    if (!Number.isInteger(f) || f < 0) throw new Error(`evaluateKFold: folds[${i}] is ${f}; fold numbers are integers >= 0`);
    ids.add(f);
  }
  if (ids.size < 2) throw new BadInputError(`evaluateKFold: found ${ids.size} fold; the protocol needs at least 2 (LFW has 10)`);
  return [...ids].sort((a, b) => a - b);
}

function split(distances: Distances, labels: SameLabels, folds: ArrayLike<number>, fold: number) {
  const train = { d: [] as number[], l: [] as boolean[] };
  const test = { d: [] as number[], l: [] as boolean[] };
  for (let i = 0; i < distances.length; i++) {
    const side = folds[i] === fold ? test : train;
    side.d.push(distances[i] as number);
    side.l.push(labels[i] as boolean);
  }
  return { train, test };
}

function summarise(cells: FoldFarRow[]): KFoldFarSummary {
  return {
    farTarget: (cells[0] as FoldFarRow).farTarget,
    tar: meanStd(cells.map((c) => c.tar)),
    far: meanStd(cells.map((c) => c.far)),
    threshold: meanStd(cells.map((c) => c.threshold)),
    belowResolutionFolds: cells.filter((c) => c.belowResolution).length,
  };
}

export function evaluateKFold(
  distances: Distances,
  labels: SameLabels,
  folds: ArrayLike<number>,
  opts: KFoldOptions,
): KFoldReport {
  const whole = exactRoc(distances, labels, 'evaluateKFold');
  const foldIds = checkFolds(folds, distances.length);
  const criterion = opts.criterion ?? 'accuracy';
  const atTarget = (trainRoc: ExactRoc, test: { d: number[]; l: boolean[] }, farTarget: number): FoldFarRow => {
    const onTrain = tarAtFarOf(trainRoc, farTarget);
    const onTest = metricsAtThreshold(test.d, test.l, onTrain.threshold);
    return { farTarget, threshold: onTrain.threshold, tar: onTest.tar, far: onTest.far, belowResolution: onTrain.belowResolution };
  };
  const perFold = foldIds.map((fold): FoldRow => {
    const { train, test } = split(distances, labels, folds, fold);
    const trainRoc = exactRoc(train.d, train.l, `evaluateKFold (training folds for fold ${fold})`);
    const testRoc = exactRoc(test.d, test.l, `evaluateKFold (test fold ${fold})`);
    const threshold = selectThresholdOf(trainRoc, criterion);
    return {
      fold,
      testPairs: test.d.length,
      threshold,
      trainAccuracy: metricsAtThreshold(train.d, train.l, threshold).accuracy,
      accuracy: metricsAtThreshold(test.d, test.l, threshold).accuracy,
      auc: rocAucOf(testRoc),
      tarAtFar: opts.farTargets.map((f) => atTarget(trainRoc, test, f)),
      val: atTarget(trainRoc, test, VAL_FAR_TARGET),
    };
  });
  return {
    folds: foldIds.length,
    pairs: distances.length,
    positives: whole.positives,
    negatives: whole.negatives,
    criterion,
    accuracy: meanStd(perFold.map((r) => r.accuracy)),
    auc: meanStd(perFold.map((r) => r.auc)),
    aucAll: rocAucOf(whole),
    threshold: meanStd(perFold.map((r) => r.threshold)),
    tarAtFar: opts.farTargets.map((_, k) => summarise(perFold.map((r) => r.tarAtFar[k] as FoldFarRow))),
    val: summarise(perFold.map((r) => r.val)),
    perFold,
  };
}

/**
 * Folds for pairs that come without any (AT&T's held-out subjects, LFW's pairsDevTest), so that a threshold
 * can be chosen without the pairs it scores: same-person pairs are dealt round-robin into k folds, and
 * different-person pairs likewise, so every fold holds both kinds. k is capped by the rarer kind's count;
 * null when fewer than 2 folds are possible.
 */
export function stratifiedPairFolds(labels: SameLabels, k = 10): number[] | null {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives++;
  const folds = Math.min(k, positives, labels.length - positives);
  if (folds < 2) return null;
  const next = { same: 0, different: 0 };
  return Array.from({ length: labels.length }, (_, i) => (labels[i] ? next.same++ : next.different++) % folds);
}
