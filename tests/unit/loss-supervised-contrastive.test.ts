// The supervised contrastive loss and the combined training loss against brute-force float64 loops, their
// gradient against central finite differences of those loops, degenerate batches, and the config's refusal of
// two zero weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { supervisedContrastiveLoss, trainingLoss, tripletLoss, type TrainingLossOptions } from '../../src/loss';
import { loadConfig } from '../../src/config/load';
import { describeLoss } from '../../src/config/describe-loss';

void test.before(async () => {
  await tf.setBackend('cpu');
});

/** Khosla et al.'s L_out from the definition: anchors with a positive, each positive's log-softmax over j != a. */
function refSupCon(e: number[][], y: number[], t: number): { loss: number; activeFraction: number } {
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * (b[k] as number), 0);
  let total = 0;
  let anchors = 0;
  let pairs = 0;
  let violated = 0;
  for (let a = 0; a < e.length; a++) {
    const others = e.map((_, j) => j).filter((j) => j !== a);
    const positives = others.filter((j) => y[j] === y[a]);
    if (positives.length === 0) continue;
    const denominator = others.reduce((s, j) => s + Math.exp(dot(e[a]!, e[j]!) / t), 0);
    let sum = 0;
    for (const p of positives) {
      sum += Math.log(Math.exp(dot(e[a]!, e[p]!) / t) / denominator);
      pairs++;
      if (others.some((n) => y[n] !== y[a] && dot(e[a]!, e[n]!) >= dot(e[a]!, e[p]!))) violated++;
    }
    total += -sum / positives.length;
    anchors++;
  }
  return { loss: anchors ? total / anchors : 0, activeFraction: pairs ? violated / pairs : 0 };
}

