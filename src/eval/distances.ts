// Pair distances from a flat embedding matrix, and the flip test-time augmentation.
// Plain loops in double precision: 6,000 LFW pairs x 128 dims is under a millisecond, and no
// tensors means nothing to dispose.

export type PairDistanceKind = 'euclidean' | 'squared-euclidean';
export const PAIR_DISTANCE_KINDS: readonly PairDistanceKind[] = ['euclidean', 'squared-euclidean'];

/** Indices of the two embeddings (rows) of a pair. */
export interface PairIndex {
  a: number;
  b: number;
}

function rowsOf(fn: string, name: string, embeddings: Float32Array, dim: number): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`${fn}: expected dim to be a positive integer, but got ${dim}`);
  if (embeddings.length % dim !== 0) {
    throw new Error(`${fn}: ${name} has ${embeddings.length} values, not a multiple of dim = ${dim}; pass N * dim values, row by row`);
  }
  return embeddings.length / dim;
}

/** Distance between rows a and b of each pair; embeddings is N x dim, row-major. */
export function distancesForPairs(
  embeddings: Float32Array,
  dim: number,
  pairs: readonly PairIndex[],
  kind: PairDistanceKind,
): Float64Array {
  const fn = 'distancesForPairs';
  const rows = rowsOf(fn, 'embeddings', embeddings, dim);
  if (!PAIR_DISTANCE_KINDS.includes(kind)) {
    throw new Error(`${fn}: kind must be one of ${PAIR_DISTANCE_KINDS.join(', ')}, but got ${String(kind)}`);
  }
  const out = new Float64Array(pairs.length);
  pairs.forEach(({ a, b }, p) => {
    for (const [side, row] of [['a', a], ['b', b]] as const) {
      if (!Number.isInteger(row) || row < 0 || row >= rows) {
        throw new Error(`${fn}: pairs[${p}].${side} is ${row}, but there are ${rows} embeddings (valid rows 0..${rows - 1})`);
      }
    }
    let sum = 0;
    for (let j = 0; j < dim; j++) {
      const diff = (embeddings[a * dim + j] as number) - (embeddings[b * dim + j] as number);
      sum += diff * diff;
    }
    out[p] = kind === 'euclidean' ? Math.sqrt(sum) : sum;
  });
  return out;
}

/**
 * Flip TTA: the embedding of an image is the L2-normalised mean of the embeddings of the image and
 * of its mirror. Rows with zero norm stay zero (no division by zero).
 */
export function averageAndRenormalize(e1: Float32Array, e2: Float32Array, dim: number): Float32Array {
  const fn = 'averageAndRenormalize';
  const rows = rowsOf(fn, 'e1', e1, dim);
  if (e2.length !== e1.length) {
    throw new Error(`${fn}: e1 has ${e1.length} values but e2 has ${e2.length}; pass the original and flipped embeddings of the same images`);
  }
  const out = new Float32Array(e1.length);
  const row = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const v = ((e1[r * dim + j] as number) + (e2[r * dim + j] as number)) / 2;
      row[j] = v;
      sq += v * v;
    }
    const scale = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = (row[j] as number) * scale;
  }
  return out;
}
