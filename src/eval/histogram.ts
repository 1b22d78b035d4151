// Histograms of same-person and different-person distances on shared bins, for the report plot.
import { checkPairs, type Distances, type SameLabels } from './inputs';

export interface DistanceHistogram {
  /** bins + 1 ascending edges; bin i is [edges[i], edges[i+1]), the last bin also holds its upper edge. */
  edges: number[];
  same: number[];
  different: number[];
  /** Pairs outside an explicitly given range (never counted in a bin). */
  outOfRange: number;
}

function extent(distances: Distances): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < distances.length; i++) {
    lo = Math.min(lo, distances[i] as number);
    hi = Math.max(hi, distances[i] as number);
  }
  return [lo, hi];
}

/** Defaults to the range of all distances; a degenerate range (all equal) is widened by 0.5 each side. */
export function distanceHistogram(
  distances: Distances,
  labels: SameLabels,
  bins = 50,
  range?: readonly [number, number],
): DistanceHistogram {
  checkPairs('distanceHistogram', distances, labels);
  if (!Number.isInteger(bins) || bins <= 0) throw new Error(`distanceHistogram: expected bins to be a positive integer, but got ${bins}`);
  let [lo, hi] = range ?? extent(distances);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new Error(`distanceHistogram: range must be two finite numbers [lo, hi] with lo <= hi, but got [${lo}, ${hi}]`);
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const same = new Array<number>(bins).fill(0);
  const different = new Array<number>(bins).fill(0);
  let outOfRange = 0;
  for (let i = 0; i < distances.length; i++) {
    const d = distances[i] as number;
    if (d < lo || d > hi) {
      outOfRange++;
      continue;
    }
    const bin = Math.min(bins - 1, Math.floor((d - lo) / width));
    const counts = labels[i] ? same : different;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return { edges, same, different, outOfRange };
}
