import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { clipFlatGradient, createOptimizer, flatNorm, type OptimizerOptions } from '../../src/train/optimizers';

const opts = (o: Partial<OptimizerOptions>): OptimizerOptions => ({
  name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0.9, ...o,
});
const f32 = (x: number) => Math.fround(x);
const near = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('setup cpu backend', async () => {
  await tf.setBackend('cpu');
});

test('Adam: the first step moves each weight by lr * sign(g) (bias-corrected), the second by the hand-computed amount', () => {
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = createOptimizer(opts({ name: 'adam' }), [{ name: 'w', variable: p }]);
  opt.applyGradients([tf.tensor1d([0.5, -4])], 0.1);
  // m = 0.1 g, v = 0.001 g^2; mhat = g, vhat = g^2 -> update = g/|g| (eps negligible).
  const v1 = p.dataSync();
  near(v1[0] as number, 0.9);
  near(v1[1] as number, -1.9);
  opt.applyGradients([tf.tensor1d([1, 0])], 0.1);
  // weight 0, step 2: m = 0.9*0.05 + 0.1*1 = 0.145, v = 0.999*0.00025 + 0.001*1 = 0.00124975
  // mhat = 0.145/0.19 = 0.763157.., vhat = 0.00124975/0.001999 = 0.625187..; update = 0.763157/0.790688 = 0.965181
  near(p.dataSync()[0] as number, 0.9 - 0.1 * (0.145 / 0.19) / Math.sqrt(0.00124975 / 0.001999), 1e-5);
  assert.equal(opt.step, 2);
  opt.dispose();
  p.dispose();
});

test('AdamW decays the weights decoupled from the gradient: p -= lr * (update + wd * p)', () => {
  const p = tf.variable(tf.tensor1d([2]));
  const opt = createOptimizer(opts({ name: 'adamw', weightDecay: 0.5 }), [{ name: 'w', variable: p }]);
  opt.applyGradients([tf.tensor1d([3])], 0.1);
  // Adam update = 1; decay 0.5 * 2 = 1 -> p = 2 - 0.1 * 2 = 1.8
  near(p.dataSync()[0] as number, 1.8);
  // Plain Adam with the same decay, for contrast:
  opt.dispose();
  const q = tf.variable(tf.tensor1d([2]));
  const adam = createOptimizer(opts({ name: 'adam', weightDecay: 0.5 }), [{ name: 'w', variable: q }]);
  adam.applyGradients([tf.tensor1d([3])], 0.1);
  // Adam's L2 adds 0.5 * 2 = 1 to the gradient first: normalised update is still 1 -> 1.9.
  near(q.dataSync()[0] as number, 1.9);
  adam.dispose();
  tf.dispose([p, q]);
});

test('SGD with momentum: v = m v + g; p -= lr v', () => {
  const p = tf.variable(tf.tensor1d([1]));
  const opt = createOptimizer(opts({ name: 'sgd', momentum: 0.5 }), [{ name: 'w', variable: p }]);
  opt.applyGradients([tf.tensor1d([2])], 0.1); // v = 2, p = 0.8
  opt.applyGradients([tf.tensor1d([2])], 0.1); // v = 3, p = 0.5
  assert.equal(p.dataSync()[0], f32(f32(0.8) - f32(0.1 * 3)));
  near(p.dataSync()[0] as number, 0.5);
  opt.dispose();
  p.dispose();
});

test('exported state restores exactly: continuing from an import gives bit-identical weights', () => {
  const grads = (k: number) => [tf.tensor2d([[0.3 * k, -0.7], [1.1, 0.01 * k]]), tf.tensor1d([k, -k / 3])];
  const run = (restoreAt: number | null) => {
    const a = tf.variable(tf.tensor2d([[0.5, -0.25], [1, 2]]));
    const b = tf.variable(tf.tensor1d([0.1, 0.2]));
    const params = [{ name: 'a', variable: a }, { name: 'b', variable: b }];
    let opt = createOptimizer(opts({ name: 'adamw', weightDecay: 0.01 }), params);
    for (let k = 1; k <= 5; k++) {
      if (k === restoreAt) {
        const state = opt.exportState();
        opt.dispose();
        opt = createOptimizer(opts({ name: 'adamw', weightDecay: 0.01 }), params);
        opt.importState(structuredClone(state));
      }
      const g = grads(k);
      opt.applyGradients(g, 0.01 * k);
      tf.dispose(g);
    }
    const out = [...a.dataSync(), ...b.dataSync()];
    opt.dispose();
    tf.dispose([a, b]);
    return out;
  };
  assert.deepEqual(run(3), run(null));
});

