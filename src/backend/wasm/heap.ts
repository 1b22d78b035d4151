// Direct access to tensors in tfjs-wasm's heap, for the kernels written in JavaScript here
// (training-kernels.ts, batch-norm.ts): they read and write the heap in place instead of copying
// values out with readSync and back with write.
import * as tf from '@tensorflow/tfjs-core';

/** What those kernels use of tfjs-wasm's backend (BackendWasm, whose fields its typings keep private). */
export interface WasmHeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** The Emscripten module: its heap, its allocator, and its exports (the memory, in the single-threaded build). */
  wasm: { HEAPU8: Uint8Array; _malloc(bytes: number): number; _free(address: number): void; asm?: { memory?: unknown } };
}

/**
 * A float32 view of a tensor's values in the heap. Make views after allocating every output: an
 * allocation may grow the heap, which leaves views of the old buffer detached.
 */
export function heapView(backend: WasmHeapBackend, info: tf.TensorInfo): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(info.dataId).memoryOffset, tf.util.sizeFromShape(info.shape));
}

/** The whole heap as float32 (for kernels that address several tensors by element offset). */
export function heapF32(backend: WasmHeapBackend): Float32Array {
  const buffer = backend.wasm.HEAPU8.buffer;
  return new Float32Array(buffer, 0, buffer.byteLength >>> 2);
}

/** A float32 tensor's position in the heap, in elements. */
export function elementOffset(backend: WasmHeapBackend, info: tf.TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset / 4;
}
