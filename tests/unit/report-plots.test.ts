// The five plots: each test builds a tiny hand-computed input and checks the marks in the SVG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  distanceFractions,
  distanceHistogramSvg,
  eerSvg,
  rocSvg,
  trainingCurvesSvg,
  trapezoidAuc,
  tsneScatterSvg,
  tsneSvg,
} from '../../src/report/plots';
import { conditionalProbabilities, tsne } from '../../src/report/tsne';
import { Rng } from '../../src/util/rng';

function count(svg: string, re: RegExp): number {
  return (svg.match(re) ?? []).length;
}

/** The d attributes of every <path class="line"> with the given data-series. */
function linePaths(svg: string, series: string): string[] {
  const re = new RegExp(`<path class="line" data-series="${series}" d="([^"]*)"`, 'g');
  return [...svg.matchAll(re)].map((m) => m[1] as string);
}

function pathPoints(d: string): number {
  return count(d, /[ML]/g);
}

// ---------------------------------------------------------------- ROC

void test('trapezoidAuc: a ROC through (0,0), (0.5,1), (1,1) has area 0.75', () => {
  assert.equal(trapezoidAuc([0, 0.5, 1], [0, 1, 1]), 0.75);
  // Order of points does not matter.
  assert.equal(trapezoidAuc([1, 0, 0.5], [1, 0, 1]), 0.75);
});

void test('rocSvg: AUC in the title, one ROC point per input point, both FAR axes titled', () => {
  const far = [0, 0.001, 0.01, 0.1, 0.5, 1];
  const tar = [0, 0.2, 0.5, 0.8, 0.95, 1];
  const svg = rocSvg({ far, tar, auc: 0.9123 });
  assert.match(svg, /<text class="title"[^>]*>ROC curve \(AUC = 0\.9123\)<\/text>/);
  const paths = linePaths(svg, 'ROC');
  assert.equal(paths.length, 2, 'linear and log panels');
  assert.equal(pathPoints(paths[0] as string), 6, 'linear panel: all 6 points');
  assert.equal(pathPoints(paths[1] as string), 5, 'log panel: FAR = 0 cannot be drawn on a log axis');
  assert.match(svg, />false accept rate \(FAR\)</);
  assert.match(svg, />false accept rate \(FAR, log scale\)</);
  assert.equal(count(svg, />true accept rate \(TAR\)</g), 2);
  // Log-axis decade labels 0.001 .. 1.
  for (const label of ['0.001', '0.01', '0.1']) assert.match(svg, new RegExp(`class="tick x-tick"[^>]*>${label.replace('.', '\\.')}<`));
});

void test('rocSvg computes the AUC when it is not given', () => {
  assert.match(rocSvg({ far: [0, 0.5, 1], tar: [0, 1, 1] }), /AUC = 0\.7500/);
});

void test('rocSvg refuses far/tar of different lengths, naming both', () => {
  assert.throws(() => rocSvg({ far: [0, 1], tar: [0, 0.5, 1] }), /far has 2 values but tar has 3/);
});

// ---------------------------------------------------------------- EER

void test('eerSvg: FAR and FRR lines, the EER value in text and a ring at the EER point', () => {
  const thresholds = [0, 0.5, 0.9, 1.5, 2];
  const svg = eerSvg({ thresholds, far: [0, 0.02, 0.1, 0.7, 1], frr: [1, 0.4, 0.1, 0.01, 0], eer: 0.1, eerThreshold: 0.9 });
  assert.equal(pathPoints(linePaths(svg, 'FAR \\(different accepted\\)')[0] ?? ''), 5);
  assert.equal(pathPoints(linePaths(svg, 'FRR \\(same rejected\\)')[0] ?? ''), 5);
  assert.match(svg, />EER = 0\.100 at threshold 0\.900</);
  assert.match(svg, /class="annotation"[^>]*>EER 0\.100</);
  assert.equal(count(svg, /class="annotation-ring"/g), 1);
  assert.match(svg, /<line class="rule" data-value="0.9"/);
  assert.match(svg, />distance threshold</);
});

void test('eerSvg refuses mismatched arrays', () => {
  assert.throws(() => eerSvg({ thresholds: [0, 1], far: [0, 1], frr: [1], eer: 0.5, eerThreshold: 0.5 }), /thresholds has 2 values but frr has 1/);
});

