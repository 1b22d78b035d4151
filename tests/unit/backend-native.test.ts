// The native `tensorflow` backend (tfjs-node built against the C library of the PyPI tensorflow-cpu
// wheel by scripts/install-tfjs-node-offline.sh) must compute what the reference cpu backend does:
// same conv2d values and gradients, same training step. Skips with the reason when tfjs-node does
// not load (it is an optional dependency; see docs/native-tensorflow.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/backend';
import { buildEmbeddingModel, FusedBatchNormalization, type EmbeddingModelOptions } from '../../src/model';
import { withBatchedMovingAverages } from '../../src/model/moving-averages';
import { batchNormTraining } from '../../src/backend';
import { tripletLoss } from '../../src/loss';
import { createOptimizer, defaultEmbed, flatNorm, trainStep } from '../../src/train';
import { Rng } from '../../src/util/rng';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../../src/backend/ops/batch-norm-training';
import { assertProbesClose, probeBatchNorm } from '../helpers/batch-norm-probe';

// TensorFlow logs oneDNN/CPU-feature notices at load; they say nothing about correctness.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

let unavailable: string | null = null;

void test.before(async () => {
  try {
    await initBackend('tensorflow');
  } catch (err) {
    unavailable =
      `native tensorflow backend not loadable (${String((err as Error).message).split('\n')[0]}); ` +
      'run scripts/install-tfjs-node-offline.sh to build it';
  }
});

