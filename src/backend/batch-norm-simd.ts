// The wasm BatchNorm passes as WebAssembly SIMD (batch-norm-passes.wat, assembled into
// batch-norm-passes-wasm.ts): 5-7x faster than the JavaScript loops of batch-norm-passes.ts, with the same
// results bit for bit. The module is instantiated on tfjs-wasm's own heap, so it reads and writes the tensors
// where they are; the per-channel float64 arrays it takes go through a small area allocated in that heap.
import type { PassJob } from './batch-norm-passes';
import { BATCH_NORM_PASSES_WASM } from './batch-norm-passes-wasm';
import { threadedWasmHeap } from './wasm-threads';
import type { WasmHeapBackend } from './wasm-heap';
import { webAssembly, type WasmExports, type WasmMemory } from './webassembly';

/** The passes take per-channel arrays of up to this many channels. */
export const SIMD_MAX_CHANNELS = 4096;
/** Per-channel float64 arrays in the heap: in0..in3, out0, out1. */
const SLOTS = 6;
const SLOT_BYTES = SIMD_MAX_CHANNELS * 8;

type SimdPass = (e: WasmExports, x: number, y: number, dx: number, C: number, rows: number, i: number[], o: number[]) => void;
type Exported = (...args: number[]) => void;
const call = (e: WasmExports, name: string, ...args: number[]): void => (e[name] as Exported)(...args);

/** By PassOp. Addresses are bytes: x, y, dx of the tensors, i (in0..in3) and o (out0, out1) of the float64 arrays. */
const SIMD_PASSES: SimdPass[] = [
  (e, x, y, dx, C, rows, i, o) => call(e, 'sum', x, C, 0, rows, o[0]!),
  (e, x, y, dx, C, rows, i, o) => call(e, 'squaredDeviation', x, C, 0, rows, i[0]!, o[0]!),
  (e, x, y, dx, C, rows, i) => call(e, 'affine', x, y, C, 0, rows, i[0]!, i[1]!),
  (e, x, y, dx, C, rows, i, o) => call(e, 'gradientSums', x, y, C, 0, rows, i[0]!, o[0]!, o[1]!),
  (e, x, y, dx, C, rows, i) => call(e, 'inputGradient', x, y, dx, C, 0, rows, i[0]!, i[1]!, i[2]!, i[3]!),
];

interface Simd {
  exports: WasmExports;
  /** Byte address of the SLOTS per-channel arrays. */
  scratch: number;
}

/** Per backend: its instance, or null where the module cannot run (then the JavaScript passes do). */
const instances = new WeakMap<WasmHeapBackend, Simd | null>();
let jobs = 0;

/** Passes run as SIMD so far (tests check that this path really runs). */
export function simdPassCount(): number {
  return jobs;
}

/** The heap's WebAssembly.Memory: imported by the threaded build (captured when it loads), exported by the other. */
function heapMemory(backend: WasmHeapBackend): WasmMemory | null {
  const threaded = threadedWasmHeap();
  if (threaded) return threaded;
  const exported = backend.wasm.asm?.memory;
  return exported instanceof webAssembly.Memory ? exported : null;
}

function instanceFor(backend: WasmHeapBackend): Simd | null {
  const known = instances.get(backend);
  if (known !== undefined) return known;
  let simd: Simd | null = null;
  const memory = heapMemory(backend);
  // FACENET_WASM_SIMD_PASSES=0 runs the JavaScript passes instead (to compare the two).
  if (memory && process.env['FACENET_WASM_SIMD_PASSES'] !== '0') {
    try {
      // A shared memory can only be imported as shared, and an unshared one as unshared: one binary each.
      const binary = threadedWasmHeap() ? BATCH_NORM_PASSES_WASM.shared : BATCH_NORM_PASSES_WASM.unshared;
      const instance = new webAssembly.Instance(new webAssembly.Module(Buffer.from(binary, 'base64')), { env: { memory } });
      simd = { exports: instance.exports, scratch: backend.wasm._malloc(SLOTS * SLOT_BYTES) };
    } catch {
      // An engine without WebAssembly SIMD: the JavaScript passes do the same work.
      simd = null;
    }
  }
  instances.set(backend, simd);
  return simd;
}

/** Runs the pass as SIMD and returns true, or returns false when it cannot (channels not in fours, no SIMD). */
export function runSimdPass(backend: WasmHeapBackend, job: PassJob): boolean {
  const C = job.channels;
  if (C % 4 !== 0 || C > SIMD_MAX_CHANNELS) return false;
  const simd = instanceFor(backend);
  if (!simd) return false;
  const address = (k: number): number => simd.scratch + k * SLOT_BYTES;
  // Views made now: an allocation since the last pass may have grown the heap.
  const slot = (k: number): Float64Array => new Float64Array(backend.wasm.HEAPU8.buffer, address(k), C);
  (job.inputs ?? []).forEach((values, k) => slot(k).set(values));
  slot(4).fill(0);
  slot(5).fill(0);
  SIMD_PASSES[job.op]!(simd.exports, job.x * 4, (job.y ?? 0) * 4, (job.dx ?? 0) * 4, C, job.rows, [0, 1, 2, 3].map(address), [address(4), address(5)]);
  // The callers' sums start at zero, so adding this pass's sums gives them exactly.
  (job.outputs ?? []).forEach((out, k) => {
    const sums = slot(4 + k);
    for (let c = 0; c < C; c++) out[c]! += sums[c]!;
  });
  jobs++;
  return true;
}