/** Unit vectors at seeded angles on a 3-d sphere, labels in `classes` groups. */
function fixture(n: number, classes: number): { e: number[][]; y: number[] } {
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const e = Array.from({ length: n }, () => {
    const v = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
  return { e, y: Array.from({ length: n }, (_, i) => i % classes) };
}

async function scalars(e: number[][], y: number[], f: (x: tf.Tensor2D, l: tf.Tensor1D) => { loss: tf.Scalar; activeFraction: tf.Scalar }) {
  const x = tf.tensor2d(e);
  const l = tf.tensor1d(y, 'int32');
  const r = f(x, l);
  const out = { loss: (await r.loss.data())[0] as number, activeFraction: (await r.activeFraction.data())[0] as number };
  tf.dispose([x, l, r.loss, r.activeFraction]);
  return out;
}

function gradientOf(e: number[][], y: number[], f: (x: tf.Tensor2D, l: tf.Tensor1D) => tf.Scalar): number[][] {
  const x = tf.tensor2d(e);
  const l = tf.tensor1d(y, 'int32');
  const g = tf.grad((v: tf.Tensor) => f(v as tf.Tensor2D, l))(x);
  const out = g.arraySync() as number[][];
  tf.dispose([x, l, g]);
  return out;
}

const OPTS: TrainingLossOptions = { miner: 'batch-all', margin: 0.5, distance: 'euclidean', tripletWeight: 1, contrastiveWeight: 0, temperature: 0.1, cosFaceWeight: 0, cosFaceMargin: 0.35, cosFaceScale: 30 };

for (const t of [0.1, 0.5]) {
  void test(`supervised contrastive loss (temperature ${t}) matches the definition's loops on a 12-point, 4-class batch`, async () => {
    const { e, y } = fixture(12, 4);
    const ref = refSupCon(e, y, t);
    const r = await scalars(e, y, (x, l) => supervisedContrastiveLoss(x, l, t));
    assert.ok(Math.abs(r.loss - ref.loss) < 1e-5 * Math.max(1, ref.loss), `loss ${r.loss} vs ${ref.loss}`);
    assert.ok(Math.abs(r.activeFraction - ref.activeFraction) < 1e-6, `activeFraction ${r.activeFraction} vs ${ref.activeFraction}`);
    assert.ok(ref.activeFraction > 0 && ref.activeFraction < 1, 'fixture should have some violated pairs and some not');
  });
}

void test('its gradient matches central finite differences of the loops', () => {
  const { e, y } = fixture(8, 3);
  const t = 0.5;
  const g = gradientOf(e, y, (x, l) => {
    const r = supervisedContrastiveLoss(x, l, t);
    r.activeFraction.dispose();
    return r.loss;
  });
  const h = 1e-5;
  for (let i = 0; i < e.length; i++) {
    for (let k = 0; k < 3; k++) {
      const plus = e.map((r) => [...r]);
      const minus = e.map((r) => [...r]);
      plus[i]![k]! += h;
      minus[i]![k]! -= h;
      const numeric = (refSupCon(plus, y, t).loss - refSupCon(minus, y, t).loss) / (2 * h);
      assert.ok(Math.abs(g[i]![k]! - numeric) < 1e-3, `d/de[${i}][${k}]: ${g[i]![k]} vs ${numeric}`);
    }
  }
});

void test('a batch with no two images of one person has zero loss; one person alone has no violations', async () => {
  const { e } = fixture(4, 4);
  const r = await scalars(e, [0, 1, 2, 3], (x, l) => supervisedContrastiveLoss(x, l, 0.1));
  assert.ok(r.loss === 0, `loss ${r.loss}`); // -0: the negated sum over no anchors
  assert.equal(r.activeFraction, 0);
  const same = await scalars(e, [5, 5, 5, 5], (x, l) => supervisedContrastiveLoss(x, l, 0.1));
  assert.equal(same.activeFraction, 0);
  assert.ok(Number.isFinite(same.loss) && same.loss > 0, `one person: log(3) x ... expected, got ${same.loss}`);
  assert.throws(() => supervisedContrastiveLoss(tf.tensor2d(e), tf.tensor1d([0, 1, 2, 3], 'int32'), 0), /temperature/);
});

void test('trainingLoss: weights (1, 0) are the triplet loss itself, (0, 1) the contrastive loss, (a, b) their weighted sum', async () => {
  const { e, y } = fixture(12, 4);
  const triplet = await scalars(e, y, (x, l) => tripletLoss(x, l, OPTS));
  const contrastive = refSupCon(e, y, 0.2);
  const only = await scalars(e, y, (x, l) => trainingLoss(x, l, OPTS));
  assert.deepEqual(only, triplet);
  const c = await scalars(e, y, (x, l) => trainingLoss(x, l, { ...OPTS, tripletWeight: 0, contrastiveWeight: 1, temperature: 0.2 }));
  assert.ok(Math.abs(c.loss - contrastive.loss) < 1e-5, `${c.loss} vs ${contrastive.loss}`);
  assert.ok(Math.abs(c.activeFraction - contrastive.activeFraction) < 1e-6);
  const both = await scalars(e, y, (x, l) => trainingLoss(x, l, { ...OPTS, tripletWeight: 0.5, contrastiveWeight: 2, temperature: 0.2 }));
  assert.ok(Math.abs(both.loss - (0.5 * triplet.loss + 2 * contrastive.loss)) < 1e-5, `${both.loss}`);
  assert.equal(both.activeFraction, triplet.activeFraction);
  const before = tf.memory().numTensors;
  const x = tf.tensor2d(e);
  const l = tf.tensor1d(y, 'int32');
  const r = trainingLoss(x, l, { ...OPTS, tripletWeight: 0.5, contrastiveWeight: 2 });
  assert.equal(tf.memory().numTensors, before + 4, 'only the inputs and the two returned scalars remain');
  tf.dispose([x, l, r.loss, r.activeFraction]);
});

void test('the config refuses two zero weights, naming the field; describeLoss names each term', () => {
  assert.throws(
    () => loadConfig('configs/att-cpu.yml', ['loss.tripletWeight=0', 'loss.contrastiveWeight=0']),
    /loss\.tripletWeight.*all loss weights are 0/s,
  );
  assert.equal(loadConfig('configs/att-cpu.yml', ['loss.tripletWeight=0', 'loss.contrastiveWeight=1']).loss.contrastiveWeight, 1);
  assert.equal(describeLoss({ ...OPTS }), 'batch-all margin 0.5, euclidean');
  assert.equal(describeLoss({ ...OPTS, tripletWeight: 0, contrastiveWeight: 1 }), 'supervised contrastive, temperature 0.1');
  assert.equal(describeLoss({ ...OPTS, contrastiveWeight: 0.5 }), '1 x batch-all margin 0.5, euclidean + 0.5 x supervised contrastive, temperature 0.1');
});

void test('trainingLoss (1, 1): the gradient is bit for bit that of the contrastive term recorded before the triplet term', () => {
  // The order recipe 4 was trained in; the reverse order sums the embeddings' gradient in another order, and a
  // changed last bit moved `npm start`'s final accuracy from 0.993 to 0.971.
  const { e, y } = fixture(12, 4);
  const opts = { ...OPTS, tripletWeight: 1, contrastiveWeight: 1 };
  const recorded = gradientOf(e, y, (x, l) => {
    const c = supervisedContrastiveLoss(x, l, opts.temperature);
    const t = tripletLoss(x, l, opts);
    return tf.add(tf.mul(t.loss, 1), tf.mul(c.loss, 1)) as tf.Scalar;
  });
  const reversed = gradientOf(e, y, (x, l) => {
    const t = tripletLoss(x, l, opts);
    const c = supervisedContrastiveLoss(x, l, opts.temperature);
    return tf.add(tf.mul(t.loss, 1), tf.mul(c.loss, 1)) as tf.Scalar;
  });
  const actual = gradientOf(e, y, (x, l) => trainingLoss(x, l, opts).loss);
  assert.deepEqual(actual, recorded);
  assert.notDeepEqual(reversed, recorded, 'the fixture must tell the two orders apart');
});
