import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildEmbeddingModel } from '../../src/model';
import { exportModel, loadExportedModel, MODEL_JSON, WEIGHTS_BIN, SIDECAR_JSON } from '../../src/train/export';
import { embedAll, embedBatches } from '../../src/train/embed-all';
import { preprocessSchema, modelSchema } from '../../src/config/schema';

const INPUT: [number, number, number] = [8, 8, 1];

function images(n: number): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.reshape(tf.range(0, n * 64, 1, 'float32'), [n, ...INPUT]), n * 64) as tf.Tensor4D);
}

test('setup cpu backend', async () => {
  await tf.setBackend('cpu');
});

test('export then load gives identical embeddings and a complete sidecar', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facenet-export-'));
  const model = buildEmbeddingModel({ architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4, inputShape: INPUT, seed: 3 });
  // Move BatchNorm statistics away from their initial values, so the test covers non-trainable weights too.
  tf.tidy(() => model.apply(images(4), { training: true }) as tf.Tensor);
  const out = path.join(dir, 'model');
  await exportModel(model, out, {
    preprocess: preprocessSchema.parse({ channels: 1, resize: { height: 8, width: 8 } }),
    normalization: { mean: [0.4422], std: [0.1931] },
    model: modelSchema.parse({ widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 }),
    threshold: 0.89,
    distance: 'euclidean',
    metrics: { accuracy: 0.984 },
    runId: 'att-1',
    epoch: 3,
  });
  assert.deepEqual((await fs.readdir(out)).sort(), [SIDECAR_JSON, WEIGHTS_BIN, MODEL_JSON].sort());
  const modelJson = JSON.parse(await fs.readFile(path.join(out, MODEL_JSON), 'utf8'));
  assert.equal(modelJson.format, 'layers-model');
  assert.deepEqual(modelJson.weightsManifest[0].paths, [WEIGHTS_BIN]);
  const specBytes = (modelJson.weightsManifest[0].weights as { shape: number[] }[]).reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal((await fs.stat(path.join(out, WEIGHTS_BIN))).size, specBytes);

  const { model: loaded, sidecar } = await loadExportedModel(out);
  assert.deepEqual(sidecar?.inputShape, [8, 8, 1]);
  assert.equal(sidecar?.embeddingDim, 4);
  assert.equal(sidecar?.threshold, 0.89);
  assert.deepEqual(sidecar?.preprocess, { channels: 1, centerCrop: null, crop: null, resize: { height: 8, width: 8 }, mean: [0.4422], std: [0.1931] });
  assert.deepEqual(sidecar?.metrics, { accuracy: 0.984 });

  const x = images(5);
  const a = await embedBatches(model, 5, 2, (s, e) => tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]));
  const b = await embedBatches(loaded, 5, 5, (s, e) => tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]));
  assert.equal(a.length, 20);
  assert.deepEqual(Buffer.from(b.buffer), Buffer.from(a.buffer));
  // Unit-length rows: the L2Normalize layer survived serialisation.
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(Math.hypot(...a.subarray(i * 4, i * 4 + 4)) - 1) < 1e-5);
  x.dispose();
  model.dispose();
  loaded.dispose();
  await fs.rm(dir, { recursive: true });
});

test('embedBatches leaves no tensors behind, lets the event loop run between batches, and validates the batch size', async () => {
  const model = buildEmbeddingModel({ architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4, inputShape: INPUT, seed: 1 });
  const before = tf.memory().numTensors;
  // What an activity's heartbeat timer needs: turns of the event loop while the batches are embedded.
  const batchesAtTurns: number[] = [];
  let batches = 0;
  const timer = setInterval(() => batchesAtTurns.push(batches), 0);
  await embedBatches(model, 3, 1, (s, e) => (batches++, images(e - s)));
  clearInterval(timer);
  assert.ok(new Set(batchesAtTurns).size >= 2, `the timer ran after batches ${batchesAtTurns.join(', ')}: the embedding held the event loop`);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(embedBatches(model, 3, 0, () => images(1)), /Expected batchSize to be a positive integer, but got 0/);
  model.dispose();
});

test('loading a directory without model.json says what to point to', async () => {
  await assert.rejects(loadExportedModel('/nonexistent/dir'), /Cannot read the exported model \/nonexistent\/dir\/model.json: .*Point to a directory written by exportModel/);
});

test('embedAll embeds dataset images in the given order, in inference mode, without augmentation', async () => {
  const model = buildEmbeddingModel({ architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4, inputShape: INPUT, seed: 2 });
  const pixels = Uint8Array.from({ length: 3 * 64 }, (_, i) => (i * 37) % 256);
  const ds = { height: 8, width: 8, channels: 1 as const, pixels, labels: Int32Array.from([0, 1, 2]) };
  const pre = preprocessSchema.parse({ channels: 1, augment: { horizontalFlip: true, randomCropPad: 2 } });
  const norm = { mean: [0.5], std: [0.25] };
  const got = await embedAll(model, ds, [2, 0], pre, norm, 1);
  // By hand: image 2 then image 0, (x/255 - 0.5) / 0.25, through model.predict (inference mode).
  const x = tf.tensor4d(Float32Array.from([...pixels.subarray(128, 192), ...pixels.subarray(0, 64)], (v) => (v / 255 - 0.5) / 0.25), [2, 8, 8, 1]);
  const want = model.predict(x) as tf.Tensor;
  const w = want.dataSync() as Float32Array;
  for (let i = 0; i < 8; i++) assert.ok(Math.abs((got[i] as number) - (w[i] as number)) < 1e-6, `value ${i}: ${got[i]} vs ${w[i]}`);
  tf.dispose([x, want]);
  model.dispose();
});
