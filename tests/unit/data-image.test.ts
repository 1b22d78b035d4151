import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { centerCropOffset, preprocessImage } from '../../src/data/image';
import { DatasetError } from '../../src/data/errors';
import { encodePgm, tempDir } from '../fixtures/data-fixtures';

const tmp = tempDir();
after(tmp.cleanup);

// 4 wide x 5 high, value = 10*y + x
const W = 4;
const H = 5;
const px = Array.from({ length: W * H }, (_, i) => 10 * Math.floor(i / W) + (i % W));
const pgm = path.join(tmp.dir, 'g.pgm');
writeFileSync(pgm, encodePgm(W, H, px));

void test('centre crop offset is floor((size - crop) / 2): 250 -> 128 starts at 61, 250 -> 98 at 76', () => {
  assert.equal(centerCropOffset(250, 128), 61);
  assert.equal(centerCropOffset(250, 98), 76);
  assert.equal(centerCropOffset(5, 2), 1);
});

void test('a PGM passes through unchanged at native size, one channel', async () => {
  const img = await preprocessImage(pgm, { channels: 1, centerCrop: null, crop: null, resize: null });
  assert.deepEqual([img.height, img.width, img.channels], [5, 4, 1]);
  assert.deepEqual([...img.data], px);
});

void test('centre crop 3 high x 2 wide of a 5 x 4 image keeps rows 1..3, columns 1..2', async () => {
  const img = await preprocessImage(pgm, { channels: 1, centerCrop: { height: 3, width: 2 }, crop: null, resize: null });
  assert.deepEqual([img.height, img.width], [3, 2]);
  assert.deepEqual([...img.data], [11, 12, 21, 22, 31, 32]);
});

void test('a crop box (top 2, left 1, 2 high x 3 wide) of a 5 x 4 image keeps rows 2..3, columns 1..3', async () => {
  const img = await preprocessImage(pgm, { channels: 1, centerCrop: null, crop: { top: 2, left: 1, height: 2, width: 3 }, resize: null });
  assert.deepEqual([img.height, img.width], [2, 3]);
  assert.deepEqual([...img.data], [21, 22, 23, 31, 32, 33]);
  await assert.rejects(preprocessImage(pgm, { channels: 1, centerCrop: null, crop: { top: 4, left: 0, height: 2, width: 4 }, resize: null }), (err: unknown) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.match(err.message, /crop box \(top 4, left 0, 2x4 HxW\) reaches past the image, which is 5x4; fix preprocess\.crop/);
    return true;
  });
});

void test('grey to RGB replicates the value into three channels', async () => {
  const img = await preprocessImage(pgm, { channels: 3, centerCrop: { height: 1, width: 2 }, crop: null, resize: null });
  assert.deepEqual([...img.data], [21, 21, 21, 22, 22, 22]);
});

void test('RGB (PNG, lossless) keeps its channel values; resize gives the requested size', async () => {
  const file = path.join(tmp.dir, 'c.png');
  await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 200, g: 50, b: 10 } } }).png().toFile(file);
  const rgb = await preprocessImage(file, { channels: 3, centerCrop: { height: 2, width: 2 }, crop: null, resize: null });
  assert.deepEqual([...rgb.data.subarray(0, 3)], [200, 50, 10]);
  const small = await preprocessImage(file, { channels: 3, centerCrop: null, crop: null, resize: { height: 3, width: 2 } });
  assert.deepEqual([small.height, small.width, small.data.length], [3, 2, 18]);
  const grey = await preprocessImage(file, { channels: 1, centerCrop: null, crop: null, resize: null });
  assert.equal(grey.data.length, 36);
  // PIL's luma: (200*19595 + 50*38470 + 10*7471 + 32768) >> 16 = 90
  assert.deepEqual([...new Set(grey.data)], [90]);
});

async function assertRefused(file: string, pattern: RegExp) {
  await assert.rejects(preprocessImage(file, { channels: 3, centerCrop: null, crop: null, resize: null }), (err: unknown) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.equal(err.path, file);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(file));
    return true;
  });
}

void test('a truncated JPEG is refused, naming the file', async () => {
  const jpg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const file = path.join(tmp.dir, 'cut.jpg');
  writeFileSync(file, jpg.subarray(0, Math.floor(jpg.length / 2)));
  await assertRefused(file, /cannot decode image: .*premature end/i);
});

void test('a text file named .jpg is refused, naming the file', async () => {
  const file = path.join(tmp.dir, 'notes.jpg');
  writeFileSync(file, 'this is not an image');
  await assertRefused(file, /cannot decode image: .*unsupported image format/);
});

void test('a crop larger than the image is refused with the sizes', async () => {
  await assert.rejects(
    preprocessImage(pgm, { channels: 1, centerCrop: { height: 6, width: 2 }, crop: null, resize: null }),
    /g\.pgm: centre crop 6x2 \(HxW\) is larger than the image 5x4/,
  );
});
