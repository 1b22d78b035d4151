// The 10-fold protocol on a synthetic set whose every number is known by hand, plus the speed budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateKFold, evaluateVerification, stratifiedPairFolds } from '../../src/eval';
import { Rng } from '../../src/util/rng';

const near = (actual: number, expected: number, what = 'value'): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);

// Folds 0..8: same pairs at 0.1 and 0.3, different pairs at 0.7 and 0.9. Fold 9 is inverted.
function syntheticFolds() {
  const distances: number[] = [];
  const labels: boolean[] = [];
  const folds: number[] = [];
  for (let f = 0; f < 10; f++) {
    const inverted = f === 9;
    for (const [d, same] of [[0.1, true], [0.3, true], [0.7, false], [0.9, false]] as const) {
      distances.push(d);
      labels.push(inverted ? !same : same);
      folds.push(f);
    }
  }
  return { distances, labels, folds };
}

void test('k-fold: thresholds come from the other folds, accuracy from the held-out fold', () => {
  const { distances, labels, folds } = syntheticFolds();
  const r = evaluateKFold(distances, labels, folds, { farTargets: [0.1] });
  assert.equal(r.folds, 10);
  assert.equal(r.pairs, 40);
  assert.equal(r.criterion, 'accuracy');
  // Every training set is best split between 0.3 and 0.7, even with the inverted fold inside it.
  for (const row of r.perFold) near(row.threshold, 0.5, `fold ${row.fold} threshold`);
  assert.deepEqual(r.perFold.map((row) => row.accuracy), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual(r.perFold.map((row) => row.auc), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  near(r.perFold[0]?.trainAccuracy ?? NaN, 32 / 36, 'training accuracy with the inverted fold inside');
  near(r.accuracy.mean, 0.9);
  near(r.accuracy.std, 0.3, 'population std (sample std would be 0.316)');
  near(r.auc.mean, 0.9);
  near(r.auc.std, 0.3);
  near(r.threshold.mean, 0.5);
  near(r.threshold.std, 0);
  near(r.aucAll, 0.9, 'Mann-Whitney on all 40 pairs: 360 / 400');
});

void test('k-fold: TAR@FAR thresholds interpolated on the training folds, measured on the test fold', () => {
  const { distances, labels, folds } = syntheticFolds();
  const r = evaluateKFold(distances, labels, folds, { farTargets: [0.1] });
  // Fold 0: training ROC (0,0) -> (1/18, 8/18) @0.2 -> (2/18, 16/18) @0.5; FAR 0.1 at alpha 0.8 -> threshold 0.44.
  const f0 = r.perFold[0]?.tarAtFar[0];
  assert.ok(f0);
  near(f0.threshold, 0.44, 'fold 0 threshold');
  assert.deepEqual([f0.tar, f0.far, f0.belowResolution], [1, 0, false]);
  // Fold 9: training folds are separable: (0,1) @0.5 -> (0.5,1) @0.8; FAR 0.1 at alpha 0.2 -> threshold 0.56,
  // which on the inverted test fold accepts both different pairs and no same pair.
  const f9 = r.perFold[9]?.tarAtFar[0];
  assert.ok(f9);
  near(f9.threshold, 0.56, 'fold 9 threshold');
  assert.deepEqual([f9.tar, f9.far], [0, 1]);
  const s = r.tarAtFar[0];
  assert.ok(s);
  near(s.tar.mean, 0.9);
  near(s.far.mean, 0.1);
  near(s.far.std, 0.3);
  assert.equal(s.belowResolutionFolds, 0);
  // VAL@1e-3 is always reported; with 18 training negatives it is below resolution in every fold.
  assert.equal(r.val.farTarget, 1e-3);
  assert.equal(r.val.belowResolutionFolds, 10);
  assert.equal(r.perFold[0]?.val.far, 0);
});

void test('k-fold: invalid fold assignments are refused with a reason', () => {
  const { distances, labels, folds } = syntheticFolds();
  assert.throws(() => evaluateKFold(distances, labels, folds.slice(1), { farTargets: [] }), /folds has 39 values but there are 40 pairs/);
  assert.throws(() => evaluateKFold(distances, labels, folds.map(() => 0), { farTargets: [] }), /the protocol needs at least 2/);
  assert.throws(() => evaluateKFold(distances, labels, folds.map((f) => f + 0.5), { farTargets: [] }), /folds\[0\] is 0.5/);
  const oneClassFold = labels.map((l, i) => (folds[i] === 3 ? true : l));
  assert.throws(() => evaluateKFold(distances, oneClassFold, folds, { farTargets: [] }), /evaluateKFold \(test fold 3\): needs at least one/);
});

void test('6,000 LFW-sized pairs: 10-fold protocol and full report in well under a second', () => {
  const rng = new Rng(42);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const distances = new Float64Array(6000);
  const labels: boolean[] = [];
  const folds: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const same = i % 600 < 300; // LFW layout: each fold holds 300 same pairs then 300 different pairs
    distances[i] = Math.max(0, Math.round((same ? 0.9 : 1.3) * 1000 + 250 * gauss()) / 1000);
    labels.push(same);
    folds.push(Math.floor(i / 600));
  }
  const start = performance.now();
  const k = evaluateKFold(distances, labels, folds, { farTargets: [1e-1, 1e-2, 1e-3] });
  const whole = evaluateVerification(distances, labels, { criterion: 'youden', farTargets: [1e-1, 1e-2, 1e-3] });
  const ms = performance.now() - start;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.ok(k.accuracy.mean > 0.7 && k.accuracy.mean < 0.9, `accuracy ${k.accuracy.mean}`);
  assert.ok(Math.abs(k.aucAll - whole.auc) < 1e-15);
  assert.equal(k.val.belowResolutionFolds, 0, '2,700 training negatives resolve FAR = 1e-3');
});

void test('pairs without folds are dealt into stratified folds: every fold holds both kinds, in equal shares', () => {
  const labels = Array.from({ length: 1225 }, (_, i) => i % 49 < 9); // AT&T s36-s40-like: 225 same, 1000 different
  const folds = stratifiedPairFolds(labels)!;
  for (let f = 0; f < 10; f++) {
    const same = labels.filter((s, i) => s && folds[i] === f).length;
    const different = labels.filter((s, i) => !s && folds[i] === f).length;
    assert.ok(same >= 22 && same <= 23 && different === 100, `fold ${f}: ${same} same, ${different} different`);
  }
  assert.deepEqual(stratifiedPairFolds([true, true, true, false, false]), [0, 1, 0, 0, 1], 'k is capped by the rarer kind');
  assert.equal(stratifiedPairFolds([true, false, false]), null, 'one same-person pair cannot make two folds');
});

void test('held-out accuracy: each fold scored at the threshold chosen on the other folds, by brute force', () => {
  const rng = new Rng(11);
  const labels = Array.from({ length: 300 }, () => rng.next() < 0.3);
  const distances = labels.map((s) => (s ? 0.6 : 1.0) + 0.35 * (rng.next() - 0.5) * 2);
  const folds = stratifiedPairFolds(labels)!;
  const r = evaluateKFold(distances, labels, folds, { farTargets: [], criterion: 'youden' });
  const perFold = [...new Set(folds)].map((f) => {
    const train = distances.flatMap((d, i) => (folds[i] === f ? [] : [[d, labels[i]] as const]));
    // Brute force: thresholds below, between and above the distinct training distances, ascending ("same" when
    // the distance is under it); the first with the largest Youden's J.
    const u = [...new Set(train.map(([d]) => d))].sort((a, b) => a - b);
    const candidates = [u[0]! - 1, ...u.slice(1).map((d, i) => (u[i]! + d) / 2), u[u.length - 1]! + 1];
    let best = { j: -Infinity, t: 0 };
    for (const t of candidates) {
      const tp = train.filter(([d, s]) => s && d < t).length / train.filter(([, s]) => s).length;
      const fp = train.filter(([d, s]) => !s && d < t).length / train.filter(([, s]) => !s).length;
      if (tp - fp > best.j) best = { j: tp - fp, t };
    }
    const test = distances.flatMap((d, i) => (folds[i] === f ? [[d, labels[i]] as const] : []));
    return test.filter(([d, s]) => (d < best.t) === s).length / test.length;
  });
  near(r.accuracy.mean, perFold.reduce((a, b) => a + b, 0) / perFold.length, 'held-out accuracy');
});
