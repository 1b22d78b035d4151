// BatchNorm in a custom training loop: embedTraining (inside tf.variableGrads, as the trainer calls it)
// must normalise with batch statistics and update the moving statistics; inference must use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { buildEmbeddingModel, embedInference, embedTraining, type EmbeddingModelOptions } from '../../src/model';

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'light', embeddingDim: 8, inputShape: [16, 16, 1], seed: 5,
};

function channelStats(t: tf.Tensor): { mean: number[]; variance: number[] } {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return { mean: mean.arraySync() as number[], variance: variance.arraySync() as number[] };
  });
}

function movingStats(model: tfl.LayersModel, layer: string): { mean: number[]; variance: number[] } {
  const [, , mean, variance] = model.getLayer(layer).getWeights();
  return { mean: Array.from(mean!.dataSync()), variance: Array.from(variance!.dataSync()) };
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `${what}[${i}]: expected ${expected[i]}, got ${v}`));
}

function trainingStep(model: tfl.LayersModel, x: tf.Tensor4D): void {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(embedTraining(model, x))) as tf.Scalar);
  tf.dispose(value);
  tf.dispose(grads);
}

void test.before(async () => {
  await tf.setBackend('cpu');
});

void test('a training-mode call inside variableGrads updates the moving statistics with momentum 0.9', () => {
  const model = buildEmbeddingModel(TINY);
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('stem_conv').output as tfl.SymbolicTensor });
  const x = tf.add(tf.randomNormal([4, 16, 16, 1], 0, 1, 'float32', 2), 3) as tf.Tensor4D;
  const conv = probe.predict(x) as tf.Tensor;
  const batch = channelStats(conv);
  assert.ok(batch.mean.some((m) => Math.abs(m) > 0.05), 'fixture should have a non-zero batch mean');

  const before = tf.memory().numTensors;
  trainingStep(model, x);
  assert.equal(tf.memory().numTensors, before, 'the training step leaked tensors');

  // torch-style momentum 0.1 (Keras 0.9): moving = 0.9 * moving + 0.1 * batch (biased batch variance).
  const after1 = movingStats(model, 'stem_bn');
  assertClose(after1.mean, batch.mean.map((m) => 0.1 * m), 1e-5, 'moving mean');
  assertClose(after1.variance, batch.variance.map((v) => 0.9 + 0.1 * v), 1e-4, 'moving variance');

  trainingStep(model, x);
  assertClose(movingStats(model, 'stem_bn').mean, batch.mean.map((m) => 0.19 * m), 1e-5, 'moving mean after two steps');
  tf.dispose([x, conv]);
  model.dispose();
});

void test('inference normalises with the moving statistics and changes nothing; training mode uses the batch', () => {
  const model = buildEmbeddingModel(TINY);
  const layers = ['stem_conv', 'stem_bn'].map((n) => model.getLayer(n).output as tfl.SymbolicTensor);
  const probe = tfl.model({ inputs: model.inputs, outputs: layers });
  const x = tf.add(tf.randomNormal([4, 16, 16, 1], 0, 1, 'float32', 4), 2) as tf.Tensor4D;
  trainingStep(model, x);
  const stats = movingStats(model, 'stem_bn');

  const before = movingStats(model, 'stem_bn');
  tf.dispose(embedInference(model, x));
  assert.deepEqual(movingStats(model, 'stem_bn'), before, 'inference must not touch the moving statistics');

  const [conv, bn] = probe.predict(x) as tf.Tensor[];
  const expected = tf.tidy(() =>
    tf.div(tf.sub(conv!, tf.tensor1d(stats.mean)), tf.sqrt(tf.add(tf.tensor1d(stats.variance), 1e-5))));
  const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(bn!, expected))).dataSync()[0]!);
  assert.ok(maxDiff < 1e-4, `inference BN differs from (x - movingMean) / sqrt(movingVar + eps) by ${maxDiff}`);

  // Training mode: per-channel output mean 0 and variance ~1 over the batch (gamma 1, beta 0).
  const [, bnTrain] = probe.apply(x, { training: true }) as tf.Tensor[];
  const trainStats = channelStats(bnTrain!);
  assertClose(trainStats.mean, [0, 0, 0, 0], 1e-4, 'training-mode BN mean');
  assertClose(trainStats.variance, [1, 1, 1, 1], 1e-2, 'training-mode BN variance');
  tf.dispose([x, conv!, bn!, expected, bnTrain!]);
  model.dispose();
});
