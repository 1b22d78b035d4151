import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { datasetSchema, preprocessSchema } from '../../src/config/schema';
import { loadCachedDataset, type CachedDataset } from '../../src/data/cache';
import { prepareDataset } from '../../src/data/prepare';
import { foldRange, resolveSplit } from '../../src/data/split';
import { tempDir, writeLfwTree } from '../fixtures/data-fixtures';

/** An in-memory AT&T-like dataset: `subjects` x `per` images of 1x1 pixel. */
function attDs(subjects: number, per: number): CachedDataset {
  const labels = Int32Array.from({ length: subjects * per }, (_, i) => Math.floor(i / per));
  return {
    cachePath: '/nowhere',
    key: 'k',
    dataset: 'att',
    height: 1,
    width: 1,
    channels: 1,
    identities: Array.from({ length: subjects }, (_, s) => `s${s + 1}`),
    labels,
    paths: [...labels].map((l, i) => `s${l + 1}/${(i % per) + 1}.pgm`),
    pixels: new Uint8Array(labels.length),
    partial: false,
  };
}
const attSplit = (o: object) => datasetSchema.parse({ name: 'att', split: { kind: 'att-subjects', ...o } }).split;

void test('fold ranges cut n items into near-equal contiguous parts', () => {
  assert.deepEqual([0, 1, 2].map((f) => foldRange(10, 3, f)), [[0, 3], [3, 6], [6, 10]]);
  assert.deepEqual(foldRange(40, 8, 7), [35, 40]);
});

void test('AT&T explicit test subjects: subject-disjoint, all unordered test pairs in fold 0', async () => {
  const ds = attDs(4, 3);
  const s = await resolveSplit(ds, attSplit({ testSubjects: ['s2', 's4'] }));
  assert.deepEqual(s.trainIndices, [0, 1, 2, 6, 7, 8]);
  assert.deepEqual(s.testIndices, [3, 4, 5, 9, 10, 11]);
  assert.equal(s.testPairs.length, 15); // 6 choose 2
  assert.equal(s.testPairs.filter((p) => p.same).length, 6); // 2 subjects x (3 choose 2)
  assert.deepEqual(s.testPairs[0], { a: 3, b: 4, same: true, fold: 0 });
  assert.deepEqual(s.testPairs.at(-1), { a: 10, b: 11, same: true, fold: 0 });
  assert.ok(s.testPairs.every((p) => p.a < p.b && p.fold === 0));
});

void test('AT&T default k-fold (8 folds) holds out 5 of 40 subjects; folds partition the subjects; same seed, same split', async () => {
  const ds = attDs(40, 10);
  const seen = new Set<number>();
  for (let fold = 0; fold < 8; fold++) {
    const s = await resolveSplit(ds, attSplit({ fold }));
    assert.equal(s.testIndices.length, 50);
    assert.equal(s.trainIndices.length, 350);
    assert.equal(s.testPairs.length, 1225);
    const testSubjects = new Set(s.testIndices.map((i) => ds.labels[i] as number));
    assert.equal(testSubjects.size, 5);
    for (const i of s.trainIndices) assert.ok(!testSubjects.has(ds.labels[i] as number));
    for (const t of testSubjects) seen.add(t);
  }
  assert.equal(seen.size, 40);
  const a = await resolveSplit(ds, attSplit({ seed: 3 }));
  const b = await resolveSplit(ds, attSplit({ seed: 3 }));
  const c = await resolveSplit(ds, attSplit({ seed: 4 }));
  assert.deepEqual(a.testIndices, b.testIndices);
  assert.notDeepEqual(a.testIndices, c.testIndices);
});

void test('AT&T split errors name the option', async () => {
  const ds = attDs(4, 2);
  await assert.rejects(resolveSplit(ds, attSplit({ testSubjects: ['s2', 's9'] })), /testSubjects names subjects not in the dataset: s9 \(it has s1\.\.s4\)/);
  await assert.rejects(resolveSplit(ds, attSplit({ folds: 2, fold: 2 })), /dataset\.split\.fold 2 must be below dataset\.split\.folds 2/);
  await assert.rejects(resolveSplit(ds, attSplit({ folds: 5 })), /folds 5 is more than the 4 subjects/);
  await assert.rejects(resolveSplit(ds, { kind: 'lfw', view: 'view1', fold: 0 }), /'lfw' does not fit the att dataset/);
});

// LFW fixture: Alice_A 3 (0..2), Bob_B 2 (3,4), Carol_C 1 (5), Dan_D 2 (6,7).
const tmp = tempDir();
let lfw: CachedDataset;
before(async () => {
  await writeLfwTree(path.join(tmp.dir, 'lfw'));
  const cfg = datasetSchema.parse({ name: 'lfw', source: { dir: 'lfw' }, split: { kind: 'lfw' } });
  const p = await prepareDataset(cfg, preprocessSchema.parse({ channels: 1 }), { projectRoot: tmp.dir });
  lfw = await loadCachedDataset(p.cachePath);
});
after(tmp.cleanup);

void test('LFW view1: train = peopleDevTrain images; test = pairsDevTest pairs', async () => {
  const s = await resolveSplit(lfw, { kind: 'lfw', view: 'view1', fold: 0 });
  assert.deepEqual(s.trainIndices, [0, 1, 2, 5]); // Alice_A, Carol_C
  assert.deepEqual(s.testPairs, [
    { a: 3, b: 4, same: true, fold: 0 }, // Bob_B 1-2
    { a: 5, b: 7, same: false, fold: 0 }, // Carol_C 1 - Dan_D 2
  ]);
  assert.deepEqual(s.testIndices, [3, 4, 5, 7]);
  assert.equal(s.droppedPairs, 0);
});

void test('LFW view2: every pairs.txt pair with its fold; training leaves out the test fold people', async () => {
  const f0 = await resolveSplit(lfw, { kind: 'lfw', view: 'view2', fold: 0 });
  assert.deepEqual(f0.testPairs, [
    { a: 0, b: 1, same: true, fold: 0 },
    { a: 0, b: 5, same: false, fold: 0 },
    { a: 3, b: 4, same: true, fold: 1 },
    { a: 3, b: 6, same: false, fold: 1 },
  ]);
  assert.deepEqual(f0.trainIndices, [3, 4, 6, 7]); // fold 1 people: Bob_B, Dan_D
  const f1 = await resolveSplit(lfw, { kind: 'lfw', view: 'view2', fold: 1 });
  assert.deepEqual(f1.trainIndices, [0, 1, 2, 5]);
  await assert.rejects(resolveSplit(lfw, { kind: 'lfw', view: 'view2', fold: 2 }), /fold 2 is not a fold of people\.txt \(it has 2\)/);
});
