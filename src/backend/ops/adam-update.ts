// Adam's update of the flat parameter vector as one kernel, on the backends that register it (wasm:
// wasm/adam.ts). The optimiser's composite takes 11 kernels, each a pass over every parameter, on one thread
// on wasm (about 15 ms of an att-cpu step and 60 ms of a ResNet-18 one); the kernel makes one pass. Its
// results equal the composite's bit for bit: the same float32 operations in the same order.
//
// The kernel's contract:
//   ADAM_UPDATE  inputs g, m, v (float32, one shape); attrs beta1, beta2, stepSize, epsilon
//                outputs m' = beta1 m + (1 - beta1) g, v' = beta2 v + (1 - beta2) g^2,
//                delta = stepSize (m' / (sqrt(v') + epsilon)), every constant rounded to float32 first
import * as tf from '@tensorflow/tfjs-core';

/** This project's kernel name, prefixed so it can never clash with a tfjs kernel. */
export const ADAM_UPDATE = 'FacenetAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  stepSize: number;
  epsilon: number;
}

/** The update as one kernel where the active backend has it; null elsewhere (the caller runs the composite). */
export function adamUpdate(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamUpdateAttrs): { m: tf.Tensor; v: tf.Tensor; delta: tf.Tensor } | null {
  if (g.dtype !== 'float32' || tf.getKernel(ADAM_UPDATE, tf.getBackend()) === undefined) return null;
  const [mNew, vNew, delta] = tf.engine().runKernel(ADAM_UPDATE, { g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { m: mNew as tf.Tensor, v: vNew as tf.Tensor, delta: delta as tf.Tensor };
}
