import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { DescriptorCache, recordBytes } from '../../scripts/validate-published/descriptor-cache';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'published-cache-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const images = ['A/A_0001.jpg', 'A/A_0002.jpg', 'B/B_0001.jpg'];

test('records are 4 * (2 + 4 + dim) bytes: index, status, box, descriptor', () => {
  assert.equal(recordBytes(128), 536);
  assert.equal(recordBytes(3), 36);
});

test('a reopened cache returns what was put, and a torn last record is dropped', () => {
  const file = path.join(dir, 'a.bin');
  const c = DescriptorCache.open(file, images, 3);
  c.put(2, { status: 'detected', box: { x: 67, y: 78, width: 114, height: 114 }, descriptor: Float32Array.from([0.5, -1, 2]) });
  c.put(0, { status: 'fallback', box: { x: 1.5, y: 2, width: 3, height: 4 }, descriptor: Float32Array.from([0.25, 0, -0.125]) });
  assert.equal(fs.statSync(file).size, 72);
  fs.appendFileSync(file, Buffer.alloc(10)); // a kill in the middle of the next record
  const r = DescriptorCache.open(file, images, 3);
  assert.equal(r.size, 2);
  assert.equal(fs.statSync(file).size, 72);
  assert.equal(r.has(1), false);
  assert.deepEqual(r.get(2), { status: 'detected', box: { x: 67, y: 78, width: 114, height: 114 }, descriptor: Float32Array.from([0.5, -1, 2]) });
  assert.deepEqual(r.get(0), { status: 'fallback', box: { x: 1.5, y: 2, width: 3, height: 4 }, descriptor: Float32Array.from([0.25, 0, -0.125]) });
});

test('read-only: a torn tail is skipped but left in place, and put is refused', () => {
  const file = path.join(dir, 'ro.bin');
  DescriptorCache.open(file, images, 3).put(1, { status: 'detected-retry', box: { x: 0, y: 0, width: 1, height: 1 }, descriptor: Float32Array.from([1, 2, 3]) });
  fs.appendFileSync(file, Buffer.alloc(5));
  const r = DescriptorCache.open(file, images, 3, { readOnly: true });
  assert.equal(r.size, 1);
  assert.equal(r.get(1)?.status, 'detected-retry');
  assert.equal(fs.statSync(file).size, 36 + 5);
  assert.throws(() => r.put(0, { status: 'detected', box: { x: 0, y: 0, width: 1, height: 1 }, descriptor: new Float32Array(3) }), /read-only/);
});

test('a cache written for another image list is refused with what to delete', () => {
  const file = path.join(dir, 'b.bin');
  DescriptorCache.open(file, images, 3).put(1, { status: 'detected', box: { x: 0, y: 0, width: 1, height: 1 }, descriptor: new Float32Array(3) });
  assert.throws(() => DescriptorCache.open(file, [...images, 'C/C_0001.jpg'], 3), /another image list.*Delete .*b\.bin/);
  assert.throws(() => DescriptorCache.open(file, images, 4), /dim 3; now 3 images, dim 4/);
});

test('put rejects a wrong index or descriptor size', () => {
  const c = DescriptorCache.open(path.join(dir, 'c.bin'), images, 3);
  const box = { x: 0, y: 0, width: 1, height: 1 };
  assert.throws(() => c.put(3, { status: 'detected', box, descriptor: new Float32Array(3) }), /index 3 is outside 0\.\.2/);
  assert.throws(() => c.put(0, { status: 'detected', box, descriptor: new Float32Array(2) }), /A\/A_0001\.jpg has 2 values, expected 3/);
});
