// Single operating points read off the exact ROC: EER, TAR at a FAR target, and the threshold
// chosen by best accuracy or Youden's J. Each has an `...Of(roc)` form so the k-fold protocol
// can sort a set once and ask several questions of it.
import { checkRate, type Distances, type SameLabels } from './inputs';
import { exactRoc, pointIndexAt, type ExactRoc } from './roc';

export type ThresholdCriterion = 'accuracy' | 'youden';
export const THRESHOLD_CRITERIA: readonly ThresholdCriterion[] = ['accuracy', 'youden'];

export interface EqualErrorRate {
  /** The rate where FAR = FRR, interpolated linearly along the ROC segment where they cross. */
  eer: number;
  /** The threshold interpolated the same way between the segment's two point thresholds. */
  threshold: number;
}

export function equalErrorRateOf(roc: ExactRoc): EqualErrorRate {
  const { far, tar, thresholds } = roc;
  // g = FRR - FAR falls from 1 at (0, 0) to -1 at (1, 1): the first segment where it reaches 0 holds the crossing.
  let gPrev = 1;
  for (let i = 1; i < far.length; i++) {
    const g = 1 - (tar[i] as number) - (far[i] as number);
    if (g <= 0) {
      const alpha = gPrev / (gPrev - g);
      const f0 = far[i - 1] as number;
      const t0 = thresholds[i - 1] as number;
      return {
        eer: f0 + alpha * ((far[i] as number) - f0),
        threshold: t0 + alpha * ((thresholds[i] as number) - t0),
      };
    }
    gPrev = g;
  }
  throw new Error('equalErrorRate: internal error, the ROC does not end at (1, 1)');
}

export function equalErrorRate(distances: Distances, labels: SameLabels): EqualErrorRate {
  return equalErrorRateOf(exactRoc(distances, labels, 'equalErrorRate'));
}

export interface TarAtFar {
  farTarget: number;
  /** TAR on the ROC at FAR = farTarget, interpolated linearly between the two surrounding points. */
  tar: number;
  /** Threshold interpolated the same way (as facenet's calculate_val does on its grid). */
  threshold: number;
  /** FAR and TAR that `distance < threshold` actually gives on this set (one of the two surrounding points). */
  far: number;
  measuredTar: number;
  /**
   * True when farTarget < 1 / negatives: not even one false accept is allowed, so the value is an
   * interpolation towards the (0, TAR at zero false accepts) point rather than a measurement.
   */
  belowResolution: boolean;
}

export function tarAtFarOf(roc: ExactRoc, farTarget: number): TarAtFar {
  checkRate('tarAtFar', 'farTarget', farTarget);
  const { far, tar, thresholds } = roc;
  // Last point with FAR <= target: it has the highest TAR among points at exactly that FAR.
  let i = 0;
  while (i + 1 < far.length && (far[i + 1] as number) <= farTarget) i++;
  let t = tar[i] as number;
  let threshold = thresholds[i] as number;
  const f0 = far[i] as number;
  if (f0 < farTarget) {
    const alpha = (farTarget - f0) / ((far[i + 1] as number) - f0);
    t += alpha * ((tar[i + 1] as number) - t);
    threshold += alpha * ((thresholds[i + 1] as number) - threshold);
  }
  const measured = pointIndexAt(roc, threshold);
  return {
    farTarget,
    tar: t,
    threshold,
    far: far[measured] as number,
    measuredTar: tar[measured] as number,
    belowResolution: farTarget < 1 / roc.negatives,
  };
}

export function tarAtFar(distances: Distances, labels: SameLabels, farTarget: number): TarAtFar {
  return tarAtFarOf(exactRoc(distances, labels, 'tarAtFar'), farTarget);
}

/**
 * The ROC point maximising the criterion: accuracy = (TP + TN) / n, or Youden's J = TAR - FAR.
 * Scores are compared as exact integers; on a tie the first (smallest-threshold) point wins,
 * like numpy's argmax over facenet's ascending grid.
 */
export function selectPointOf(roc: ExactRoc, criterion: ThresholdCriterion): number {
  if (!THRESHOLD_CRITERIA.includes(criterion)) {
    throw new Error(`selectThreshold: criterion must be one of ${THRESHOLD_CRITERIA.join(', ')}, but got ${String(criterion)}`);
  }
  const { tp, fp, positives, negatives } = roc;
  // accuracy * n = TP - FP + negatives; J * P * N = TP * N - FP * P (both integers below 2^53 for any real set).
  const score =
    criterion === 'accuracy'
      ? (i: number) => (tp[i] as number) - (fp[i] as number)
      : (i: number) => (tp[i] as number) * negatives - (fp[i] as number) * positives;
  let best = 0;
  let bestScore = score(0);
  for (let i = 1; i < tp.length; i++) {
    const s = score(i);
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

export function selectThresholdOf(roc: ExactRoc, criterion: ThresholdCriterion): number {
  return roc.thresholds[selectPointOf(roc, criterion)] as number;
}

/** The threshold (a midpoint between adjacent distinct distances) that maximises the criterion on this set. */
export function selectThreshold(distances: Distances, labels: SameLabels, criterion: ThresholdCriterion): number {
  return selectThresholdOf(exactRoc(distances, labels, 'selectThreshold'), criterion);
}