function uniform(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    // Relative for large values, absolute near zero: float32 sums in a different order differ by ulps.
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: cpu ${e}, tensorflow ${a}`);
  }
}

async function on<T>(backend: 'cpu' | 'tensorflow', fn: () => T): Promise<T> {
  assert.ok(await tf.setBackend(backend), `could not switch to ${backend}`);
  return fn();
}

void test('initBackend("tensorflow") runs tfjs-node on the wheel’s TensorFlow 2.x and a hand-computed conv2d', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const choice = await initBackend('tensorflow');
  assert.equal(choice.backend, 'tensorflow');
  assert.equal(choice.tfjsName, 'tensorflow');
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  assert.match(binding.TF_Version, /^2\.\d+\.\d+/);

  // 3x3 image 1..9, 2x2 kernel of ones, valid: each output is the sum of a 2x2 window.
  const y = tf.tidy(() => tf.conv2d(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]), tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid'));
  assert.deepEqual(Array.from(await y.data()), [12, 16, 24, 28]);
  y.dispose();
});

void test('conv2d values and both gradients match the cpu backend (stride 1 and 2, same padding)', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const rng = new Rng(20261128);
  const xs = uniform(rng, 2 * 9 * 9 * 3);
  const ws = uniform(rng, 3 * 3 * 3 * 5);
  for (const stride of [1, 2] as const) {
    const outSide = stride === 1 ? 9 : 5;
    const probe = uniform(rng, 2 * outSide * outSide * 5);
    const compute = (): Float32Array[] =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [2, 9, 9, 3]);
        const w = tf.tensor4d(ws, [3, 3, 3, 5]);
        const p = tf.tensor4d(probe, [2, outSide, outSide, 5]);
        const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same'), p));
        const [dx, dw] = tf.grads(f)([x, w]);
        const y = tf.conv2d(x, w, stride, 'same');
        return [y, dx!, dw!].map((r) => r.dataSync() as Float32Array);
      });
    const [yCpu, dxCpu, dwCpu] = await on('cpu', compute);
    const [yTf, dxTf, dwTf] = await on('tensorflow', compute);
    assertClose(yTf!, yCpu!, 1e-5, `stride ${stride} y`);
    assertClose(dxTf!, dxCpu!, 1e-5, `stride ${stride} dx`);
    assertClose(dwTf!, dwCpu!, 1e-5, `stride ${stride} dw`);
  }
});

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'light', embeddingDim: 8, inputShape: [16, 16, 1], seed: 7,
};

interface StepOutcome {
  loss: number;
  gradNorm: number;
  /** Every weight after the step, trainable and BatchNorm moving statistics, in model order. */
  weights: Float32Array[];
}

/** One SGD step (first step: w -= lr * grad, so the weights expose the gradients) of a tiny ResNet-18. */
function tinyTrainingStep(initial: Float32Array[], xs: Float32Array): StepOutcome {
  const model = buildEmbeddingModel(TINY);
  const start = model.getWeights().map((w, i) => tf.tensor(initial[i]!, w.shape));
  model.setWeights(start);
  tf.dispose(start);
  const named = model.trainableWeights.map((wt) => ({ name: wt.originalName ?? wt.name, variable: wt.read() as tf.Variable }));
  const optimizer = createOptimizer({ name: 'sgd', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0.9 }, named);
  const x = tf.tensor4d(xs, [8, 16, 16, 1]);
  const labels = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1], 'int32');
  const inputs = {
    model,
    params: named.map((p) => p.variable),
    optimizer,
    lossFn: (e: tf.Tensor2D, l: tf.Tensor1D) => tripletLoss(e, l, { miner: 'batch-all', margin: 0.2, distance: 'euclidean' }),
    embed: defaultEmbed,
    clipGradNorm: null,
  };
  const r = trainStep(inputs, x, labels, 0.1, { epoch: 0, step: 0 });
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return { loss: r.loss, gradNorm: r.gradNorm, weights };
}

void test('one training step of a tiny ResNet-18 (triplet loss, SGD) matches the cpu backend', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const initial = await on('cpu', () => {
    const m = buildEmbeddingModel(TINY);
    const w = m.getWeights().map((v) => v.dataSync() as Float32Array);
    m.dispose();
    return w;
  });
  const xs = uniform(new Rng(99), 8 * 16 * 16 * 1);
  const cpu = await on('cpu', () => tinyTrainingStep(initial, xs));
  const before = await on('tensorflow', () => tf.memory().numTensors);
  const native = await on('tensorflow', () => tinyTrainingStep(initial, xs));
  assert.equal(tf.memory().numTensors, before, 'the step leaked tensors on the tensorflow backend');

  assert.ok(cpu.loss > 0 && cpu.gradNorm > 0, `fixture should give a non-zero loss (got ${cpu.loss}, grad norm ${cpu.gradNorm})`);
  assertClose([native.loss, native.gradNorm], [cpu.loss, cpu.gradNorm], 1e-4, 'loss, grad norm');
  assert.equal(native.weights.length, cpu.weights.length);
  // Weights moved by lr * grad; agreeing to 1e-4 means the gradients agree to about 1e-3 of lr.
  native.weights.forEach((w, i) => assertClose(w, cpu.weights[i]!, 1e-4, `weight ${i}`));
  assert.ok(
    cpu.weights.some((w, i) => w.some((v, j) => v !== initial[i]![j])),
    'the step should have changed the weights',
  );
});

void test("ReLU's gradient on the native backend is TensorFlow's fused ReluGrad: dy where x > 0, else 0", async (t) => {
  if (unavailable) return t.skip(unavailable);
  const x = [-2, -0.5, 0, 0.25, 3, -1e-7, 1e-7, 7];
  const dy = [1, 2, 3, 4, 5, 6, 7, 8];
  const profile = await on('tensorflow', () =>
    tf.profile(() => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.tensor1d(dy))))(tf.tensor1d(x));
      assert.deepEqual(Array.from(g.dataSync()), [0, 0, 0, 4, 5, 0, 7, 8]);
    }),
  );
  const kernels = (await profile).kernels.map((k) => k.name);
  assert.ok(kernels.includes('ReluGrad'), `kernels run: ${kernels.join(', ')}`);
  assert.ok(!kernels.includes('Step'), 'the composite Step gradient still ran');
  // The cpu backend keeps tfjs's own formula, with the same values.
  const cpu = await on('cpu', () => Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.tensor1d(dy))))(tf.tensor1d(x)).dataSync()));
  assert.deepEqual(cpu, [0, 0, 0, 4, 5, 0, 7, 8]);
});

void test('BatchNorm in training mode on the native backend is one fused kernel each way, with the cpu backend\'s output, gradients and moving statistics', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const cpu = await (await on('cpu', () => probeBatchNorm()));
  const native = await (await on('tensorflow', () => probeBatchNorm()));
  assertProbesClose(native, cpu, 1e-4, 'tensorflow');
  // The moving mean moved towards the per-channel offsets: the statistics really were updated.
  assert.ok(Math.abs(cpu.outputs[4]![5]! - (1 - 0.9 ** 3) * 5) < 0.5, `moving mean of channel 5: ${cpu.outputs[4]![5]}`);
  const kernels = native.kernels;
  assert.ok(kernels.includes(BATCH_NORM_TRAINING) && kernels.includes(BATCH_NORM_TRAINING_GRAD), `kernels run: ${kernels.join(', ')}`);
  assert.ok(!kernels.includes('Mean') && !kernels.includes('SquaredDifference'), 'the composite moments still ran');
  assert.ok(cpu.kernels.includes('Mean'), 'the cpu backend keeps the composite');
});

/** Counts the TensorFlow ops the native backend runs through its binding while `fn` runs. */
function countNativeOps<T>(fn: () => T): { result: T; ops: Map<string, number> } {
  const backend = tf.backend() as unknown as { binding?: { executeOp: (...a: unknown[]) => unknown } };
  const real = backend.binding;
  const ops = new Map<string, number>();
  if (!real) return { result: fn(), ops };
  // The binding's properties are read-only: count through an object that inherits from it.
  const counting = Object.create(real) as typeof real;
  Object.defineProperty(counting, 'executeOp', {
    value: (...a: unknown[]) => {
      ops.set(a[0] as string, (ops.get(a[0] as string) ?? 0) + 1);
      return real.executeOp(...a);
    },
  });
  backend.binding = counting;
  try {
    return { result: fn(), ops };
  } finally {
    backend.binding = real;
  }
}

interface AdamRun {
  weights: Float32Array[];
  slots: Float32Array[];
  ops: Map<string, number>;
}

/**
 * Five Adam steps over parameters of ranks 4, 2 and 1 with fixed gradients; after the second, one parameter is
 * replaced from outside (as a restore does), which the in-place state must pick up.
 */
function adamSteps(weightDecay: number): AdamRun {
  const rng = new Rng(5);
  const shapes = [[3, 3, 2, 4], [5, 3], [4], [7]];
  const params = shapes.map((s, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(uniform(rng, tf.util.sizeFromShape(s)), s)) }));
  const grads = shapes.map((s) => uniform(rng, tf.util.sizeFromShape(s)));
  const replacement = uniform(rng, 5 * 3);
  const optimizer = createOptimizer({ name: 'adam', weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0.9 }, params);
  const before = tf.memory().numTensors;
  const { ops } = countNativeOps(() => {
    for (let step = 0; step < 5; step++) {
      if (step === 2) tf.tidy(() => params[1]!.variable.assign(tf.tensor(replacement, [5, 3])));
      tf.tidy(() => optimizer.applyGradients(grads.map((g, i) => tf.tensor(g.map((v) => v * (step + 1)), shapes[i]!)), 0.01));
    }
  });
  const weights = params.map((p) => p.variable.dataSync() as Float32Array);
  const slots = optimizer.exportState().slots.map((s) => s.values.slice());
  optimizer.dispose();
  // The in-place state (resource variables) is made on the first step and freed by dispose().
  assert.ok(tf.memory().numTensors <= before, `tensors left: ${tf.memory().numTensors - before}`);
  params.forEach((p) => p.variable.dispose());
  return { weights, slots, ops };
}

void test("Adam on the native backend is one ResourceApplyAdam over all parameters, with the cpu backend's weights and slots", async (t) => {
  if (unavailable) return t.skip(unavailable);
  for (const weightDecay of [0, 0.01]) {
    const cpu = await on('cpu', () => adamSteps(weightDecay));
    const native = await on('tensorflow', () => adamSteps(weightDecay));
    assert.equal(native.ops.get('ResourceApplyAdam'), 5, `ops run: ${[...native.ops.keys()].join(', ')}`);
    assert.ok(!native.ops.has('Sqrt') && !native.ops.has('RealDiv'), 'the composite update still ran');
    // The same quantity rounded differently (TensorFlow's m + (g - m)(1 - beta1)): a few float32 ulps.
    native.weights.forEach((w, i) => assertClose(w, cpu.weights[i]!, 1e-6, `weight decay ${weightDecay}, parameter ${i}`));
    native.slots.forEach((s, i) => assertClose(s, cpu.slots[i]!, 1e-6, `weight decay ${weightDecay}, slot ${i}`));
  }
});

void test('the in-place Adam state survives an export and import, and a switch to another backend, as the composite does', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const run = async (switchAt: number | null): Promise<Float32Array[]> => {
    await tf.setBackend('tensorflow');
    const rng = new Rng(11);
    const params = [{ name: 'w', variable: tf.variable(tf.tensor(uniform(rng, 24), [2, 3, 4])) }, { name: 'b', variable: tf.variable(tf.tensor(uniform(rng, 4), [4])) }];
    const optimizer = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0.9 }, params);
    const grads = [uniform(rng, 24), uniform(rng, 4)];
    for (let step = 0; step < 4; step++) {
      if (step === switchAt) {
        // Export on the native backend, import into a fresh optimiser, continue on the cpu backend.
        const state = optimizer.exportState();
        const values = params.map((p) => p.variable.dataSync().slice());
        await tf.setBackend('cpu');
        params.forEach((p, i) => p.variable.assign(tf.tensor(values[i]!, p.variable.shape)));
        optimizer.importState({ ...state, slots: state.slots.map((s) => ({ ...s, values: s.values.slice() })) });
      }
      tf.tidy(() => optimizer.applyGradients(grads.map((g, i) => tf.tensor(g, params[i]!.variable.shape)), 0.01));
    }
    const out = params.map((p) => p.variable.dataSync().slice() as Float32Array);
    optimizer.dispose();
    params.forEach((p) => p.variable.dispose());
    return out;
  };
  const straight = await run(null);
  const switched = await run(2);
  straight.forEach((w, i) => assertClose(switched[i]!, w, 1e-6, `parameter ${i}`));
  await tf.setBackend('tensorflow');
});

void test("max pooling's gradient on the native backend runs oneDNN's kernel, with the cpu backend's values", async (t) => {
  if (unavailable) return t.skip(unavailable);
  const rng = new Rng(31);
  // After a ReLU, as in the stem: many zeros, so windows with tied maxima, and overlapping 3x3/2 windows.
  const xs = uniform(rng, 2 * 11 * 9 * 3);
  for (const pad of ['valid', 'same'] as const) {
    const outShape = pad === 'valid' ? [2, 5, 4, 3] : [2, 6, 5, 3];
    const probe = uniform(rng, outShape.reduce((a, b) => a * b, 1));
    const compute = (): Float32Array =>
      tf.tidy(() => {
        const f = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.maxPool(tf.relu(x) as tf.Tensor4D, 3, 2, pad), tf.tensor(probe, outShape)));
        return tf.grad(f)(tf.tensor4d(xs, [2, 11, 9, 3])).dataSync() as Float32Array;
      });
    const cpu = await on('cpu', compute);
    const native = await on('tensorflow', () => countNativeOps(compute));
    assert.equal(native.ops.get('_MklNativeMaxPoolGrad'), 1, `ops run: ${[...native.ops.keys()].join(', ')}`);
    assert.ok(!native.ops.has('MaxPoolGrad'), "TensorFlow's own MaxPoolGrad still ran");
    assertClose(native.result, cpu, 1e-6, `${pad} dx`);
  }
});

void test("the global gradient norm on the native backend is one L2Loss, with the cpu backend's value", async (t) => {
  if (unavailable) return t.skip(unavailable);
  const values = uniform(new Rng(41), 100_003);
  const cpu = await on('cpu', () => tf.tidy(() => flatNorm(tf.tensor1d(values))));
  const native = await on('tensorflow', () => countNativeOps(() => tf.tidy(() => flatNorm(tf.tensor1d(values)))));
  assert.equal(native.ops.get('L2Loss'), 1, `ops run: ${[...native.ops.keys()].join(', ')}`);
  assert.ok(!native.ops.has('Square'), 'the composite still ran');
  assertClose([native.result], [cpu], 1e-6, 'norm');
});

void test("BatchNorm's moving variance on the native backend is TensorFlow's unbiased variance times (N-1)/N, applied with the batch, bit for bit", async (t) => {
  if (unavailable) return t.skip(unavailable);
  await tf.setBackend('tensorflow');
  const rng = new Rng(77);
  const shape: [number, number, number, number] = [4, 5, 3, 6];
  const xs = uniform(rng, tf.util.sizeFromShape(shape)).map((v, i) => 3 * v + (i % 6));
  const layer = new FusedBatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: 'bn_bessel' });
  layer.build(shape);
  const x = tf.tensor4d(xs, shape);
  const moving = layer.getWeights()[3]!.dataSync().slice();
  const { ops } = countNativeOps(() => withBatchedMovingAverages(() => tf.dispose(layer.apply(x, { training: true }) as tf.Tensor)));
  // Two Muls for the whole batch of updates: the (N - 1) / N factors and the momentum (none in the kernel).
  assert.equal(ops.get('Mul'), 2, JSON.stringify([...ops]));
  // What the kernel used to do: the unbiased variance times (N - 1) / N, then the update, as separate tensor ops.
  const expected = tf.tidy(() => {
    const r = batchNormTraining(x, tf.ones([6]) as tf.Tensor1D, tf.zeros([6]) as tf.Tensor1D, 1e-5)!;
    const n = 4 * 5 * 3;
    assert.equal(r.varianceScale, (n - 1) / n);
    const biased = tf.mul(r.variance, (n - 1) / n);
    const m = tf.tensor1d(moving);
    return tf.sub(m, tf.mul(tf.sub(m, biased), 1 - 0.9)).dataSync();
  });
  assert.deepEqual(Array.from(layer.getWeights()[3]!.dataSync()), Array.from(expected));
  x.dispose();
  layer.weights.forEach((w) => w.dispose());
});

void test("Add's and Identity's gradients on the native backend run no Reshape or Cast, with the cpu backend's values bit for bit", async (t) => {
  if (unavailable) return t.skip(unavailable);
  const rng = new Rng(3);
  const [as, bs, ps, cs] = [uniform(rng, 24), uniform(rng, 24), uniform(rng, 24), uniform(rng, 4)];
  const compute = (): Float32Array[] =>
    tf.tidy(() => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(tf.add(tf.clone(tf.add(a, b)), c), tf.tensor(ps, [2, 3, 4]))); // c broadcasts: tfjs's own gradient
      return tf.grads(f)([tf.tensor(as, [2, 3, 4]), tf.tensor(bs, [2, 3, 4]), tf.tensor(cs, [4])]).map((g) => g.dataSync() as Float32Array);
    });
  const cpu = await on('cpu', compute);
  const native = await on('tensorflow', () => countNativeOps(compute));
  [0, 1].forEach((i) => assert.deepEqual(Array.from(native.result[i]!), Array.from(cpu[i]!), `gradient ${i}`));
  // The broadcast input's gradient is a sum, in TensorFlow's order on one backend and tfjs's on the other.
  assertClose(native.result[2]!, cpu[2]!, 1e-6, 'broadcast gradient');
  // The gradient functions themselves: same-shaped dy passes through as a new reference, no TensorFlow op.
  const direct = countNativeOps(() =>
    tf.tidy(() => {
      const dy = tf.tensor(ps, [2, 3, 4]);
      const add = tf.getGradient(tf.Add).gradFunc(dy, [tf.tensor(as, [2, 3, 4]), tf.tensor(bs, [2, 3, 4])], {});
      const identity = tf.getGradient(tf.Identity).gradFunc(dy, [], {});
      return [add['a']!(), add['b']!(), identity['x']!()].map((g) => g.dataSync() as Float32Array);
    }),
  );
  direct.result.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(ps), `pass-through ${i}`));
  assert.deepEqual([...direct.ops.keys()], [], `TensorFlow ops run: ${JSON.stringify([...direct.ops])}`);
});
