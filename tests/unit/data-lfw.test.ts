import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { datasetSchema, preprocessSchema } from '../../src/config/schema';
import { DatasetError } from '../../src/data/errors';
import { prepareDataset } from '../../src/data/prepare';
import { indexLfw } from '../../src/data/lfw';
import { lfwImagePath, parsePairs, parsePeople } from '../../src/data/lfw-protocol';
import { tempDir, writeLfwTree } from '../fixtures/data-fixtures';

const tmp = tempDir();
before(async () => {
  await writeLfwTree(path.join(tmp.dir, 'ok'));
});
after(tmp.cleanup);

void test('image paths follow lfw-deepfunneled/Name/Name_NNNN.jpg', () => {
  assert.equal(lfwImagePath('Zico', 3), 'lfw-deepfunneled/Zico/Zico_0003.jpg');
});

void test('parses pairs: folds, matched then mismatched, 1-based image numbers', () => {
  const r = parsePairs('2\t1\nA\t1\t2\nA\t1\tB\t3\nC\t2\t4\nC\t1\tD\t1\n', 'pairs.txt');
  assert.deepEqual([r.folds, r.perClass], [2, 1]);
  assert.deepEqual(r.pairs, [
    { nameA: 'A', imageA: 1, nameB: 'A', imageB: 2, same: true, fold: 0 },
    { nameA: 'A', imageA: 1, nameB: 'B', imageB: 3, same: false, fold: 0 },
    { nameA: 'C', imageA: 2, nameB: 'C', imageB: 4, same: true, fold: 1 },
    { nameA: 'C', imageA: 1, nameB: 'D', imageB: 1, same: false, fold: 1 },
  ]);
  const dev = parsePairs('1\nA\t1\t2\nA\t1\tB\t3\n', 'pairsDevTest.txt');
  assert.deepEqual([dev.folds, dev.pairs.length], [1, 2]);
});

void test('malformed pairs lines are refused with file and line', () => {
  assert.throws(() => parsePairs('1\nA\t1\tB\t2\nA\t1\tB\t3\n', 'pairsDevTest.txt'), /pairsDevTest\.txt line 2: matched pair 1 of fold 1 should be "name<TAB>i<TAB>j", got 4 fields/);
  assert.throws(() => parsePairs('1\nA\t1\t2\n', 'p.txt'), /p\.txt line 1: the header says 1 fold\(s\) of 1 matched and 1 mismatched pairs \(2 pair lines\), but the file has 1 pair lines/);
  assert.throws(() => parsePairs('2\t1\nA\t1\t2\nA\t1\tB\t3\nC\t1\t2\n', 'p.txt'), /the header says 2 fold\(s\) of 1 matched and 1 mismatched pairs \(4 pair lines\), but the file has 3 pair lines/);
  assert.throws(() => parsePairs('1\nA\tx\t2\nA\t1\tB\t3\n', 'p.txt'), /p\.txt line 2: an image number should be a positive integer, got 'x'/);
});

void test('parses people in folds (people.txt) and as one list (peopleDevTrain.txt)', () => {
  assert.deepEqual(parsePeople('2\n1\nA\t3\n2\nB\t1\nC\t2\n', 'people.txt'), [
    [{ name: 'A', images: 3 }],
    [{ name: 'B', images: 1 }, { name: 'C', images: 2 }],
  ]);
  assert.deepEqual(parsePeople('2\nA\t3\nB\t1\n', 'peopleDevTrain.txt'), [[{ name: 'A', images: 3 }, { name: 'B', images: 1 }]]);
});

void test('indexes people by name and their images, with the protocol files in the manifest', async () => {
  const idx = await indexLfw(path.join(tmp.dir, 'ok'));
  assert.deepEqual(idx.identities, ['Alice_A', 'Bob_B', 'Carol_C', 'Dan_D']);
  assert.equal(idx.entries.length, 8);
  assert.deepEqual(idx.entries[2], { relPath: 'lfw-deepfunneled/Alice_A/Alice_A_0003.jpg', label: 0, size: idx.entries[2]?.size });
  assert.equal(idx.extraFiles.length, 6);
});

