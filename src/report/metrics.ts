// The metrics table's figures of one verification evaluation: the k-fold protocol's where the pairs come in
// folds (threshold from the other folds), else those of the single set.
import type { KFoldReport, VerificationReport } from '../eval';
import type { MetricSet } from './types';

export function verificationMetrics(v: VerificationReport, k: KFoldReport | null): MetricSet {
  return {
    accuracy: k ? k.accuracy : v.accuracy,
    precision: v.precision,
    recall: v.recall,
    f1: v.f1,
    auc: k ? k.auc : v.auc,
    eer: v.eer,
    threshold: k ? k.threshold : v.threshold,
    tarAtFar: v.tarAtFar.map((t) => ({ far: t.farTarget, tar: t.tar })),
  };
}
