// The ResNet embedding models: parameter counts against torchvision, shapes and names, seeded init,
// argument validation, and a save/load round trip through a standard model.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { buildEmbeddingModel, countTrainableParams, l2Normalize, type EmbeddingModelOptions } from '../../src/model';

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'light', embeddingDim: 8, inputShape: [16, 16, 1], seed: 7,
};

/** torchvision's parameter count, from the architecture's definition (convs without bias, BN gamma+beta). */
function torchvisionParams(arch: 'resnet18' | 'resnet34' | 'resnet50', widths: number[], inCh: number, stemK: number, dim: number): number {
  const depths = arch === 'resnet18' ? [2, 2, 2, 2] : [3, 4, 6, 3];
  const bottleneck = arch === 'resnet50';
  let total = stemK * stemK * inCh * widths[0]! + 2 * widths[0]!;
  let ch = widths[0]!;
  depths.forEach((depth, stage) => {
    const w = widths[stage]!;
    for (let b = 0; b < depth; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const out = bottleneck ? 4 * w : w;
      total += bottleneck
        ? ch * w + 2 * w + 9 * w * w + 2 * w + w * out + 2 * out
        : 9 * ch * w + 2 * w + 9 * w * w + 2 * w;
      if (stride !== 1 || ch !== out) total += ch * out + 2 * out;
      ch = out;
    }
  });
  return total + ch * dim + dim;
}

void test.before(async () => {
  await tf.setBackend('cpu');
});

// ---- Parameter counts ----

const FULL: Array<[EmbeddingModelOptions['architecture'], number, number, number]> = [
  ['resnet18', 3, 128, 11_242_176], // the LFW reference (torchvision resnet18, fc 512 -> 128)
  ['resnet18', 3, 64, 11_209_344], // the AT&T README's number: a 3-channel conv1 with a 64-d head
  ['resnet18', 1, 64, 11_203_072], // the AT&T model as described (1-channel conv1): 6,272 fewer
  ['resnet34', 3, 128, 21_350_336],
  ['resnet50', 3, 128, 23_770_304],
];
for (const [architecture, channels, dim, expected] of FULL) {
  void test(`${architecture} with ${channels} channel(s) and a ${dim}-d head has ${expected.toLocaleString('en')} trainable parameters`, () => {
    assert.equal(torchvisionParams(architecture, [64, 128, 256, 512], channels, 7, dim), expected);
    const model = buildEmbeddingModel({
      architecture, widths: [64, 128, 256, 512], stem: 'standard', embeddingDim: dim, inputShape: [64, 64, channels], seed: 1,
    });
    assert.equal(countTrainableParams(model), expected);
    model.dispose();
  });
}

void test('narrow widths and the light stem count like the same torchvision-style network', () => {
  for (const architecture of ['resnet18', 'resnet34', 'resnet50'] as const) {
    const model = buildEmbeddingModel({ ...TINY, architecture, widths: [4, 8, 12, 16], embeddingDim: 5, inputShape: [16, 16, 3] });
    assert.equal(countTrainableParams(model), torchvisionParams(architecture, [4, 8, 12, 16], 3, 3, 5), architecture);
    model.dispose();
  }
});

// ---- Shapes, names, outputs ----

void test('the standard stem reduces 224 x 224 by 32 before pooling; the light stem by 8', () => {
  const standard = buildEmbeddingModel({ ...TINY, stem: 'standard', inputShape: [224, 224, 1] });
  assert.deepEqual(standard.getLayer('stem_pool').outputShape, [null, 56, 56, 4]);
  assert.deepEqual(standard.getLayer('stage4_block2_out').outputShape, [null, 7, 7, 8]);
  standard.dispose();
  const light = buildEmbeddingModel({ ...TINY, inputShape: [32, 24, 1] });
  assert.deepEqual(light.getLayer('stage4_block2_out').outputShape, [null, 4, 3, 8]);
  assert.throws(() => light.getLayer('stem_pool'));
  light.dispose();
});

void test('layers are named by block, with a projection shortcut only where the shape changes', () => {
  const model = buildEmbeddingModel({ ...TINY, architecture: 'resnet50' });
  const names = new Set(model.layers.map((l) => l.name));
  for (const name of ['stem_conv', 'stem_bn', 'stage1_block1_conv3', 'stage1_block1_down_conv', 'stage2_block1_down_bn',
    'stage3_block6_add', 'stage4_block3_out', 'avg_pool', 'embedding', 'l2_normalize']) {
    assert.ok(names.has(name), `missing layer ${name}`);
  }
  assert.ok(!names.has('stage1_block2_down_conv'));
  assert.deepEqual(model.getLayer('stage4_block3_out').outputShape, [null, 2, 2, 32]); // bottleneck: 4 x 8 channels
  model.dispose();
});

void test('the output is [batch, embeddingDim] rows of unit length', () => {
  const model = buildEmbeddingModel(TINY);
  const norms = tf.tidy(() => {
    const x = tf.randomUniform([3, 16, 16, 1], 0, 1, 'float32', 1);
    const y = model.predict(x) as tf.Tensor2D;
    assert.deepEqual(y.shape, [3, 8]);
    return tf.norm(y, 'euclidean', 1).arraySync() as number[];
  });
  for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5, `norm ${n}`);
  model.dispose();
});

