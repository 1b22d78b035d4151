// A tensor's values as an array the caller owns (may keep, change, or transfer to another thread),
// copied at most once. tensor.dataSync() gives a fresh copy on wasm (a slice of its heap) and on tfjs-node
// (copied out of the TensorFlow buffer), except that tfjs-node returns the very array a tensor was made
// from until an op first uses it (a slot or weight just restored from a checkpoint); the cpu backend
// returns its own storage. Copying every read again cost an att-cpu checkpoint snapshot 10-15 ms an epoch
// (allocating 11 MB twice per Adam slot).
import * as tf from '@tensorflow/tfjs-core';

/** tfjs-node's record of a tensor (NodeJSKernelBackend.tensorMap, not in its typings): `values` until first use. */
interface NodeTensorRecord {
  values: unknown;
}

/** True when dataSync() of `t` on the active backend builds a new array that nobody else holds. */
function readIsFresh(t: tf.Tensor): boolean {
  const backend = tf.getBackend();
  if (backend === 'wasm') return true;
  if (backend !== 'tensorflow') return false;
  const tensorMap = (tf.backend() as unknown as { tensorMap?: { get(dataId: object): NodeTensorRecord | undefined } }).tensorMap;
  const record = tensorMap?.get(t.dataId);
  return record !== undefined && record.values == null;
}

export function readOwnedValues(t: tf.Tensor): Float32Array | Int32Array {
  const fresh = readIsFresh(t);
  const data = t.dataSync();
  if (!(data instanceof Float32Array || data instanceof Int32Array)) {
    throw new Error(`readOwnedValues: expected float32 or int32 values, got ${t.dtype}`);
  }
  return fresh ? data : data.slice();
}
