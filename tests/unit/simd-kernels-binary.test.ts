// The SIMD kernels ship as binaries assembled from src/backend/wasm/simd-kernels.wat (scripts/build-simd-kernels.ts).
// Assembled again here, they must equal the committed ones, so an edit of the .wat that was not rebuilt (or a
// hand edit of the generated file) fails; each must link to its kind of heap only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleSimdKernels, WAT_PATH } from '../../scripts/simd-kernels-assembler';
import { SIMD_KERNELS_WASM } from '../../src/backend/wasm/simd-kernels-wasm';
import { webAssembly, type WasmModule } from '../../src/backend/wasm/webassembly';

const root = path.resolve(__dirname, '../..');

void test('the committed SIMD kernel binaries are the .wat source assembled', async () => {
  const assembled = await assembleSimdKernels(readFileSync(path.join(root, WAT_PATH), 'utf8'));
  assert.equal(SIMD_KERNELS_WASM.shared, Buffer.from(assembled.shared).toString('base64'), 'shared: run npx tsx scripts/build-simd-kernels.ts');
  assert.equal(SIMD_KERNELS_WASM.unshared, Buffer.from(assembled.unshared).toString('base64'), 'unshared: run npx tsx scripts/build-simd-kernels.ts');
});

void test('each binary links to its kind of heap only, and exports the kernels', () => {
  const shared = new webAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const unshared = new webAssembly.Memory({ initial: 1 });
  const module = (name: 'shared' | 'unshared'): WasmModule => new webAssembly.Module(Buffer.from(SIMD_KERNELS_WASM[name], 'base64'));
  const exports = Object.keys(new webAssembly.Instance(module('shared'), { env: { memory: shared } }).exports).sort();
  assert.deepEqual(exports, ['adam', 'affine', 'gradientSums', 'inputGradient', 'maxPoolGrad', 'narrowSums', 'squaredDeviation', 'sum']);
  assert.ok(new webAssembly.Instance(module('unshared'), { env: { memory: unshared } }));
  assert.throws(() => new webAssembly.Instance(module('shared'), { env: { memory: unshared } }), webAssembly.LinkError);
  assert.throws(() => new webAssembly.Instance(module('unshared'), { env: { memory: shared } }), webAssembly.LinkError);
});
