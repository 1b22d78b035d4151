// Builds the AT&T cache from the local copy of the dataset (400 small PGMs: a few seconds).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { datasetSchema, preprocessSchema } from '../../src/config/schema';
import { loadCachedDataset } from '../../src/data/cache';
import { prepareDataset } from '../../src/data/prepare';
import { resolveSplit } from '../../src/data/split';
import { makeSampler } from '../../src/data/sampler';
import { tempDir } from '../fixtures/data-fixtures';

const projectRoot = path.resolve(__dirname, '../..');
const ATT = path.resolve(projectRoot, '../shared/datasets/att_faces');
const tmp = tempDir();
after(tmp.cleanup);

void test('AT&T from the local copy: 40 subjects, 400 images of 112 x 92, a 35/5 split, 10 x 10 batches', async (t) => {
  if (!existsSync(path.join(ATT, 's1'))) return t.skip(`AT&T dataset not found at ${ATT}`);
  const cfg = datasetSchema.parse({
    name: 'att',
    source: { dir: ATT },
    split: { kind: 'att-subjects' },
    cacheDir: path.join(tmp.dir, 'cache'),
  });
  const p = await prepareDataset(cfg, preprocessSchema.parse({ channels: 1 }), { projectRoot });
  assert.deepEqual([p.identities, p.images, p.height, p.width, p.channels, p.skipped], [40, 400, 112, 92, 1, 0]);
  const ds = await loadCachedDataset(p.cachePath);
  assert.equal(ds.pixels.length, 400 * 112 * 92);
  assert.equal(ds.identities[39], 's40');
  const split = await resolveSplit(ds, cfg);
  assert.deepEqual([split.trainIndices.length, split.testIndices.length, split.testPairs.length], [350, 50, 1225]);
  assert.equal(split.testPairs.filter((q) => q.same).length, 5 * 45);
  const sampler = makeSampler(ds.labels, split.trainIndices, { kind: 'pk', identitiesPerBatch: 10, imagesPerIdentity: 10, batchSize: 100, fewImagesPolicy: 'repeat', singleImageNegatives: 0 }, 0);
  assert.equal(sampler.stepsPerEpoch, 3); // 35 identities / 10 per batch
});
