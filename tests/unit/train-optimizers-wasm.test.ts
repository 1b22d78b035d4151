// On wasm, cutting the flat optimiser update back into parameters must not read the flat vector out of
// the heap: tfjs-wasm's own Slice (and the SplitV built on it) does so for every piece, which made a
// ResNet-18 training step 0.4 s slower. The Slice and SplitV of wasm/training-kernels.ts copy inside the heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { createOptimizer } from '../../src/train/optimizers';

/** Counts the backend's readSync calls (reads out of the wasm heap) while `fn` runs. */
function countReads(fn: () => void): number {
  const backend = tf.backend() as unknown as { readSync: (dataId: object) => unknown };
  const original = backend.readSync;
  let reads = 0;
  backend.readSync = function (this: unknown, dataId: object) {
    reads += 1;
    return original.call(this, dataId);
  };
  try {
    fn();
  } finally {
    backend.readSync = original;
  }
  return reads;
}

test('on wasm, an Adam update over several parameters reads nothing out of the heap and gives the per-parameter result', async () => {
  await initBackend('wasm');
  const a = tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]));
  const b = tf.variable(tf.tensor1d([0.25, -4, 8]));
  const opt = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 }, [
    { name: 'a', variable: a },
    { name: 'b', variable: b },
  ]);
  const grads = [tf.tensor2d([[0.5, -1], [2, 0]]), tf.tensor1d([1, -3, 0.5])];
  assert.equal(countReads(() => opt.applyGradients(grads, 0.1)), 0);
  // First Adam step: each weight moves by lr * sign(g) (0 where g = 0).
  assert.deepEqual(Array.from(a.dataSync(), (v) => Math.round(v * 1e5) / 1e5), [0.9, -1.9, 2.9, 0.5]);
  assert.deepEqual(Array.from(b.dataSync(), (v) => Math.round(v * 1e5) / 1e5), [0.15, -3.9, 7.9]);
  tf.dispose([a, b, ...grads]);
  opt.dispose();
});

test('on wasm, slices and splits copy inside the heap and equal the cpu backend', async () => {
  const cases = (): tf.Tensor[] => {
    const x = tf.reshape(tf.range(0, 2 * 3 * 4 * 5, 1, 'float32'), [2, 3, 4, 5]);
    const ints = tf.reshape(tf.range(0, 24, 1, 'int32'), [4, 6]);
    return [
      tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]), // contiguous: the second batch entry
      tf.slice(x, [0, 1, 2, 0], [1, 1, 2, 5]), // contiguous: a run inside one entry
      tf.slice(x, [0, 1, 1, 2], [2, 2, 2, 2]), // runs of 2 on every axis
      tf.slice(x, [0, 0, 1, 0], [2, 3, 2, 5]), // a crop of rows (what the backward convolutions do)
      tf.slice(x, [1, 2, 3, 4], [1, 1, 1, 0]), // empty
      tf.slice(tf.reshape(x, [6, 20]), [2, 5], [3, 7]), // rank 2
      tf.slice(tf.reshape(x, [-1]), [17], [30]), // rank 1
      ...tf.split(tf.reshape(x, [-1]), [7, 0, 50, 63]), // what the optimiser does
      ...tf.split(x, [1, 2], 1), // along an inner axis
      ...tf.split(ints, 2, 0), // int32
      ...tf.split(ints, [1, 5], 1),
    ];
  };
  await initBackend('cpu');
  const expected = cases().map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
  await initBackend('wasm');
  const got = tf.tidy(() => cases().map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) })));
  assert.deepEqual(got, expected);
  const flat = tf.range(0, 1000, 1, 'float32');
  const image = tf.reshape(tf.range(0, 2 * 9 * 7 * 3, 1, 'float32'), [2, 9, 7, 3]);
  try {
    assert.equal(countReads(() => tf.dispose(tf.split(flat, [100, 300, 600]))), 0, 'a split of a flat vector read its source out of the heap');
    assert.equal(countReads(() => tf.dispose(tf.slice(flat, [10], [20]))), 0, 'a 1-D slice read its source out of the heap');
    assert.equal(countReads(() => tf.dispose(tf.slice(image, [0, 1, 2, 0], [2, 7, 4, 3]))), 0, 'a crop read its source out of the heap');
  } finally {
    tf.dispose([flat, image]);
  }
});
