// tfjs-backend-wasm ships a multi-threaded SIMD build, but its own loader never uses it in Node:
// - the WASM_HAS_MULTITHREAD_SUPPORT flag is forced false there (tfjs#3830);
// - it hands Emscripten's pthread worker script over as a blob: URL, which worker_threads cannot load
//   (the script itself supports Node: it is shipped as a string in wasm-out/*.worker.js);
// - its C++ side halves the logical core count, assuming two hyperthreads a core, so a 2-core machine
//   gets one thread whatever setThreadsCount says.
// This module loads that build itself: the worker script from a file, the core count as asked for.
// Measured on the 2-core machine: one 3x3 convolution at 19-26 GMAC/s with 2 threads, against 10-11
// for the single-threaded build tfjs picks in Node.
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../../util/durable-fs';
import { webAssembly, type WasmMemory } from './webassembly';

/** tfjs-wasm 4.22 pre-starts 8 pthread workers and caps its thread pool at 8 (cc/backend.cc). */
export const MAX_WASM_THREADS = 8;

const BUILD = 'tfjs-backend-wasm-threaded-simd';

/** What an Emscripten pthread keeps of its Node worker: enough to let the process exit past it. */
interface PthreadWorker {
  unref(): void;
}

interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  PThread: { runningWorkers: PthreadWorker[]; unusedWorkers: PthreadWorker[] };
  tfjs?: Record<string, unknown>;
}

type ThreadedFactory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

/** A thread count as written by a user (environment variable or bench option): a whole number 1..8, else null. */
export function parseWasmThreadCount(raw: string): number | null {
  const n = Number(raw.trim());
  return Number.isInteger(n) && n >= 1 && n <= MAX_WASM_THREADS ? n : null;
}

/**
 * Threads for the wasm backend: FACENET_WASM_THREADS if set (1 = the single-threaded build), else every
 * logical core this process may use, at most MAX_WASM_THREADS.
 */
export function wasmThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['FACENET_WASM_THREADS'];
  if (raw === undefined || raw === '') return Math.min(os.availableParallelism(), MAX_WASM_THREADS);
  const n = parseWasmThreadCount(raw);
  if (n === null) {
    throw new Error(`FACENET_WASM_THREADS must be a whole number from 1 to ${MAX_WASM_THREADS}, got "${raw}". Unset it to use every core.`);
  }
  return n;
}

function wasmOutDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
}

/**
 * The pthread worker script as a file. The package ships it inside a template literal whose "\n" escapes
 * became real newlines, which would end its string literals: they are escaped again, as tfjs's browser
 * loader does before it makes a blob of it. Named by content, so versions never share a file.
 */
function workerScriptFile(dir: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(dir, `${BUILD}.worker.js`)) as { wasmWorkerContents: string };
  const script = wasmWorkerContents.replace(/\n/g, '\\n');
  const digest = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `facenet-${BUILD}-worker-${digest}.js`);
  if (!existsSync(file)) writeFileAtomicSync(file, script);
  return file;
}

/** Builds a tfjs BackendWasm on the multi-threaded SIMD build with `threads` threads. */
async function createThreadedBackend(threads: number): Promise<tf.KernelBackend> {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('this Node has no SharedArrayBuffer');
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  const dir = wasmOutDir();
  const glue = path.join(dir, `${BUILD}.js`);
  const workerScript = workerScriptFile(dir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(glue) as ThreadedFactory;
  // Emscripten reports a failed instantiation only to the console; without this the factory would never settle.
  let instantiationFailed: (err: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (instantiationFailed = reject));
  const starting = factory({
    locateFile: (file: string) => (file.endsWith('.worker.js') ? workerScript : path.join(dir, file)),
    // Each pthread worker evaluates this script to build its side of the module.
    mainScriptUrlOrBlob: glue,
    instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (instance: object, module: object) => void) => {
      // The C++ side divides this by two (see the top of this file).
      imports.env['emscripten_num_logical_cores'] = () => 2 * threads;
      // The heap, shared with the pool's threads; the SIMD kernels and the BatchNorm helper thread work on it too.
      const memory = imports.env['memory'];
      if (memory instanceof webAssembly.Memory) sharedHeap = memory;
      webAssembly.instantiate(readFileSync(path.join(dir, `${BUILD}.wasm`)), imports).then(
        (result) => receive(result.instance, result.module),
        instantiationFailed,
      );
      return {};
    },
  });
  const module = await Promise.race([starting, failure]);
  // The same bridge tfjs's own loader sets up (backend_wasm.ts, init()).
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmPkg.setThreadsCount(threads);
  const backend = new wasmPkg.BackendWasm(module as unknown as ConstructorParameters<typeof wasmPkg.BackendWasm>[0]);
  // The thread pool's workers wait for work forever; referenced, they would keep Node from exiting.
  for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) worker.unref();
  const actual = wasmPkg.getThreadsCount();
  if (actual !== threads) throw new Error(`asked for ${threads} threads, the build started ${actual}`);
  return backend;
}

let installed: number | null = null;
let sharedHeap: WasmMemory | null = null;

/** The multi-threaded build's heap (a shared memory), or null when the single-threaded build runs. */
export function threadedWasmHeap(): WasmMemory | null {
  return installedWasmThreads() > 1 ? sharedHeap : null;
}

/**
 * Makes tf.setBackend('wasm') start the multi-threaded build with `threads` threads, falling back (with a
 * warning) to the single-threaded one tfjs registered if it cannot start. Call after importing
 * @tensorflow/tfjs-backend-wasm and before the backend is first initialised; later calls change nothing.
 */
export function installThreadedWasm(threads: number): void {
  if (installed !== null || threads <= 1) return;
  const singleThreaded = tf.findBackendFactory('wasm');
  if (singleThreaded === null) throw new Error('installThreadedWasm: import @tensorflow/tfjs-backend-wasm first');
  installed = threads;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        return await createThreadedBackend(threads);
      } catch (err) {
        installed = 1;
        console.warn(`wasm: the multi-threaded build did not start (${String((err as Error)?.message ?? err)}); using the single-threaded one.`);
        return singleThreaded();
      }
    },
    2,
  );
}

/** Threads the wasm backend was set up with (1 until installThreadedWasm ran). */
export function installedWasmThreads(): number {
  return installed ?? 1;
}
