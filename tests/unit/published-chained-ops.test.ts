import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerChainedOps, SAME_NAME_CHAINED_OPS } from '../../scripts/validate-published/chained-ops';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Chained = any;

test('registerChainedOps adds the union package methods, once', async () => {
  await tf.setBackend('cpu');
  // tfjs 4.22 registers 127 chained methods: 111 call the op of the same name, 15 are special
  // (as1D..as5D, asScalar, asType, flatten, reshapeAs, toBool/Float/Int, concat, stack, where), and
  // `cast` is already a method of tfjs-core's Tensor.
  assert.equal(SAME_NAME_CHAINED_OPS.length, 111);
  const first = registerChainedOps();
  assert.ok(first === 126 || first === 0, `added ${first}`); // 0 if another test in this process registered them
  assert.equal(registerChainedOps(), 0);
});

test('chained ops compute what the functional ops do', async () => {
  await tf.setBackend('cpu');
  registerChainedOps();
  const x = tf.tensor2d([[2, 4], [6, 8]]) as Chained;
  assert.deepEqual(await x.div(2).sub(1).array(), [[0, 1], [2, 3]]);
  assert.deepEqual(await x.mean([1]).array(), [3, 7]);
  assert.deepEqual(x.as4D(1, 2, 2, 1).shape, [1, 2, 2, 1]);
  assert.deepEqual(x.as1D().shape, [4]);
  assert.equal(x.toFloat().dtype, 'float32');
  assert.deepEqual(await x.concat(tf.tensor2d([[1, 1]]), 0).array(), [[2, 4], [6, 8], [1, 1]]);
  assert.deepEqual(await x.stack(tf.zeros([2, 2]), 0).array(), [[[2, 4], [6, 8]], [[0, 0], [0, 0]]]);
  assert.deepEqual(await x.where(tf.tensor2d([[true, false], [false, true]], undefined, 'bool'), tf.zeros([2, 2])).array(), [[2, 0], [0, 8]]);
  assert.throws(() => x.asScalar(), /4 elements, expected 1/);
  x.dispose();
  assert.throws(() => x.add(1), /disposed/);
});
