// A tensor's values as an array the caller owns (may keep, change, or transfer to another thread).
// tensor.dataSync() returns a fresh copy on wasm (a slice of its heap), but not everywhere: the cpu
// backend returns its own storage, and tfjs-node returns the very array a tensor was made from until
// an op first uses it (a slot or weight just restored from a checkpoint). Those get copied; wasm's copy is
// not copied again.
import * as tf from '@tensorflow/tfjs-core';

/** Backends whose readSync builds a new array on every call. */
const COPYING_BACKENDS = new Set(['wasm']);

export function readOwnedValues(t: tf.Tensor): Float32Array | Int32Array {
  const data = t.dataSync();
  if (!(data instanceof Float32Array || data instanceof Int32Array)) {
    throw new Error(`readOwnedValues: expected float32 or int32 values, got ${t.dtype}`);
  }
  return COPYING_BACKENDS.has(tf.getBackend()) ? data : data.slice();
}
