// On wasm the flat optimiser update must not cut its result with slices: tfjs-wasm's slice copies the whole
// source out of the heap for every piece, which made a ResNet-18 training step 0.4 s slower.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { createOptimizer } from '../../src/train/optimizers';

test('on wasm, an Adam update over several parameters runs no Slice or SplitV kernel and gives the per-parameter result', async () => {
  await initBackend('wasm');
  const a = tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]));
  const b = tf.variable(tf.tensor1d([0.25, -4, 8]));
  const opt = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 }, [
    { name: 'a', variable: a },
    { name: 'b', variable: b },
  ]);
  const grads = [tf.tensor2d([[0.5, -1], [2, 0]]), tf.tensor1d([1, -3, 0.5])];
  const profile = await tf.profile(() => opt.applyGradients(grads, 0.1));
  const kernels = profile.kernels.map((k) => k.name);
  assert.ok(!kernels.includes('Slice') && !kernels.includes('SplitV'), `kernels run: ${kernels.join(', ')}`);
  // First Adam step: each weight moves by lr * sign(g) (0 where g = 0).
  assert.deepEqual(Array.from(a.dataSync(), (v) => Math.round(v * 1e5) / 1e5), [0.9, -1.9, 2.9, 0.5]);
  assert.deepEqual(Array.from(b.dataSync(), (v) => Math.round(v * 1e5) / 1e5), [0.15, -3.9, 7.9]);
  tf.dispose([a, b, ...grads]);
  opt.dispose();
});
