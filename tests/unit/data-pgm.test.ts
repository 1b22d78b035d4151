import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodePgm } from '../../src/data/pgm';
import { DatasetError } from '../../src/data/errors';
import { encodePgm } from '../fixtures/data-fixtures';

void test('decodes an 8-bit binary P5 image row-major', () => {
  const img = decodePgm(encodePgm(3, 2, [0, 1, 2, 253, 254, 255]), 'a.pgm');
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  assert.equal(img.maxval, 255);
  assert.deepEqual([...img.data], [0, 1, 2, 253, 254, 255]);
});

void test('decodes an ASCII P2 image with a header comment', () => {
  const buf = Buffer.from('P2\n# made by hand\n2 2\n# another\n255\n10 20\n30 40\n', 'latin1');
  assert.deepEqual([...decodePgm(buf, 'b.pgm').data], [10, 20, 30, 40]);
});

void test('rescales a 16-bit P5 image (big-endian) to 8 bits', () => {
  const img = decodePgm(encodePgm(4, 1, [0, 257, 32768, 65535], { maxval: 65535 }), 'c.pgm');
  // v * 255 / 65535: 257 -> 1, 32768 -> 127.502 -> 128, 65535 -> 255
  assert.deepEqual([...img.data], [0, 1, 128, 255]);
});

void test('rescales a low-maxval P2 image to 0..255', () => {
  const img = decodePgm(encodePgm(3, 1, [0, 7, 15], { format: 'P2', maxval: 15 }), 'd.pgm');
  assert.deepEqual([...img.data], [0, 119, 255]); // 7 * 255 / 15 = 119
});

function rejects(buf: Buffer, pattern: RegExp) {
  assert.throws(
    () => decodePgm(buf, '/data/s1/3.pgm'),
    (err: unknown) => err instanceof DatasetError && err.path === '/data/s1/3.pgm' && err.message.includes('/data/s1/3.pgm') && pattern.test(err.message),
  );
}

void test('rejects a truncated P5 image, saying how many bytes it needed', () => {
  const whole = encodePgm(4, 4, new Array(16).fill(9));
  rejects(whole.subarray(0, whole.length - 3), /truncated PGM: 4x4 at maxval 255 needs 16 bytes of pixels, found 13/);
});

void test('rejects a non-PGM file by its magic', () => {
  rejects(Buffer.from('hello, not an image'), /not a PGM image: it starts with bytes 68 65 6C 6C 6F 2C 20 6E \("hello, n"\), expected "P5" or "P2"/);
  rejects(Buffer.alloc(0), /not a PGM image: the file is empty \(0 bytes\)/);
  rejects(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), /not a PGM image: it holds a JPEG image \(starts with FF D8 FF\), despite its name/);
});

void test('rejects a header that ends early, a non-numeric field, and a pixel above maxval', () => {
  rejects(Buffer.from('P5\n12 '), /header ends before height/);
  rejects(Buffer.from('P5\n12 x\n255\n'), /height is 'x'/);
  rejects(Buffer.from('P2\n2 1\n100\n50 101\n'), /pixel 1 is 101, above maxval 100/);
  rejects(Buffer.from('P2\n2 2\n255\n1 2 3\n'), /truncated PGM: expected 4 pixel values, found 3/);
});

void test('decodes a real AT&T image (92 x 112, 8-bit)', (t) => {
  const file = path.resolve(__dirname, '../../../shared/datasets/att_faces/s1/1.pgm');
  if (!existsSync(file)) return t.skip(`AT&T dataset not found at ${file}`);
  const img = decodePgm(readFileSync(file), file);
  assert.equal(img.width, 92);
  assert.equal(img.height, 112);
  assert.equal(img.data.length, 92 * 112);
});
