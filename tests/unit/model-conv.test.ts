// GradientSparingConv2D must train exactly like tfjs-layers' Conv2D while skipping the input gradient nobody asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { GradientSparingConv2D } from '../../src/model';

test('setup cpu backend', async () => {
  await tf.setBackend('cpu');
});

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 0.37));
}

test('in training, its output and gradients equal the stock Conv2D\'s, and no input gradient is computed for an input that needs none', async () => {
  const args = { filters: 4, kernelSize: 3, strides: 2, padding: 'valid' as const, useBias: false, name: 'c' };
  const x = tf.tensor4d(values(2 * 7 * 6 * 3, 1), [2, 7, 6, 3]);
  const probe = tf.tensor4d(values(2 * 3 * 2 * 4, 2), [2, 3, 2, 4]);
  const kernel = tf.tensor4d(values(3 * 3 * 3 * 4, 3), [3, 3, 3, 4]);
  const run = (layer: tfl.layers.Layer) => {
    layer.build([2, 7, 6, 3]);
    layer.setWeights([kernel]);
    const w = layer.trainableWeights[0]!.read() as tf.Variable;
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, probe)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(() => loss(x), [w]); // x is a constant here: no gradient wanted for it
    const dx = tf.grad((input: tf.Tensor) => loss(input))(x);
    const out = [value, grads[w.name]!, dx].map((t) => Array.from(t.dataSync()));
    tf.dispose([value, dx, ...Object.values(grads)]);
    return out;
  };
  const stock = run(tfl.layers.conv2d(args));
  const sparing = new GradientSparingConv2D(args);
  assert.deepEqual(run(sparing), stock);
  const w = sparing.trainableWeights[0]!.read() as tf.Variable;
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(sparing.apply(x, { training: true }) as tf.Tensor, probe)) as tf.Scalar, [w]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const kernels = profile.kernels.map((k) => k.name);
  assert.ok(kernels.includes('Conv2DBackpropFilter'), `kernels run: ${kernels.join(', ')}`);
  assert.ok(!kernels.includes('Conv2DBackpropInput'), `the input gradient was computed: ${kernels.join(', ')}`);
  assert.equal(sparing.getClassName(), 'Conv2D', 'saved models must load as the stock layer');
  tf.dispose([x, probe, kernel]);
});
