// BatchNorm in training mode on wasm: the fused JavaScript kernels of src/backend/wasm-batch-norm.ts
// compute what the cpu backend's composite does (output, gradients, moving statistics), also for a
// constant channel (zero variance), and replace the composite's ~47 kernels. With two wasm threads, large
// passes are split with a helper thread, with the same results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/backend';
import { installedWasmThreads } from '../../src/backend/wasm-threads';
import { SPLIT_MIN_VALUES, splitJobCount } from '../../src/backend/batch-norm-passes';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../../src/backend/batch-norm-training';
import { assertProbesClose, probeBatchNorm } from '../helpers/batch-norm-probe';

async function on<T>(backend: 'cpu' | 'wasm', fn: () => Promise<T>): Promise<T> {
  await initBackend(backend);
  return fn();
}

for (const constantChannel of [false, true]) {
  void test(`BatchNorm training on wasm is two fused kernels with the cpu backend's output, gradients and moving statistics${constantChannel ? ' (one constant channel)' : ''}`, async () => {
    const cpu = await on('cpu', () => probeBatchNorm({ constantChannel }));
    const wasm = await on('wasm', () => probeBatchNorm({ constantChannel }));
    assertProbesClose(wasm, cpu, 1e-4, 'wasm');
    assert.ok(wasm.kernels.includes(BATCH_NORM_TRAINING) && wasm.kernels.includes(BATCH_NORM_TRAINING_GRAD), `kernels run: ${wasm.kernels.join(', ')}`);
    assert.ok(!wasm.kernels.includes('Mean') && !wasm.kernels.includes('SquaredDifference'), 'the composite moments still ran');
    assert.ok(cpu.kernels.includes('Mean'), 'the cpu backend keeps the composite');
    if (constantChannel) {
      // Channel 0 is constant: it normalises to beta, and gamma gets no gradient from it.
      assert.ok(Math.abs(cpu.outputs[2]![0]!) < 1e-3, `dgamma of the constant channel: ${cpu.outputs[2]![0]}`);
    } else {
      assert.ok(Math.abs(wasm.outputs[4]![5]! - (1 - 0.9 ** 3) * 5) < 0.5, `moving mean of channel 5: ${wasm.outputs[4]![5]}`);
    }
  });
}

void test('with two wasm threads, large BatchNorm passes are split with a helper thread and still match the cpu backend', async (t) => {
  await initBackend('wasm');
  if (installedWasmThreads() < 2) return t.skip('the single-threaded wasm build runs here');
  const shape: [number, number, number, number] = [8, 16, 16, 64];
  assert.ok(tf.util.sizeFromShape(shape) >= SPLIT_MIN_VALUES);
  const cpu = await on('cpu', () => probeBatchNorm({ shape }));
  const before = splitJobCount();
  const wasm = await on('wasm', () => probeBatchNorm({ shape }));
  // Three training-mode calls (3 passes each) and two gradients (2 passes each).
  assert.equal(splitJobCount() - before, 3 * 3 + 2 * 2);
  assertProbesClose(wasm, cpu, 1e-4, 'wasm, split passes');
});

void test('the wasm BatchNorm kernels leave no tensors behind and refuse what they cannot compute', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  await probeBatchNorm();
  assert.equal(tf.memory().numTensors, before);
  const x = tf.zeros([2, 3, 4], 'float32');
  try {
    assert.throws(() => tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: tf.ones([4]), offset: tf.zeros([4]) }, { epsilon: 1e-3 } as unknown as tf.NamedAttrMap), /expected 'x' to be a float32 rank-4 NHWC tensor, got \[2, 3, 4\]/);
  } finally {
    x.dispose();
  }
});
