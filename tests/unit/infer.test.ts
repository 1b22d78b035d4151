// Using an exported model: embeddings against a brute-force forward pass of the model itself, verify's
// distance against a hand computation, galleries (the right person, unknown, another model refused, whole or
// nothing), a user's pairs in CSV and LFW format against src/eval called directly, and the commands run as a
// user runs them (a child process of cli.ts). A tiny untrained model on the cpu backend: seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import Papa from 'papaparse';
import { attPixel, encodePgm, tempDir, writeAttTree, writeLfwTree } from '../fixtures/data-fixtures';
import { exportTinyModel, TINY_HEIGHT, TINY_NORMALIZATION, TINY_WIDTH } from '../fixtures/model-fixtures';
import {
  embedFiles,
  enroll,
  evaluatePairs,
  identify,
  InputError,
  listImages,
  loadFaceModel,
  pathsFileOf,
  readGallery,
  saveGallery,
  verifyFiles,
  writeEmbeddings,
  type FaceModel,
} from '../../src/infer';
import { distancesForPairs, evaluateKFold, evaluateVerification } from '../../src/eval';

const ROOT = path.join(__dirname, '..', '..');
const { dir, cleanup } = tempDir('facenet-infer-');
const modelDir = path.join(dir, 'model');
const att = path.join(dir, 'att');
let model: LayersModel;
let fm: FaceModel;

const img = (s: number, i: number) => path.join(att, `s${s}`, `${i}.pgm`);

/** The fixture image's normalised pixels, computed from its formula (not read from the file). */
function normalisedPixels(s: number, i: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < TINY_HEIGHT; y++) {
    for (let x = 0; x < TINY_WIDTH; x++) out.push((attPixel(s, i, x, y) / 255 - (TINY_NORMALIZATION.mean[0] as number)) / (TINY_NORMALIZATION.std[0] as number));
  }
  return out;
}

/** Brute force: the in-memory model's forward pass in inference mode (no folding), optionally flip-averaged. */
function bruteForce(m: LayersModel, images: Array<[number, number]>, flip = false): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(images.flatMap(([s, i]) => normalisedPixels(s, i)), [images.length, TINY_HEIGHT, TINY_WIDTH, 1]);
    const plain = m.predict(x) as tf.Tensor2D;
    if (!flip) return plain.dataSync() as Float32Array;
    const mean = tf.div(tf.add(plain, m.predict(tf.reverse(x, 2)) as tf.Tensor2D), 2);
    return tf.div(mean, tf.norm(mean, 'euclidean', 1, true)).dataSync() as Float32Array;
  });
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs((got[i] as number) - (want[i] as number)) < tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('setup: a tiny exported model and AT&T-style images of 3 people', async () => {
  await tf.setBackend('cpu');
  model = await exportTinyModel(modelDir, { threshold: 0.5 });
  writeAttTree(att, 3, 3, TINY_WIDTH, TINY_HEIGHT);
  fm = await loadFaceModel(modelDir);
  assert.equal(fm.embeddingDim, 8);
  assert.match(fm.id, /^[0-9a-f]{64}$/);
});

test('embed: the same embeddings as the model itself on the hand-normalised pixels, also in CSV and .npy', async () => {
  const files = await listImages([path.join(att, 's1'), img(2, 3)]);
  assert.deepEqual(files, [img(1, 1), img(1, 2), img(1, 3), img(2, 3)]);
  const { embeddings, dim, notes } = await embedFiles(fm, files, 3); // two batches
  assert.equal(dim, 8);
  assert.deepEqual(notes, []);
  assertClose(embeddings, bruteForce(model, [[1, 1], [1, 2], [1, 3], [2, 3]]), 1e-5, 'embedding');

  const csv = path.join(dir, 'out', 'emb.csv');
  await writeEmbeddings(csv, files, embeddings, dim);
  const rows = Papa.parse<string[]>(readFileSync(csv, 'utf8').trim()).data;
  assert.deepEqual(rows[0], ['path', 'e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
  assert.deepEqual(rows.slice(1).map((r) => r[0]), files);
  assert.deepEqual(Float32Array.from(rows.slice(1).flatMap((r) => r.slice(1).map(Number))), embeddings, 'CSV values read back as the same float32');

  const npy = path.join(dir, 'out', 'emb.npy');
  assert.deepEqual(await writeEmbeddings(npy, files, embeddings, dim), [npy, pathsFileOf(npy)]);
  const buf = readFileSync(npy);
  assert.equal(buf.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
  const headerLength = buf.readUInt16LE(8);
  assert.equal((10 + headerLength) % 64, 0, 'the header is padded to a multiple of 64 bytes');
  assert.equal(buf.subarray(10, 10 + headerLength).toString('latin1').trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 8), }");
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLength, buf.byteOffset + buf.length));
  assert.deepEqual(values, embeddings);
  assert.deepEqual(readFileSync(pathsFileOf(npy), 'utf8').trim().split('\n'), files);
});

