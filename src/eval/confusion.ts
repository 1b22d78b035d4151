// Confusion counts and rates at one threshold, by direct counting ("same" when distance < threshold).
// Zero denominators are defined, never NaN, so reports stay JSON-able: a rate whose denominator is
// zero is 0 (sklearn's zero_division=0), e.g. precision when nothing is accepted.
import { checkPairs, type Distances, type SameLabels } from './inputs';

export interface ThresholdMetrics {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  /** TP / (TP + FP). */
  precision: number;
  /** TP / (TP + FN); the same number as tar. */
  recall: number;
  /** True accept rate, TP / (TP + FN). */
  tar: number;
  /** False accept rate, FP / (FP + TN). */
  far: number;
  f1: number;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

export function metricsFromCounts(threshold: number, tp: number, fp: number, tn: number, fn: number): ThresholdMetrics {
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    precision,
    recall,
    tar: recall,
    far: ratio(fp, fp + tn),
    f1: ratio(2 * precision * recall, precision + recall),
  };
}

export function metricsAtThreshold(distances: Distances, labels: SameLabels, threshold: number): ThresholdMetrics {
  checkPairs('metricsAtThreshold', distances, labels);
  if (Number.isNaN(threshold)) throw new Error('metricsAtThreshold: threshold is NaN; pass a number');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < distances.length; i++) {
    const same = (distances[i] as number) < threshold;
    if (labels[i]) {
      if (same) tp++;
      else fn++;
    } else if (same) fp++;
    else tn++;
  }
  return metricsFromCounts(threshold, tp, fp, tn, fn);
}
