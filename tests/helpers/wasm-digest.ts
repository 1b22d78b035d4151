// Run as a child process by tests/unit/backend-wasm-threads.test.ts: starts the wasm backend with the
// thread count in FACENET_WASM_THREADS, runs a strided convolution forward and backward, and prints the
// threads it got and a digest of the results. It does not call process.exit: the test also checks that
// the process ends by itself (the thread pool's workers must not hold it open).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { initBackend } from '../../src/backend';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

async function main(): Promise<void> {
  const choice = await initBackend('wasm');
  const x = tf.randomNormal([8, 20, 17, 32], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 32, 48], 0, 0.05, 'float32', 2) as tf.Tensor4D;
  const loss = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same'))));
  const [dx, dw] = tf.grads(loss)([x, w]) as [tf.Tensor4D, tf.Tensor4D];
  const y = tf.conv2d(x, w, 1, 'same');
  const digest = createHash('sha256');
  for (const t of [y, dx, dw]) digest.update(new Uint8Array((t.dataSync() as Float32Array).buffer));
  const sum = (t: tf.Tensor) => (tf.sum(t).dataSync()[0] as number);
  console.log(JSON.stringify({ choiceThreads: choice.wasmThreads, xnnpackThreads: getThreadsCount(), digest: digest.digest('hex'), sums: [sum(y), sum(dx), sum(dw)] }));
}

void main();
