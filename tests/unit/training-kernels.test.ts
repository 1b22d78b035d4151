// The wasm backend's added training kernels against the cpu backend: Conv2DBackpropFilter over strides,
// paddings and kernel sizes, then whole ResNet training steps whose every gradient must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../src/backend/wasm/training-kernels';
import { MAX_POOL_GRAD_SIMD } from '../../src/backend/wasm/max-pool-grad-simd';
import { simdRunCount } from '../../src/backend/wasm/simd-kernels';
import { buildEmbeddingModel, embedTraining, type EmbeddingModelOptions } from '../../src/model';
import { tripletLoss } from '../../src/loss';

/** max |a - b| / max |b|: one number per tensor, insensitive to where the large entries are. */
function relativeError(actual: Float32Array | Int32Array | Uint8Array, expected: Float32Array | Int32Array | Uint8Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Deterministic pseudo-random values (no Math.random): a fixed sine hash. */
function values(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sin(i * 12.9898 + salt * 78.233) * 43758.5453;
    out[i] = (s - Math.floor(s)) * 2 - 1;
  }
  return out;
}

/** dL/dW of sum(conv2d(x, W) * dy): the path training takes to the Conv2DBackpropFilter kernel. */
function filterGradient(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  strides: number | [number, number], pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const f = (w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, strides, pad), dy));
    return tf.grad(f)(tf.zeros(filterShape)) as tf.Tensor4D;
  });
}

async function onBackend<T>(backend: 'cpu' | 'wasm', fn: () => Promise<T> | T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

/** The same computation on the reference cpu backend and then on wasm: [cpu, wasm]. */
async function onCpuThenWasm<T>(fn: () => Promise<T>): Promise<[T, T]> {
  const cpu = await onBackend('cpu', fn);
  return [cpu, await onBackend('wasm', fn)];
}

void test.before(async () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
  await tf.setBackend('wasm');
});

void test('registerWasmTrainingKernels adds Conv2DBackpropFilter and replaces Conv2DBackpropInput, Tile, Slice, SplitV and MaxPoolGrad, idempotently', () => {
  assert.deepEqual(WASM_TRAINING_KERNELS.map((k) => k.kernelName), ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile', 'Slice', 'SplitV', 'MaxPoolGrad']);
  for (const config of WASM_TRAINING_KERNELS) {
    assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, config.kernelName);
    assert.notEqual(tf.getKernel(config.kernelName, 'cpu')?.kernelFunc, config.kernelFunc, config.kernelName);
  }
  assert.doesNotThrow(() => registerWasmTrainingKernels());
});

// ---- MaxPoolGrad against cpu ----

// tfjs-wasm's own kernel drops the gradient of windows whose maximum is negative: the first case has
// such windows. Values rounded to a few levels, so windows also hold ties: the gradient goes to the first maximum.
// 5 channels run the JavaScript kernel, 8 the SIMD one.
for (const channels of [5, 8]) {
  for (const [filter, stride, pad] of [[3, 2, 'same'], [2, 2, 'valid'], [3, 1, 'same'], [3, 2, 'valid']] as const) {
    void test(`MaxPoolGrad ${filter}x${filter} stride ${stride} ${pad}, ${channels} channels, matches cpu, ties and negative windows included`, async () => {
      const shape: [number, number, number, number] = [2, 9, 8, channels];
      const xData = values(2 * 9 * 8 * channels, filter * 10 + stride).map((v) => Math.round(v * 2) / 2 - 0.25);
      const simdBefore = simdRunCount(MAX_POOL_GRAD_SIMD);
      const grads = await onCpuThenWasm(async () => {
        const x = tf.tensor4d(xData, shape);
        const y = tf.maxPool(x, filter, stride, pad);
        const dy = tf.tensor4d(values(y.size, 3), y.shape);
        const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, filter, stride, pad), dy)))(x);
        const data = { dx: (await dx.data()) as Float32Array, negativeWindows: Array.from(await y.data()).filter((v) => v < 0).length };
        tf.dispose([x, y, dy, dx]);
        return data;
      });
      assert.equal(simdRunCount(MAX_POOL_GRAD_SIMD) - simdBefore, channels % 4 === 0 ? 1 : 0, 'runs of the SIMD kernel');
      assert.ok(grads[0].negativeWindows > 0, 'no window with a negative maximum');
      assert.ok(grads[0].dx.some((v) => v !== 0), 'the cpu gradient is all zeros');
      assert.deepEqual(Array.from(grads[1].dx), Array.from(grads[0].dx));
    });
  }
}

// ---- Conv2DBackpropFilter against cpu ----