test('embed with flip TTA in the sidecar: the re-normalised mean of the image and its mirror image', async () => {
  const flipDir = path.join(dir, 'model-flip');
  (await exportTinyModel(flipDir, { flipTTA: true })).dispose(); // same seed: same weights as `model`
  const flipped = await loadFaceModel(flipDir);
  try {
    const { embeddings } = await embedFiles(flipped, [img(1, 1), img(3, 2)]);
    assertClose(embeddings, bruteForce(model, [[1, 1], [3, 2]], true), 1e-5, 'flip-averaged embedding');
  } finally {
    flipped.dispose();
  }
});

test('an image of another size is resized to the input with a note; colour is converted; a non-image is refused by name', async () => {
  const big = path.join(dir, 'big.png');
  await sharp({ create: { width: 20, height: 24, channels: 3, background: { r: 90, g: 120, b: 30 } } }).png().toFile(big);
  const { embeddings, notes } = await embedFiles(fm, [big]);
  assert.equal(embeddings.length, 8);
  assert.equal(notes.length, 1);
  assert.match(notes[0]?.note ?? '', /resized from 24x20 to 12x10 \(HxW\).*colour converted to greyscale/);
  const bad = path.join(dir, 'not-an-image.jpg');
  writeFileSync(bad, 'hello');
  await assert.rejects(embedFiles(fm, [img(1, 1), bad]), (err: Error) => err instanceof InputError && err.message.startsWith(`${bad}: not a readable image`));
  await assert.rejects(embedFiles(fm, [path.join(dir, 'missing.pgm')]), /missing\.pgm: cannot read the image: no such file/);
});

test('the training centre crop is applied to a larger image, and an image smaller than the crop is refused', async () => {
  const cropDir = path.join(dir, 'model-crop');
  (await exportTinyModel(cropDir, { centerCrop: { height: TINY_HEIGHT, width: TINY_WIDTH } })).dispose(); // same weights as `model`
  const cropped = await loadFaceModel(cropDir);
  try {
    // A 16 x 14 image whose centre 12 x 10 (offset 2, 2) is fixture image s2/3.
    const px = Array.from({ length: 16 * 14 }, (_, k) => {
      const [y, x] = [Math.floor(k / 14) - 2, (k % 14) - 2];
      return y >= 0 && y < TINY_HEIGHT && x >= 0 && x < TINY_WIDTH ? attPixel(2, 3, x, y) : 255;
    });
    const larger = path.join(dir, 'larger.pgm');
    writeFileSync(larger, encodePgm(14, 16, px));
    const { embeddings, notes } = await embedFiles(cropped, [larger]);
    assert.deepEqual(notes, [], 'cropping is the training preprocessing: no note');
    assertClose(embeddings, bruteForce(model, [[2, 3]]), 1e-5, 'embedding of the centre crop');
    const small = path.join(dir, 'small.pgm');
    writeFileSync(small, encodePgm(9, 9, Array(81).fill(100)));
    await assert.rejects(embedFiles(cropped, [small]), new RegExp(`^InputError: ${small}: the image is 9x9 \\(HxW\\), smaller than the 12x10 centre crop`));
  } finally {
    cropped.dispose();
  }
});

test('the training crop box is cut from the same place, and an image it does not fit is refused', async () => {
  const boxDir = path.join(dir, 'model-box');
  (await exportTinyModel(boxDir, { crop: { top: 3, left: 1, height: TINY_HEIGHT, width: TINY_WIDTH } })).dispose(); // same weights as `model`
  const boxed = await loadFaceModel(boxDir);
  try {
    // A 16 x 14 image whose box at row 3, column 1 is fixture image s1/2 (not centred: a centre crop would miss it).
    const px = Array.from({ length: 16 * 14 }, (_, k) => {
      const [y, x] = [Math.floor(k / 14) - 3, (k % 14) - 1];
      return y >= 0 && y < TINY_HEIGHT && x >= 0 && x < TINY_WIDTH ? attPixel(1, 2, x, y) : 0;
    });
    const framed = path.join(dir, 'framed.pgm');
    writeFileSync(framed, encodePgm(14, 16, px));
    const { embeddings, notes } = await embedFiles(boxed, [framed]);
    assert.deepEqual(notes, []);
    assertClose(embeddings, bruteForce(model, [[1, 2]]), 1e-5, 'embedding of the box');
    const small = path.join(dir, 'small-box.pgm');
    writeFileSync(small, encodePgm(10, 12, Array(120).fill(100)));
    await assert.rejects(embedFiles(boxed, [small]), new RegExp(`^InputError: ${small}: the image is 12x10 \\(HxW\\), too small for the box`));
  } finally {
    boxed.dispose();
  }
});

