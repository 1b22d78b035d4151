// training.averageWeights: the running average against a brute-force one, and through real training
// sessions: an interrupted run resumes the same average bit for bit, and a checkpoint's inference model
// holds the average, not the raw weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runConfigSchema, type RunConfig } from '../../src/config/schema';
import { averageAfterEpoch, type AverageConfig, type WeightAverage } from '../../src/train/weight-average';
import { createTrainingSession } from '../../src/train/session';
import { syntheticBatchSource } from '../../src/train/synthetic';
import { readCheckpoint } from '../../src/train/checkpoint';
import { loadCheckpointModel } from '../../src/train/restore';
import { modelWeightsToArrays } from '../../src/train/weights';
import type { NamedArray } from '../../src/train/tensor-file';

const INPUT: [number, number, number] = [8, 8, 1];

function weightsOf(values: number[][]): NamedArray[] {
  return values.map((v, i) => ({ name: `w${i}`, shape: [v.length], dtype: 'float32', values: Float32Array.from(v) }));
}

// Five epochs of two small weights, with values that are not exact in float32.
const EPOCHS = [1, 2, 3, 4, 5].map((e) => [[0.1 * e, -1 / (e + 2), 3.3 - e], [Math.sin(e), e * e * 0.01]]);

function run(cfg: AverageConfig): WeightAverage | null {
  let avg: WeightAverage | null = null;
  EPOCHS.forEach((w, i) => {
    avg = averageAfterEpoch(cfg, i + 1, avg, weightsOf(w));
  });
  return avg;
}

test('uniform: the plain mean of the epochs from fromEpoch on', () => {
  const avg = run({ kind: 'uniform', fromEpoch: 3, decay: 0.9 });
  assert.ok(avg);
  assert.equal(avg.epochs, 3);
  avg.weights.forEach((w, i) => {
    Array.from(w.values).forEach((x, j) => {
      const mean = (EPOCHS[2]![i]![j]! + EPOCHS[3]![i]![j]! + EPOCHS[4]![i]![j]!) / 3;
      assert.ok(Math.abs(x - mean) < 1e-6, `weight ${i}[${j}]: ${x} vs ${mean}`);
    });
  });
});

test('ema: decay times the average plus (1 - decay) times the new weights, starting from the first averaged epoch', () => {
  const avg = run({ kind: 'ema', fromEpoch: 2, decay: 0.75 });
  assert.ok(avg);
  assert.equal(avg.epochs, 4);
  avg.weights.forEach((w, i) => {
    Array.from(w.values).forEach((x, j) => {
      let ref = EPOCHS[1]![i]![j]!;
      for (let e = 2; e < 5; e++) ref = 0.75 * ref + 0.25 * EPOCHS[e]![i]![j]!;
      assert.ok(Math.abs(x - ref) < 1e-6, `weight ${i}[${j}]: ${x} vs ${ref}`);
    });
  });
});

test('before fromEpoch, and with kind none, there is no average; the first average copies the weights', () => {
  assert.equal(averageAfterEpoch({ kind: 'ema', fromEpoch: 3, decay: 0.9 }, 2, null, weightsOf([[1]])), null);
  assert.equal(run({ kind: 'none', fromEpoch: 1, decay: 0.9 }), null);
  const w = weightsOf([[1, 2]]);
  const first = averageAfterEpoch({ kind: 'uniform', fromEpoch: 1, decay: 0.9 }, 1, null, w);
  (w[0]!.values as Float32Array)[0] = 7;
  assert.deepEqual(Array.from(first!.weights[0]!.values), [1, 2]);
});

function config(kind: AverageConfig['kind']): RunConfig {
  return runConfigSchema.parse({
    name: 'average-test',
    dataset: { name: 'att', split: { kind: 'att-subjects' } },
    preprocess: { channels: 1 },
    model: { architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 },
    loss: { miner: 'batch-all', margin: 0.5 },
    optimizer: { name: 'adam', learningRate: 0.01 },
    training: { epochs: 4, seed: 7, keepLastCheckpoints: 5, averageWeights: { kind, fromEpoch: 2, decay: 0.5 } },
  });
}

const source = () => syntheticBatchSource({ seed: 7, identities: 5, identitiesPerBatch: 3, imagesPerIdentity: 2, stepsPerEpoch: 2, inputShape: INPUT });

test('sessions: 4 epochs in one go == 2 + a new session for 2 more (the average bit for bit); evaluation loads the average', async () => {
  await tf.setBackend('cpu');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-average-'));
  try {
    const straight = path.join(tmp, 'straight');
    const s = await createTrainingSession({ config: config('ema'), runDir: straight, source: source(), inputShape: INPUT });
    for (let e = 1; e <= 4; e++) await s.trainEpoch(e);
    const raw = modelWeightsToArrays(s.model).map((w) => Array.from(w.values));
    s.dispose();

    const resumed = path.join(tmp, 'resumed');
    const a = await createTrainingSession({ config: config('ema'), runDir: resumed, source: source(), inputShape: INPUT });
    for (let e = 1; e <= 2; e++) await a.trainEpoch(e);
    a.dispose();
    const b = await createTrainingSession({ config: config('ema'), runDir: resumed, source: source(), inputShape: INPUT });
    assert.equal(b.resumedFrom, 'epoch-0002');
    for (let e = 3; e <= 4; e++) await b.trainEpoch(e);
    b.dispose();

    const ck1 = await readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0001'));
    assert.equal(ck1.average, null, 'no average before fromEpoch');
    const [x, y] = await Promise.all([straight, resumed].map((d) => fs.readFile(path.join(d, 'checkpoints', 'epoch-0004', 'average.bin'))));
    assert.ok(x!.equals(y!), 'the resumed run continued another average');
    const ck = await readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0004'));
    assert.equal(ck.average?.epochs, 3);
    // The average differs from the last weights (training moved them), and it is what evaluation gets.
    assert.notDeepEqual(ck.average!.weights.map((w) => Array.from(w.values)), raw);
    const loaded = await loadCheckpointModel({ config: config('ema'), inputShape: INPUT, checkpointPath: ck.path });
    try {
      assert.equal(loaded.averagedEpochs, 3);
      assert.deepEqual(modelWeightsToArrays(loaded.model).map((w) => Array.from(w.values)), ck.average!.weights.map((w) => Array.from(w.values)));
    } finally {
      loaded.model.dispose();
    }
    // Epoch 2 began the average: its checkpoint's average is its own weights.
    const ck2 = await readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0002'));
    assert.deepEqual(ck2.average!.weights.map((w) => Array.from(w.values)), ck2.weights.map((w) => Array.from(w.values)));
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});
