// One JSON-able verification report for a whole set: the numbers of our results tables.
import type { Distances, SameLabels } from './inputs';
import { metricsAtThreshold, type ThresholdMetrics } from './confusion';
import { exactRoc, rocAucOf } from './roc';
import {
  equalErrorRateOf,
  selectThresholdOf,
  tarAtFarOf,
  THRESHOLD_CRITERIA,
  type TarAtFar,
  type ThresholdCriterion,
} from './operating-points';

export interface VerificationOptions {
  criterion: ThresholdCriterion;
  farTargets: readonly number[];
}

export interface VerificationReport extends ThresholdMetrics {
  pairs: number;
  positives: number;
  negatives: number;
  auc: number;
  eer: number;
  eerThreshold: number;
  /** How `threshold` (and the metrics at it) were chosen. */
  criterion: ThresholdCriterion;
  /** Both operating points are always reported ("acc @ best" and "acc @ Youden" in the tables). */
  bestAccuracy: number;
  bestAccuracyThreshold: number;
  youdenAccuracy: number;
  youdenThreshold: number;
  youdenJ: number;
  tarAtFar: TarAtFar[];
}

/** Evaluates on one set: the threshold is chosen on the same data (optimistic; use evaluateKFold for LFW). */
export function evaluateVerification(distances: Distances, labels: SameLabels, opts: VerificationOptions): VerificationReport {
  if (!THRESHOLD_CRITERIA.includes(opts.criterion)) {
    throw new Error(`evaluateVerification: criterion must be one of ${THRESHOLD_CRITERIA.join(', ')}, but got ${String(opts.criterion)}`);
  }
  const roc = exactRoc(distances, labels, 'evaluateVerification');
  const best = metricsAtThreshold(distances, labels, selectThresholdOf(roc, 'accuracy'));
  const youden = metricsAtThreshold(distances, labels, selectThresholdOf(roc, 'youden'));
  const chosen = opts.criterion === 'accuracy' ? best : youden;
  const eer = equalErrorRateOf(roc);
  return {
    pairs: distances.length,
    positives: roc.positives,
    negatives: roc.negatives,
    auc: rocAucOf(roc),
    eer: eer.eer,
    eerThreshold: eer.threshold,
    criterion: opts.criterion,
    ...chosen,
    bestAccuracy: best.accuracy,
    bestAccuracyThreshold: best.threshold,
    youdenAccuracy: youden.accuracy,
    youdenThreshold: youden.threshold,
    youdenJ: youden.tar - youden.far,
    tarAtFar: opts.farTargets.map((f) => tarAtFarOf(roc, f)),
  };
}