test('importState refuses another optimiser and wrong shapes, naming them', () => {
  const p = tf.variable(tf.tensor1d([1, 2]));
  const adam = createOptimizer(opts({}), [{ name: 'w', variable: p }]);
  const sgd = createOptimizer(opts({ name: 'sgd' }), [{ name: 'w', variable: p }]);
  assert.throws(() => sgd.importState(adam.exportState()), /for 'adam' but the optimiser is 'sgd'/);
  const bad = adam.exportState();
  bad.slots[0] = { name: 'm/0/w', shape: [3], values: new Float32Array(3) };
  assert.throws(() => adam.importState(bad), /slot 'm\/0\/w' has shape \[3\] but the parameter has shape \[2\]/);
  p.dispose();
  adam.dispose();
  sgd.dispose();
});

test('the global norm and clipping work on the gradients end to end, as the optimiser flattens them', () => {
  const p = [tf.variable(tf.tensor1d([0, 0])), tf.variable(tf.tensor1d([0]))];
  const opt = createOptimizer(opts({ name: 'sgd' }), p.map((variable, i) => ({ name: `w${i}`, variable })));
  const g = [tf.tensor1d([3, 0]), tf.tensor1d([4])]; // global norm 5
  const flat = opt.flattenGradients(g);
  assert.deepEqual(Array.from(flat.dataSync()), [3, 0, 4]);
  near(flatNorm(flat), 5);
  const clipped = clipFlatGradient(flat, 1, 5);
  assert.deepEqual(Array.from(clipped.dataSync(), (v) => Math.round(v * 1e5) / 1e5), [0.6, 0, 0.8]);
  assert.throws(() => opt.flattenGradients([g[0]!]), /Expected 2 gradients \(one per parameter\), but got 1\./);
  assert.throws(() => opt.flattenGradients([g[1]!, g[0]!]), /The gradient for 'w0' has shape \[1\] but the parameter has shape \[2\]\./);
  tf.dispose([...g, ...p, flat, clipped]);
  opt.dispose();
});

test('an optimiser step leaves no tensors behind', () => {
  const p = tf.variable(tf.tensor1d([1, 2]));
  const opt = createOptimizer(opts({ name: 'adamw', weightDecay: 0.1 }), [{ name: 'w', variable: p }]);
  const g = tf.tensor1d([1, 1]);
  opt.applyGradients([g], 0.1);
  const before = tf.memory().numTensors;
  opt.applyGradients([g], 0.1);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([g, p]);
  opt.dispose();
});

test('several parameters of different shapes are updated exactly as each would be on its own (the slots hold them end to end)', () => {
  const shapes = [[2, 3], [4], [1, 1, 2, 2]];
  const initial = shapes.map((s, i) => Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(i * 10 + j)));
  const gradsAt = (step: number) => shapes.map((s, i) => tf.tensor(initial[i]!.map((x, j) => Math.cos(x * step + j)), s));
  for (const name of ['adam', 'adamw', 'sgd'] as const) {
    const o = opts({ name, weightDecay: name === 'adam' ? 0 : 0.01 });
    const together = shapes.map((s, i) => tf.variable(tf.tensor(initial[i]!, s)));
    const alone = shapes.map((s, i) => tf.variable(tf.tensor(initial[i]!, s)));
    const joint = createOptimizer(o, together.map((v, i) => ({ name: `w${i}`, variable: v })));
    const single = alone.map((v, i) => createOptimizer(o, [{ name: `w${i}`, variable: v }]));
    for (let step = 1; step <= 3; step++) {
      const g = gradsAt(step);
      joint.applyGradients(g, 0.01);
      single.forEach((opt, i) => opt.applyGradients([g[i]!], 0.01));
      tf.dispose(g);
    }
    together.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), Array.from(alone[i]!.dataSync()), `${name}: parameter ${i}`));
    // The exported state is per parameter, as before the slots were flat, so older checkpoints still load.
    const exported = joint.exportState().slots.filter((s) => s.name.startsWith(name === 'sgd' ? 'velocity/' : 'm/'));
    assert.deepEqual(exported.map((s) => s.shape), shapes);
    assert.deepEqual(exported.map((s) => Array.from(s.values)), single.map((opt) => Array.from(opt.exportState().slots[0]!.values)));
    joint.dispose();
    single.forEach((opt) => opt.dispose());
    tf.dispose([...together, ...alone]);
  }
});
