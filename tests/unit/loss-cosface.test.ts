// The CosFace loss against a brute-force float64 loop (value, misclassified share, gradient by central differences),
// its place in the training loss, and its class matrix in a training session: trained, saved in every checkpoint
// beside (not inside) the model's weights, restored bit for bit on resume, and refused when a checkpoint lacks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { cosFaceLoss, trainingLoss, tripletLoss, type TrainingLossOptions } from '../../src/loss';
import { loadConfig } from '../../src/config/load';
import { describeLoss } from '../../src/config/describe-loss';
import { runConfigSchema, type RunConfig } from '../../src/config/schema';
import { createTrainingSession } from '../../src/train/session';
import { syntheticBatchSource } from '../../src/train/synthetic';
import { readCheckpoint } from '../../src/train/checkpoint';
import { createClassHead, CLASS_MATRIX_NAME } from '../../src/train/class-head';
import type { CachedDataset } from '../../src/data';

void test.before(async () => {
  await tf.setBackend('cpu');
});

const OPTS: TrainingLossOptions = {
  miner: 'batch-all', margin: 0.5, distance: 'euclidean', tripletWeight: 0, contrastiveWeight: 0, temperature: 0.1,
  cosFaceWeight: 1, cosFaceMargin: 0.35, cosFaceScale: 30,
};

/** The definition, in float64: logits s (cos(e_i, w_j / |w_j|) - m [j = y_i]), mean cross-entropy, argmax != y_i. */
function refCosFace(e: number[][], classes: number[], w: number[][], m: number, s: number): { loss: number; wrong: number } {
  const unit = w.map((r) => r.map((v) => v / Math.hypot(...r)));
  let loss = 0;
  let wrong = 0;
  e.forEach((x, i) => {
    const logits = unit.map((r, j) => s * (x.reduce((acc, v, k) => acc + v * r[k]!, 0) - (j === classes[i] ? m : 0)));
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((acc, z) => acc + Math.exp(z - max), 0));
    loss += lse - logits[classes[i]!]!;
    if (logits.indexOf(max) !== classes[i]) wrong++;
  });
  return { loss: loss / e.length, wrong: wrong / e.length };
}

function seeded(n: number, d: number, seed: number, unit: boolean): number[][] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, () => {
    const v = Array.from({ length: d }, () => rand() - 0.5);
    const norm = unit ? Math.hypot(...v) : 1;
    return v.map((x) => x / norm);
  });
}

void test('cosFaceLoss equals the definition, and its gradients (embeddings and class matrix) equal finite differences', () => {
  const e = seeded(9, 4, 7, true);
  const w = seeded(5, 4, 99, false);
  const classes = [0, 1, 2, 3, 4, 0, 1, 2, 3];
  for (const [m, s] of [[0.35, 30], [0, 1], [0.2, 4]] as const) {
    const ref = refCosFace(e, classes, w, m, s);
    const r = tf.tidy(() => {
      const out = cosFaceLoss(tf.tensor2d(e), tf.tensor1d(classes, 'int32'), tf.tensor2d(w), { margin: m, scale: s });
      return [out.loss.dataSync()[0]!, out.activeFraction.dataSync()[0]!];
    });
    assert.ok(Math.abs(r[0]! - ref.loss) < 1e-4 * Math.max(1, ref.loss), `margin ${m} scale ${s}: ${r[0]} vs ${ref.loss}`);
    assert.ok(Math.abs(r[1]! - ref.wrong) < 1e-6, `misclassified ${r[1]} vs ${ref.wrong}`);
  }
  // Gradients at a small scale, where float32 is precise enough for central differences of the float64 loop.
  const [m, s] = [0.2, 4];
  const [ge, gw] = tf.tidy(() => {
    const y = tf.tensor1d(classes, 'int32');
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => cosFaceLoss(a as tf.Tensor2D, y, b as tf.Tensor2D, { margin: m, scale: s }).loss);
    return g([tf.tensor2d(e), tf.tensor2d(w)]).map((t) => t.arraySync() as number[][]);
  });
  const h = 1e-5;
  for (const [which, at, grad] of [['embeddings', e, ge], ['class matrix', w, gw]] as const) {
    at.forEach((row, i) =>
      row.forEach((_, k) => {
        const bump = (d: number) => {
          const copy = at.map((r) => r.slice());
          copy[i]![k]! += d;
          return which === 'embeddings' ? refCosFace(copy, classes, w, m, s).loss : refCosFace(e, classes, copy, m, s).loss;
        };
        const numeric = (bump(h) - bump(-h)) / (2 * h);
        assert.ok(Math.abs(grad![i]![k]! - numeric) < 1e-4, `${which}[${i}][${k}]: ${grad![i]![k]} vs ${numeric}`);
      }),
    );
  }
});

