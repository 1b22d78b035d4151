// The wasm backend on its multi-threaded build (src/backend/wasm/threads.ts): it starts the threads asked
// for, computes bit for bit what the single-threaded build computes, lets the process exit by itself,
// and a bad FACENET_WASM_THREADS is reported as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/backend';
import { MAX_WASM_THREADS, wasmThreadCount } from '../../src/backend/wasm/threads';

const DIGEST_SCRIPT = path.join(__dirname, '..', 'helpers', 'wasm-digest.ts');

interface Digest {
  choiceThreads: number;
  xnnpackThreads: number;
  digest: string;
  sums: number[];
}

/** Runs the helper in a fresh process with the given thread count; fails if it does not end within a minute. */
function digestWith(threads: number): Digest {
  const r = spawnSync(process.execPath, ['--import', 'tsx', DIGEST_SCRIPT], {
    env: { ...process.env, FACENET_WASM_THREADS: String(threads) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the process with ${threads} threads did not exit by itself within 60 s (its thread pool holds it open?)`);
  assert.equal(r.status, 0, `the process with ${threads} threads failed: ${r.stderr.split('\n').filter((l) => /Error/.test(l)).slice(0, 3).join(' | ').slice(0, 500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Digest;
}

test('wasm on 2 threads starts 2 XNNPACK threads and computes a strided conv2d, its input and weight gradients bit for bit as the single-threaded build', () => {
  const single = digestWith(1);
  const dual = digestWith(2);
  assert.deepEqual([single.choiceThreads, single.xnnpackThreads], [1, 1]);
  // tfjs-wasm's own loader would give 1 on a 2-core machine (it halves the core count) or none at all in Node.
  assert.deepEqual([dual.choiceThreads, dual.xnnpackThreads], [2, 2]);
  assert.ok(single.sums.every((s) => Number.isFinite(s) && s !== 0), `non-trivial results expected, got ${single.sums.join(', ')}`);
  assert.equal(dual.digest, single.digest, `sums 1 thread ${single.sums.join(', ')}, 2 threads ${dual.sums.join(', ')}`);
});

test('FACENET_WASM_THREADS: unset means every core up to the pool size; whole numbers 1-8 are taken; anything else is refused with what to do', async () => {
  assert.equal(wasmThreadCount({}), Math.min(os.availableParallelism(), MAX_WASM_THREADS));
  assert.equal(wasmThreadCount({ FACENET_WASM_THREADS: '' }), Math.min(os.availableParallelism(), MAX_WASM_THREADS));
  assert.equal(wasmThreadCount({ FACENET_WASM_THREADS: '1' }), 1);
  assert.equal(wasmThreadCount({ FACENET_WASM_THREADS: '8' }), 8);
  for (const bad of ['0', '9', '1.5', 'two', '-2']) {
    assert.throws(() => wasmThreadCount({ FACENET_WASM_THREADS: bad }), new RegExp(`FACENET_WASM_THREADS must be a whole number from 1 to 8, got "${bad}"\\. Unset it`));
  }
  const saved = process.env['FACENET_WASM_THREADS'];
  process.env['FACENET_WASM_THREADS'] = 'many';
  try {
    // Not "the wasm backend is not installed": the variable is what to fix, for wasm and for auto alike.
    await assert.rejects(initBackend('wasm'), /FACENET_WASM_THREADS must be a whole number/);
    await assert.rejects(initBackend('auto'), /FACENET_WASM_THREADS must be a whole number/);
  } finally {
    if (saved === undefined) delete process.env['FACENET_WASM_THREADS'];
    else process.env['FACENET_WASM_THREADS'] = saved;
  }
});