void test('l2Normalize maps a zero row to zero with a finite gradient', () => {
  const [y, g] = tf.tidy(() => {
    const x = tf.tensor2d([[0, 0], [3, 4]]);
    return [l2Normalize(x).arraySync(), tf.grad((t: tf.Tensor) => tf.sum(l2Normalize(t)))(x).arraySync()];
  });
  assert.deepEqual(y, [[0, 0], [0.6000000238418579, 0.800000011920929]]);
  for (const v of (g as number[][]).flat()) assert.ok(Number.isFinite(v));
});

// ---- Seeded initialisation ----

void test('two builds with one seed have bit-identical weights; another seed changes them', () => {
  const a = buildEmbeddingModel(TINY);
  const b = buildEmbeddingModel(TINY);
  const c = buildEmbeddingModel({ ...TINY, seed: 8 });
  const wa = a.getWeights().map((w) => w.dataSync());
  const wb = b.getWeights().map((w) => w.dataSync());
  const wc = c.getWeights().map((w) => w.dataSync());
  assert.equal(wa.length, wb.length);
  wa.forEach((w, i) => assert.deepEqual(w, wb[i], `weight ${i} differs`));
  assert.notDeepEqual(a.getLayer('stem_conv').getWeights()[0]!.dataSync(), c.getLayer('stem_conv').getWeights()[0]!.dataSync());
  assert.ok(wc.length === wa.length);
  // Same-shaped layers get different per-layer seeds.
  assert.notDeepEqual(a.getLayer('stage1_block1_conv1').getWeights()[0]!.dataSync(),
    a.getLayer('stage1_block1_conv2').getWeights()[0]!.dataSync());
  [a, b, c].forEach((m) => m.dispose());
});

void test('convs are He-normal with fan_out (std sqrt(2 / (k*k*out))), BN starts at identity, the head is U(+-1/sqrt(fanIn))', () => {
  const model = buildEmbeddingModel({ ...TINY, widths: [64, 128, 256, 256] });
  const w = model.getLayer('stage4_block2_conv2').getWeights()[0]!.dataSync(); // 3x3x256x256
  let sum = 0;
  let sq = 0;
  for (const v of w) { sum += v; sq += v * v; }
  const mean = sum / w.length;
  const std = Math.sqrt(sq / w.length - mean * mean);
  const expected = Math.sqrt(2 / (9 * 256));
  assert.ok(Math.abs(std / expected - 1) < 0.01, `std ${std} vs ${expected}`);
  assert.ok(Math.abs(mean) < 0.01 * expected);
  const [gamma, beta, movingMean, movingVar] = model.getLayer('stem_bn').getWeights().map((t) => Array.from(t.dataSync()));
  assert.deepEqual([gamma, beta, movingMean, movingVar], [[...Array(64)].map(() => 1), Array(64).fill(0), Array(64).fill(0), Array(64).fill(1)]);
  const limit = 1 / Math.sqrt(256);
  const [kernel, bias] = model.getLayer('embedding').getWeights().map((t) => Array.from(t.dataSync()));
  for (const v of [...kernel!, ...bias!]) assert.ok(Math.abs(v) <= limit);
  assert.ok(Math.max(...kernel!.map(Math.abs)) > 0.9 * limit);
  model.dispose();
});

// ---- Validation ----

void test('bad options fail with "Expected X ..., but got ..." naming the field and value', () => {
  const cases: Array<[Partial<Record<keyof EmbeddingModelOptions, unknown>>, RegExp]> = [
    [{ embeddingDim: 10.8 }, /Error: Expected embeddingDim to be a positive integer, but got 10\.8$/],
    [{ embeddingDim: 0 }, /Expected embeddingDim to be a positive integer, but got 0/],
    [{ embeddingDim: '10' }, /Expected embeddingDim to be a positive integer, but got '10' \(a string\)/],
    [{ embeddingDim: null }, /Expected embeddingDim to be a positive integer, but got null/],
    [{ embeddingDim: undefined }, /Expected embeddingDim to be a positive integer, but got undefined/],
    [{ architecture: 'resnet101' }, /Expected architecture to be one of 'resnet18', 'resnet34', 'resnet50', but got 'resnet101'/],
    [{ stem: 'deep' }, /Expected stem to be one of 'standard', 'light', but got 'deep'/],
    [{ widths: [64, 128, 256] }, /Expected widths to be 4 positive integers .*, but got \[64, 128, 256\]/],
    [{ inputShape: [112, 92] }, /Expected inputShape to be 3 positive integers/],
    [{ seed: -1 }, /Expected seed to be a non-negative integer, but got -1/],
    [{ stem: 'standard', inputShape: [16, 16, 1] }, /at least 32 for the 'standard' stem, but got 16 x 16/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(() => buildEmbeddingModel({ ...TINY, ...patch } as EmbeddingModelOptions), message, JSON.stringify(patch));
  }
});

// ---- Serialisation ----

void test('the model saves as a standard model.json and loads back with identical outputs', async () => {
  const model = buildEmbeddingModel(TINY);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  assert.ok(artifacts);
  const topology = JSON.stringify(artifacts.modelTopology);
  assert.ok(topology.includes('"class_name":"L2Normalize"'), 'the custom layer is serialised by its registered name');
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 3);
  const [y1, y2] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  assert.deepEqual(await y2.data(), await y1.data());
  assert.equal(countTrainableParams(loaded), countTrainableParams(model));
  tf.dispose([x, y1, y2]);
  model.dispose();
  loaded.dispose();
});
