// Pair distances from flat embeddings, and flip-TTA averaging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averageAndRenormalize, distancesForPairs } from '../../src/eval';

// rows: (0,0), (3,4), (1,1)
const E = new Float32Array([0, 0, 3, 4, 1, 1]);
const PAIRS = [
  { a: 0, b: 1 },
  { a: 1, b: 2 },
  { a: 2, b: 2 },
];

void test('euclidean and squared-euclidean distances of pairs', () => {
  assert.deepEqual(Array.from(distancesForPairs(E, 2, PAIRS, 'euclidean')), [5, Math.sqrt(13), 0]);
  const sq = distancesForPairs(E, 2, PAIRS, 'squared-euclidean');
  assert.ok(sq instanceof Float64Array);
  assert.deepEqual(Array.from(sq), [25, 13, 0]);
});

void test('distancesForPairs refuses bad shapes, rows and kinds', () => {
  assert.throws(() => distancesForPairs(E, 4, PAIRS, 'euclidean'), /embeddings has 6 values, not a multiple of dim = 4/);
  assert.throws(() => distancesForPairs(E, 0, PAIRS, 'euclidean'), /expected dim to be a positive integer, but got 0/);
  assert.throws(() => distancesForPairs(E, 2, [{ a: 0, b: 3 }], 'euclidean'), /pairs\[0\]\.b is 3, but there are 3 embeddings/);
  assert.throws(() => distancesForPairs(E, 2, PAIRS, 'cosine' as 'euclidean'), /kind must be one of euclidean, squared-euclidean/);
});

void test('flip TTA: average, then L2-normalise each row; zero rows stay zero', () => {
  const e1 = new Float32Array([1, 0, 3, 0, 0, 0]);
  const e2 = new Float32Array([0, 1, 3, 8, 0, 0]);
  const out = averageAndRenormalize(e1, e2, 2);
  assert.ok(out instanceof Float32Array);
  const expected = [Math.SQRT1_2, Math.SQRT1_2, 0.6, 0.8, 0, 0];
  out.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] as number)) < 1e-7, `out[${i}] = ${v}`));
  assert.throws(() => averageAndRenormalize(e1, e2.subarray(2), 2), /e1 has 6 values but e2 has 4/);
});
