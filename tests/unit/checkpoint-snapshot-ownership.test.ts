// A checkpoint snapshot's arrays are moved to the writer thread (transferred, which empties them here).
// They must be the snapshot's own: on tfjs-node, a tensor made from JavaScript values returns that very
// array from dataSync until an op first uses it, so moving it would empty the tensor's values. Each
// installed backend restores an optimiser state and weights, snapshots them at once, moves every array,
// and must then train on exactly as without the move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, initBackend, readOwnedValues, type ConcreteBackend } from '../../src/backend';
import { createOptimizer, type OptimizerState } from '../../src/train/optimizers';

/** What writeCheckpointOffThread does to the arrays: transfer their buffers away (postMessage's transfer list). */
function moveAway(arrays: Array<Float32Array | Int32Array>): void {
  structuredClone(arrays, { transfer: [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))] });
}

async function restoreSnapshotAndStep(backend: ConcreteBackend, move: boolean): Promise<number[]> {
  await initBackend(backend);
  const weights = tf.variable(tf.tensor1d([1, -2, 3, 0.5]));
  const opt = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 }, [{ name: 'w', variable: weights }]);
  const saved: OptimizerState = {
    name: 'adam',
    step: 3,
    slots: [
      { name: 'm/0/w', shape: [4], values: Float32Array.from([0.1, -0.2, 0.3, 0]) },
      { name: 'v/0/w', shape: [4], values: Float32Array.from([0.01, 0.04, 0.09, 0.5]) },
    ],
  };
  opt.importState(saved);
  weights.assign(tf.tensor1d([1, -2, 3, 0.5]));
  // The snapshot right after the restore, before any op has used the restored values.
  const snapshot = [readOwnedValues(weights), ...opt.exportState().slots.map((s) => s.values)];
  if (move) moveAway(snapshot);
  const g = tf.tensor1d([0.5, -1, 2, 0]);
  opt.applyGradients([g], 0.1);
  const after = Array.from(weights.dataSync());
  tf.dispose([g, weights]);
  opt.dispose();
  return after;
}

test('on every installed backend, moving a snapshot taken right after a restore changes nothing of the training', async () => {
  const { available } = await availableBackends();
  for (const backend of available.filter((b) => b !== 'tensorflow-gpu')) {
    const expected = await restoreSnapshotAndStep(backend, false);
    const got = await restoreSnapshotAndStep(backend, true);
    assert.ok(expected.every(Number.isFinite), `${backend}: ${expected.join(', ')}`);
    assert.deepEqual(got, expected, backend);
  }
});
