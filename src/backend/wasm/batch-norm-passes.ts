// The passes of the wasm BatchNorm kernels over the activations (NHWC, so a row is one pixel's channels).
// Where the channel count is a multiple of 4 (every layer of our ResNets) they run as WebAssembly SIMD
// (batch-norm-simd.ts), 5-7x faster than the JavaScript loops here, with the same results. Other channel
// counts run these loops; with the multi-threaded wasm build, large passes are then split by rows with one
// helper thread. The helper shares the heap (a shared WebAssembly.Memory) and a small control block; a job is
// handed over and awaited with Atomics, which costs tens of microseconds, so only passes over many values are
// split. The SIMD passes are not split: with a fifth of the work left, splitting them made no measurable
// difference to an att-cpu or a ResNet-18 step (2 runs each).
import { Worker } from 'node:worker_threads';
import { type PassJob } from './batch-norm-pass';
import { runSimdPass } from './batch-norm-simd';
import { threadedWasmHeap } from './threads';
import { heapF32, type WasmHeapBackend } from './heap';

/**
 * The passes, as source: the main thread and the helper compile the same code, so both halves compute
 * alike. `h` is the heap as float32; x, y, dy, dx are element offsets into it; rows [r0, r1) of C
 * channels; in0..in3 per-channel float64 inputs; out0, out1 per-channel float64 sums added to.
 */
const PASSES_SOURCE = `return [
  // 0: out0 += x
  (h, x, y, C, r0, r1, in0, in1, in2, in3, out0, out1) => {
    for (let i = x + r0 * C, end = x + r1 * C; i < end; i += C) for (let c = 0; c < C; c++) out0[c] += h[i + c];
  },
  // 1: out0 += (x - in0)^2 (in0: the mean)
  (h, x, y, C, r0, r1, in0, in1, in2, in3, out0, out1) => {
    for (let i = x + r0 * C, end = x + r1 * C; i < end; i += C) for (let c = 0; c < C; c++) { const d = h[i + c] - in0[c]; out0[c] += d * d; }
  },
  // 2: y = x * in0 + in1
  (h, x, y, C, r0, r1, in0, in1, in2, in3, out0, out1) => {
    for (let i = r0 * C, end = r1 * C; i < end; i += C) for (let c = 0; c < C; c++) h[y + i + c] = h[x + i + c] * in0[c] + in1[c];
  },
  // 3: with g = dy (at y): out0 += g, out1 += g * (x - in0)
  (h, x, y, C, r0, r1, in0, in1, in2, in3, out0, out1) => {
    for (let i = r0 * C, end = r1 * C; i < end; i += C) for (let c = 0; c < C; c++) { const g = h[y + i + c]; out0[c] += g; out1[c] += g * (h[x + i + c] - in0[c]); }
  },
  // 4: dx = in0 * dy - in1 - in2 * (x - in3)
  (h, x, y, C, r0, r1, in0, in1, in2, in3, out0, out1, dx) => {
    for (let i = r0 * C, end = r1 * C; i < end; i += C) for (let c = 0; c < C; c++) h[dx + i + c] = in0[c] * h[y + i + c] - in1[c] - in2[c] * (h[x + i + c] - in3[c]);
  },
];`;

type Pass = (
  h: Float32Array, x: number, y: number, C: number, r0: number, r1: number,
  in0: Float64Array, in1: Float64Array, in2: Float64Array, in3: Float64Array, out0: Float64Array, out1: Float64Array, dx?: number,
) => void;

const passes = new Function(PASSES_SOURCE)() as Pass[];

/** Fewer values than this run on one thread: the hand-over would cost more than the half it saves. */
export const SPLIT_MIN_VALUES = 1 << 16;
/** Per-channel slots in the control block: in0..in3, the helper's out0 and out1. */
const SLOTS = 6;
const MAX_CHANNELS = 4096;
const HEADER_BYTES = 64;
/** The helper answers a job in milliseconds; no answer in this long means it is gone. */
const HELPER_TIMEOUT_MS = 30_000;