void test('a protocol line naming a missing image is reported with the file and the image', async () => {
  const root = path.join(tmp.dir, 'missing');
  await writeLfwTree(root);
  rmSync(path.join(root, 'lfw-deepfunneled/Dan_D/Dan_D_0002.jpg'));
  await assert.rejects(indexLfw(root), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.match(err.message, /pairsDevTest\.txt names 1 missing image\(s\): lfw-deepfunneled\/Dan_D\/Dan_D_0002\.jpg/);
    assert.match(err.message, /people\.txt names 1 missing image\(s\)/);
    assert.match(err.message, /peopleDevTest\.txt names 1 missing image\(s\)/);
    assert.doesNotMatch(err.message, /pairs\.txt names/);
    return true;
  });
});

void test('a missing protocol file or image folder is named', async () => {
  const root = path.join(tmp.dir, 'noproto');
  await writeLfwTree(root);
  rmSync(path.join(root, 'people.txt'));
  await assert.rejects(indexLfw(root), /LFW protocol files missing from .*noproto: people\.txt; put them there/);
  await assert.rejects(indexLfw(path.join(tmp.dir, 'absent')), /LFW image folder .*absent\/lfw-deepfunneled does not exist/);
});

void test('a corrupt JPEG stops the LFW build with its path, and no cache is left behind', async () => {
  const root = path.join(tmp.dir, 'corrupt');
  await writeLfwTree(root);
  const bad = path.join(root, 'lfw-deepfunneled/Bob_B/Bob_B_0002.jpg');
  writeFileSync(bad, readFileSync(bad).subarray(0, 200));
  const cfg = datasetSchema.parse({ name: 'lfw', source: { dir: root }, split: { kind: 'lfw' }, cacheDir: path.join(root, 'cache') });
  await assert.rejects(prepareDataset(cfg, preprocessSchema.parse({ channels: 3 }), { projectRoot: root }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(err.path, bad);
    assert.match(err.message, /Bob_B_0002\.jpg: cannot decode image/);
    return true;
  });
  assert.deepEqual(readdirSync(path.join(root, 'cache')).filter((n) => n !== 'fingerprints'), []);
});

// The official protocol files (no images needed): the counts the protocol promises.
const LFW = path.resolve(__dirname, '../../../shared/datasets/lfw');

void test('the real protocol files: View 2 has 6,000 pairs (3,000 matched) in 10 folds of 600; people.txt has 5,749 people', (t) => {
  if (!existsSync(path.join(LFW, 'pairs.txt'))) return t.skip(`LFW protocol files not found in ${LFW}`);
  const v2 = parsePairs(readFileSync(path.join(LFW, 'pairs.txt'), 'utf8'), 'pairs.txt');
  assert.equal(v2.pairs.length, 6000);
  assert.equal(v2.pairs.filter((p) => p.same).length, 3000);
  for (let f = 0; f < 10; f++) assert.equal(v2.pairs.filter((p) => p.fold === f).length, 600);
  const folds = parsePeople(readFileSync(path.join(LFW, 'people.txt'), 'utf8'), 'people.txt');
  assert.equal(folds.length, 10);
  assert.equal(folds.flat().length, 5749);
  assert.equal(folds.flat().reduce((s, p) => s + p.images, 0), 13233);
  const devTrain = parsePeople(readFileSync(path.join(LFW, 'peopleDevTrain.txt'), 'utf8'), 'peopleDevTrain.txt');
  assert.equal(devTrain[0]?.length, 4038);
  assert.equal(devTrain[0]?.reduce((s, p) => s + p.images, 0), 9525);
  const v1 = parsePairs(readFileSync(path.join(LFW, 'pairsDevTest.txt'), 'utf8'), 'pairsDevTest.txt');
  assert.equal(v1.pairs.length, 1000);
});
