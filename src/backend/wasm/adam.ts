// The Adam update kernel (contract: ops/adam-update.ts) for wasm: one SIMD pass over the heap (simd-kernels.wat),
// or, where the SIMD module cannot run, the same float32 arithmetic in JavaScript.
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamUpdateAttrs } from '../ops/adam-update';
import { callSimd, countSimdRun, simdKernels } from './simd-kernels';
import { elementOffset, heapView, type WasmHeapBackend } from './heap';

export const ADAM_SIMD = 'Adam update';

const f32 = Math.fround;

function sameShapedFloat32(inputs: tf.NamedTensorInfoMap): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const { g, m, v } = inputs as Record<string, tf.TensorInfo>;
  if (!g || !m || !v || [g, m, v].some((t) => t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, g.shape))) {
    throw new Error(`${ADAM_UPDATE} (wasm): expected g, m and v to be float32 tensors of one shape.`);
  }
  return [g, m, v];
}

/** The SIMD pass's arithmetic in JavaScript: every operation rounded to float32, in the same order. */
export function adamInJavaScript(
  inputs: { g: Float32Array; m: Float32Array; v: Float32Array },
  [b1, c1, b2, c2, step, eps]: [number, number, number, number, number, number],
  out: { m: Float32Array; v: Float32Array; delta: Float32Array },
): void {
  for (let i = 0; i < inputs.g.length; i++) {
    const g = inputs.g[i]!;
    const m = f32(f32(b1 * inputs.m[i]!) + f32(c1 * g));
    const v = f32(f32(b2 * inputs.v[i]!) + f32(c2 * f32(g * g)));
    out.m[i] = m;
    out.v[i] = v;
    out.delta[i] = f32(step * f32(m / f32(f32(Math.sqrt(v)) + eps)));
  }
}

/** [beta1, 1 - beta1, beta2, 1 - beta2, stepSize, epsilon] as float32, as tf.scalar makes them. */
export function adamConstants({ beta1, beta2, stepSize, epsilon }: AdamUpdateAttrs): [number, number, number, number, number, number] {
  return [beta1, 1 - beta1, beta2, 1 - beta2, stepSize, epsilon].map(f32) as [number, number, number, number, number, number];
}

const adamConfig: tf.KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: b, attrs }) => {
    const backend = b as unknown as WasmHeapBackend;
    const [g, m, v] = sameShapedFloat32(inputs);
    const outs = [0, 1, 2].map(() => backend.makeOutput(g.shape.slice(), 'float32')) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const n = tf.util.sizeFromShape(g.shape);
    const constants = adamConstants(attrs as unknown as AdamUpdateAttrs);
    const simd = simdKernels(backend);
    if (simd) {
      const address = (t: tf.TensorInfo): number => elementOffset(backend, t) * 4;
      callSimd(simd, 'adam', address(g), address(m), address(v), ...outs.map(address), n, ...constants);
      countSimdRun(ADAM_SIMD);
      return outs;
    }
    const [gs, ms, vs] = [g, m, v].map((t) => heapView(backend, t)) as [Float32Array, Float32Array, Float32Array];
    const [mOut, vOut, delta] = outs.map((t) => heapView(backend, t)) as [Float32Array, Float32Array, Float32Array];
    adamInJavaScript({ g: gs, m: ms, v: vs }, constants, { m: mOut, v: vOut, delta });
    return outs;
  },
};

let registered = false;

/** Registers the Adam update kernel for wasm. Idempotent. */
export function registerWasmAdam(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel(adamConfig);
}