void test('trainingLoss: CosFace maps dataset labels to class rows, adds to the triplet loss, and is refused without a class matrix', async () => {
  const e = seeded(8, 4, 3, true);
  const labels = [10, 12, 15, 10, 12, 15, 10, 12]; // dataset labels; the training people are 10, 12, 15
  const head = createClassHead([15, 10, 12, 10], 4, 1);
  assert.deepEqual(Array.from(head.classOf.dataSync()), [...Array<number>(10).fill(-1), 0, -1, 1, -1, -1, 2]);
  const w = head.classMatrix.arraySync();
  const ref = refCosFace(e, labels.map((l) => [10, 12, 15].indexOf(l)), w, 0.35, 30);
  const run = (o: TrainingLossOptions) =>
    tf.tidy(() => {
      const r = trainingLoss(tf.tensor2d(e), tf.tensor1d(labels, 'int32'), o, head);
      return [r.loss.dataSync()[0]!, r.activeFraction.dataSync()[0]!];
    });
  const [alone] = run(OPTS);
  assert.ok(Math.abs(alone! - ref.loss) < 1e-4, `${alone} vs ${ref.loss}`);
  const triplet = tf.tidy(() => tripletLoss(tf.tensor2d(e), tf.tensor1d(labels, 'int32'), OPTS).loss.dataSync()[0]!);
  const [both] = run({ ...OPTS, tripletWeight: 1, cosFaceWeight: 0.5 });
  assert.ok(Math.abs(both! - (triplet + 0.5 * ref.loss)) < 1e-4, `${both}`);
  const before = tf.memory().numTensors;
  const x = tf.tensor2d(e);
  const l = tf.tensor1d(labels, 'int32');
  const r = trainingLoss(x, l, { ...OPTS, tripletWeight: 1, contrastiveWeight: 1 }, head);
  assert.equal(tf.memory().numTensors, before + 4, 'only the inputs and the two returned scalars remain');
  tf.dispose([x, l, r.loss, r.activeFraction]);
  assert.throws(() => trainingLoss(tf.tensor2d(e), tf.tensor1d(labels, 'int32'), OPTS), /class matrix/);
  assert.throws(() => createClassHead([3, 3, 3], 4, 1), /at least 2 training people/);
  head.dispose();
  assert.equal(describeLoss({ ...OPTS, tripletWeight: 1 }), '1 x batch-all margin 0.5, euclidean + 1 x CosFace margin 0.35, scale 30');
  assert.equal(describeLoss(OPTS), 'CosFace margin 0.35, scale 30');
  assert.equal(loadConfig('configs/att-cpu.yml', ['loss.tripletWeight=0', 'loss.contrastiveWeight=0', 'loss.cosFaceWeight=1']).loss.cosFaceWeight, 1);
});

const INPUT: [number, number, number] = [8, 8, 1];

function config(cosFaceWeight: number): RunConfig {
  return runConfigSchema.parse({
    name: 'cosface-test',
    dataset: { name: 'att', split: { kind: 'att-subjects' } },
    preprocess: { channels: 1 },
    model: { architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 },
    loss: { miner: 'batch-all', margin: 0.5, cosFaceWeight, cosFaceScale: 10 },
    optimizer: { name: 'adam', learningRate: 0.01 },
    training: { epochs: 3, seed: 42 },
  });
}

function session(runDir: string, cfg: RunConfig) {
  const source = syntheticBatchSource({ seed: 42, identities: 5, identitiesPerBatch: 3, imagesPerIdentity: 2, stepsPerEpoch: 3, inputShape: INPUT });
  return createTrainingSession({ config: cfg, runDir, source, inputShape: INPUT, trainLabels: [0, 1, 2, 3, 4] });
}

