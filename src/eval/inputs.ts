// Shared input guards for the verification metrics. Every public metric validates its inputs
// the same way, so a bad call fails with the function's name and the offending index.

import { BadInputError } from '../errors';

/** One distance per pair; smaller means "more likely the same person". */
export type Distances = ArrayLike<number>;
/** One label per pair: true when both images show the same person. */
export type SameLabels = ArrayLike<boolean>;

/** Throws unless distances and labels are non-empty, equally long, finite and boolean. */
export function checkPairs(fn: string, distances: Distances, labels: SameLabels): void {
  if (distances.length !== labels.length) {
    throw new Error(
      `${fn}: distances has ${distances.length} values but labels has ${labels.length}; pass exactly one label per pair`,
    );
  }
  if (distances.length === 0) {
    throw new Error(`${fn}: no pairs given; pass at least one distance and its label`);
  }
  for (let i = 0; i < distances.length; i++) {
    const d = distances[i] as number;
    if (!Number.isFinite(d)) {
      throw new BadInputError(`${fn}: distances[${i}] is ${d}; every distance must be a finite number (NaN usually means a zero-norm embedding)`);
    }
    if (typeof labels[i] !== 'boolean') {
      throw new Error(`${fn}: labels[${i}] is ${String(labels[i])}; labels must be booleans (true = same person)`);
    }
  }
}

/** Counts positive (same) and negative (different) pairs. */
export function countClasses(labels: SameLabels): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives++;
  return { positives, negatives: labels.length - positives };
}

/** ROC-based metrics are undefined without both classes: say so instead of returning NaN. */
export function requireBothClasses(fn: string, positives: number, negatives: number): void {
  if (positives === 0 || negatives === 0) {
    throw new BadInputError(
      `${fn}: needs at least one same-person and one different-person pair, got ${positives} same and ${negatives} different; ` +
        'TAR, FAR and the ROC are undefined otherwise. With few identities (dataset.maxIdentities) a fold can lack one kind of pair: ' +
        'use more identities or fewer folds.',
    );
  }
}

/** Throws unless `x` is a finite number in [0, 1]. */
export function checkRate(fn: string, name: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0 && x <= 1)) {
    throw new Error(`${fn}: ${name} must be a number in [0, 1], but got ${x}`);
  }
}
