// Max pooling's gradient on wasm as SIMD (simd-kernels.wat), four channels at a time: the same positions and
// the same float64 sums as the JavaScript kernel in training-kernels.ts, bit for bit, about 5x faster.
import * as tf from '@tensorflow/tfjs-core';
import { callSimd, countSimdRun, heapScratch, simdKernels } from './simd-kernels';
import type { WasmHeapBackend } from './heap';

export const MAX_POOL_GRAD_SIMD = 'MaxPoolGrad';

/**
 * Writes dx for (input, dy) pooled as `info` describes and returns true, or returns false when SIMD cannot
 * run it (channels not in fours, no SIMD); `dx`, `input` and `dy` are byte addresses of float32 tensors.
 */
export function runSimdMaxPoolGrad(backend: WasmHeapBackend, info: tf.backend_util.Conv2DInfo, input: number, dy: number, dx: number): boolean {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  if (inChannels % 4 !== 0) return false;
  const simd = simdKernels(backend);
  if (!simd) return false;
  const size = batchSize * inHeight * inWidth * inChannels;
  const sums = heapScratch(backend, MAX_POOL_GRAD_SIMD, size * 8);
  new Float64Array(backend.wasm.HEAPU8.buffer, sums, size).fill(0);
  callSimd(simd, 'maxPoolGrad', input, dy, sums, batchSize, inHeight, inWidth, outHeight, outWidth, inChannels,
    strideHeight, strideWidth, filterHeight, filterWidth, info.padInfo.top, info.padInfo.left);
  callSimd(simd, 'narrowSums', sums, dx, size);
  countSimdRun(MAX_POOL_GRAD_SIMD);
  return true;
}
