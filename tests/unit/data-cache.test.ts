import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { datasetSchema, preprocessSchema, type DatasetConfig, type PreprocessConfig } from '../../src/config/schema';
import { loadCachedDataset } from '../../src/data/cache';
import { DatasetError } from '../../src/data/errors';
import { prepareDataset } from '../../src/data/prepare';
import { attPixel, encodePgm, tempDir, writeAttTree } from '../fixtures/data-fixtures';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;

/** A fresh project root with an AT&T fixture (3 subjects x 2 images, 6 wide x 8 high). */
function project(): { root: string; att: string } {
  const root = path.join(tmp.dir, `p${n++}`);
  const att = writeAttTree(path.join(root, 'att'), 3, 2);
  return { root, att };
}

const ds = (over: Partial<DatasetConfig> = {}): DatasetConfig =>
  datasetSchema.parse({ name: 'att', source: { dir: 'att' }, split: { kind: 'att-subjects' }, ...over });
const pre = (over: object = {}): PreprocessConfig => preprocessSchema.parse({ channels: 1, ...over });
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

void test('builds the cache, then loads exactly the decoded pixels with labels and paths', async () => {
  const { root } = project();
  const phases = new Set<string>();
  const p = await prepareDataset(ds(), pre(), { projectRoot: root, onProgress: (_d, _t, ph) => phases.add(ph) });
  assert.equal(p.built, true);
  assert.deepEqual([p.identities, p.images, p.height, p.width, p.channels], [3, 6, 8, 6, 1]);
  assert.equal(path.dirname(p.cachePath), path.join(root, '.cache/preprocessed'));
  assert.ok(phases.has('preprocess'));
  const c = await loadCachedDataset(p.cachePath);
  assert.deepEqual(c.identities, ['s1', 's2', 's3']);
  assert.deepEqual([...c.labels], [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(c.paths, ['s1/1.pgm', 's1/2.pgm', 's2/1.pgm', 's2/2.pgm', 's3/1.pgm', 's3/2.pgm']);
  // image 3 (s2/2.pgm), pixel (x=4, y=5) lives at 3*48 + 5*6 + 4
  assert.equal(c.pixels[3 * 48 + 5 * 6 + 4], attPixel(2, 2, 4, 5));
  assert.equal(c.pixels.length, 6 * 48);
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p, 'the summary is plain JSON');
});

void test('an unchanged config reuses the cache; a pixel option change builds a new one; normalisation does not', async () => {
  const { root } = project();
  const a = await prepareDataset(ds(), pre(), { projectRoot: root });
  const again = await prepareDataset(ds(), pre({ normalize: { mode: 'none' } }), { projectRoot: root });
  assert.equal(again.built, false);
  assert.equal(again.cachePath, a.cachePath);
  const cropped = await prepareDataset(ds(), pre({ centerCrop: { height: 4, width: 4 } }), { projectRoot: root });
  assert.equal(cropped.built, true);
  assert.notEqual(cropped.key, a.key);
  assert.deepEqual([cropped.height, cropped.width], [4, 4]);
  const rgb = await prepareDataset(ds(), pre({ channels: 3 }), { projectRoot: root });
  assert.notEqual(rgb.key, a.key);
  assert.equal(rgb.channels, 3);
});

void test('a changed source file changes the manifest hash and rebuilds', async () => {
  const { root, att } = project();
  const a = await prepareDataset(ds(), pre(), { projectRoot: root });
  writeFileSync(path.join(att, 's1/1.pgm'), encodePgm(6, 8, new Array(48).fill(1), { comment: 'edited' }));
  const b = await prepareDataset(ds(), pre(), { projectRoot: root });
  assert.notEqual(b.manifestHash, a.manifestHash);
  assert.equal(b.built, true);
  assert.equal((await loadCachedDataset(b.cachePath)).pixels[0], 1);
});

void test('a damaged shard is detected by load, and prepareDataset rebuilds it', async () => {
  const { root } = project();
  const a = await prepareDataset(ds(), pre(), { projectRoot: root });
  const shard = path.join(a.cachePath, 'shard-0000.bin');
  const bytes = readFileSync(shard);
  bytes[10] = (bytes[10] as number) ^ 0xff;
  writeFileSync(shard, bytes);
  await assert.rejects(loadCachedDataset(a.cachePath), /shard-0000\.bin: cache shard checksum mismatch/);
  const b = await prepareDataset(ds(), pre(), { projectRoot: root });
  assert.equal(b.built, true);
  assert.equal(b.cachePath, a.cachePath);
  assert.equal((await loadCachedDataset(b.cachePath)).pixels[10], attPixel(1, 1, 4, 1));
});

void test('maxIdentities keeps the first N subjects and has its own cache', async () => {
  const { root } = project();
  const p = await prepareDataset(ds({ maxIdentities: 2 }), pre(), { projectRoot: root });
  assert.deepEqual([p.identities, p.images], [2, 4]);
});

void test('a truncated PGM stops the build with its path, and nothing half-written remains', async () => {
  const { root, att } = project();
  const bad = path.join(att, 's2/1.pgm');
  writeFileSync(bad, readFileSync(bad).subarray(0, 30));
  await assert.rejects(prepareDataset(ds(), pre(), { projectRoot: root }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(err.path, bad);
    assert.match(err.message, /truncated PGM/);
    return true;
  });
  assert.deepEqual(readdirSync(path.join(root, '.cache/preprocessed')).filter((n) => n !== 'fingerprints'), []);
});

void test("onBadImage 'skip' leaves the unreadable image out and says so", async () => {
  const { root, att } = project();
  writeFileSync(path.join(att, 's2/1.pgm'), 'not an image at all');
  const p = await prepareDataset(ds({ onBadImage: 'skip' }), pre(), { projectRoot: root });
  assert.deepEqual([p.images, p.skipped], [5, 1]);
  const c = await loadCachedDataset(p.cachePath);
  assert.deepEqual(c.paths, ['s1/1.pgm', 's1/2.pgm', 's2/2.pgm', 's3/1.pgm', 's3/2.pgm']);
  assert.deepEqual([...c.labels], [0, 0, 1, 2, 2]);
  assert.equal(c.partial, true);
  assert.deepEqual(leftovers(path.join(root, '.cache/preprocessed')), []);
});

void test('a missing dataset folder is named in the error', async () => {
  const root = path.join(tmp.dir, `p${n++}`);
  await assert.rejects(
    prepareDataset(ds({ source: { dir: 'nowhere', downloadDir: '.cache/downloads' } }), pre(), { projectRoot: root }),
    new RegExp(`AT&T dataset folder ${path.join(root, 'nowhere').replace(/[/.]/g, '\\$&')} does not exist`),
  );
});

void test('images of different sizes need a resize, and the error names both files', async () => {
  const { root, att } = project();
  writeFileSync(path.join(att, 's3/2.pgm'), encodePgm(5, 8, new Array(40).fill(0)));
  await assert.rejects(prepareDataset(ds(), pre(), { projectRoot: root }), /s3\/2\.pgm is 8x5 \(HxW\) but s1\/1\.pgm is 8x6; set preprocess\.resize/);
  const ok = await prepareDataset(ds(), pre({ resize: { height: 4, width: 3 } }), { projectRoot: root });
  assert.deepEqual([ok.height, ok.width, ok.images], [4, 3, 6]);
});
