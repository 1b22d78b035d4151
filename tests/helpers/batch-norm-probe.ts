// One BatchNorm layer (FusedBatchNormalization) in training mode on the active backend: its output, input
// gradient, gamma/beta gradients and the moving statistics after three training calls, and the kernels
// that ran. Tests compare a backend's fused kernels with the cpu backend's composite through it.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { FusedBatchNormalization } from '../../src/model';
import { Rng } from '../../src/util/rng';

export const PROBE_OUTPUTS = ['y', 'dx', 'dgamma', 'dbeta', 'moving mean (3 updates)', 'moving variance (3 updates)'] as const;

export interface BatchNormProbe {
  outputs: Float32Array[];
  kernels: string[];
}

function uniform(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/**
 * `xs` per channel: channel c is offset by c (a non-trivial mean); `constantChannel` makes channel 0 constant.
 * `shape` (NHWC) defaults to a small one; a large one makes the wasm kernels split their passes.
 */
export async function probeBatchNorm(opts: { constantChannel?: boolean; shape?: [number, number, number, number] } = {}): Promise<BatchNormProbe> {
  const shape = opts.shape ?? [4, 5, 3, 6];
  const channels = shape[3];
  const size = tf.util.sizeFromShape(shape);
  const rng = new Rng(31);
  const xs = uniform(rng, size).map((v, i) => (opts.constantChannel && i % channels === 0 ? 2.5 : 3 * v + (i % channels)));
  const probe = uniform(rng, size);
  const gammaBeta = uniform(rng, 2 * channels);
  const layer = new FusedBatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: 'bn' });
  layer.build(shape);
  const initial = [tf.tensor1d(gammaBeta.slice(0, channels)), tf.tensor1d(gammaBeta.slice(channels)), tf.zeros([channels]), tf.ones([channels])];
  layer.setWeights(initial);
  tf.dispose(initial);
  const x = tf.tensor4d(xs, shape);
  const p = tf.tensor4d(probe, shape);
  let outputs: Float32Array[] = [];
  // Awaited before another backend runs: tf.profile reuses one record for every profile.
  const profile = await tf.profile(() => {
    const gammaBetaVars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, p)) as tf.Scalar, gammaBetaVars);
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layer.apply(v, { training: true }) as tf.Tensor, p)))(x);
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    outputs = [y, dx, ...gammaBetaVars.map((v) => grads[v.name]!), ...layer.getWeights().slice(2)].map((r) => r.dataSync() as Float32Array);
    tf.dispose([value, dx, y, ...Object.values(grads)]);
  });
  tf.dispose([x, p]);
  layer.weights.forEach((w) => w.dispose());
  return { outputs, kernels: profile.kernels.map((k) => k.name) };
}

/** Every output within `tol` (relative for large values, absolute near zero) of the cpu backend's. */
export function assertProbesClose(actual: BatchNormProbe, cpu: BatchNormProbe, tol: number, backend: string): void {
  actual.outputs.forEach((o, k) => {
    const e = cpu.outputs[k]!;
    assert.equal(o.length, e.length, `${PROBE_OUTPUTS[k]}: length`);
    for (let i = 0; i < e.length; i++) {
      assert.ok(Number.isFinite(o[i]!) && Math.abs(o[i]! - e[i]!) <= tol * Math.max(1, Math.abs(e[i]!)), `${PROBE_OUTPUTS[k]}[${i}]: cpu ${e[i]}, ${backend} ${o[i]}`);
    }
  });
}
