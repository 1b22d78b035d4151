// BatchNorm in training mode on wasm: the fused kernels of src/backend/wasm/batch-norm.ts compute what the
// cpu backend's composite does (output, gradients, moving statistics), also for a constant channel (zero
// variance), and replace the composite's ~47 kernels. Their passes run as WebAssembly SIMD when the channels
// come in fours, with the JavaScript passes' results bit for bit; the JavaScript passes are split with a
// helper thread when two wasm threads run and the pass is large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/backend';
import { installedWasmThreads } from '../../src/backend/wasm/threads';
import { PassOp, type PassJob } from '../../src/backend/wasm/batch-norm-pass';
import { runPass, SPLIT_MIN_VALUES, splitJobCount } from '../../src/backend/wasm/batch-norm-passes';
import { BATCH_NORM_SIMD } from '../../src/backend/wasm/batch-norm-simd';
import { simdRunCount } from '../../src/backend/wasm/simd-kernels';
import { elementOffset, type WasmHeapBackend } from '../../src/backend/wasm/heap';
import { Rng } from '../../src/util/rng';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../../src/backend/ops/batch-norm-training';
import { assertProbesClose, probeBatchNorm } from '../helpers/batch-norm-probe';

async function on<T>(backend: 'cpu' | 'wasm', fn: () => Promise<T>): Promise<T> {
  await initBackend(backend);
  return fn();
}

for (const constantChannel of [false, true]) {
  for (const channels of [6, 8]) {
    const path = channels % 4 === 0 ? 'SIMD' : 'JavaScript';
    void test(`BatchNorm training on wasm (${path} passes) is two fused kernels with the cpu backend's output, gradients and moving statistics${constantChannel ? ' (one constant channel)' : ''}`, async () => {
      const shape: [number, number, number, number] = [4, 5, 3, channels];
      const cpu = await on('cpu', () => probeBatchNorm({ constantChannel, shape }));
      const simdBefore = simdRunCount(BATCH_NORM_SIMD);
      const wasm = await on('wasm', () => probeBatchNorm({ constantChannel, shape }));
      // Three training-mode calls (3 passes each) and two gradients (2 passes each).
      assert.equal(simdRunCount(BATCH_NORM_SIMD) - simdBefore, path === 'SIMD' ? 3 * 3 + 2 * 2 : 0, 'passes run as SIMD');
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
}

void test('each SIMD pass gives the results of the JavaScript pass bit for bit', async () => {
  await initBackend('wasm');
  const backend = tf.backend() as unknown as WasmHeapBackend;
  const rng = new Rng(7);
  for (const [rows, channels] of [[1, 4], [37, 32], [300, 64], [5, 260]] as const) {
    const size = rows * channels;
    const random = (scale: number, offset: number): tf.Tensor => tf.tensor1d(Float32Array.from({ length: size }, () => scale * (rng.next() * 2 - 1) + offset));
    const perChannel = (): Float64Array => Float64Array.from({ length: channels }, () => rng.next() * 3 - 1);
    const x = random(4, 2);
    const dy = random(1, 0);
    const inputs = [perChannel(), perChannel(), perChannel(), perChannel()];
    for (const op of Object.values(PassOp)) {
      const run = (implementation: 'auto' | 'javascript'): { written: Float32Array; sums: Float64Array[] } => {
        const out = tf.zeros([size]);
        const sums = [new Float64Array(channels), new Float64Array(channels)];
        const job: PassJob = {
          op, channels, rows, inputs, outputs: sums,
          x: elementOffset(backend, x), y: elementOffset(backend, op === PassOp.Affine ? out : dy), dx: elementOffset(backend, out),
        };
        runPass(backend, job, implementation);
        const written = out.dataSync() as Float32Array;
        out.dispose();
        return { written, sums };
      };
      const before = simdRunCount(BATCH_NORM_SIMD);
      const simd = run('auto');
      assert.equal(simdRunCount(BATCH_NORM_SIMD) - before, 1, 'the SIMD pass did not run');
      const js = run('javascript');
      assert.deepEqual(simd, js, `pass ${op} on ${rows} x ${channels}`);
      assert.ok(js.written.some((v) => v !== 0) || js.sums[0]!.some((v) => v !== 0), `pass ${op} computed nothing`);
    }
    tf.dispose([x, dy]);
  }
});

void test('with two wasm threads, large JavaScript BatchNorm passes are split with a helper thread and still match the cpu backend', async (t) => {
  await initBackend('wasm');
  if (installedWasmThreads() < 2) return t.skip('the single-threaded wasm build runs here');
  // 66 channels: not in fours, so the JavaScript passes run.
  const shape: [number, number, number, number] = [8, 16, 16, 66];
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
