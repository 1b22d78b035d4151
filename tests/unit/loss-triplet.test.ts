// Triplet losses against brute-force float64 loops, hand-computed cases, degenerate batches, a
// finite-difference gradient check and an exact tensor count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { tripletLoss, type MinerName, type TripletLossOptions, type TripletLossResult } from '../../src/loss';
import { batchAllTripletLossOnHost } from '../../src/loss/batch-all-host';

// ---- Brute-force references (plain loops over (a, p, n), written from the definitions) ----

type Metric = 'euclidean' | 'squared-euclidean';

function distance(a: number[], b: number[], metric: Metric): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return metric === 'euclidean' ? Math.sqrt(s) : s;
}

interface RefResult { loss: number; activeFraction: number }

function refBatchAll(e: number[][], y: number[], margin: number, metric: Metric): RefResult {
  let sum = 0, positive = 0, valid = 0;
  for (let a = 0; a < e.length; a++) for (let p = 0; p < e.length; p++) for (let n = 0; n < e.length; n++) {
    if (a === p || y[a] !== y[p] || y[a] === y[n]) continue;
    valid++;
    const l = Math.max(0, distance(e[a]!, e[p]!, metric) - distance(e[a]!, e[n]!, metric) + margin);
    if (l > 1e-16) { positive++; sum += l; }
  }
  return { loss: positive > 0 ? sum / positive : 0, activeFraction: valid > 0 ? positive / valid : 0 };
}

function refBatchHard(e: number[][], y: number[], margin: number, metric: Metric): RefResult {
  let sum = 0, anchors = 0, active = 0;
  for (let a = 0; a < e.length; a++) {
    let hp = -Infinity, hn = Infinity;
    for (let j = 0; j < e.length; j++) {
      if (j === a) continue;
      const d = distance(e[a]!, e[j]!, metric);
      if (y[j] === y[a]) hp = Math.max(hp, d); else hn = Math.min(hn, d);
    }
    if (hp === -Infinity || hn === Infinity) continue;
    anchors++;
    const l = Math.max(0, hp - hn + margin);
    sum += l;
    if (l > 0) active++;
  }
  return { loss: anchors > 0 ? sum / anchors : 0, activeFraction: anchors > 0 ? active / anchors : 0 };
}

/** TF-Addons' rule: closest negative strictly farther than d(a,p), else the farthest negative. */
function refSemiHard(e: number[][], y: number[], margin: number, metric: Metric): RefResult {
  let sum = 0, pairs = 0, active = 0;
  for (let a = 0; a < e.length; a++) for (let p = 0; p < e.length; p++) {
    if (a === p || y[a] !== y[p]) continue;
    const dap = distance(e[a]!, e[p]!, metric);
    let outside = Infinity, inside = -Infinity;
    for (let n = 0; n < e.length; n++) {
      if (y[n] === y[a]) continue;
      const dan = distance(e[a]!, e[n]!, metric);
      if (dan > dap) outside = Math.min(outside, dan);
      inside = Math.max(inside, dan);
    }
    if (inside === -Infinity) continue; // the anchor has no negative
    pairs++;
    const l = Math.max(0, dap - (outside < Infinity ? outside : inside) + margin);
    sum += l;
    if (l > 0) active++;
  }
  return { loss: pairs > 0 ? sum / pairs : 0, activeFraction: pairs > 0 ? active / pairs : 0 };
}

const REFERENCES = { 'batch-all': refBatchAll, 'batch-hard': refBatchHard, 'semi-hard': refSemiHard } as const;

/** Deterministic unit vectors in 3-D from angles (no RNG, no ties by construction). */
function angleFixture(count: number, classes: number): { embeddings: number[][]; labels: number[] } {
  const embeddings: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    const theta = label * 1.3 + 0.37 * Math.sin(2.1 * i + 0.5) + 0.011 * i;
    const phi = 0.4 + 0.25 * label + 0.3 * Math.cos(1.7 * i);
    embeddings.push([Math.cos(theta) * Math.sin(phi), Math.sin(theta) * Math.sin(phi), Math.cos(phi)]);
    labels.push(label);
  }
  return { embeddings, labels };
}

// ---- Helpers ----

const MINERS: MinerName[] = ['batch-all', 'batch-hard', 'semi-hard'];

function run(e: number[][], y: number[], opts: TripletLossOptions): TripletLossResult {
  const embeddings = tf.tensor2d(e);
  const labels = tf.tensor1d(y, 'int32');
  const r = tripletLoss(embeddings, labels, opts);
  tf.dispose([embeddings, labels]);
  return r;
}