test('verify: the distance is the hand-computed one, SAME below the threshold, for both distance kinds', async () => {
  const [e1, e2] = [bruteForce(model, [[1, 1]]), bruteForce(model, [[2, 1]])];
  const sq = Array.from(e1).reduce((s, v, j) => s + (v - (e2[j] as number)) ** 2, 0);
  const r = await verifyFiles(fm, img(1, 1), img(2, 1), 0.5);
  assert.ok(Math.abs(r.distance - Math.sqrt(sq)) < 1e-5, `${r.distance} vs ${Math.sqrt(sq)}`);
  assert.equal(r.same, r.distance < 0.5);
  assert.equal((await verifyFiles(fm, img(1, 1), img(2, 1), r.distance)).same, false, 'distance == threshold is DIFFERENT');
  const sqDir = path.join(dir, 'model-sq');
  (await exportTinyModel(sqDir, { distance: 'squared-euclidean' })).dispose();
  const sqModel = await loadFaceModel(sqDir);
  try {
    const r2 = await verifyFiles(sqModel, img(1, 1), img(2, 1), 0.5);
    assert.ok(Math.abs(r2.distance - sq) < 1e-5, `${r2.distance} vs ${sq}`);
    assert.equal(r2.distanceKind, 'squared-euclidean');
  } finally {
    sqModel.dispose();
  }
});

test('model directories that cannot be used are refused with the file named', async () => {
  const copy = path.join(dir, 'model-copy');
  mkdirSync(copy);
  for (const f of readdirSync(modelDir)) if (f !== 'facenet.json') writeFileSync(path.join(copy, f), readFileSync(path.join(modelDir, f)));
  await assert.rejects(loadFaceModel(copy), new RegExp(`${copy}/facenet.json is missing`));
  const sidecar = JSON.parse(readFileSync(path.join(modelDir, 'facenet.json'), 'utf8'));
  writeFileSync(path.join(copy, 'facenet.json'), JSON.stringify({ ...sidecar, format: 'facenet-export/0' }));
  await assert.rejects(loadFaceModel(copy), /facenet.json has format "facenet-export\/0", but this version of facenet reads "facenet-export\/1"/);
  writeFileSync(path.join(copy, 'facenet.json'), JSON.stringify({ ...sidecar, inputShape: [12, 10, 3] }));
  await assert.rejects(loadFaceModel(copy), /preprocess.channels is 1, but inputShape has 3 channels/);
  await assert.rejects(loadFaceModel(path.join(dir, 'nowhere')), /Model directory .*nowhere does not exist/);
});

test('enroll and identify: the nearest enrolled image decides, unknown at or above the threshold', async () => {
  const gallery = path.join(dir, 'g', 'gallery.json');
  await enroll(fm, gallery, 'alice', [img(1, 1), img(1, 2)]);
  const { gallery: g } = await enroll(fm, gallery, 'bob', [img(2, 1), img(2, 2)]);
  assert.deepEqual(Object.keys(g.people), ['alice', 'bob']);
  // Enrolling an image again replaces it instead of adding a duplicate.
  assert.equal((await enroll(fm, gallery, 'bob', [img(2, 2)])).gallery.people['bob']?.length, 2);

  const probe = bruteForce(model, [[1, 3]]);
  const enrolled = bruteForce(model, [[1, 1], [1, 2], [2, 1], [2, 2]]);
  const d = [0, 1, 2, 3].map((k) => Math.hypot(...Array.from(probe, (v, j) => v - (enrolled[k * 8 + j] as number))));
  const wantPerson = Math.min(d[0] as number, d[1] as number) < Math.min(d[2] as number, d[3] as number) ? 'alice' : 'bob';
  const wantDistance = Math.min(...d);

  const hit = await identify(fm, gallery, img(1, 3), wantDistance + 1e-3);
  assert.equal(hit.person, wantPerson);
  assert.ok(Math.abs(hit.distance - wantDistance) < 1e-5);
  assert.deepEqual(hit.ranking.map((r) => r.person).sort(), ['alice', 'bob']);
  const miss = await identify(fm, gallery, img(1, 3), wantDistance - 1e-3);
  assert.equal(miss.person, null);
  assert.equal(miss.ranking[0]?.person, wantPerson);
  // An enrolled image itself is at distance 0.
  assert.equal((await identify(fm, gallery, img(2, 1), 1e-6)).person, 'bob');
});

