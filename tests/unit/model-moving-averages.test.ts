// BatchNorm's moving statistics updated together after the forward pass (src/model/moving-averages.ts):
// bit for bit what per-layer updates give, deferred until the pass ends, in a handful of kernels, applied
// twice for a layer called twice, and not at all when the pass throws. On wasm, where the fused BatchNorm
// layer (the one that defers) runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend';
import { buildEmbeddingModel, FusedBatchNormalization, withBatchedMovingAverages, type EmbeddingModelOptions } from '../../src/model';

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'light', embeddingDim: 8, inputShape: [16, 16, 1], seed: 5,
};

/** Every moving mean and variance of the model, in order, as plain numbers. */
function movingStatistics(model: tfl.LayersModel): number[][] {
  return model.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
}

function trainingPass(model: tfl.LayersModel, x: tf.Tensor4D): void {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
  tf.dispose([value, ...Object.values(grads)]);
}

void test.before(async () => {
  await initBackend('wasm');
});

void test('batched moving-average updates equal per-layer updates bit for bit, in a handful of kernels', async () => {
  const x = tf.add(tf.randomNormal([4, 16, 16, 1], 0, 1, 'float32', 3), 2) as tf.Tensor4D;
  const perLayer = buildEmbeddingModel(TINY);
  const batched = buildEmbeddingModel(TINY);
  const before = tf.memory().numTensors;
  // tf.profile returns the same object each time: keep the count, not the profile.
  const perLayerKernels = (await tf.profile(() => trainingPass(perLayer, x))).kernels.length;
  trainingPass(perLayer, x);
  const batchedKernels = (await tf.profile(() => withBatchedMovingAverages(() => trainingPass(batched, x)))).kernels.length;
  withBatchedMovingAverages(() => trainingPass(batched, x));
  assert.equal(tf.memory().numTensors, before, 'the passes leaked tensors');

  const expected = movingStatistics(perLayer);
  assert.ok(expected.some((values) => values.some((v) => v !== 0 && v !== 1)), 'the fixture should move the statistics');
  assert.deepEqual(movingStatistics(batched), expected);
  // 20 BatchNorm layers, two statistics each. Layer by layer, an update is three kernels plus the six copies
  // the gradient tape keeps of their inputs: 360. Batched after the pass, off the tape: 6 (two concats, sub,
  // mul, sub, split).
  assert.equal(perLayerKernels - batchedKernels, 360 - 6);
  tf.dispose(x);
  perLayer.dispose();
  batched.dispose();
});

void test('the updates wait for the end of the pass, and a pass that throws applies none of them', () => {
  const model = buildEmbeddingModel(TINY);
  const x = tf.add(tf.randomNormal([4, 16, 16, 1], 0, 1, 'float32', 4), 1) as tf.Tensor4D;
  const initial = movingStatistics(model);
  const before = tf.memory().numTensors;
  let duringPass: number[][] = [];
  withBatchedMovingAverages(() => {
    trainingPass(model, x);
    duringPass = movingStatistics(model);
  });
  assert.deepEqual(duringPass, initial, 'the statistics changed before the pass ended');
  const afterPass = movingStatistics(model);
  assert.notDeepEqual(afterPass, initial, 'the statistics did not change after the pass');

  assert.throws(
    () =>
      withBatchedMovingAverages(() => {
        trainingPass(model, x);
        throw new Error('loss went wrong');
      }),
    /loss went wrong/,
  );
  assert.deepEqual(movingStatistics(model), afterPass, 'a failed pass updated the statistics');
  assert.equal(tf.memory().numTensors, before, 'the deferred statistics leaked');
  tf.dispose(x);
  model.dispose();
});

void test('a BatchNorm layer called twice in one pass updates twice, as without batching', () => {
  const makeModel = (): tfl.LayersModel => {
    const input = tfl.input({ shape: [4, 4, 3] });
    const bn = new FusedBatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: 'shared_bn' });
    const first = bn.apply(input) as tfl.SymbolicTensor;
    const second = bn.apply(tfl.layers.multiply().apply([first, first]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: second });
  };
  const x = tf.randomNormal([5, 4, 4, 3], 2, 3, 'float32', 6) as tf.Tensor4D;
  const perLayer = makeModel();
  const batched = makeModel();
  trainingPass(perLayer, x);
  withBatchedMovingAverages(() => trainingPass(batched, x));
  const expected = movingStatistics(perLayer);
  // Batched naively, both updates would start from the initial statistics and the first would be lost.
  assert.deepEqual(movingStatistics(batched), expected);
  tf.dispose(x);
  perLayer.dispose();
  batched.dispose();
});
