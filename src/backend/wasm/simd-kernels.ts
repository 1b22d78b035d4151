// The SIMD kernels module (simd-kernels.wat, assembled into simd-kernels-wasm.ts), instantiated once per
// tfjs-wasm backend on that backend's own heap, so its kernels read and write tensors where they are; and
// reusable scratch buffers allocated in the same heap for what they need besides the tensors.
import { SIMD_KERNELS_WASM } from './simd-kernels-wasm';
import { threadedWasmHeap } from './threads';
import type { WasmHeapBackend } from './heap';
import { webAssembly, type WasmExports, type WasmMemory } from './webassembly';

/** Per backend: the module's exports, or null where it cannot run (the callers then use JavaScript). */
const instances = new WeakMap<WasmHeapBackend, WasmExports | null>();
const scratches = new WeakMap<WasmHeapBackend, Map<string, { address: number; bytes: number }>>();
const runs = new Map<string, number>();

/** The heap's WebAssembly.Memory: imported by the threaded build (captured when it loads), exported by the other. */
function heapMemory(backend: WasmHeapBackend): WasmMemory | null {
  const threaded = threadedWasmHeap();
  if (threaded) return threaded;
  const exported = backend.wasm.asm?.memory;
  return exported instanceof webAssembly.Memory ? exported : null;
}

/**
 * The SIMD kernels on this backend's heap, or null: no memory found, an engine without WebAssembly SIMD, or
 * FACENET_WASM_SIMD=0 (which runs the JavaScript kernels instead, to compare the two).
 */
export function simdKernels(backend: WasmHeapBackend): WasmExports | null {
  const known = instances.get(backend);
  if (known !== undefined) return known;
  let exports: WasmExports | null = null;
  const memory = heapMemory(backend);
  if (memory && process.env['FACENET_WASM_SIMD'] !== '0') {
    try {
      // A shared memory can only be imported as shared, and an unshared one as unshared: one binary each.
      const binary = threadedWasmHeap() ? SIMD_KERNELS_WASM.shared : SIMD_KERNELS_WASM.unshared;
      exports = new webAssembly.Instance(new webAssembly.Module(Buffer.from(binary, 'base64')), { env: { memory } }).exports;
    } catch {
      exports = null;
    }
  }
  instances.set(backend, exports);
  return exports;
}

/** Calls one of the module's functions (all take and return numbers). */
export function callSimd(exports: WasmExports, name: string, ...args: number[]): void {
  (exports[name] as (...a: number[]) => void)(...args);
}

/**
 * The byte address of a buffer of at least `bytes` in the heap, kept per backend and name and reused; it moves
 * when a larger one is needed. Make heap views after calling this: the allocation may grow the heap.
 */
export function heapScratch(backend: WasmHeapBackend, name: string, bytes: number): number {
  let byName = scratches.get(backend);
  if (!byName) scratches.set(backend, (byName = new Map()));
  const current = byName.get(name);
  if (current && current.bytes >= bytes) return current.address;
  if (current) backend.wasm._free(current.address);
  const address = backend.wasm._malloc(bytes);
  if (!address) throw new Error(`The wasm heap has no room for ${bytes} bytes of ${name} scratch (its limit is 4 GiB); use a smaller batch.`);
  byName.set(name, { address, bytes });
  return address;
}

/** Counts a kernel run as SIMD; tests read the count to check that the SIMD path really runs. */
export function countSimdRun(kernel: string): void {
  runs.set(kernel, (runs.get(kernel) ?? 0) + 1);
}

export function simdRunCount(kernel: string): number {
  return runs.get(kernel) ?? 0;
}
