// facenet soup: the weights of fine-tunes of one model averaged into one. The soup's weights against the
// element-wise mean computed here from the ingredients' weight files, its threshold against `evaluatePairs` on the
// soup itself, what is refused (random starts, other configs, an existing --out, a bad pairs file) with nothing
// left behind, and the command as a user runs it. Tiny models on the cpu backend: seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { tempDir, writeAttTree } from '../fixtures/data-fixtures';
import { exportTinyModel, TINY_HEIGHT, TINY_WIDTH } from '../fixtures/model-fixtures';
import { evaluatePairs, loadFaceModel, makeSoup } from '../../src/infer';
import { loadExportedModel, type FaceNetSidecar } from '../../src/train/export';

const ROOT = path.join(__dirname, '..', '..');
const { dir, cleanup } = tempDir('facenet-soup-');
const att = path.join(dir, 'att');
const pairs = path.join(dir, 'pairs.csv');
const ingredients = [path.join(dir, 'a'), path.join(dir, 'b'), path.join(dir, 'c')];
const opts = { pairsFile: pairs, imagesRoot: att, criterion: 'youden' as const, farTargets: [0.1] };

async function weightsOf(modelDir: string): Promise<Float32Array[]> {
  const { model } = await loadExportedModel(modelDir);
  const out = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  return out;
}

test('setup: three fine-tunes of one model (other seeds), AT&T-style images of 3 people, all their pairs', async () => {
  await tf.setBackend('cpu');
  for (const [i, d] of ingredients.entries()) (await exportTinyModel(d, { seed: 5 + i, initFrom: 'runs/base/model' })).dispose();
  writeAttTree(att, 3, 3, TINY_WIDTH, TINY_HEIGHT);
  const images = [1, 2, 3].flatMap((s) => [1, 2, 3].map((i) => `s${s}/${i}.pgm`));
  const rows = images.flatMap((a, i) => images.slice(i + 1).map((b) => `${a},${b},${a.split('/')[0] === b.split('/')[0] ? 1 : 0}`));
  writeFileSync(pairs, rows.join('\n') + '\n');
});

test("the soup's weights are the mean of its models'; its threshold is chosen on the pairs; the folder is whole", async () => {
  const out = path.join(dir, 'soup');
  const { dir: written, evaluation } = await makeSoup(ingredients, out, opts);
  assert.equal(written, out);
  const [a, b, c, soup] = await Promise.all([...ingredients, out].map(weightsOf));
  assert.equal(soup?.length, a?.length);
  let differs = 0;
  soup?.forEach((w, i) => {
    w.forEach((v, j) => {
      const values = [a, b, c].map((m) => (m?.[i] as Float32Array)[j] as number);
      const mean = values.reduce((x, y) => x + y, 0) / 3;
      assert.ok(Math.abs(v - mean) <= 1e-6 * Math.max(1, Math.abs(mean)), `weight ${i}[${j}]: ${v} vs ${mean}`);
      if (values[0] !== values[1]) differs++;
    });
  });
  assert.ok(differs > 100, 'the ingredients differ (else the test proves nothing)');

  const sidecar = JSON.parse(readFileSync(path.join(out, 'facenet.json'), 'utf8')) as FaceNetSidecar;
  const fm = await loadFaceModel(out);
  try {
    const again = await evaluatePairs(fm, pairs, att, opts);
    assert.deepEqual(evaluation.verification, again.verification);
    assert.equal(sidecar.threshold, again.verification.threshold);
    assert.equal(sidecar.metrics['auc'], again.verification.auc);
  } finally {
    fm.dispose();
  }
  assert.equal(sidecar.thresholdFrom, `${pairs} (in-sample, youden)`);
  assert.deepEqual(sidecar.soupOf?.map((s) => s.dir), ingredients);
  assert.equal(sidecar.runId, null);
  assert.equal(sidecar.model.initFrom, 'runs/base/model');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temp folder left');
});

test('refused, naming what to do, with nothing written: random starts, other configs, one model, an existing --out, bad pairs', async () => {
  const random = path.join(dir, 'random');
  const crop = path.join(dir, 'crop');
  (await exportTinyModel(random, { seed: 9 })).dispose();
  (await exportTinyModel(crop, { seed: 9, initFrom: 'runs/base/model', crop: { top: 0, left: 0, height: TINY_HEIGHT, width: TINY_WIDTH } })).dispose();
  const out = path.join(dir, 'refused');
  await assert.rejects(makeSoup([random, ...ingredients], out, opts), /random weights \(model\.init: random\).*fine-tunes of one model/);
  await assert.rejects(makeSoup([...ingredients, crop], out, opts), /crop: its facenet\.json has preprocess .* a soup's models come from one config/);
  await assert.rejects(makeSoup([ingredients[0] as string], out, opts), /at least two models, but got 1/);
  await assert.rejects(makeSoup([ingredients[0] as string, ingredients[0] as string], out, opts), /the same model is given twice/i);
  await assert.rejects(makeSoup(ingredients, path.join(dir, 'a'), opts), /--out .*a already exists: remove it or name another folder/);
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, 'a,b,same\ns1/1.pgm,s1/2.pgm,perhaps\n');
  await assert.rejects(makeSoup(ingredients, out, { ...opts, pairsFile: bad }), /bad\.csv line 2: same is "perhaps"/);
  writeFileSync(bad, 's1/1.pgm,s9/1.pgm,0\ns1/1.pgm,s1/2.pgm,1\n');
  await assert.rejects(makeSoup(ingredients, out, { ...opts, pairsFile: bad }), /s9.*1\.pgm/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temp folder left');
});

test('the command as a user runs it: exit 0 with the metrics, exit 2 naming the problem', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli.ts'), 'soup', ...args, '--backend', 'cpu'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const out = path.join(dir, 'cli-soup');
  const ok = run([...ingredients, '--out', out, '--pairs', pairs, '--images', att]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /AUC {12}\d\.\d{4}/);
  assert.match(ok.stdout, new RegExp(`Soup of 3 models: ${out} \\(threshold \\d\\.\\d{4}, chosen on .*pairs\\.csv: in-sample\\)`));
  const again = run([...ingredients, '--out', out, '--pairs', pairs, '--images', att]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /error: --out .*cli-soup already exists/);
  const noPairs = run([...ingredients, '--out', path.join(dir, 'x')]);
  assert.equal(noPairs.status, 2);
  assert.match(noPairs.stderr, /required option '--pairs <file>' not specified/);
});

test('teardown', () => {
  cleanup();
});
