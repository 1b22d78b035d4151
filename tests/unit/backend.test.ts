// Every installed backend runs the same small computation with the same result; missing ones are
// reported with how to install them. The cpu backend's composite weight gradient matches its own. A
// worker preloads its backend, and runs reuse or switch it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AUTO_ORDER, BackendUnavailableError, availableBackends, initBackend } from '../../src/backend';
import { registerCpuTrainingKernels } from '../../src/backend/wasm/training-kernels';
import { WorkerBackend } from '../../src/pipeline';
import type { RunConfig } from '../../src/config/schema';

test('each installed backend computes a conv2d + matmul identically; the others are reported', async (t) => {
  const { available, missing } = await availableBackends();
  for (const m of missing) t.diagnostic(`skipped backend ${m.backend}: ${m.why}`);
  assert.ok(available.includes('cpu') && available.includes('wasm'), `cpu and wasm are regular dependencies; found ${available.join(', ')}`);
  const results: Record<string, number[]> = {};
  for (const backend of available) {
    const choice = await initBackend(backend);
    assert.equal(choice.backend, backend);
    results[backend] = tf.tidy(() => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
      const w = tf.tensor4d([1, 0, 0, -1], [2, 2, 1, 1]);
      const y = tf.conv2d(x, w, 1, 'valid'); // [[1-5, 2-6], [4-8, 5-9]] = all -4
      return Array.from(tf.matMul(tf.reshape(y, [1, 4]), tf.ones([4, 1])).dataSync());
    });
  }
  for (const backend of available) assert.deepEqual(results[backend], [-16], backend);
});

test('auto picks the fastest backend that loads and says why', async () => {
  const { available } = await availableBackends();
  const choice = await initBackend('auto');
  assert.equal(choice.backend, AUTO_ORDER.find((b) => available.includes(b)));
  assert.match(choice.reason, /^auto/);
});

test('asking for a backend that is not installed says how to install it', async (t) => {
  const { missing } = await availableBackends();
  // Not installed (a tensorflow-gpu that is installed but finds no GPU says so instead: backend-gpu.test.ts).
  const absent = missing.find((m) => m.why.includes('; to install: '));
  if (!absent) return t.skip('every backend is installed here');
  await assert.rejects(initBackend(absent.backend), (err: unknown) => {
    assert.ok(err instanceof BackendUnavailableError);
    assert.match(err.message, new RegExp(`The ${absent.backend} backend is not installed.*npm install @tensorflow/tfjs-node`));
    return true;
  });
});

test('the composite Conv2DBackpropFilter on cpu matches the native one', async () => {
  await tf.setBackend('cpu');
  const grads = () =>
    tf.tidy(() => {
      const x = tf.randomNormal([2, 9, 7, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
      return tf.grad((k: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, k as tf.Tensor4D, 2, "same"))))(w).arraySync() as number[][][][];
    });
  const native = grads();
  registerCpuTrainingKernels();
  const composite = grads();
  const a = native.flat(3);
  const b = composite.flat(3);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number)) / (Math.abs(v) + 1e-3)));
  assert.ok(worst < 1e-4, `relative error ${worst}`);
});

test('a worker preloads FACENET_BACKEND: a run asking for it reuses it, one asking for another switches, one that cannot load is reported', async (t) => {
  const { missing } = await availableBackends();
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (msg: string) => void warnings.push(msg));
  t.mock.method(console, 'log', () => undefined);
  const worker = new WorkerBackend({ FACENET_BACKEND: 'cpu' });
  let switches = 0;
  worker.onSwitch(() => void switches++);
  const preloaded = await worker.preload();
  assert.equal(preloaded?.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const run = { backend: 'auto' } as RunConfig;
  assert.equal(await worker.ensure(run), preloaded, 'the preloaded backend was initialised again');
  assert.equal(switches, 1, 'only the first load is a switch');
  const unforced = new WorkerBackend({});
  assert.equal((await unforced.ensure({ backend: 'wasm' })).backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // Not installed (a tensorflow-gpu that is installed but finds no GPU says so instead: backend-gpu.test.ts).
  const absent = missing.find((m) => m.why.includes('; to install: '));
  if (!absent) return t.skip('every backend is installed here');
  assert.equal(await new WorkerBackend({ FACENET_BACKEND: absent.backend }).preload(), null);
  assert.match(warnings.join('\n'), new RegExp(`Could not load the ${absent.backend} backend at worker start: The ${absent.backend} backend is not installed`));
  assert.equal(tf.getBackend(), 'wasm', 'a failed preload changed the active backend');
});