async function values(e: number[][], y: number[], opts: TripletLossOptions) {
  const r = run(e, y, opts);
  const out = {
    loss: (await r.loss.data())[0] as number,
    activeFraction: (await r.activeFraction.data())[0] as number,
    meanPositiveDistance: (await r.meanPositiveDistance.data())[0] as number,
    meanNegativeDistance: (await r.meanNegativeDistance.data())[0] as number,
  };
  tf.dispose([r.loss, r.activeFraction, r.meanPositiveDistance, r.meanNegativeDistance]);
  return out;
}

function gradient(e: number[][], y: number[], opts: TripletLossOptions): number[][] {
  return tf.tidy(() => {
    const labels = tf.tensor1d(y, 'int32');
    const g = tf.grad((x: tf.Tensor) => tripletLoss(x as tf.Tensor2D, labels, opts).loss)(tf.tensor2d(e));
    return g.arraySync() as number[][];
  });
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

void test.before(async () => {
  await tf.setBackend('cpu');
});

// ---- Hand-computed cases ----

// a0=(0,0), a1=(1,0) share label 0; b0=(0,2), b1=(0,3) share label 1.
// d(a0,a1)=1, d(b0,b1)=1, d(a0,b0)=2, d(a0,b1)=3, d(a1,b0)=sqrt5, d(a1,b1)=sqrt10; margin 1.5.
const SQUARE = { e: [[0, 0], [1, 0], [0, 2], [0, 3]], y: [0, 0, 1, 1] };
const S5 = Math.sqrt(5);

void test('batch-hard on a hand-computed batch: anchors give 0.5, 2.5-sqrt5, 0.5 and 0', async () => {
  const r = await values(SQUARE.e, SQUARE.y, { miner: 'batch-hard', margin: 1.5, distance: 'euclidean' });
  close(r.loss, (0.5 + (2.5 - S5) + 0.5 + 0) / 4, 1e-6, 'loss');
  close(r.activeFraction, 3 / 4, 1e-7, 'activeFraction');
  close(r.meanPositiveDistance, 1, 1e-6, 'meanPositiveDistance');
  close(r.meanNegativeDistance, (2 + 3 + S5 + Math.sqrt(10)) / 4, 1e-6, 'meanNegativeDistance');
});

void test('batch-all on a hand-computed batch averages the 4 positive triplets out of 8', async () => {
  const r = await values(SQUARE.e, SQUARE.y, { miner: 'batch-all', margin: 1.5, distance: 'euclidean' });
  close(r.loss, (0.5 + 0.5 + 2 * (2.5 - S5)) / 4, 1e-6, 'loss');
  close(r.activeFraction, 0.5, 1e-7, 'activeFraction');
});

void test('semi-hard on a hand-computed batch picks the closest negative farther than the positive', async () => {
  const r = await values(SQUARE.e, SQUARE.y, { miner: 'semi-hard', margin: 1.5, distance: 'euclidean' });
  // (a0,a1): negatives 2, 3 -> 2; (a1,a0): sqrt5, sqrt10 -> sqrt5; (b0,b1): 2, sqrt5 -> 2; (b1,b0): 3, sqrt10 -> 3.
  close(r.loss, (0.5 + (2.5 - S5) + 0.5 + 0) / 4, 1e-6, 'loss');
  close(r.activeFraction, 3 / 4, 1e-7, 'activeFraction');
});

void test('semi-hard falls back to the farthest negative when none is farther than the positive', async () => {
  // a0=(0,0), a1=(3,0) label 0; b=(1,0) label 1. d(a0,a1)=3, d(a0,b)=1, d(a1,b)=2; margin 0.5.
  // (a0,a1): fallback 1 -> 2.5; (a1,a0): fallback 2 -> 1.5; b has no positive.
  const r = await values([[0, 0], [3, 0], [1, 0]], [0, 0, 1], { miner: 'semi-hard', margin: 0.5, distance: 'euclidean' });
  close(r.loss, 2, 1e-6, 'loss');
  close(r.activeFraction, 1, 1e-7, 'activeFraction');
});

void test('squared-euclidean squares the distances before mining', async () => {
  // Squared: d(a0,a1)=1, d(a0,b0)=4, d(a1,b0)=5, d(b0,b1)=1, d(a0,b1)=9, d(a1,b1)=10; margin 3.5.
  // batch-hard: a0: 1-4+3.5=0.5; a1: 1-5+3.5=-0.5 -> 0; b0: 1-4+3.5=0.5; b1: 1-9+3.5 -> 0.
  const r = await values(SQUARE.e, SQUARE.y, { miner: 'batch-hard', margin: 3.5, distance: 'squared-euclidean' });
  close(r.loss, 0.25, 1e-5, 'loss');
  close(r.activeFraction, 0.5, 1e-7, 'activeFraction');
  close(r.meanNegativeDistance, (4 + 9 + 5 + 10) / 4, 1e-5, 'meanNegativeDistance');
});

// ---- Against the brute-force loops ----

for (const miner of MINERS) {
  for (const metric of ['euclidean', 'squared-euclidean'] as const) {
    for (const margin of [0.2, 1.0]) {
      void test(`${miner} / ${metric} / margin ${margin} matches the brute-force loops on a 12-point, 4-class batch`, async () => {
        const { embeddings, labels } = angleFixture(12, 4);
        const ref = REFERENCES[miner](embeddings, labels, margin, metric);
        const r = await values(embeddings, labels, { miner, margin, distance: metric });
        close(r.loss, ref.loss, 2e-5, 'loss');
        close(r.activeFraction, ref.activeFraction, 1e-6, 'activeFraction');
        assert.ok(ref.loss > 0, 'fixture should give a non-trivial loss');
      });
    }
  }
}

// ---- Degenerate batches ----

for (const miner of MINERS) {
  void test(`${miner}: a batch of one identity has zero loss and a zero, finite gradient`, async () => {
    const { embeddings } = angleFixture(5, 1);
    const labels = [7, 7, 7, 7, 7];
    const r = await values(embeddings, labels, { miner, margin: 0.2, distance: 'euclidean' });
    assert.equal(r.loss, 0);
    assert.equal(r.activeFraction, 0);
    assert.equal(r.meanNegativeDistance, 0);
    for (const g of gradient(embeddings, labels, { miner, margin: 0.2, distance: 'euclidean' }).flat()) {
      assert.equal(g, 0);
    }
  });

  void test(`${miner}: all-equal embeddings give loss = margin and a finite gradient (no NaN from sqrt(0))`, async () => {
    const embeddings = Array.from({ length: 6 }, () => [0.6, 0.8, 0]);
    const labels = [0, 0, 1, 1, 2, 2];
    for (const distance of ['euclidean', 'squared-euclidean'] as const) {
      const r = await values(embeddings, labels, { miner, margin: 0.3, distance });
      close(r.loss, 0.3, 1e-6, `${distance} loss`);
      close(r.activeFraction, 1, 1e-7, `${distance} activeFraction`);
      for (const g of gradient(embeddings, labels, { miner, margin: 0.3, distance }).flat()) {
        assert.ok(Number.isFinite(g), `${distance}: gradient entry ${g} is not finite`);
      }
    }
  });
}

// ---- Gradient ----

for (const miner of MINERS) {
  void test(`${miner}: the gradient matches float64 central differences of the brute-force loss`, () => {
    const { embeddings, labels } = angleFixture(9, 3);
    const margin = 0.5;
    const analytic = gradient(embeddings, labels, { miner, margin, distance: 'euclidean' });
    const h = 1e-6;
    let maxAbs = 0;
    for (let i = 0; i < embeddings.length; i++) {
      for (let j = 0; j < 3; j++) {
        const plus = embeddings.map((row) => row.slice());
        const minus = embeddings.map((row) => row.slice());
        plus[i]![j]! += h;
        minus[i]![j]! -= h;
        const numeric = (REFERENCES[miner](plus, labels, margin, 'euclidean').loss
          - REFERENCES[miner](minus, labels, margin, 'euclidean').loss) / (2 * h);
        maxAbs = Math.max(maxAbs, Math.abs(numeric));
        close(analytic[i]![j]!, numeric, 1e-4, `d loss / d e[${i}][${j}]`);
      }
    }
    assert.ok(maxAbs > 1e-3, 'fixture should have a non-zero gradient');
  });
}

// ---- Batch-all on the host (what the native backend runs) ----

void test('batch-all computed on the host gives the composite\'s loss, statistics and gradient (Euclidean, degenerate batches too)', () => {
  const cases: Array<{ e: number[][]; y: number[]; margin: number }> = [
    { ...(({ embeddings, labels }) => ({ e: embeddings, y: labels }))(angleFixture(12, 4)), margin: 0.2 },
    { ...(({ embeddings, labels }) => ({ e: embeddings, y: labels }))(angleFixture(16, 4)), margin: 1.0 },
    { e: angleFixture(5, 1).embeddings, y: [7, 7, 7, 7, 7], margin: 0.2 },
    { e: Array.from({ length: 6 }, () => [0.6, 0.8, 0]), y: [0, 0, 1, 1, 2, 2], margin: 0.3 },
    // Two identical embeddings of one person (a zero distance that must give a zero gradient, not NaN).
    { e: [[0.6, 0.8, 0], [0.6, 0.8, 0], [0, 0.6, 0.8], [1, 0, 0]], y: [0, 0, 1, 1], margin: 0.5 },
  ];
  for (const [index, c] of cases.entries()) {
    const opts: TripletLossOptions = { miner: 'batch-all', margin: c.margin, distance: 'euclidean' };
    const labels = tf.tensor1d(c.y, 'int32');
    const read = (r: { loss: tf.Scalar; activeFraction: tf.Scalar; meanPositiveDistance: tf.Scalar; meanNegativeDistance: tf.Scalar }) =>
      [r.loss, r.activeFraction, r.meanPositiveDistance, r.meanNegativeDistance].map((t) => t.dataSync()[0] as number);
    const composite = tf.tidy(() => read(tripletLoss(tf.tensor2d(c.e), labels, opts)));
    const host = tf.tidy(() => read(batchAllTripletLossOnHost(tf.tensor2d(c.e), labels, c.margin)));
    host.forEach((v, i) => close(v, composite[i]!, 1e-6, `case ${index}, result ${i}`));
    const gComposite = gradient(c.e, c.y, opts).flat();
    const gHost = tf.tidy(() => (tf.grad((x: tf.Tensor) => batchAllTripletLossOnHost(x as tf.Tensor2D, labels, c.margin).loss)(tf.tensor2d(c.e)).arraySync() as number[][]).flat());
    gHost.forEach((v, i) => {
      assert.ok(Number.isFinite(v), `case ${index}: gradient entry ${i} is ${v}`);
      close(v, gComposite[i]!, 1e-5, `case ${index}, d loss / d e (flat ${i})`);
    });
    labels.dispose();
  }
});

// ---- Memory ----

void test('tripletLoss adds exactly its four result tensors, and disposing them restores the count', () => {
  const e = tf.tensor2d(angleFixture(8, 2).embeddings);
  const y = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32');
  for (const miner of MINERS) {
    const before = tf.memory().numTensors;
    const r = tripletLoss(e, y, { miner, margin: 0.2, distance: 'euclidean' });
    assert.equal(tf.memory().numTensors - before, 4, `${miner} leaked tensors`);
    tf.dispose([r.loss, r.activeFraction, r.meanPositiveDistance, r.meanNegativeDistance]);
    assert.equal(tf.memory().numTensors, before);
  }
  tf.dispose([e, y]);
});

void test('tripletLoss rejects bad options and shapes with messages naming the field', () => {
  const e = tf.tensor2d([[0, 1], [1, 0]]);
  const y = tf.tensor1d([0, 1], 'int32');
  assert.throws(() => tripletLoss(e, y, { miner: 'hardest' as MinerName, margin: 0.2, distance: 'euclidean' }),
    /Expected miner to be one of 'batch-all', 'batch-hard', 'semi-hard', but got 'hardest'/);
  assert.throws(() => tripletLoss(e, y, { miner: 'batch-all', margin: -1, distance: 'euclidean' }),
    /Expected margin to be a non-negative finite number, but got -1/);
  assert.throws(() => tripletLoss(e, tf.tensor1d([0, 1, 2], 'int32'), { miner: 'batch-all', margin: 0.2, distance: 'euclidean' }),
    /Expected labels to be a rank-1 tensor of length 2/);
  assert.throws(() => tripletLoss(e, tf.tensor1d([0, 1]), { miner: 'batch-all', margin: 0.2, distance: 'euclidean' }),
    /Expected labels to have dtype 'int32', but got 'float32'/);
  assert.throws(() => tripletLoss(e, y, { miner: 'batch-all', margin: 0.2, distance: 'cosine' as 'euclidean' }),
    /Expected distance to be one of 'euclidean', 'squared-euclidean', but got 'cosine'/);
});

void test('the gradient of every miner stays a few hundred kernels on a 7 x 5 batch (no per-element unrolling)', async () => {
  // tfjs's broadcastTo (Tile) differentiates with one slice per repetition; semi-hard once tiled a scalar to a
  // 35 x 35 x 35 cube and ran 86,000 kernels (3 s) a step.
  await tf.setBackend('cpu');
  const e = tf.variable(tf.randomNormal([35, 16], 0, 1, 'float32', 3));
  const labels = tf.tensor1d(Array.from({ length: 35 }, (_, i) => Math.floor(i / 5)), 'int32');
  for (const miner of ['batch-all', 'batch-hard', 'semi-hard'] as const) {
    const profile = await tf.profile(() => {
      const g = tf.grad((x: tf.Tensor) => tripletLoss(x as tf.Tensor2D, labels, { miner, margin: 0.5, distance: 'euclidean' }).loss)(e);
      g.dataSync();
      g.dispose();
    });
    assert.ok(profile.kernels.length < 1000, `${miner}: ${profile.kernels.length} kernels for one loss gradient`);
  }
  e.dispose();
  labels.dispose();
});
