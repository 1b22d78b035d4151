// The exported model in a browser: headless Chromium loads model.json and its weights over HTTP with the
// tfjs bundles (tf.loadLayersModel, cpu backend) and embeds an image prepared as the model commands prepare it;
// the embedding equals Node's within 1e-5. Needs Debian's `chromium` package (CI: apt-get install -y chromium);
// skips with a message when it is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { writeAttTree } from '../fixtures/data-fixtures';
import { exportTinyModel, TINY_HEIGHT, TINY_WIDTH } from '../fixtures/model-fixtures';
import { inputBatch, loadFaceModel, prepareImage } from '../../src/infer';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.join(__dirname, '..', '..');
const bundle = (pkg: string, file: string) => readFileSync(path.join(ROOT, 'node_modules', '@tensorflow', pkg, 'dist', file));

// What a web page needs: the tfjs bundles, the custom L2Normalize layer registered under its class name
// (x / sqrt(max(sum(x^2), 1e-12)), as src/model/l2-normalize.ts), then tf.loadLayersModel on model.json.
const PAGE = `<!doctype html><meta charset="utf-8"><title>facenet model</title>
<script src="/tf-core.min.js"></script>
<script src="/tf-backend-cpu.min.js"></script>
<script src="/tf-layers.min.js"></script>
<script>
class L2Normalize extends tf.layers.Layer {
  static className = 'L2Normalize';
  computeOutputShape(shape) { return shape; }
  call(inputs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))));
  }
}
tf.serialization.registerClass(L2Normalize);
const report = (body) => fetch('/result', { method: 'POST', body: JSON.stringify(body) });
(async () => {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel('/model/model.json');
  const input = await (await fetch('/input.json')).json();
  const out = model.predict(tf.tensor4d(input.data, input.shape));
  await report({ backend: tf.getBackend(), embedding: Array.from(await out.data()) });
})().catch((e) => report({ error: String((e && e.stack) || e) }));
</script>`;

void test('the exported model gives the same embedding in headless Chromium as in Node', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser check of the exported model`);
    return;
  }
  await tf.setBackend('cpu');
  const dir = await mkdtemp(path.join(tmpdir(), 'model-browser-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const modelDir = path.join(dir, 'model');
  (await exportTinyModel(modelDir)).dispose();
  writeAttTree(path.join(dir, 'att'), 2, 2, TINY_WIDTH, TINY_HEIGHT);

  // Node: the model commands' path (file -> preprocessing -> normalisation -> folded inference embedder).
  const fm = await loadFaceModel(modelDir);
  const images = await Promise.all([path.join(dir, 'att', 's1', '1.pgm'), path.join(dir, 'att', 's2', '2.pgm')].map((f) => prepareImage(fm, f)));
  const x = inputBatch(fm, images);
  const input = { shape: x.shape, data: Array.from(x.dataSync()) };
  const node = fm.embed(x);
  x.dispose();
  fm.dispose();

  const files: Record<string, { type: string; data: Buffer }> = {
    '/index.html': { type: 'text/html', data: Buffer.from(PAGE) },
    '/tf-core.min.js': { type: 'text/javascript', data: bundle('tfjs-core', 'tf-core.min.js') },
    '/tf-backend-cpu.min.js': { type: 'text/javascript', data: bundle('tfjs-backend-cpu', 'tf-backend-cpu.min.js') },
    '/tf-layers.min.js': { type: 'text/javascript', data: bundle('tfjs-layers', 'tf-layers.min.js') },
    '/input.json': { type: 'application/json', data: Buffer.from(JSON.stringify(input)) },
  };
  for (const f of ['model.json', 'group1-shard1of1.bin']) files[`/model/${f}`] = { type: 'application/octet-stream', data: readFileSync(path.join(modelDir, f)) };
  let deliver: (body: { backend?: string; embedding?: number[]; error?: string }) => void = () => undefined;
  const result = new Promise<{ backend?: string; embedding?: number[]; error?: string }>((resolve) => (deliver = resolve));
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/result') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(204).end();
        deliver(JSON.parse(body) as Parameters<typeof deliver>[0]);
      });
      return;
    }
    const f = files[(req.url ?? '/').split('?')[0] as string];
    if (!f) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': f.type, 'Content-Length': f.data.length }).end(f.data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;

  const browser = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(dir, 'profile')}`, url],
    // Its own process group, so that stopping it stops its renderer and helper processes too.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  browser.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const closed = new Promise<number | null>((resolve) => browser.on('close', resolve));
  const exited = closed.then((code) => {
    throw new Error(`chromium exited (${code}) before the page reported: ${stderr}`);
  });
  let guard: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (guard = setTimeout(() => reject(new Error(`the page reported nothing in 120 s: ${stderr}`)), 120_000)));
  try {
    const got = await Promise.race([result, exited, hang]);
    assert.equal(got.error, undefined, got.error);
    assert.equal(got.backend, 'cpu');
    const browserEmbedding = got.embedding as number[];
    assert.equal(browserEmbedding.length, node.length);
    let worst = 0;
    browserEmbedding.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (node[i] as number)))));
    t.diagnostic(`largest difference between the browser and Node embeddings: ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-5, `largest difference between browser and Node: ${worst}`);
  } finally {
    clearTimeout(guard);
    exited.catch(() => undefined);
    if (browser.exitCode === null && browser.pid !== undefined) process.kill(-browser.pid, 'SIGTERM');
    await closed; // before the profile folder is removed
  }
});