const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, control, maxChannels, passesSource, headerBytes } = workerData;
const passes = new Function(passesSource)();
const ctl = new Int32Array(control, 0, 8);
const addr = new Float64Array(control, 32, 4);
for (;;) {
  Atomics.wait(ctl, 0, 0);
  const C = ctl[2];
  const slot = (k) => new Float64Array(control, headerBytes + k * maxChannels * 8, C);
  passes[ctl[1]](new Float32Array(memory.buffer), addr[0], addr[1], C, ctl[3], ctl[4], slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), addr[2]);
  Atomics.store(ctl, 0, 0);
  Atomics.notify(ctl, 0);
}
`;

interface Helper {
  worker: Worker;
  control: SharedArrayBuffer;
  ctl: Int32Array;
  addr: Float64Array;
}

let helper: Helper | null = null;
let helperUnusable = false;
let splitJobs = 0;

/** Jobs split with the helper thread so far (tests check that splitting really happens). */
export function splitJobCount(): number {
  return splitJobs;
}

function ensureHelper(): Helper | null {
  if (helper || helperUnusable) return helper;
  const memory = threadedWasmHeap();
  if (!memory) return null;
  try {
    const control = new SharedArrayBuffer(HEADER_BYTES + SLOTS * MAX_CHANNELS * 8);
    const worker = new Worker(HELPER_SOURCE, {
      eval: true,
      workerData: { memory, control, maxChannels: MAX_CHANNELS, passesSource: PASSES_SOURCE, headerBytes: HEADER_BYTES },
    });
    // It waits for work forever; referenced, it would keep Node from exiting.
    worker.unref();
    worker.on('error', () => {
      helperUnusable = true;
      helper = null;
    });
    helper = { worker, control, ctl: new Int32Array(control, 0, 8), addr: new Float64Array(control, 32, 4) };
  } catch {
    helperUnusable = true;
  }
  return helper;
}

/**
 * Runs one pass over all rows: as SIMD when it can (`javascript` forbids it, for comparisons), else in
 * JavaScript, split in two halves with the helper thread when the threaded build runs and the pass is large.
 * Sums add the helper's half to this thread's, in that order.
 */
export function runPass(backend: WasmHeapBackend, job: PassJob, implementation: 'auto' | 'javascript' = 'auto'): void {
  if (implementation === 'auto' && runSimdPass(backend, job)) return;
  const heap = heapF32(backend);
  const { op, x, channels: C, rows } = job;
  const y = job.y ?? 0;
  const dx = job.dx ?? 0;
  const none = new Float64Array(0);
  const [in0 = none, in1 = none, in2 = none, in3 = none] = job.inputs ?? [];
  const [out0 = none, out1 = none] = job.outputs ?? [];
  const h = rows * C >= SPLIT_MIN_VALUES && C <= MAX_CHANNELS && rows >= 2 ? ensureHelper() : null;
  if (!h) {
    passes[op]!(heap, x, y, C, 0, rows, in0, in1, in2, in3, out0, out1, dx);
    return;
  }
  const half = rows >> 1;
  const slot = (k: number) => new Float64Array(h.control, HEADER_BYTES + k * MAX_CHANNELS * 8, C);
  [in0, in1, in2, in3].forEach((a, k) => a.length && slot(k).set(a));
  slot(4).fill(0);
  slot(5).fill(0);
  h.ctl[1] = op;
  h.ctl[2] = C;
  h.ctl[3] = half;
  h.ctl[4] = rows;
  h.addr[0] = x;
  h.addr[1] = y;
  h.addr[2] = dx;
  Atomics.store(h.ctl, 0, 1);
  Atomics.notify(h.ctl, 0);
  passes[op]!(heap, x, y, C, 0, half, in0, in1, in2, in3, out0, out1, dx);
  while (Atomics.load(h.ctl, 0) === 1) {
    if (Atomics.wait(h.ctl, 0, 1, HELPER_TIMEOUT_MS) === 'timed-out') {
      helperUnusable = true;
      helper = null;
      throw new Error(`The wasm BatchNorm helper thread did not finish a pass in ${HELPER_TIMEOUT_MS / 1000} s; set FACENET_WASM_THREADS=1 to run without it.`);
    }
  }
  splitJobs++;
  const helperOut = [slot(4), slot(5)];
  [out0, out1].forEach((o, k) => {
    for (let c = 0; c < o.length; c++) o[c]! += helperOut[k]![c]!;
  });
}
