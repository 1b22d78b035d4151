import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samplerSchema } from '../../src/config/schema';
import { loadConfig } from '../../src/config/load';
import { makeSampler } from '../../src/data/sampler';

// Labels of 12 images: identity 0 has 4 images (0-3), 1 has 3 (4-6), 2 has 2 (7,8), 3 has 1 (9), 4 has 2 (10,11).
const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 4]);
const all = Array.from({ length: 12 }, (_, i) => i);
const pk = (o: object) => samplerSchema.parse({ kind: 'pk', ...o });

void test("pk 'repeat': P x K batches, single-image identities left out, small identities topped up from their own images", () => {
  const s = makeSampler(labels, all, pk({ identitiesPerBatch: 2, imagesPerIdentity: 3, fewImagesPolicy: 'repeat' }), 7);
  assert.deepEqual(s.identities, [0, 1, 2, 4]);
  assert.deepEqual(s.excludedIdentities, [3]);
  assert.equal(s.stepsPerEpoch, 2);
  const batches = s.batches(0);
  assert.equal(batches.length, 2);
  const seenIds = new Set<number>();
  for (const b of batches) {
    assert.equal(b.length, 6);
    const ids = [labels[b[0] as number], labels[b[3] as number]] as number[];
    assert.notEqual(ids[0], ids[1]);
    for (const [k, id] of ids.entries()) {
      const block = b.slice(3 * k, 3 * k + 3);
      assert.ok(block.every((i) => labels[i] === id), 'each block is one identity');
      const own = new Set(block);
      // An identity with >= 2 images always contributes at least 2 distinct ones (an anchor-positive pair).
      assert.ok(own.size >= 2);
      seenIds.add(id);
    }
  }
  assert.deepEqual([...seenIds].sort(), [0, 1, 2, 4], 'one pass covers every eligible identity once');
});

void test("pk 'drop': identities with fewer than K images are left out", () => {
  const s = makeSampler(labels, all, pk({ identitiesPerBatch: 1, imagesPerIdentity: 3, fewImagesPolicy: 'drop' }), 1);
  assert.deepEqual(s.identities, [0, 1]);
  assert.deepEqual(s.excludedIdentities, [2, 3, 4]);
  for (const b of s.batches(5)) assert.equal(new Set(b).size, 3, 'no repeats under drop');
});

// Labels of 14 images: identities 0 and 1 have 3 images each (0-2, 3-5), identities 2..9 one each (6..13).
const withSingles = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
const allWithSingles = Array.from({ length: 14 }, (_, i) => i);