const xShape: [number, number, number, number] = [3, 11, 10, 5];
for (const kernelSize of [1, 3, 7]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      void test(`Conv2DBackpropFilter k=${kernelSize} stride=${stride} pad=${pad} matches cpu (relative error < 1e-4)`, async () => {
        const filterShape: [number, number, number, number] = [kernelSize, kernelSize, xShape[3], 6];
        const xData = values(xShape.reduce((a, b) => a * b), kernelSize * 10 + stride);
        const grads = await onCpuThenWasm(async () => {
          const x = tf.tensor4d(xData, xShape);
          const outShape = tf.conv2d(x, tf.zeros(filterShape) as tf.Tensor4D, stride, pad).shape;
          const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 7), outShape);
          const dw = filterGradient(x, dy, filterShape, stride, pad);
          assert.deepEqual(dw.shape, filterShape);
          const data = (await dw.data()) as Float32Array;
          tf.dispose([x, dy, dw]);
          return data;
        });
        const err = relativeError(grads[1]!, grads[0]!);
        assert.ok(err < 1e-4, `relative error ${err}`);
      });
    }
  }
}

void test('Conv2DBackpropFilter on wasm handles explicit padding, non-square strides and leaks no tensors', async () => {
  const xData = values(2 * 9 * 12 * 3, 3);
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [2, 1], [0, 3], [0, 0]];
  const grads = await onCpuThenWasm(async () => {
    const x = tf.tensor4d(xData, [2, 9, 12, 3]);
    const outShape = tf.conv2d(x, tf.zeros([3, 5, 3, 4]) as tf.Tensor4D, [2, 3], pad).shape;
    const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 9), outShape);
    const before = tf.memory().numTensors;
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: [2, 3], pad, dataFormat: 'NHWC', filterShape: [3, 5, 3, 4] }) as tf.Tensor4D;
    const viaGrad = filterGradient(x, dy, [3, 5, 3, 4], [2, 3], pad);
    assert.ok(relativeError((await viaGrad.data()) as Float32Array, (await dw.data()) as Float32Array) < 1e-6);
    viaGrad.dispose();
    assert.equal(tf.memory().numTensors - before, 1);
    const data = (await dw.data()) as Float32Array;
    tf.dispose([x, dy, dw]);
    return data;
  });
  assert.ok(relativeError(grads[1]!, grads[0]!) < 1e-4);
});

// ---- Conv2DBackpropInput against cpu ----

/** dL/dx of sum(conv2d(x, W) * dy): the path training takes to the Conv2DBackpropInput kernel. */
function inputGradient(
  xShape4: [number, number, number, number], w: tf.Tensor4D, dy: tf.Tensor4D,
  strides: number | [number, number], pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w, strides, pad), dy));
    return tf.grad(f)(tf.zeros(xShape4)) as tf.Tensor4D;
  });
}

const EXPLICIT: tf.backend_util.ExplicitPadding = [[0, 0], [2, 1], [0, 3], [0, 0]];
for (const kernelSize of [1, 2, 3, 7]) {
  for (const stride of [1, 2, 3]) {
    for (const pad of ['same', 'valid', EXPLICIT] as const) {
      const padName = typeof pad === 'string' ? pad : 'explicit';
      void test(`Conv2DBackpropInput k=${kernelSize} stride=${stride} pad=${padName} matches cpu (relative error < 1e-4)`, async () => {
        const shape: [number, number, number, number] = [2, 11, 10, 3];
        const filterShape: [number, number, number, number] = [kernelSize, kernelSize, 3, 4];
        const wData = values(filterShape.reduce((a, b) => a * b), kernelSize + 5 * stride);
        const grads = await onCpuThenWasm(async () => {
          const w = tf.tensor4d(wData, filterShape);
          const outShape = tf.conv2d(tf.zeros(shape) as tf.Tensor4D, w, stride, pad).shape;
          const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 13), outShape);
          const dx = inputGradient(shape, w, dy, stride, pad);
          assert.deepEqual(dx.shape, shape);
          const data = (await dx.data()) as Float32Array;
          tf.dispose([w, dy, dx]);
          return data;
        });
        const err = relativeError(grads[1]!, grads[0]!);
        assert.ok(err < 1e-4, `relative error ${err}`);
      });
    }
  }
}

void test('Conv2DBackpropInput on wasm handles non-square kernels and strides, and small inputs', async () => {
  const cases: Array<[[number, number, number, number], [number, number, number, number], [number, number], 'same' | 'valid' | tf.backend_util.ExplicitPadding]> = [
    [[2, 5, 13, 3], [3, 5, 3, 4], [3, 2], 'same'],
    [[2, 5, 13, 3], [3, 5, 3, 4], [3, 2], 'valid'],
    [[2, 5, 13, 3], [3, 5, 3, 4], [3, 2], EXPLICIT],
    [[1, 2, 3, 2], [3, 3, 2, 2], [2, 2], 'same'], // input smaller than kernel
    [[1, 8, 8, 2], [1, 1, 2, 5], [2, 2], 'valid'], // 1x1 downsample: three of four phases are empty
  ];
  for (const [shape, filterShape, strides, pad] of cases) {
    const wData = values(filterShape.reduce((a, b) => a * b), 17);
    const grads = await onCpuThenWasm(async () => {
      const w = tf.tensor4d(wData, filterShape);
      const outShape = tf.conv2d(tf.zeros(shape) as tf.Tensor4D, w, strides, pad).shape;
      const dy = tf.tensor4d(values(outShape.reduce((a, b) => a * b), 19), outShape);
      const before = tf.memory().numTensors;
      const dx = inputGradient(shape, w, dy, strides, pad);
      assert.equal(tf.memory().numTensors - before, 1, 'leaked tensors');
      const data = (await dx.data()) as Float32Array;
      tf.dispose([w, dy, dx]);
      return data;
    });
    const err = relativeError(grads[1]!, grads[0]!);
    assert.ok(err < 1e-4, `${JSON.stringify([shape, filterShape, strides, pad])}: relative error ${err}`);
  }
});

