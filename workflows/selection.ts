// Which evaluation is "best": the one with the best validation balanced accuracy when the run has a validation set
// (dataset.validationIdentities), else the best test accuracy (selection on test data: reported as such).
import type { EvalSummary } from '../activities/types';

export function selectionScore(e: EvalSummary): number {
  return e.validationBalancedAccuracy ?? e.accuracy;
}

export function isBetter(candidate: EvalSummary, best: EvalSummary | null): boolean {
  return best === null || selectionScore(candidate) > selectionScore(best);
}
