import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bruteForceKFold, candidateThresholds } from '../../scripts/validate-published/brute-force-kfold';
import { evaluateKFold } from '../../src/eval';

test('candidateThresholds: below, midpoints between distinct values, above', () => {
  assert.deepEqual(candidateThresholds([0.4, 0.2, 0.4, 0.1]), [-0.9, 0.15000000000000002, 0.30000000000000004, 1.4]);
  assert.deepEqual(candidateThresholds([]), [0]);
});

// Three folds of two pairs: fold 0 = (0.1 same, 0.5 diff), fold 1 = (0.2 same, 0.4 diff),
// fold 2 = (0.45 same, 0.15 diff).
const d = [0.1, 0.5, 0.2, 0.4, 0.45, 0.15];
const s = [true, false, true, false, true, false];
const f = [0, 0, 1, 1, 2, 2];

test('bruteForceKFold on a hand-computed case', () => {
  const r = bruteForceKFold(d, s, f);
  // Test fold 0, train = .15d .2s .4d .45s: accuracies 2/4, 1/4, 2/4, 1/4, 2/4 at thresholds
  // -0.85, .175, .3, .425, 1.45 -> the smallest tie, -0.85 (all "different"): fold 0 gets 1/2.
  assert.equal(r.perFold[0]!.threshold, 0.15 - 1);
  assert.equal(r.perFold[0]!.trainAccuracy, 0.5);
  assert.equal(r.perFold[0]!.accuracy, 0.5);
  // Test fold 1, train = .1s .15d .45s .5d: 2/4, 3/4 at .125, 2/4 at .3, 3/4 at .475, 2/4 -> .125;
  // fold 1: .2 same -> not < .125, wrong; .4 diff -> right: 1/2.
  assert.equal(r.perFold[1]!.threshold, 0.125);
  assert.equal(r.perFold[1]!.trainAccuracy, 0.75);
  assert.equal(r.perFold[1]!.accuracy, 0.5);
  // Test fold 2, train = .1s .2s .4d .5d: best 4/4 at .3; fold 2: .45 same wrong, .15 diff wrong: 0.
  assert.equal(r.perFold[2]!.threshold, (0.2 + 0.4) / 2);
  assert.equal(r.perFold[2]!.trainAccuracy, 1);
  assert.equal(r.perFold[2]!.accuracy, 0);
  assert.ok(Math.abs(r.mean - 1 / 3) < 1e-12);
  assert.ok(Math.abs(r.std - Math.sqrt(((1 / 6) ** 2 * 2 + (1 / 3) ** 2) / 3)) < 1e-12);
});

test('bruteForceKFold agrees with src/eval evaluateKFold on the same case', () => {
  const ours = evaluateKFold(d, s, f, { farTargets: [] });
  const brute = bruteForceKFold(d, s, f);
  assert.deepEqual(ours.perFold.map((r) => r.accuracy), brute.perFold.map((r) => r.accuracy));
  assert.ok(Math.abs(ours.accuracy.mean - brute.mean) < 1e-12);
  assert.ok(Math.abs(ours.accuracy.std - brute.std) < 1e-12);
});

test('bruteForceKFold rejects mismatched lengths', () => {
  assert.throws(() => bruteForceKFold([0.1], [true, false], [0, 1]), /1 distances, 2 labels and 2 folds/);
});