// ---- Tile ----

void test('Tile on wasm matches cpu for broadcast-style tiles (the fast path) and general ones (native)', async () => {
  const cases: Array<[number[], number[], 'float32' | 'int32']> = [
    [[1, 1, 1, 5], [2, 3, 4, 1], 'float32'], // BatchNorm's gradient
    [[3, 1], [1, 4], 'float32'],
    [[2, 3], [2, 2], 'float32'], // not a broadcast: native kernel
    [[1, 3], [4, 1], 'int32'], // not float32: native kernel
  ];
  for (const [shape, reps, dtype] of cases) {
    const size = shape.reduce((a, b) => a * b);
    const data = Array.from(values(size, 21), (v) => (dtype === 'int32' ? Math.round(v * 10) : v));
    const outs = await onCpuThenWasm(async () => {
      const x = tf.tensor(data, shape, dtype);
      const before = tf.memory().numTensors;
      const y = tf.tile(x, reps);
      assert.equal(tf.memory().numTensors - before, 1, 'Tile leaked tensors');
      const out = Array.from(await y.data());
      tf.dispose([x, y]);
      return out;
    });
    assert.deepEqual(outs[1], outs[0], `tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)} ${dtype}`);
  }
});

// ---- Whole training steps ----

async function trainingStepGradients(backend: 'cpu' | 'wasm', opts: EmbeddingModelOptions, batch: number) {
  return onBackend(backend, async () => {
    const tensorsBefore = tf.memory().numTensors;
    const model = buildEmbeddingModel(opts);
    const [h, w, c] = opts.inputShape;
    const images = tf.tensor4d(values(batch * h * w * c, 11), [batch, h, w, c]);
    const labels = tf.tensor1d([0, 0, 1, 1].slice(0, batch), 'int32');
    const { value, grads } = tf.variableGrads(() =>
      tripletLoss(embedTraining(model, images), labels, { miner: 'batch-all', margin: 1.0, distance: 'euclidean' }).loss,
    );
    const out = new Map<string, Float32Array>();
    // Variable names get a suffix per model instance (stem_conv/kernel_1, ...); key by the layer's own name.
    for (const weight of model.trainableWeights) {
      const g = grads[(weight.read() as tf.Variable).name];
      assert.ok(g, `no gradient for ${weight.originalName} on ${backend}`);
      out.set(weight.originalName, (await g.data()) as Float32Array);
    }
    assert.equal(Object.keys(grads).length, model.trainableWeights.length);
    const loss = (await value.data())[0] as number;
    tf.dispose([value, images, labels]);
    tf.dispose(grads);
    model.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, `the ${backend} training step leaked tensors`);
    return { loss, grads: out };
  });
}

for (const [architecture, stem, side] of [['resnet18', 'light', 16], ['resnet18', 'standard', 32], ['resnet50', 'light', 16]] as const) {
  void test(`a ${architecture} (${stem} stem, widths [4,8,8,8], ${side}x${side}x1, batch 4) training step gives the same gradients on wasm as on cpu`, async (t) => {
    const opts: EmbeddingModelOptions = {
      architecture, widths: [4, 8, 8, 8], stem, embeddingDim: 8, inputShape: [side, side, 1], seed: 42,
    };
    const cpu = await trainingStepGradients('cpu', opts, 4);
    const wasm = await trainingStepGradients('wasm', opts, 4);
    assert.ok(cpu.loss > 0, `loss should be positive, got ${cpu.loss}`);
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-4 * Math.abs(cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
    assert.equal(wasm.grads.size, cpu.grads.size);
    let worst = 0;
    let worstName = '';
    for (const [name, expected] of cpu.grads) {
      const actual = wasm.grads.get(name);
      assert.ok(actual, `no wasm gradient for ${name}`);
      const err = relativeError(actual, expected);
      if (err > worst) { worst = err; worstName = name; }
    }
    t.diagnostic(`worst relative gradient error ${worst.toExponential(2)} (${worstName})`);
    assert.ok(worst < 1e-3, `worst relative gradient error ${worst} (${worstName})`);
  });
}
