// Inference with BatchNorm folded into the convolutions (src/model/folded-inference.ts): the same embeddings
// as the model's own inference mode (up to float rounding), with no BatchNorm kernel, no separate ReLU after a
// folded convolution and no padded copy before a strided one, and nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend';
import { buildEmbeddingModel, foldedEmbedder, FusedBatchNormalization, type EmbeddingModelOptions } from '../../src/model';

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'standard', embeddingDim: 8, inputShape: [32, 32, 1], seed: 9,
};

/** Moves the BatchNorm statistics away from 0 and 1 (and the weights from their initial values), as training does. */
function train(model: tfl.LayersModel, x: tf.Tensor4D, steps: number): void {
  const optimizer = tf.train.sgd(0.05);
  for (let i = 0; i < steps; i++) {
    tf.dispose(optimizer.minimize(() => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, 0.3))) as tf.Scalar) ?? []);
  }
  optimizer.dispose();
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

for (const backend of ['cpu', 'wasm'] as const) {
  void test(`on ${backend}, folded inference gives the model's inference embeddings without BatchNorm, ReLU or padding kernels`, async () => {
    await initBackend(backend);
    const model = buildEmbeddingModel(TINY);
    const x = tf.add(tf.randomNormal([6, 32, 32, 1], 0, 1, 'float32', 1), 0.5) as tf.Tensor4D;
    train(model, x, 3);
    const movingMean = model.getLayer('stage2_block1_bn1').getWeights()[2]!.dataSync();
    assert.ok(movingMean.some((v) => Math.abs(v) > 1e-3), 'the fixture should move the moving means');

    const before = tf.memory().numTensors;
    const expected = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor2D);
    const embedder = foldedEmbedder(model);
    let folded: tf.Tensor2D | undefined;
    const profile = await tf.profile(() => {
      folded = embedder.embed(x);
    });
    const kernels = profile.kernels.map((k) => k.name);
    assert.ok(maxAbsDiff(folded!, expected) < 1e-5, `folded embeddings differ by ${maxAbsDiff(folded!, expected)}`);
    assert.ok(!kernels.includes('FusedBatchNorm'), `a BatchNorm kernel ran: ${kernels.join(', ')}`);
    // 20 convolutions, 20 folded; the 8 ReLUs left are the blocks' after their residual additions.
    assert.equal(kernels.filter((k) => k === 'FusedConv2D').length, 20);
    assert.equal(kernels.filter((k) => k === 'Relu').length, 8);
    // Only the max-pooling's padding is left: the strided convolutions pad explicitly.
    assert.equal(kernels.filter((k) => k === 'PadV2').length, 1);
    tf.dispose([folded!, expected]);
    embedder.dispose();
    assert.equal(tf.memory().numTensors, before, 'the embedder leaked tensors');
    x.dispose();
    model.dispose();
  });
}

void test('a graph that cannot be walked layer by layer (a layer called twice) embeds with the model itself', async () => {
  await initBackend('wasm');
  const input = tfl.input({ shape: [5, 5, 2] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'conv' });
  const bn = new FusedBatchNormalization({ axis: -1, name: 'bn' });
  const once = bn.apply(conv.apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const twice = bn.apply(once) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: tfl.layers.globalAveragePooling2d({}).apply(twice) as tfl.SymbolicTensor });
  bn.setWeights([tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0, 1, 0, 1]), tf.tensor1d([0.5, 0, 0, 0]), tf.tensor1d([2, 1, 1, 1])]);
  const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
  const embedder = foldedEmbedder(model);
  const expected = model.apply(x, { training: false }) as tf.Tensor2D;
  const actual = embedder.embed(x);
  assert.deepEqual(Array.from(actual.dataSync()), Array.from(expected.dataSync()));
  tf.dispose([x, expected, actual]);
  embedder.dispose();
  model.dispose();
});