test('a gallery is whole or nothing, and one of another model is refused', async () => {
  const gdir = path.join(dir, 'g2');
  const gallery = path.join(gdir, 'gallery.json');
  await enroll(fm, gallery, 'alice', [img(1, 1)]);
  const before = readFileSync(gallery);
  await assert.rejects(enroll(fm, gallery, 'bob', [img(2, 1), path.join(dir, 'not-an-image.jpg')]), /not-an-image\.jpg: not a readable image/);
  assert.deepEqual(readFileSync(gallery), before, 'a bad image left the gallery as it was');

  // The write itself fails (a folder is in the file's place): no temporary file is left behind.
  const blocked = path.join(gdir, 'blocked.json');
  mkdirSync(path.join(blocked, 'inside'), { recursive: true });
  await assert.rejects(saveGallery(blocked, await readGallery(gallery, fm, { create: false })), /EISDIR.*blocked\.json/);
  assert.deepEqual(readdirSync(gdir).sort(), ['blocked.json', 'gallery.json']);

  const otherDir = path.join(dir, 'model-other');
  (await exportTinyModel(otherDir, { seed: 99 })).dispose();
  const other = await loadFaceModel(otherDir);
  try {
    await assert.rejects(identify(other, gallery, img(1, 1), 0.5), /was enrolled with another model .*cannot be compared/);
    await assert.rejects(enroll(other, gallery, 'carol', [img(3, 1)]), /was enrolled with another model/);
  } finally {
    other.dispose();
  }
  assert.deepEqual(readFileSync(gallery), before);
});

test('evaluate: LFW pairs.txt and the same pairs as CSV give the metrics of src/eval on the same distances', async () => {
  const lfw = await writeLfwTree(path.join(dir, 'lfw'), TINY_WIDTH, TINY_HEIGHT);
  const images = path.join(lfw, 'lfw-deepfunneled');
  const opts = { criterion: 'accuracy' as const, farTargets: [0.1, 0.01] };
  const fromLfw = await evaluatePairs(fm, path.join(lfw, 'pairs.txt'), images, opts);
  const csv = path.join(dir, 'pairs.csv');
  writeFileSync(
    csv,
    'a,b,same,fold\n' +
      'Alice_A/Alice_A_0001.jpg,Alice_A/Alice_A_0002.jpg,1,0\nAlice_A/Alice_A_0001.jpg,Carol_C/Carol_C_0001.jpg,0,0\n' +
      'Bob_B/Bob_B_0001.jpg,Bob_B/Bob_B_0002.jpg,yes,1\nBob_B/Bob_B_0001.jpg,Dan_D/Dan_D_0001.jpg,no,1\n',
  );
  const fromCsv = await evaluatePairs(fm, csv, images, opts);

  // By hand: embed the images, distances, then src/eval.
  const files = ['Alice_A/Alice_A_0001.jpg', 'Alice_A/Alice_A_0002.jpg', 'Carol_C/Carol_C_0001.jpg', 'Bob_B/Bob_B_0001.jpg', 'Bob_B/Bob_B_0002.jpg', 'Dan_D/Dan_D_0001.jpg'];
  const { embeddings } = await embedFiles(fm, files.map((f) => path.join(images, f)));
  const distances = distancesForPairs(embeddings, 8, [{ a: 0, b: 1 }, { a: 0, b: 2 }, { a: 3, b: 4 }, { a: 3, b: 5 }], 'euclidean');
  const same = [true, false, true, false];
  const folds = [0, 0, 1, 1];
  for (const r of [fromLfw, fromCsv]) {
    assert.deepEqual(r.distances, Array.from(distances));
    assert.deepEqual(r.verification, evaluateVerification(distances, same, opts));
    assert.deepEqual(r.kfold, evaluateKFold(distances, same, folds, opts));
    assert.equal(r.images, 6);
    assert.equal(r.atModelThreshold?.threshold, 0.5);
  }
  assert.equal(fromLfw.format, 'lfw');
  assert.equal(fromCsv.format, 'csv');

  assert.equal(fromLfw.foldsFrom, 'file');

  // Without a fold column (and without a header): the pairs dealt into folds, same and different round-robin.
  const plain = path.join(dir, 'plain.csv');
  const plainRows = [
    ['Alice_A/Alice_A_0001.jpg', 'Alice_A/Alice_A_0002.jpg', 'true'],
    ['Alice_A/Alice_A_0001.jpg', 'Carol_C/Carol_C_0001.jpg', 'false'],
    ['Bob_B/Bob_B_0001.jpg', 'Bob_B/Bob_B_0002.jpg', 'true'],
    ['Bob_B/Bob_B_0001.jpg', 'Dan_D/Dan_D_0001.jpg', 'false'],
    ['Alice_A/Alice_A_0002.jpg', 'Dan_D/Dan_D_0001.jpg', 'false'],
  ];
  writeFileSync(plain, plainRows.map((r) => r.join(',')).join('\n') + '\n');
  const dealt = await evaluatePairs(fm, plain, images, opts);
  const dealtDistances = distancesForPairs(embeddings, 8, [{ a: 0, b: 1 }, { a: 0, b: 2 }, { a: 3, b: 4 }, { a: 3, b: 5 }, { a: 1, b: 5 }], 'euclidean');
  // Two same-person pairs: two folds, {pair 1, pair 2, pair 5} and {pair 3, pair 4}.
  assert.deepEqual(dealt.kfold, evaluateKFold(dealtDistances, [true, false, true, false, false], [0, 0, 1, 1, 0], opts));
  assert.equal(dealt.foldsFrom, 'stratified');
  // One same-person pair: no folds can hold both kinds, so only the in-sample figures.
  writeFileSync(plain, plainRows.slice(0, 2).map((r) => r.join(',')).join('\n') + '\n');
  const one = await evaluatePairs(fm, plain, images, opts);
  assert.equal(one.kfold, null);
  assert.equal(one.foldsFrom, null);
  assert.equal(one.verification.pairs, 2);
  writeFileSync(plain, 'a,b,same\nx.jpg,y.jpg,maybe\n');
  await assert.rejects(evaluatePairs(fm, plain, images, opts), /plain\.csv line 2: same is "maybe"/);
});

