// The SIMD BatchNorm passes ship as binaries assembled from src/backend/batch-norm-passes.wat
// (scripts/build-wasm-passes.ts). Assembled again here, they must equal the committed ones, so an edit of the
// .wat that was not rebuilt (or a hand edit of the generated file) fails; each must link to its kind of heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleBatchNormPasses } from '../../scripts/wasm-passes-assembler';
import { BATCH_NORM_PASSES_WASM } from '../../src/backend/batch-norm-passes-wasm';
import { webAssembly, type WasmModule } from '../../src/backend/webassembly';

const root = path.resolve(__dirname, '../..');

void test('the committed SIMD pass binaries are the .wat source assembled', async () => {
  const assembled = await assembleBatchNormPasses(readFileSync(path.join(root, 'src/backend/batch-norm-passes.wat'), 'utf8'));
  assert.equal(BATCH_NORM_PASSES_WASM.shared, Buffer.from(assembled.shared).toString('base64'), 'shared: run npx tsx scripts/build-wasm-passes.ts');
  assert.equal(BATCH_NORM_PASSES_WASM.unshared, Buffer.from(assembled.unshared).toString('base64'), 'unshared: run npx tsx scripts/build-wasm-passes.ts');
});

void test('each binary links to its kind of heap only, and exports the five passes', () => {
  const shared = new webAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const unshared = new webAssembly.Memory({ initial: 1 });
  const module = (name: 'shared' | 'unshared'): WasmModule => new webAssembly.Module(Buffer.from(BATCH_NORM_PASSES_WASM[name], 'base64'));
  const exports = Object.keys(new webAssembly.Instance(module('shared'), { env: { memory: shared } }).exports).sort();
  assert.deepEqual(exports, ['affine', 'gradientSums', 'inputGradient', 'squaredDeviation', 'sum']);
  assert.ok(new webAssembly.Instance(module('unshared'), { env: { memory: unshared } }));
  assert.throws(() => new webAssembly.Instance(module('shared'), { env: { memory: unshared } }), webAssembly.LinkError);
  assert.throws(() => new webAssembly.Instance(module('unshared'), { env: { memory: shared } }), webAssembly.LinkError);
});