// ---------------------------------------------------------------- histogram

void test('distanceFractions: shared bins, per-class fractions', () => {
  // Range [0, 1] in 2 bins of 0.5: same = {0.1, 0.2, 0.9} -> [2/3, 1/3]; different = {0.6, 1.0} -> [0, 1].
  const h = distanceFractions({ distances: [0.1, 0.2, 0.9, 0.6, 1.0], same: [true, true, true, false, false], threshold: 0 }, 2);
  assert.deepEqual(h.edges, [0, 0.5, 1]);
  assert.deepEqual(h.same, [2 / 3, 1 / 3]);
  assert.deepEqual(h.different, [0, 1]);
});

void test('distanceFractions leaves out pairs whose distance is not finite, and refuses when none is', () => {
  const h = distanceFractions({ distances: [0.1, Number.NaN, 0.9, Infinity, 1.0], same: [true, true, true, false, false], threshold: 0 }, 2);
  assert.deepEqual(h.edges, [0, 0.5, 1]);
  assert.deepEqual(h.same, [1 / 2, 1 / 2]);
  assert.deepEqual(h.different, [0, 1]);
  assert.throws(() => distanceFractions({ distances: [Number.NaN], same: [true], threshold: 0 }), /no finite distances to plot/);
});

void test('distanceFractions copes with 200,000 pairs (no argument spreading)', () => {
  const distances = Array.from({ length: 200_000 }, (_, i) => (i % 1000) / 500);
  const h = distanceFractions({ distances, same: distances.map((_, i) => i % 2 === 0), threshold: 1 }, 4);
  assert.deepEqual(h.edges, [0, 0.4995, 0.999, 1.4985, 1.998]);
  assert.equal(h.same.reduce((a, b) => a + b, 0), 1);
});

void test('distanceHistogramSvg: bars for both classes, the threshold as a vertical rule with its value', () => {
  const svg = distanceHistogramSvg({ distances: [0.1, 0.2, 0.9, 0.6, 1.0], same: [true, true, true, false, false], threshold: 0.55 }, { bins: 2 });
  // same: 2 non-empty bins; different: 1 non-empty bin.
  assert.equal(count(svg, /<rect class="bar"/g), 3);
  assert.match(svg, /<line class="rule" data-value="0.55"/);
  assert.match(svg, /class="rule-label"[^>]*>threshold 0\.550</);
  assert.match(svg, />3 same-person pairs, 2 different-person pairs</);
  assert.match(svg, />embedding distance</);
});

// ---------------------------------------------------------------- training curves

void test('trainingCurvesSvg: four panels; accuracy/AUC markers only on evaluation epochs', () => {
  const log = [1, 2, 3, 4, 5, 6].map((epoch) => ({
    epoch,
    loss: 1 / epoch,
    lr: 1e-3,
    ...(epoch % 3 === 0 ? { accuracy: 0.5 + epoch / 20, auc: 0.6 + epoch / 20 } : {}),
    activeFraction: 1 - epoch / 10,
  }));
  const svg = trainingCurvesSvg(log);
  assert.equal(count(svg, /<g class="panel">/g), 4);
  for (const t of ['Training loss', 'Learning rate', 'Test accuracy and AUC', 'Active triplets \\(loss &gt; 0\\)']) assert.match(svg, new RegExp(`>${t}<`));
  assert.equal(pathPoints(linePaths(svg, 'loss')[0] ?? ''), 6);
  assert.equal(pathPoints(linePaths(svg, 'accuracy')[0] ?? ''), 2, 'epochs 3 and 6 only');
  assert.equal(pathPoints(linePaths(svg, 'AUC')[0] ?? ''), 2);
  assert.equal(count(svg, />epoch</g), 4);
});

void test('trainingCurvesSvg: a learning rate spanning more than a decade gets a log axis', () => {
  const svg = trainingCurvesSvg([{ epoch: 1, loss: 1, lr: 1e-3 }, { epoch: 2, loss: 0.5, lr: 1e-5 }]);
  assert.match(svg, /class="tick y-tick"[^>]*>1e-4</);
  assert.match(svg, /class="empty-message"[^>]*>no evaluation in this log</);
  assert.match(svg, /class="empty-message"[^>]*>active fraction not logged</);
  assert.throws(() => trainingCurvesSvg([]), /metrics log is empty/);
});

