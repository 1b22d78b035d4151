// A tensor's values as an array the caller owns (may keep, change, or transfer to another thread).
// tensor.dataSync() returns the cpu backend's own storage, but a fresh copy on tensorflow (tfjs-node copies
// out of the TensorFlow buffer) and on wasm (a slice of its heap). Copying that copy again cost a
// checkpoint snapshot 2-16 ms for each 11 MB Adam slot of att-cpu, and another pass over the weights.
import * as tf from '@tensorflow/tfjs-core';

/** Backends whose readSync builds a new array on every call. */
const COPYING_BACKENDS = new Set(['tensorflow', 'wasm']);

export function readOwnedValues(t: tf.Tensor): Float32Array | Int32Array {
  const data = t.dataSync();
  if (!(data instanceof Float32Array || data instanceof Int32Array)) {
    throw new Error(`readOwnedValues: expected float32 or int32 values, got ${t.dtype}`);
  }
  return COPYING_BACKENDS.has(tf.getBackend()) ? data : data.slice();
}
