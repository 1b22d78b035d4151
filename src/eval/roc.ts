// The exact ROC of a verification set, by one sort: one point per distinct distance, never a grid.
//
// Conventions (used by every function in src/eval):
// - A pair is predicted "same" when distance < threshold (strict), as in the reference.
// - Point 0 accepts nothing: (FAR, TAR) = (0, 0). Point i >= 1 accepts every pair whose distance is
//   <= the i-th smallest distinct distance, so tied distances enter together, as one point
//   (this is sklearn's roc_curve with drop_intermediate=False on score = -distance).
// - The threshold of a point is the midpoint between its distinct distance and the next one, so a
//   threshold chosen on one set generalises instead of sitting on a training sample. Outside the
//   data the thresholds sit half a mean gap below the smallest and above the largest distance.
// - TAR = TP / (TP + FN) and FAR = FP / (FP + TN) (the reference had both wrong).
import { checkPairs, countClasses, requireBothClasses, type Distances, type SameLabels } from './inputs';

export interface RocCurve {
  far: number[];
  tar: number[];
  /** Ascending; predicting "same" when distance < thresholds[i] gives exactly (far[i], tar[i]). */
  thresholds: number[];
}

export interface ExactRoc extends RocCurve {
  positives: number;
  negatives: number;
  /** Distinct distances, ascending; point i >= 1 accepts distances <= cutoffs[i - 1]. */
  cutoffs: number[];
  /** Cumulative true and false accepts at each point (integers, exact). */
  tp: number[];
  fp: number[];
}

/** Indices of `distances` in ascending order of distance. */
function sortedOrder(distances: Distances): Uint32Array {
  const order = new Uint32Array(distances.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (distances[a] as number) - (distances[b] as number));
}

/** The smallest double above x: keeps the "accept everything" threshold strictly above the largest distance. */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/** A threshold t with a < t <= b, so `d < t` accepts a and rejects b: the midpoint unless rounding hits a. */
function between(a: number, b: number): number {
  const mid = a / 2 + b / 2;
  return mid > a ? mid : b;
}

function pointThresholds(cutoffs: number[]): number[] {
  const k = cutoffs.length;
  const lo = cutoffs[0] as number;
  const hi = cutoffs[k - 1] as number;
  // Half the mean gap between distinct distances; with a single distinct distance there is no gap to take.
  const margin = k > 1 ? (hi - lo) / (2 * (k - 1)) : 0.5;
  const thresholds = [lo - margin];
  for (let i = 1; i < k; i++) thresholds.push(between(cutoffs[i - 1] as number, cutoffs[i] as number));
  const top = hi + margin;
  thresholds.push(top > hi ? top : nextUp(hi));
  return thresholds;
}

/** Builds the exact ROC in O(n log n). Throws unless both classes are present. */
export function exactRoc(distances: Distances, labels: SameLabels, fn = 'exactRoc'): ExactRoc {
  checkPairs(fn, distances, labels);
  const { positives, negatives } = countClasses(labels);
  requireBothClasses(fn, positives, negatives);
  const order = sortedOrder(distances);
  const cutoffs: number[] = [];
  const tp = [0];
  const fp = [0];
  let accepted = 0;
  let trueAccepts = 0;
  while (accepted < order.length) {
    const d = distances[order[accepted] as number] as number;
    while (accepted < order.length && distances[order[accepted] as number] === d) {
      if (labels[order[accepted] as number]) trueAccepts++;
      accepted++;
    }
    cutoffs.push(d);
    tp.push(trueAccepts);
    fp.push(accepted - trueAccepts);
  }
  return {
    positives,
    negatives,
    cutoffs,
    tp,
    fp,
    far: fp.map((x) => x / negatives),
    tar: tp.map((x) => x / positives),
    thresholds: pointThresholds(cutoffs),
  };
}

/** The exact ROC: from (0, 0) to (1, 1), one point per distinct distance. */
export function rocCurve(distances: Distances, labels: SameLabels): RocCurve {
  const { far, tar, thresholds } = exactRoc(distances, labels, 'rocCurve');
  return { far, tar, thresholds };
}

/**
 * Area under the exact ROC by the trapezoidal rule, computed on integer counts so it equals the
 * Mann-Whitney probability P(d_different > d_same) + P(tie) / 2 up to one final division.
 */
export function rocAucOf(roc: ExactRoc): number {
  let twiceArea = 0;
  for (let i = 1; i < roc.tp.length; i++) {
    twiceArea += ((roc.fp[i] as number) - (roc.fp[i - 1] as number)) * ((roc.tp[i] as number) + (roc.tp[i - 1] as number));
  }
  return twiceArea / (2 * roc.positives * roc.negatives);
}

export function rocAuc(distances: Distances, labels: SameLabels): number {
  return rocAucOf(exactRoc(distances, labels, 'rocAuc'));
}

/** FAR and FRR (= 1 - TAR) against the threshold, for the EER plot; thresholds ascending. */
export function eerCurve(distances: Distances, labels: SameLabels): { thresholds: number[]; far: number[]; frr: number[] } {
  const roc = exactRoc(distances, labels, 'eerCurve');
  return { thresholds: roc.thresholds, far: roc.far, frr: roc.tar.map((t) => 1 - t) };
}

/** Index of the ROC point that `distance < threshold` realises: the number of distinct distances below it. */
export function pointIndexAt(roc: ExactRoc, threshold: number): number {
  let lo = 0;
  let hi = roc.cutoffs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((roc.cutoffs[mid] as number) < threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
