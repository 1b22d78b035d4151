// Builds (once) the LFW cache from the local copy: 13,233 JPEGs, the reference's 128 x 98 RGB centre
// crop. The cache lives in <project>/.cache/preprocessed and is reused by later runs (a few seconds).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { datasetSchema, preprocessSchema } from '../../src/config/schema';
import { loadCachedDataset } from '../../src/data/cache';
import { parsePeople } from '../../src/data/lfw-protocol';
import { prepareDataset } from '../../src/data/prepare';
import { resolveSplit } from '../../src/data/split';
import { readFileSync } from 'node:fs';

const projectRoot = path.resolve(__dirname, '../..');
const LFW = path.resolve(projectRoot, '../shared/datasets/lfw');

void test('LFW from the local copy: 5,749 people, 13,233 images; View 1 and View 2 splits', { timeout: 60 * 60 * 1000 }, async (t) => {
  if (!existsSync(path.join(LFW, 'lfw-deepfunneled'))) return t.skip(`LFW dataset not found at ${LFW}`);
  const cfg = datasetSchema.parse({ name: 'lfw', source: { dir: LFW }, split: { kind: 'lfw', view: 'view2', fold: 0 } });
  const pre = preprocessSchema.parse({ channels: 3, centerCrop: { height: 128, width: 98 } });
  let lastTenth = -1;
  const p = await prepareDataset(cfg, pre, {
    projectRoot,
    onProgress: (done, total, phase) => {
      const tenth = Math.floor((10 * done) / Math.max(1, total));
      if (phase === 'preprocess' && tenth !== lastTenth) {
        lastTenth = tenth;
        t.diagnostic(`preprocess ${done}/${total}`);
      }
    },
  });
  t.diagnostic(`cache ${p.cachePath} (${p.built ? 'built' : 'reused'})`);
  assert.deepEqual([p.identities, p.images, p.height, p.width, p.channels, p.skipped], [5749, 13233, 128, 98, 3, 0]);
  const again = await prepareDataset(cfg, pre, { projectRoot });
  assert.equal(again.built, false);
  assert.equal(again.cachePath, p.cachePath);

  const ds = await loadCachedDataset(p.cachePath);
  assert.equal(ds.pixels.length, 13233 * 128 * 98 * 3);

  const v2 = await resolveSplit(ds, cfg);
  assert.equal(v2.testPairs.length, 6000);
  assert.equal(v2.testPairs.filter((q) => q.same).length, 3000);
  for (let f = 0; f < 10; f++) assert.equal(v2.testPairs.filter((q) => q.fold === f).length, 600);
  assert.equal(v2.droppedPairs, 0);
  const fold0 = new Set((parsePeople(readFileSync(path.join(LFW, 'people.txt'), 'utf8'), 'people.txt')[0] ?? []).map((q) => q.name));
  assert.ok(v2.trainIndices.every((i) => !fold0.has(ds.identities[ds.labels[i] as number] as string)));
  for (const q of v2.testPairs.filter((x) => x.fold === 0)) {
    assert.ok(fold0.has(ds.identities[ds.labels[q.a] as number] as string), 'fold-0 pairs are of fold-0 people');
  }

  const v1 = await resolveSplit(ds, { kind: 'lfw', view: 'view1', fold: 0 });
  assert.equal(v1.trainIndices.length, 9525);
  assert.equal(new Set(v1.trainIndices.map((i) => ds.labels[i])).size, 4038);
  assert.equal(v1.testPairs.length, 1000);
  assert.equal(v1.testPairs.filter((q) => q.same).length, 500);
});
