// The wasm BatchNorm passes as SIMD (simd-kernels.wat): 5-7x faster than the JavaScript loops of
// batch-norm-passes.ts, with the same results bit for bit. The per-channel float64 arrays the passes take go
// through a small scratch area in the heap.
import type { PassJob } from './batch-norm-pass';
import { callSimd, countSimdRun, heapScratch, simdKernels } from './simd-kernels';
import type { WasmHeapBackend } from './heap';
import type { WasmExports } from './webassembly';

/** The passes take per-channel arrays of up to this many channels. */
export const SIMD_MAX_CHANNELS = 4096;
/** Per-channel float64 arrays: in0..in3, out0, out1. */
const SLOTS = 6;
const SLOT_BYTES = SIMD_MAX_CHANNELS * 8;
export const BATCH_NORM_SIMD = 'BatchNorm passes';

type SimdPass = (e: WasmExports, x: number, y: number, dx: number, C: number, rows: number, i: number[], o: number[]) => void;

/** By PassOp. Addresses are bytes: x, y, dx of the tensors, i (in0..in3) and o (out0, out1) of the float64 arrays. */
const SIMD_PASSES: SimdPass[] = [
  (e, x, y, dx, C, rows, i, o) => callSimd(e, 'sum', x, C, 0, rows, o[0]!),
  (e, x, y, dx, C, rows, i, o) => callSimd(e, 'squaredDeviation', x, C, 0, rows, i[0]!, o[0]!),
  (e, x, y, dx, C, rows, i) => callSimd(e, 'affine', x, y, C, 0, rows, i[0]!, i[1]!),
  (e, x, y, dx, C, rows, i, o) => callSimd(e, 'gradientSums', x, y, C, 0, rows, i[0]!, o[0]!, o[1]!),
  (e, x, y, dx, C, rows, i) => callSimd(e, 'inputGradient', x, y, dx, C, 0, rows, i[0]!, i[1]!, i[2]!, i[3]!),
];

/** Runs the pass as SIMD and returns true, or returns false when it cannot (channels not in fours, no SIMD). */
export function runSimdPass(backend: WasmHeapBackend, job: PassJob): boolean {
  const C = job.channels;
  if (C % 4 !== 0 || C > SIMD_MAX_CHANNELS) return false;
  const simd = simdKernels(backend);
  if (!simd) return false;
  const scratch = heapScratch(backend, BATCH_NORM_SIMD, SLOTS * SLOT_BYTES);
  const address = (k: number): number => scratch + k * SLOT_BYTES;
  const slot = (k: number): Float64Array => new Float64Array(backend.wasm.HEAPU8.buffer, address(k), C);
  (job.inputs ?? []).forEach((values, k) => slot(k).set(values));
  slot(4).fill(0);
  slot(5).fill(0);
  SIMD_PASSES[job.op]!(simd, job.x * 4, (job.y ?? 0) * 4, (job.dx ?? 0) * 4, C, job.rows, [0, 1, 2, 3].map(address), [address(4), address(5)]);
  // The callers' sums start at zero, so adding this pass's sums gives them exactly.
  (job.outputs ?? []).forEach((out, k) => {
    const sums = slot(4 + k);
    for (let c = 0; c < C; c++) out[c]! += sums[c]!;
  });
  countSimdRun(BATCH_NORM_SIMD);
  return true;
}
