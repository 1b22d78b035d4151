// Adam's update as one kernel on wasm (src/backend/wasm/adam.ts): the SIMD pass and its JavaScript fallback
// give the optimiser's composite update bit for bit, on a length that is not a multiple of 4 (the SIMD pass's
// scalar tail), and the optimiser uses the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend';
import { ADAM_UPDATE, adamUpdate, type AdamUpdateAttrs } from '../../src/backend/ops/adam-update';
import { simdRunCount } from '../../src/backend/wasm/simd-kernels';
import { ADAM_SIMD, adamConstants, adamInJavaScript } from '../../src/backend/wasm/adam';
import { createOptimizer } from '../../src/train/optimizers';
import { Rng } from '../../src/util/rng';

const ATTRS: AdamUpdateAttrs = { beta1: 0.9, beta2: 0.999, stepSize: 0.0123, epsilon: 3.1e-8 };
const N = 1003;

function randomArrays(seed: number): { g: Float32Array; m: Float32Array; v: Float32Array } {
  const rng = new Rng(seed);
  const values = (scale: number, positive = false): Float32Array =>
    Float32Array.from({ length: N }, () => (positive ? rng.next() * scale : (rng.next() * 2 - 1) * scale));
  return { g: values(3), m: values(0.5), v: values(2, true) };
}

/** The optimiser's composite, op for op, on the active backend. */
function composite(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamUpdateAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const mNew = tf.add(tf.mul(tf.scalar(a.beta1), m), tf.mul(tf.scalar(1 - a.beta1), g));
    const vNew = tf.add(tf.mul(tf.scalar(a.beta2), v), tf.mul(tf.scalar(1 - a.beta2), tf.square(g)));
    return [mNew, vNew, tf.mul(tf.scalar(a.stepSize), tf.div(mNew, tf.add(tf.sqrt(vNew), tf.scalar(a.epsilon))))];
  });
}

function values(ts: tf.Tensor[]): number[][] {
  const out = ts.map((t) => Array.from(t.dataSync()));
  tf.dispose(ts);
  return out;
}

void test('the one-pass Adam update on wasm equals the composite on cpu and on wasm, bit for bit', async () => {
  const { g, m, v } = randomArrays(11);
  await initBackend('cpu');
  assert.equal(adamUpdate(tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v), ATTRS), null, 'the cpu backend has no fused kernel');
  const onCpu = values(composite(tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v), ATTRS));
  await initBackend('wasm');
  const inputs = [tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v)] as const;
  const before = simdRunCount(ADAM_SIMD);
  const fused = adamUpdate(...inputs, ATTRS);
  assert.equal(simdRunCount(ADAM_SIMD) - before, 1, 'the SIMD pass did not run');
  const onWasm = values([fused!.m, fused!.v, fused!.delta]);
  const compositeOnWasm = values(composite(...inputs, ATTRS));
  tf.dispose([...inputs]);
  assert.deepEqual(onWasm, onCpu);
  assert.deepEqual(compositeOnWasm, onCpu);
  assert.ok(onCpu[2]!.every((d) => Number.isFinite(d)) && onCpu[2]!.some((d) => d !== 0));
});

void test('the JavaScript fallback of the Adam kernel computes the same bit for bit', async () => {
  const { g, m, v } = randomArrays(12);
  await initBackend('cpu');
  const expected = values(composite(tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v), ATTRS));
  const out = { m: new Float32Array(N), v: new Float32Array(N), delta: new Float32Array(N) };
  adamInJavaScript({ g, m, v }, adamConstants(ATTRS), out);
  assert.deepEqual([Array.from(out.m), Array.from(out.v), Array.from(out.delta)], expected);
});

void test('the optimiser updates with the fused kernel on wasm and moves the weights as on cpu', async () => {
  const run = async (backend: 'cpu' | 'wasm'): Promise<number[]> => {
    await initBackend(backend);
    const w = tf.variable(tf.tensor1d(randomArrays(13).m));
    const opt = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0 }, [{ name: 'w', variable: w }]);
    for (let step = 0; step < 3; step++) {
      const grad = tf.tensor1d(randomArrays(20 + step).g);
      opt.applyGradients([grad], 0.01);
      grad.dispose();
    }
    const weights = Array.from(w.dataSync());
    opt.dispose();
    w.dispose();
    return weights;
  };
  const onCpu = await run('cpu');
  const kernelsBefore = simdRunCount(ADAM_SIMD);
  const onWasm = await run('wasm');
  assert.equal(simdRunCount(ADAM_SIMD) - kernelsBefore, 3, `${ADAM_UPDATE} did not run for each step`);
  assert.deepEqual(onWasm, onCpu);
});
