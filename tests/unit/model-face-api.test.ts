// model.init face-api-resnet34: our tfjs-layers rebuild of face-api's recognition net gives face-api's own
// descriptor on real images (AT&T and LFW, through the att-faceapi preprocessing), saves and loads, and
// freezes the stages it is told to. wasm backend (6 s); skipped without the datasets.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadConfig } from '../../src/config/load';
import { assembleBatch, pixelOptions, preprocessImage } from '../../src/data';
import { buildEmbeddingModel, DESCRIPTOR_LAYER, FACE_API_STAGES } from '../../src/model';
import { loadFaceApi } from '../../scripts/validate-published/face-api';

const projectRoot = path.resolve(__dirname, '../..');
const DATASETS = path.resolve(projectRoot, '../shared/datasets');
const IMAGES = [
  'att_faces/s1/1.pgm',
  'att_faces/s37/4.pgm',
  'lfw/lfw-deepfunneled/Abel_Pacheco/Abel_Pacheco_0001.jpg',
].map((f) => path.join(DATASETS, f));
const CONFIG = path.join(projectRoot, 'configs/att-faceapi.yml');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) ** 2;
  return Math.sqrt(s);
}

test('the untrained model gives face-api\'s descriptor on real images (within 1e-4), L2-normalised', async (t) => {
  const missing = IMAGES.filter((f) => !existsSync(f));
  if (missing.length) return t.skip(`datasets not found: ${missing.join(', ')}`);
  const faceapi = await loadFaceApi({ backend: 'wasm' });
  const config = loadConfig(CONFIG);
  const pixels = pixelOptions(config.preprocess);
  const images = await Promise.all(IMAGES.map((f) => preprocessImage(f, pixels)));
  for (const img of images) assert.deepEqual([img.height, img.width, img.channels], [150, 150, 3]);

  // face-api's own net on the same 150x150 RGB pixels (it normalises them itself).
  const reference: Float32Array[] = [];
  for (const img of images) {
    const input = tf.tensor3d(Int32Array.from(img.data), [150, 150, 3], 'int32');
    reference.push((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input)) as Float32Array);
    input.dispose();
  }

  // Ours, through the pipeline's batch assembly and the config's normalisation.
  const ds = { height: 150, width: 150, channels: 3 as const, pixels: new Uint8Array(images.flatMap((i) => Array.from(i.data))), labels: new Int32Array(images.length) };
  const { mean, std } = config.preprocess.normalize;
  const batch = assembleBatch(ds, images.map((_, i) => i), config.preprocess, { mean, std }, null);
  const model = buildEmbeddingModel({ ...config.model, inputShape: [150, 150, 3], seed: 0 });
  const descriptorModel = tfl.model({ inputs: model.inputs, outputs: model.getLayer(DESCRIPTOR_LAYER).output as tfl.SymbolicTensor });
  const x = tf.tensor4d(batch.data, batch.shape);
  const raw = (descriptorModel.predict(x) as tf.Tensor).arraySync() as number[][];
  const unit = (model.predict(x) as tf.Tensor).arraySync() as number[][];

  reference.forEach((ref, i) => {
    const r = norm(ref);
    // dlib's descriptor is not normalised (its threshold 0.6 is on raw distances): these are 1.2-1.5 long.
    assert.ok(r > 1.1 && r < 1.7, `face-api descriptor ${i} has norm ${r}`);
    assert.ok(maxAbsDiff(raw[i] as number[], ref) < 1e-4, `raw descriptor ${i}: max difference ${maxAbsDiff(raw[i] as number[], ref)}`);
    const refUnit = Array.from(ref, (v) => v / r);
    assert.ok(maxAbsDiff(unit[i] as number[], refUnit) < 1e-4, `embedding ${i}: max difference ${maxAbsDiff(unit[i] as number[], refUnit)}`);
  });
  // A different image gives a different descriptor (the comparison above is not vacuous).
  assert.ok(maxAbsDiff(reference[0] as Float32Array, reference[1] as Float32Array) > 0.05);

  // Saved and loaded as a standard model.json (ZeroPadChannels and L2Normalize are registered), same output.
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
  const again = (loaded.predict(x) as tf.Tensor).arraySync() as number[][];
  assert.ok(maxAbsDiff(again.flat(), unit.flat()) < 1e-6);
  tf.dispose([x]);
  model.dispose();
  loaded.dispose();
});

test('model.freeze leaves the named stages out of the trainable weights', () => {
  const config = loadConfig(CONFIG);
  const build = (freeze: (typeof FACE_API_STAGES)[number][]) => buildEmbeddingModel({ ...config.model, freeze, inputShape: [150, 150, 3], seed: 0 });
  const all = build([]);
  // 29 convolutions with kernel and bias, the descriptor matrix: 5.6 M weights, all trainable.
  assert.equal(all.trainableWeights.length, 59);
  assert.equal(all.countParams(), 5_607_488);
  const some = build(['stem', 'stage1']);
  const names = some.trainableWeights.map((w) => w.originalName ?? w.name);
  assert.equal(names.length, 59 - 2 - 12);
  assert.ok(names.every((n) => !n.startsWith('stem_') && !n.startsWith('stage1_')), names.join(', '));
  assert.ok(names.some((n) => n.startsWith('stage2_')));
  // Frozen weights are still the model's weights (checkpoints hold them all).
  assert.equal(some.weights.length, 59);
  const none = build([...FACE_API_STAGES]);
  assert.equal(none.trainableWeights.length, 0);
  [all, some, none].forEach((m) => m.dispose());
});

test('the config refuses a preprocessing the published weights were not trained on, naming the field', () => {
  assert.throws(() => loadConfig(CONFIG, ['preprocess.channels=1']), /preprocess\.channels: face-api-resnet34 takes RGB input/);
  assert.throws(() => loadConfig(CONFIG, ['preprocess.resize={height: 112, width: 92}']), /preprocess\.resize: .*150x150/);
  assert.throws(() => loadConfig(CONFIG, ['preprocess.normalize.mean=[0.5]']), /preprocess\.normalize: .*mean: \[0\.481498, 0\.458827, 0\.409012\]/);
  assert.throws(() => loadConfig(CONFIG, ['model.embeddingDim=64']), /model\.embeddingDim: .*128/);
  assert.throws(() => loadConfig(path.join(projectRoot, 'configs/att-cpu.yml'), ['model.freeze=[stem]']), /model\.freeze: freezing stages needs model\.init face-api-resnet34/);
  assert.throws(() => loadConfig(CONFIG, ['model.freeze=[stage9]']), /model\.freeze/);
  assert.throws(() => loadConfig(CONFIG, ['model.freeze=[stem, stage1, stage2, stage3, stage4, embedding]']), /model\.freeze: every stage is frozen/);
});

test('buildEmbeddingModel checks the input shape for face-api-resnet34', () => {
  const config = loadConfig(CONFIG);
  assert.throws(() => buildEmbeddingModel({ ...config.model, inputShape: [112, 92, 1], seed: 0 }), /inputShape to be \[150, 150, 3\] for init 'face-api-resnet34'/);
});