/** Runs the real command line, as a user does. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli.ts'), ...args, '--backend', 'cpu'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test('the commands as a user runs them: verify exit codes 0 / 1 / 2, --json, identify, embed', async () => {
  const same = cli(['verify', modelDir, img(1, 1), img(1, 2), '--json']);
  assert.equal(same.status, 0, same.stderr);
  const json = JSON.parse(same.stdout) as { distance: number; threshold: number; verdict: string };
  const want = await verifyFiles(fm, img(1, 1), img(1, 2), 0.5);
  assert.ok(Math.abs(json.distance - want.distance) < 1e-6);
  assert.equal(json.threshold, 0.5, "the model's threshold from facenet.json");
  assert.equal(json.verdict, want.same ? 'SAME' : 'DIFFERENT');

  const different = cli(['verify', modelDir, img(1, 1), img(1, 2), '--threshold', String(want.distance / 2)]);
  assert.equal(different.status, 1, different.stderr);
  assert.match(different.stdout, /^DIFFERENT: distance \d\.\d{4} \(euclidean\) >= threshold/);

  const bad = cli(['verify', modelDir, img(1, 1), path.join(dir, 'missing.png')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /error: .*missing\.png: cannot read the image: no such file/);
  const one = cli(['verify', modelDir, img(1, 1)]);
  assert.equal(one.status, 2);
  assert.match(one.stderr, /missing required argument 'image-b'\n\(add --help for usage\)/);

  const gallery = path.join(dir, 'cli-gallery.json');
  assert.equal(cli(['enroll', modelDir, 'carol', img(3, 1), '--gallery', gallery]).status, 0);
  const who = cli(['identify', modelDir, img(3, 1), '--gallery', gallery]);
  assert.equal(who.status, 0, who.stderr);
  assert.match(who.stdout, /^carol: distance 0\.0000 < threshold 0\.5000/);

  const out = path.join(dir, 'cli-emb.csv');
  const embed = cli(['embed', modelDir, path.join(att, 's2'), '--out', out]);
  assert.equal(embed.status, 0, embed.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 4);
  assert.equal(existsSync(path.join(dir, '.tmp-cli-emb.csv')), false);
});

test('teardown', () => {
  fm.dispose();
  model.dispose();
  cleanup();
  rmSync(dir, { recursive: true, force: true });
});
