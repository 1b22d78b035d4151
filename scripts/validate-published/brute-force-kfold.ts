// An independent, deliberately naive re-implementation of LFW's 10-fold accuracy, to cross-check
// src/eval's evaluateKFold on the published model's distances: it shares no code with src/eval
// and tries every candidate threshold by brute force (O(n^2) per fold: ~1 s for LFW's 6,000 pairs).
// Same conventions as the protocol: "same" when distance < threshold; the threshold maximises
// accuracy on the other folds, the smallest one on ties; accuracy is measured on the held-out fold.

export interface BruteForceFold {
  fold: number;
  threshold: number;
  trainAccuracy: number;
  accuracy: number;
}

export interface BruteForceKFold {
  perFold: BruteForceFold[];
  mean: number;
  /** Population std (numpy.std), as the protocol reports it. */
  std: number;
}

function accuracyAt(d: readonly number[], same: readonly boolean[], t: number): number {
  let ok = 0;
  for (let i = 0; i < d.length; i++) if ((d[i] as number) < t === same[i]) ok++;
  return ok / d.length;
}

/** Candidate thresholds: below everything, every midpoint between distinct sorted distances, above everything. */
export function candidateThresholds(distances: readonly number[]): number[] {
  const u = [...new Set(distances)].sort((a, b) => a - b);
  if (u.length === 0) return [0];
  const out = [(u[0] as number) - 1];
  for (let i = 1; i < u.length; i++) out.push(((u[i - 1] as number) + (u[i] as number)) / 2);
  out.push((u[u.length - 1] as number) + 1);
  return out;
}

export function bruteForceKFold(distances: readonly number[], same: readonly boolean[], folds: readonly number[]): BruteForceKFold {
  if (distances.length !== same.length || distances.length !== folds.length) {
    throw new Error(`bruteForceKFold: ${distances.length} distances, ${same.length} labels and ${folds.length} folds; pass one of each per pair`);
  }
  const perFold = [...new Set(folds)]
    .sort((a, b) => a - b)
    .map((fold): BruteForceFold => {
      const train = { d: [] as number[], s: [] as boolean[] };
      const test = { d: [] as number[], s: [] as boolean[] };
      distances.forEach((d, i) => {
        const side = folds[i] === fold ? test : train;
        side.d.push(d);
        side.s.push(same[i] as boolean);
      });
      let threshold = NaN;
      let trainAccuracy = -1;
      for (const t of candidateThresholds(train.d)) {
        const a = accuracyAt(train.d, train.s, t);
        if (a > trainAccuracy) {
          trainAccuracy = a;
          threshold = t;
        }
      }
      return { fold, threshold, trainAccuracy, accuracy: accuracyAt(test.d, test.s, threshold) };
    });
  const acc = perFold.map((f) => f.accuracy);
  const mean = acc.reduce((s, a) => s + a, 0) / acc.length;
  const std = Math.sqrt(acc.reduce((s, a) => s + (a - mean) ** 2, 0) / acc.length);
  return { perFold, mean, std };
}