// ---------------------------------------------------------------- t-SNE

function clusters(seed: number, perCluster: number, k: number, dim: number): { data: number[]; labels: string[] } {
  const rng = new Rng(seed);
  const data: number[] = [];
  const labels: string[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < perCluster; i++) {
      labels.push(`id${c}`);
      // Cluster c sits at 10 along axis c; noise of +-0.5.
      for (let j = 0; j < dim; j++) data.push((j === c ? 10 : 0) + rng.next() - 0.5);
    }
  }
  return { data, labels };
}

void test('conditionalProbabilities: every row sums to 1 and has entropy log(perplexity)', () => {
  const { data } = clusters(1, 5, 2, 3);
  const n = 10;
  const d2 = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < 3; k++) s += ((data[i * 3 + k] as number) - (data[j * 3 + k] as number)) ** 2;
    d2[i * n + j] = s;
  }
  const p = conditionalProbabilities(d2, n, 3);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let h = 0;
    for (let j = 0; j < n; j++) {
      const v = p[i * n + j] as number;
      sum += v;
      if (v > 0) h -= v * Math.log(v);
    }
    assert.ok(Math.abs(sum - 1) < 1e-9, `row ${i} sums to ${sum}`);
    assert.ok(Math.abs(h - Math.log(3)) < 1e-4, `row ${i} entropy ${h}`);
    assert.equal(p[i * n + i], 0);
  }
});

void test('tsne is deterministic for a seed and keeps well-separated clusters apart', () => {
  const { data, labels } = clusters(7, 8, 3, 5);
  const a = tsne(data, 5, { seed: 3, iterations: 300 });
  const b = tsne(data, 5, { seed: 3, iterations: 300 });
  assert.deepEqual(a, b);
  const c = tsne(data, 5, { seed: 4, iterations: 300 });
  assert.notDeepEqual(a, c);
  // Every point's nearest 2-D neighbour has its identity.
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = ((a[i * 2] as number) - (a[j * 2] as number)) ** 2 + ((a[i * 2 + 1] as number) - (a[j * 2 + 1] as number)) ** 2;
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    assert.equal(labels[best], labels[i], `point ${i}`);
  }
});

void test('tsne: options given as undefined (from JSON) fall back to the defaults', () => {
  const { data } = clusters(5, 4, 2, 3);
  assert.deepEqual(tsne(data, 3, { perplexity: undefined, seed: undefined, iterations: 50 }), tsne(data, 3, { iterations: 50 }));
  assert.throws(() => tsne(data, 3, { perplexity: NaN }), /option perplexity must be a finite number/);
});

void test('tsne validates its input shape', () => {
  assert.throws(() => tsne([1, 2, 3], 2), /not a whole number of 2-dimensional rows/);
  assert.deepEqual(Array.from(tsne([1, 2], 2)), [0, 0]);
});

void test('tsneSvg: one point per embedding, one colour group per identity, labels escaped', () => {
  const { data, labels } = clusters(2, 4, 3, 4);
  labels[0] = '<img src=x>';
  const svg = tsneSvg({ embeddings: new Float32Array(data), dim: 4, labels }, { iterations: 100 });
  assert.equal(count(svg, /<circle class="point"/g), 12);
  assert.equal(count(svg, /<g class="points"/g), 4, 'three clusters plus the renamed point');
  assert.ok(!svg.includes('<img'));
  assert.match(svg, /&lt;img src=x&gt;/);
  assert.match(svg, />12 test embeddings, 4 identities</);
  assert.throws(() => tsneSvg({ embeddings: data, dim: 4, labels: labels.slice(1) }), /12 embeddings but 11 labels/);
});

void test('tsneSvg subsamples above maxPoints and says so', () => {
  const { data, labels } = clusters(3, 10, 2, 3);
  const svg = tsneSvg({ embeddings: data, dim: 3, labels }, { maxPoints: 10, iterations: 50 });
  assert.equal(count(svg, /<circle class="point"/g), 10);
  assert.match(svg, /\(10 of 20 shown\)/);
});

void test('tsneScatterSvg: legend sorted naturally (s2 before s10)', () => {
  const svg = tsneScatterSvg([0, 0, 1, 1, 2, 2], ['s10', 's2', 's1']);
  const legend = [...svg.matchAll(/class="legend-label"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(legend, ['s1', 's2', 's10']);
});
