// Adam on the flat parameter vector as state held by the backend and updated in place, on the backends that
// provide it: the native backend keeps the weights, m and v in three TensorFlow resource variables and runs
// ResourceApplyAdam, one multi-threaded pass over all parameters (native/resource-adam.ts). The composite it
// replaces is eleven kernels over the flat vectors, then a SplitV and a Sub per weight tensor: on the 2-core
// machine 12-15 ms of an att-cpu step (2.8 M parameters) and ~40 ms of a ResNet-18 one (11.2 M), against 2.5 and 8.
//
// The contract:
//   load(which, values)  replace the weights, m or v with these values (float32 [size])
//   step(g, attrs)       m' = m + (g - m)(1 - beta1), v' = v + (g^2 - v)(1 - beta2),
//                        w' = w - stepSize m' / (sqrt(v') + epsilon), in place; returns w' (a new tensor)
//   read(which)          the current values (a new tensor)
// This is TensorFlow's arithmetic (training_ops.cc), not the composite's beta1 m + (1 - beta1) g: the same
// quantity, rounded differently (a few ulps a step; tests/unit/backend-native.test.ts bounds it).
import * as tf from '@tensorflow/tfjs-core';
import type { AdamUpdateAttrs } from './adam-update';

export type FlatAdamTensor = 'weights' | 'm' | 'v';

export interface FlatAdamState {
  load(which: FlatAdamTensor, values: tf.Tensor1D): void;
  step(g: tf.Tensor1D, attrs: AdamUpdateAttrs): tf.Tensor1D;
  read(which: FlatAdamTensor): tf.Tensor1D;
  /** False once the backend it lives on is no longer the active one. */
  usable(): boolean;
  dispose(): void;
}

const factories = new Map<string, (size: number) => FlatAdamState | null>();

/** Called by a backend's kernel module (native/kernels.ts) when it is activated. */
export function registerFlatAdam(backendName: string, create: (size: number) => FlatAdamState | null): void {
  factories.set(backendName, create);
}

/** In-place Adam state for `size` float32 parameters on the active backend; null where it has none. */
export function createFlatAdam(size: number): FlatAdamState | null {
  return factories.get(tf.getBackend())?.(size) ?? null;
}
