import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { extractArchive, extractZip } from '../../src/data/archive';
import { DatasetError } from '../../src/data/errors';
import { buildTgz, buildZip, tempDir } from '../fixtures/data-fixtures';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = () => path.join(tmp.dir, `out${n++}`);

const files = [
  { name: 'att_faces/s1/1.pgm', data: Buffer.from('P5\n1 1\n255\nA') },
  { name: 'att_faces/README', data: Buffer.from('hello '.repeat(50)) },
];

void test('extracts a zip with deflated members into nested folders', async () => {
  const zip = path.join(tmp.dir, 'a.zip');
  writeFileSync(zip, buildZip(files));
  const out = fresh();
  assert.equal(await extractZip(zip, out), 2);
  assert.equal(readFileSync(path.join(out, 'att_faces/s1/1.pgm'), 'latin1'), 'P5\n1 1\n255\nA');
  assert.equal(readFileSync(path.join(out, 'att_faces/README'), 'utf8'), 'hello '.repeat(50));
});

async function refused(archive: string, pattern: RegExp) {
  await assert.rejects(extractArchive(archive, fresh()), (err: unknown) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.equal(err.path, archive);
    assert.match(err.message, pattern);
    return true;
  });
}

void test('a truncated zip is refused, naming the archive', async () => {
  const whole = buildZip(files);
  const zip = path.join(tmp.dir, 'cut.zip');
  writeFileSync(zip, whole.subarray(0, whole.length - 30));
  await refused(zip, /cut\.zip: damaged or not a zip archive: no end-of-central-directory/);
});

void test('a zip with a flipped byte fails its CRC check', async () => {
  const big = [{ name: 'x.bin', data: Buffer.alloc(200, 7) }];
  const stored = buildZip(big);
  // Corrupt one byte of the compressed data (right after the 30-byte local header + 5-byte name).
  stored[36] = (stored[36] as number) ^ 0x55;
  const zip = path.join(tmp.dir, 'bad.zip');
  writeFileSync(zip, stored);
  await refused(zip, /bad\.zip: damaged or not a zip archive: x\.bin/);
});

void test('a zip member escaping the target folder is refused', async () => {
  const zip = path.join(tmp.dir, 'evil.zip');
  writeFileSync(zip, buildZip([{ name: '../escape.txt', data: Buffer.from('x') }]));
  await refused(zip, /refusing unsafe member path '\.\.\/escape\.txt'/);
  assert.equal(existsSync(path.join(tmp.dir, 'escape.txt')), false);
});

void test('extracts a tgz with the system tar, and refuses a truncated one', async () => {
  const src = path.join(tmp.dir, 'src');
  mkdirSync(path.join(src, 'lfw-deepfunneled/A'), { recursive: true });
  writeFileSync(path.join(src, 'lfw-deepfunneled/A/A_0001.jpg'), Buffer.alloc(5000, 3));
  const tgz = buildTgz(src, 'lfw-deepfunneled', path.join(tmp.dir, 'l.tgz'));
  const out = fresh();
  await extractArchive(tgz, out);
  assert.deepEqual(readFileSync(path.join(out, 'lfw-deepfunneled/A/A_0001.jpg')), Buffer.alloc(5000, 3));

  const whole = readFileSync(tgz);
  const cut = path.join(tmp.dir, 'cut.tgz');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  await refused(cut, /cut\.tgz: cannot unpack \(damaged or not a \.tgz\?\)/);
});

void test('an unknown archive type is refused', async () => {
  const rar = path.join(tmp.dir, 'x.rar');
  writeFileSync(rar, 'x');
  await refused(rar, /unknown archive type/);
});

void test('reads a zip written by the zip command (if installed) exactly', async (t) => {
  const src = path.join(tmp.dir, 'zsrc');
  mkdirSync(path.join(src, 's1'), { recursive: true });
  writeFileSync(path.join(src, 's1/1.pgm'), Buffer.alloc(3000, 42));
  writeFileSync(path.join(src, 'README'), 'x');
  const zip = path.join(tmp.dir, 'cli.zip');
  try {
    execFileSync('zip', ['-qr', zip, 's1', 'README'], { cwd: src });
  } catch {
    return t.skip('the zip command is not installed');
  }
  const out = fresh();
  await extractZip(zip, out);
  assert.deepEqual(readFileSync(path.join(out, 's1/1.pgm')), Buffer.alloc(3000, 42));
  assert.equal(readFileSync(path.join(out, 'README'), 'utf8'), 'x');
});