void test('pk singleImageNegatives: n single-image identities join every batch, dealt in turn from a shuffle per pass', () => {
  const base = makeSampler(withSingles, allWithSingles, pk({ identitiesPerBatch: 1, imagesPerIdentity: 2 }), 3);
  const s = makeSampler(withSingles, allWithSingles, pk({ identitiesPerBatch: 1, imagesPerIdentity: 2, singleImageNegatives: 3 }), 3);
  assert.deepEqual(s.identities, [0, 1], 'single-image identities are never anchors');
  assert.deepEqual(s.excludedIdentities, []);
  assert.deepEqual(base.excludedIdentities, [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(s.stepsPerEpoch, base.stepsPerEpoch);
  // 4 passes of 2 batches each.
  const batches = s.batches(1, 8);
  const plain = base.batches(1, 8);
  batches.forEach((b, i) => {
    assert.equal(b.length, 5);
    assert.deepEqual(b.slice(0, 2), plain[i], 'the P x K part is the plain sampler\'s');
    const extra = b.slice(2);
    assert.ok(extra.every((x) => x >= 6), 'the extra images are single-image identities');
    assert.equal(new Set(extra).size, 3, 'no image twice in a batch');
  });
  for (let p = 0; p < 4; p++) {
    // A pass deals 2 x 3 = 6 of the 8 singles, each once.
    const dealt = [...(batches[2 * p] as number[]).slice(2), ...(batches[2 * p + 1] as number[]).slice(2)];
    assert.equal(new Set(dealt).size, 6);
  }
  assert.ok(new Set(batches.map((b) => JSON.stringify(b.slice(2)))).size > 1, 'reshuffled per pass');
  assert.deepEqual(s.batchesFrom(1, 3, 8), batches.slice(3), 'resumable mid-epoch');
});

void test('pk singleImageNegatives wraps around when a pass needs more singles than there are, but never repeats within a batch', () => {
  const s = makeSampler(withSingles, allWithSingles, pk({ identitiesPerBatch: 1, imagesPerIdentity: 2, singleImageNegatives: 5 }), 0);
  const [a, b] = s.batches(0) as [number[], number[]];
  assert.equal(new Set(a.slice(2)).size, 5);
  assert.equal(new Set(b.slice(2)).size, 5);
  assert.equal(new Set([...a.slice(2), ...b.slice(2)]).size, 8, '10 draws from 8 singles: every one dealt, two twice');
});

void test('pk singleImageNegatives above the number of single-image identities is a clear error', () => {
  assert.throws(
    () => makeSampler(withSingles, allWithSingles, pk({ identitiesPerBatch: 1, imagesPerIdentity: 2, singleImageNegatives: 9 }), 0),
    /sampler\.singleImageNegatives is 9, but only 8 training identities have a single image; lower it/,
  );
});

void test('the config refuses singleImageNegatives with shuffled batches, naming the field', () => {
  assert.throws(
    () => loadConfig('configs/att-cpu.yml', ['sampler.kind=shuffle', 'sampler.singleImageNegatives=8']),
    /sampler\.singleImageNegatives.*P x K batches only/s,
  );
  assert.equal(loadConfig('configs/lfw-cpu.yml', ['sampler.singleImageNegatives=32']).sampler.singleImageNegatives, 32);
});

void test('batches are a pure function of (seed, epoch): same again, different for another epoch or seed', () => {
  const cfg = pk({ identitiesPerBatch: 2, imagesPerIdentity: 2 });
  const a = makeSampler(labels, all, cfg, 11);
  const b = makeSampler(labels, all, cfg, 11);
  assert.deepEqual(a.batches(3), b.batches(3));
  const epochs = [0, 1, 2, 3, 4, 5].map((e) => JSON.stringify(a.batches(e)));
  assert.ok(new Set(epochs).size > 1);
  assert.notDeepEqual(
    [0, 1, 2, 3].map((e) => a.batches(e)),
    [0, 1, 2, 3].map((e) => makeSampler(labels, all, cfg, 12).batches(e)),
  );
});

void test('resuming at step s of an epoch gives exactly the remaining batches, also beyond one pass', () => {
  const s = makeSampler(labels, all, pk({ identitiesPerBatch: 2, imagesPerIdentity: 2 }), 5);
  const full = s.batches(2, 7); // 7 steps = 3.5 passes of 2
  assert.equal(full.length, 7);
  assert.deepEqual(full.slice(0, 2), s.batches(2));
  for (let step = 0; step <= 7; step++) assert.deepEqual(s.batchesFrom(2, step, 7), full.slice(step));
});

void test('only the training indices are sampled', () => {
  const train = [0, 1, 2, 3, 7, 8];
  const s = makeSampler(labels, train, pk({ identitiesPerBatch: 2, imagesPerIdentity: 2 }), 0);
  for (const b of s.batches(0, 5)) for (const i of b) assert.ok(train.includes(i));
});

void test('too few identities for one batch is a clear error', () => {
  assert.throws(
    () => makeSampler(labels, all, pk({ identitiesPerBatch: 3, imagesPerIdentity: 3, fewImagesPolicy: 'drop' }), 0),
    /only 2 training identities have at least 3 images \(fewImagesPolicy 'drop'\), fewer than sampler\.identitiesPerBatch = 3/,
  );
});

void test('shuffle: a permutation of the training images in batches of batchSize, the last one smaller', () => {
  const s = makeSampler(labels, all, samplerSchema.parse({ kind: 'shuffle', batchSize: 5 }), 9);
  assert.equal(s.stepsPerEpoch, 3);
  const b = s.batches(0);
  assert.deepEqual(b.map((x) => x.length), [5, 5, 2]);
  assert.deepEqual(b.flat().sort((x, y) => x - y), all);
  assert.deepEqual(s.batches(0), b);
  assert.deepEqual(s.batchesFrom(0, 1), b.slice(1));
});