void test('a session trains the class matrix, checkpoints it beside the weights and resumes bit for bit', async () => {
  const straight = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-cosface-'));
  const resumed = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-cosface-'));
  try {
    const a = await session(straight, config(1));
    const parallel = await session(resumed, config(1)); // two sessions with a class matrix live in one process
    parallel.dispose();
    const initial = a.model.weights.length;
    for (let e = 1; e <= 3; e++) await a.trainEpoch(e);
    a.dispose();
    const b = await session(resumed, config(1));
    await b.trainEpoch(1);
    b.dispose();
    const c = await session(resumed, config(1));
    assert.equal(c.resumedFrom, 'epoch-0001');
    await c.trainEpoch(2);
    await c.trainEpoch(3);
    c.dispose();

    const [one, two, first] = await Promise.all([
      readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0003')),
      readCheckpoint(path.join(resumed, 'checkpoints', 'epoch-0003')),
      readCheckpoint(path.join(resumed, 'checkpoints', 'epoch-0001')),
    ]);
    assert.equal(one.weights.length, initial, 'the model weights alone: the class matrix is not part of the model');
    assert.deepEqual(one.lossWeights?.map((w) => [w.name, w.shape]), [[CLASS_MATRIX_NAME, [5, 4]]]);
    assert.deepEqual(two.lossWeights, one.lossWeights);
    assert.deepEqual(two.weights, one.weights);
    assert.deepEqual(two.optimizer, one.optimizer);
    assert.notDeepEqual(first.lossWeights![0]!.values, one.lossWeights![0]!.values, 'the class matrix trains');
    assert.ok(one.optimizer.slots.some((slot) => slot.name.endsWith(`/${CLASS_MATRIX_NAME}`)), 'the optimiser keeps slots for the class matrix too');

    // A checkpoint without the matrix (trained without CosFace) is refused, naming it and what to do.
    const plain = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-cosface-'));
    try {
      const p = await session(plain, config(0));
      await p.trainEpoch(1);
      p.dispose();
      assert.equal((await readCheckpoint(path.join(plain, 'checkpoints', 'epoch-0001'))).lossWeights, null);
      const before = tf.memory().numTensors;
      await assert.rejects(session(plain, config(1)), /epoch-0001 has no CosFace class matrix.*start a new run id/s);
      assert.equal(tf.memory().numTensors, before, 'nothing of the refused session is left');
    } finally {
      await fs.rm(plain, { recursive: true, force: true });
    }
  } finally {
    await Promise.all([straight, resumed].map((d) => fs.rm(d, { recursive: true, force: true })));
  }
});

void test('the class matrix has a row for each person the sampler draws, not for one-photo people it leaves out', async () => {
  // s1..s6 with 3 images each and s7 with one; s5 and s6 held out for testing.
  const counts = [3, 3, 3, 3, 3, 3, 1];
  const labels = Int32Array.from(counts.flatMap((n, id) => Array<number>(n).fill(id)));
  const dataset: CachedDataset = {
    cachePath: '', key: 'synthetic', dataset: 'att', height: 8, width: 8, channels: 1,
    identities: counts.map((_, id) => `s${id + 1}`),
    labels,
    paths: Array.from(labels, (l, i) => `s${l + 1}/${i}.pgm`),
    pixels: Uint8Array.from({ length: labels.length * 64 }, (_, i) => (i * 37) % 251),
    partial: false,
  };
  const cfg = runConfigSchema.parse({
    ...config(1),
    dataset: { name: 'att', split: { kind: 'att-subjects', testSubjects: ['s5', 's6'] } },
    sampler: { kind: 'pk', identitiesPerBatch: 2, imagesPerIdentity: 2 },
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-cosface-'));
  try {
    const s = await createTrainingSession({ config: cfg, runDir: dir, dataset });
    await s.trainEpoch(1);
    s.dispose();
    const ck = await readCheckpoint(path.join(dir, 'checkpoints', 'epoch-0001'));
    assert.deepEqual(ck.lossWeights?.[0]?.shape, [4, 4], 's1..s4: s7 has one photo and is never drawn');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
