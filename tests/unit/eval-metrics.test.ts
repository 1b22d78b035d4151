// Hand-computed cases for the verification metrics in src/eval ("same" when distance < threshold).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  distanceHistogram,
  eerCurve,
  equalErrorRate,
  evaluateVerification,
  exactRoc,
  metricsAtThreshold,
  rocAuc,
  rocCurve,
  selectThreshold,
  tarAtFar,
} from '../../src/eval';
import { Rng } from '../../src/util/rng';

const near = (actual: number, expected: number, what = 'value'): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
const nearAll = (actual: number[], expected: number[], what: string): void => {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => near(a, expected[i] as number, `${what}[${i}]`));
};

// ---- Four pairs: same at 0.2 and 0.6, different at 0.4 and 0.8 ----
const D4 = [0.8, 0.2, 0.6, 0.4];
const L4 = [false, true, true, false];

void test('four pairs: the exact ROC has one point per distinct distance and midpoint thresholds', () => {
  const roc = rocCurve(D4, L4);
  assert.deepEqual(roc.far, [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual(roc.tar, [0, 0.5, 0.5, 1, 1]);
  // outer thresholds: half the mean gap (0.6 / 3 / 2 = 0.1) beyond the extremes
  nearAll(roc.thresholds, [0.1, 0.3, 0.5, 0.7, 0.9], 'thresholds');
});

void test('four pairs: AUC is 3/4, the Mann-Whitney probability', () => {
  near(rocAuc(D4, L4), 0.75);
});

void test('four pairs: EER 0.5 where FRR meets FAR, at threshold 0.5', () => {
  const r = equalErrorRate(D4, L4);
  near(r.eer, 0.5, 'eer');
  near(r.threshold, 0.5, 'threshold');
  const curve = eerCurve(D4, L4);
  assert.deepEqual(curve.frr, [1, 0.5, 0.5, 0, 0]);
  assert.deepEqual(curve.far, [0, 0, 0.5, 0.5, 1]);
});

void test('four pairs: best accuracy and Youden pick the first best point, threshold 0.3', () => {
  near(selectThreshold(D4, L4, 'accuracy'), 0.3);
  near(selectThreshold(D4, L4, 'youden'), 0.3);
});

void test('four pairs: TAR at FAR interpolates on the ROC and flags targets below 1 / negatives', () => {
  const low = tarAtFar(D4, L4, 0.1);
  // between (0, 0.5) at threshold 0.3 and (0.5, 0.5) at 0.5: alpha = 0.2
  near(low.tar, 0.5, 'tar');
  near(low.threshold, 0.34, 'threshold');
  assert.equal(low.far, 0);
  assert.equal(low.measuredTar, 0.5);
  assert.equal(low.belowResolution, true);

  const onPoint = tarAtFar(D4, L4, 0.5); // the last point at FAR 0.5 has TAR 1
  assert.equal(onPoint.tar, 1);
  near(onPoint.threshold, 0.7, 'threshold');
  assert.equal(onPoint.far, 0.5);
  assert.equal(onPoint.belowResolution, false);

  const between = tarAtFar(D4, L4, 0.75);
  assert.equal(between.tar, 1);
  near(between.threshold, 0.8, 'threshold');
  assert.equal(between.far, 0.5, 'd < 0.8 still rejects the pair at 0.8');
});

void test('four pairs: confusion metrics at chosen thresholds, strict "<"', () => {
  const m = metricsAtThreshold(D4, L4, 0.7);
  assert.deepEqual([m.tp, m.fp, m.tn, m.fn], [2, 1, 1, 0]);
  near(m.accuracy, 0.75);
  near(m.precision, 2 / 3);
  assert.equal(m.recall, 1);
  assert.equal(m.tar, 1);
  assert.equal(m.far, 0.5);
  near(m.f1, 0.8);

  const atSample = metricsAtThreshold(D4, L4, 0.2); // 0.2 < 0.2 is false: nothing accepted
  assert.deepEqual([atSample.tp, atSample.fp, atSample.tn, atSample.fn], [0, 0, 2, 2]);
  assert.equal(atSample.precision, 0, 'zero denominator gives 0, not NaN');
  assert.equal(atSample.f1, 0);
  assert.equal(atSample.accuracy, 0.5);
});

void test('four pairs: the report gathers every number and is JSON-able', () => {
  const r = evaluateVerification(D4, L4, { criterion: 'accuracy', farTargets: [0.1, 0.5] });
  assert.equal(r.pairs, 4);
  assert.equal(r.positives, 2);
  assert.equal(r.negatives, 2);
  near(r.auc, 0.75);
  near(r.eer, 0.5);
  near(r.threshold, 0.3);
  assert.equal(r.accuracy, 0.75);
  assert.equal(r.precision, 1);
  assert.equal(r.recall, 0.5);
  assert.equal(r.far, 0);
  near(r.f1, 2 / 3);
  assert.equal(r.bestAccuracy, 0.75);
  assert.equal(r.youdenAccuracy, 0.75);
  assert.equal(r.youdenJ, 0.5);
  assert.deepEqual(r.tarAtFar.map((t) => [t.farTarget, t.belowResolution]), [[0.1, true], [0.5, false]]);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

// ---- Ties ----
void test('tied distances enter the ROC together, as one (diagonal) step', () => {
  const d = [0.5, 0.5, 0.5, 1.0];
  const l = [true, false, true, false];
  const roc = rocCurve(d, l);
  assert.deepEqual(roc.far, [0, 0.5, 1]);
  assert.deepEqual(roc.tar, [0, 1, 1]);
  assert.deepEqual(roc.thresholds, [0.25, 0.75, 1.25]);
  near(rocAuc(d, l), 0.75); // one same/different tie counts 1/2
  const e = equalErrorRate(d, l); // chord (0,0)-(0.5,1) meets FRR = FAR at alpha = 2/3
  near(e.eer, 1 / 3, 'eer');
  near(e.threshold, 0.25 + (2 / 3) * 0.5, 'threshold');
});

void test('a single distinct distance gives the chance diagonal', () => {
  const roc = rocCurve([1, 1], [true, false]);
  assert.deepEqual(roc, { far: [0, 1], tar: [0, 1], thresholds: [0.5, 1.5] });
  assert.equal(rocAuc([1, 1], [true, false]), 0.5);
  assert.deepEqual(equalErrorRate([1, 1], [true, false]), { eer: 0.5, threshold: 1 });
});

void test('perfect separation: AUC 1, EER 0, threshold midway between the classes', () => {
  const d = new Float64Array([0.1, 0.2, 0.9, 1.0]);
  const l = [true, true, false, false];
  assert.equal(rocAuc(d, l), 1);
  near(equalErrorRate(d, l).eer, 0);
  near(selectThreshold(d, l, 'accuracy'), 0.55);
  assert.equal(metricsAtThreshold(d, l, selectThreshold(d, l, 'youden')).accuracy, 1);
});

void test('inverted distances: AUC 0 and the best threshold rejects everything', () => {
  const d = [0.9, 1.0, 0.1, 0.2];
  const l = [true, true, false, false];
  assert.equal(rocAuc(d, l), 0);
  const t = selectThreshold(d, l, 'accuracy');
  near(t, 0.1 - 0.15, 'below the smallest distance');
  assert.equal(metricsAtThreshold(d, l, t).accuracy, 0.5);
});

void test('every ROC threshold realises its own point, even between adjacent doubles', () => {
  const rng = new Rng(7);
  const d = Array.from({ length: 300 }, () => Math.round(rng.next() * 50) / 25);
  d.push(1, 1 + Number.EPSILON, 1 + 2 * Number.EPSILON);
  const l = d.map(() => rng.next() < 0.5);
  const roc = exactRoc(d, l);
  roc.thresholds.forEach((t, i) => {
    const m = metricsAtThreshold(d, l, t);
    assert.equal(m.tp, roc.tp[i], `tp at point ${i}`);
    assert.equal(m.fp, roc.fp[i], `fp at point ${i}`);
    if (i > 0) assert.ok(t > (roc.thresholds[i - 1] as number), 'thresholds strictly increase');
  });
});

// ---- Degenerate and invalid input ----
void test('all-same labels: ROC metrics throw a clear error; threshold metrics stay NaN-free', () => {
  for (const fn of [rocAuc, rocCurve, equalErrorRate, (d: number[], l: boolean[]) => selectThreshold(d, l, 'accuracy')]) {
    assert.throws(() => fn([0.1, 0.2], [true, true]), /needs at least one same-person and one different-person pair, got 2 same and 0 different/);
  }
  const m = metricsAtThreshold([0.1, 0.2], [true, true], 0.15);
  assert.deepEqual([m.tp, m.fp, m.tn, m.fn], [1, 0, 0, 1]);
  assert.equal(m.far, 0);
  assert.equal(m.precision, 1);
  assert.equal(m.recall, 0.5);
  const none = metricsAtThreshold([0.1, 0.2], [false, false], 0);
  assert.equal(none.tar, 0);
  assert.ok(Object.values(none).every((v) => Number.isFinite(v)));
});

void test('invalid inputs name the function and the problem', () => {
  assert.throws(() => rocAuc([0.1, 0.2], [true]), /rocAuc: distances has 2 values but labels has 1/);
  assert.throws(() => rocAuc([], []), /rocAuc: no pairs given/);
  assert.throws(() => rocAuc([0.1, NaN], [true, false]), /rocAuc: distances\[1\] is NaN/);
  assert.throws(() => tarAtFar(D4, L4, 1.5), /tarAtFar: farTarget must be a number in \[0, 1\], but got 1.5/);
  assert.throws(
    () => selectThreshold(D4, L4, 'median' as 'accuracy'),
    /criterion must be one of accuracy, youden, but got median/,
  );
  assert.throws(
    () => evaluateVerification(D4, L4, { criterion: 'best' as 'accuracy', farTargets: [] }),
    /evaluateVerification: criterion must be one of accuracy, youden/,
  );
  assert.throws(() => metricsAtThreshold(D4, L4, NaN), /threshold is NaN/);
});

// ---- Histogram ----
void test('distance histogram: shared bins, last bin closed, explicit range counts outliers', () => {
  const d = [0, 0.25, 0.5, 1.0];
  const l = [true, true, false, false];
  assert.deepEqual(distanceHistogram(d, l, 2), { edges: [0, 0.5, 1], same: [2, 0], different: [0, 2], outOfRange: 0 });
  const h = distanceHistogram(d, l, 3, [0, 0.6]);
  assert.deepEqual(h.same, [1, 1, 0]);
  assert.deepEqual(h.different, [0, 0, 1]);
  assert.equal(h.outOfRange, 1);
  assert.deepEqual(distanceHistogram([2, 2], [true, false], 1).edges, [1.5, 2.5]);
  assert.throws(() => distanceHistogram(d, l, 0), /bins to be a positive integer/);
});
