// Cross-check of src/eval against scikit-learn / numpy values written by scripts/make_roc_fixture.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  equalErrorRate,
  evaluateKFold,
  evaluateVerification,
  exactRoc,
  rocAuc,
  rocCurve,
  selectThreshold,
  tarAtFar,
} from '../../src/eval';

interface FarRow {
  farTarget: number;
  tar: number;
  threshold: number;
  far: number;
  measuredTar: number;
  belowResolution: boolean;
}
interface SingleCase {
  name: string;
  distances: number[];
  labels: boolean[];
  expected: {
    positives: number;
    negatives: number;
    auc: number;
    aucMannWhitney: number;
    far: number[];
    tar: number[];
    distinctDistances: number[];
    thresholds: number[];
    eer: number;
    eerThreshold: number;
    tarAtFar: FarRow[];
    bestAccuracyThreshold: number;
    bestAccuracy: number;
    youdenThreshold: number;
    youdenAccuracy: number;
  };
}
interface KFoldCase {
  distances: number[];
  labels: boolean[];
  folds: number[];
  expected: {
    accuracyMean: number;
    accuracyStd: number;
    aucMean: number;
    aucStd: number;
    aucAll: number;
    thresholdMean: number;
    thresholdStd: number;
    tarAtFar: { farTarget: number; tarMean: number; tarStd: number; farMean: number; farStd: number }[];
    perFold: {
      fold: number;
      threshold: number;
      trainAccuracy: number;
      accuracy: number;
      auc: number;
      tarAtFar: { farTarget: number; threshold: number; tar: number; far: number; belowResolution: boolean }[];
    }[];
  };
}

const fixture = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'roc-fixture.json'), 'utf8')) as {
  farTargets: number[];
  cases: SingleCase[];
  kfold: KFoldCase;
};

const EXACT = 1e-9;
function close(actual: number, expected: number, what: string, tol = EXACT): void {
  assert.ok(Math.abs(actual - expected) < tol, `${what}: got ${actual}, sklearn/numpy says ${expected}`);
}
function closeAll(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => close(a, expected[i] as number, `${what}[${i}]`));
}

void test('the fixture holds ties and a few hundred points', () => {
  const big = fixture.cases[0] as SingleCase;
  assert.ok(big.distances.length >= 300);
  assert.ok(big.expected.distinctDistances.length < big.distances.length, 'expected tied distances');
});

for (const c of fixture.cases) {
  const e = c.expected;
  void test(`${c.name}: exact ROC equals sklearn roc_curve (drop_intermediate=False)`, () => {
    const roc = exactRoc(c.distances, c.labels);
    assert.equal(roc.positives, e.positives);
    assert.equal(roc.negatives, e.negatives);
    assert.deepEqual(roc.cutoffs, e.distinctDistances);
    const curve = rocCurve(c.distances, c.labels);
    closeAll(curve.far, e.far, 'far');
    closeAll(curve.tar, e.tar, 'tar');
    closeAll(curve.thresholds, e.thresholds, 'thresholds');
  });

  void test(`${c.name}: AUC equals roc_auc_score and the Mann-Whitney probability`, () => {
    const auc = rocAuc(c.distances, c.labels);
    close(auc, e.auc, 'auc');
    close(auc, e.aucMannWhitney, 'auc vs Mann-Whitney');
  });

  void test(`${c.name}: EER equals the Brent root of FRR = FAR on the ROC`, () => {
    const r = equalErrorRate(c.distances, c.labels);
    close(r.eer, e.eer, 'eer');
    close(r.threshold, e.eerThreshold, 'eer threshold');
  });

  void test(`${c.name}: TAR at FAR targets`, () => {
    for (const x of e.tarAtFar) {
      const r = tarAtFar(c.distances, c.labels, x.farTarget);
      close(r.tar, x.tar, `tar@${x.farTarget}`);
      close(r.threshold, x.threshold, `threshold@${x.farTarget}`);
      close(r.far, x.far, `measured far@${x.farTarget}`);
      close(r.measuredTar, x.measuredTar, `measured tar@${x.farTarget}`);
      assert.equal(r.belowResolution, x.belowResolution, `belowResolution@${x.farTarget}`);
    }
  });

  void test(`${c.name}: best-accuracy and Youden thresholds equal a brute-force search`, () => {
    close(selectThreshold(c.distances, c.labels, 'accuracy'), e.bestAccuracyThreshold, 'accuracy threshold');
    close(selectThreshold(c.distances, c.labels, 'youden'), e.youdenThreshold, 'youden threshold');
    const report = evaluateVerification(c.distances, c.labels, { criterion: 'youden', farTargets: fixture.farTargets });
    close(report.bestAccuracy, e.bestAccuracy, 'best accuracy');
    close(report.youdenAccuracy, e.youdenAccuracy, 'youden accuracy');
    close(report.accuracy, e.youdenAccuracy, 'accuracy at the chosen (youden) threshold');
    close(report.auc, e.auc, 'report auc');
    close(report.eer, e.eer, 'report eer');
  });
}

void test('10-fold protocol equals a numpy/sklearn implementation', () => {
  const k = fixture.kfold;
  const e = k.expected;
  const r = evaluateKFold(k.distances, k.labels, k.folds, { farTargets: fixture.farTargets });
  assert.equal(r.folds, 10);
  close(r.accuracy.mean, e.accuracyMean, 'accuracy mean');
  close(r.accuracy.std, e.accuracyStd, 'accuracy std (population)');
  close(r.auc.mean, e.aucMean, 'auc mean');
  close(r.auc.std, e.aucStd, 'auc std');
  close(r.aucAll, e.aucAll, 'auc of all pairs');
  close(r.threshold.mean, e.thresholdMean, 'threshold mean');
  close(r.threshold.std, e.thresholdStd, 'threshold std');
  e.perFold.forEach((row, f) => {
    const got = r.perFold[f];
    assert.ok(got);
    assert.equal(got.fold, row.fold);
    close(got.threshold, row.threshold, `fold ${f} threshold`);
    close(got.trainAccuracy, row.trainAccuracy, `fold ${f} train accuracy`);
    close(got.accuracy, row.accuracy, `fold ${f} accuracy`);
    close(got.auc, row.auc, `fold ${f} auc`);
    row.tarAtFar.forEach((x, j) => {
      const g = got.tarAtFar[j];
      assert.ok(g);
      close(g.threshold, x.threshold, `fold ${f} threshold@${x.farTarget}`);
      close(g.tar, x.tar, `fold ${f} tar@${x.farTarget}`);
      close(g.far, x.far, `fold ${f} far@${x.farTarget}`);
      assert.equal(g.belowResolution, x.belowResolution);
    });
  });
  e.tarAtFar.forEach((x, j) => {
    const g = r.tarAtFar[j];
    assert.ok(g);
    close(g.tar.mean, x.tarMean, `tar@${x.farTarget} mean`);
    close(g.tar.std, x.tarStd, `tar@${x.farTarget} std`);
    close(g.far.mean, x.farMean, `far@${x.farTarget} mean`);
    close(g.far.std, x.farStd, `far@${x.farTarget} std`);
  });
  // VAL is the FAR = 1e-3 row
  const val = e.tarAtFar.find((x) => x.farTarget === 1e-3);
  assert.ok(val);
  close(r.val.tar.mean, val.tarMean, 'val mean');
});
