import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preprocessSchema } from '../../src/config/schema';
import { assembleBatch, computeNormalization } from '../../src/data/batch';
import { Rng } from '../../src/util/rng';

// Two 2x3 RGB images. Image 0: pixel (y,x) channel c = 10*(3y+x) + c; image 1: all 255.
const h = 2;
const w = 3;
const c = 3;
const pixels = new Uint8Array(2 * h * w * c);
for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) pixels[p * c + ch] = 10 * p + ch;
pixels.fill(255, h * w * c);
const ds = { height: h, width: w, channels: c as 1 | 3, pixels, labels: Int32Array.from([4, 9]) };
const pre = (o: object = {}) => preprocessSchema.parse({ channels: 3, ...o });
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= tol, `[${i}] ${a[i]} != ${b[i]}`);
};

void test("'fixed' broadcasts one mean/std to every channel; 'none' is mean 0 std 1", () => {
  assert.deepEqual(computeNormalization(ds, [0], pre()), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepEqual(computeNormalization(ds, [0], pre({ normalize: { mode: 'none' } })), { mean: [0, 0, 0], std: [1, 1, 1] });
  assert.throws(() => computeNormalization(ds, [0], pre({ normalize: { mode: 'fixed', mean: [0.1, 0.2], std: [1] } })), /normalize\.mean has 2 values but preprocess\.channels is 3/);
});

void test("'computed' gives each channel's mean and population std over the given images (0..1 scale)", () => {
  // Channel 0 of image 0: 0,10,...,50 -> mean 25/255; variance = mean of squares - square of mean = (1375/6 - 625) / 255^2.
  const n = computeNormalization(ds, [0], pre({ normalize: { mode: 'computed' } }));
  close(n.mean, [25 / 255, 26 / 255, 27 / 255]);
  const sd = Math.sqrt(5500 / 6 - 625) / 255;
  close(n.std, [sd, sd, sd]);
  // Both images, channel 2: values 2,12,...,52 and six 255s.
  const both = computeNormalization(ds, [0, 1], pre({ normalize: { mode: 'computed' } }));
  close([both.mean[2] as number], [(27 * 6 + 255 * 6) / 12 / 255]);
});

void test('assembleBatch normalises to (x/255 - mean)/std in NHWC and returns the labels', () => {
  const b = assembleBatch(ds, [1, 0], pre(), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, null);
  assert.deepEqual(b.shape, [2, 2, 3, 3]);
  assert.deepEqual([...b.labels], [9, 4]);
  close(b.data.subarray(0, 18), new Array(18).fill(1)); // 255 -> 1
  close(b.data.subarray(18, 21), [-1, (1 / 255 - 0.5) / 0.5, (2 / 255 - 0.5) / 0.5]);
});

void test('no augmentation without an Rng, even when configured', () => {
  const p = pre({ augment: { horizontalFlip: true, randomCropPad: 2 } });
  const b = assembleBatch(ds, [0], p, { mean: [0, 0, 0], std: [1, 1, 1] }, null);
  close(b.data.subarray(0, 3), [0, 1 / 255, 2 / 255]);
});

/** Channel 0 of the image 0 output, as 10*(3y+x) grid values (or 0 for padding). */
function channel0(data: Float32Array): number[] {
  return Array.from({ length: h * w }, (_, p) => Math.round((data[p * c] as number) * 255));
}

void test('horizontal flip mirrors columns; the draws follow the documented order (flip, dy, dx)', () => {
  const p = pre({ augment: { horizontalFlip: true, randomCropPad: 0 } });
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  // Find seeds whose first draw flips (< 0.5) and does not.
  let flipSeed = -1;
  let keepSeed = -1;
  for (let s = 0; s < 50 && (flipSeed < 0 || keepSeed < 0); s++) {
    if (new Rng(s).next() < 0.5) flipSeed = flipSeed < 0 ? s : flipSeed;
    else keepSeed = keepSeed < 0 ? s : keepSeed;
  }
  assert.deepEqual(channel0(assembleBatch(ds, [0], p, norm, new Rng(flipSeed)).data), [20, 10, 0, 50, 40, 30]);
  assert.deepEqual(channel0(assembleBatch(ds, [0], p, norm, new Rng(keepSeed)).data), [0, 10, 20, 30, 40, 50]);
});

void test('random crop with padding shifts by (dy, dx) and fills with 0 after normalisation', () => {
  const p = pre({ augment: { horizontalFlip: false, randomCropPad: 1 } });
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  for (let seed = 0; seed < 20; seed++) {
    const r = new Rng(seed);
    const dy = r.int(3) - 1;
    const dx = r.int(3) - 1;
    const expected = Array.from({ length: h * w }, (_, q) => {
      const y = Math.floor(q / w) + dy;
      const x = (q % w) + dx;
      return y < 0 || y >= h || x < 0 || x >= w ? 0 : 10 * (3 * y + x);
    });
    assert.deepEqual(channel0(assembleBatch(ds, [0], p, norm, new Rng(seed)).data), expected, `seed ${seed} dy ${dy} dx ${dx}`);
  }
});

// A 9x9 grey ramp, value 5 + 10x + 7y: bilinear sampling reproduces an affine image exactly, so a
// warped output pixel must equal the ramp at the point the documented inverse map sends it to.
const rampW = 9;
const rampH = 9;
const ramp = (x: number, y: number) => 5 + 10 * x + 7 * y;
const rampDs = {
  height: rampH,
  width: rampW,
  channels: 1 as const,
  pixels: Uint8Array.from({ length: rampH * rampW }, (_, q) => ramp(q % rampW, Math.floor(q / rampW))),
  labels: Int32Array.from([0]),
};
const unit = { mean: [0], std: [1] };

void test('randomScale and randomRotation warp about the centre: output p reads mirror(centre + R(a)(p + d - centre)/s), bilinearly', () => {
  const p = preprocessSchema.parse({ channels: 1, augment: { horizontalFlip: true, randomCropPad: 1, randomScale: 0.2, randomRotation: 20 } });
  let checked = 0;
  for (let seed = 0; seed < 12; seed++) {
    const r = new Rng(seed);
    const flip = r.next() < 0.5;
    const dy = r.int(3) - 1;
    const dx = r.int(3) - 1;
    const s = 1 + (2 * r.next() - 1) * 0.2;
    const a = ((2 * r.next() - 1) * 20 * Math.PI) / 180;
    const out = assembleBatch(rampDs, [0], p, unit, new Rng(seed)).data;
    const c = (rampW - 1) / 2;
    for (let y = 0; y < rampH; y++) {
      for (let x = 0; x < rampW; x++) {
        const u = x + dx - c;
        const v = y + dy - c;
        let qx = c + (Math.cos(a) * u - Math.sin(a) * v) / s;
        const qy = c + (Math.sin(a) * u + Math.cos(a) * v) / s;
        if (flip) qx = rampW - 1 - qx;
        const value = (out[y * rampW + x] as number) * 255;
        if (qx >= 0 && qx <= rampW - 1 && qy >= 0 && qy <= rampH - 1) {
          assert.ok(Math.abs(value - ramp(qx, qy)) < 1e-3, `seed ${seed} (${x},${y}): ${value} != ${ramp(qx, qy)}`);
          checked++;
        } else if (qx < -1 || qx > rampW || qy < -1 || qy > rampH) {
          assert.equal(value, 0, `seed ${seed} (${x},${y}) maps outside the image and must be the mean colour 0`);
        }
      }
    }
  }
  assert.ok(checked > 500, `only ${checked} interior pixels were checked`);
});

void test('a zoom in keeps the centre pixel and reads an off-centre pixel from 1/s of its distance to the centre', () => {
  const p = preprocessSchema.parse({ channels: 1, augment: { randomScale: 0.2 } });
  // The first seed that zooms in by more than 1.1 (its only draw is the scale).
  let seed = 0;
  while (1 + (2 * new Rng(seed).next() - 1) * 0.2 <= 1.1) seed++;
  const s = 1 + (2 * new Rng(seed).next() - 1) * 0.2;
  const out = assembleBatch(rampDs, [0], p, unit, new Rng(seed)).data;
  assert.ok(Math.abs((out[4 * rampW + 4] as number) * 255 - ramp(4, 4)) < 1e-3, 'the centre pixel is fixed by a zoom');
  assert.ok(Math.abs((out[6 * rampW + 8] as number) * 255 - ramp(4 + 4 / s, 4 + 2 / s)) < 1e-3, 'pixel (8, 6) reads (4 + 4/s, 4 + 2/s)');
  assert.ok(Math.abs((out[6 * rampW + 8] as number) * 255 - ramp(8, 6)) > 5, 'and so differs from the unzoomed pixel');
});

void test('brightness and contrast: v -> b (m + c (v/255 - m)) with m the image mean, before normalisation', () => {
  const p = preprocessSchema.parse({ channels: 1, augment: { brightness: 0.3, contrast: 0.4 } });
  const norm = { mean: [0.25], std: [0.5] };
  const m = Array.from(rampDs.pixels).reduce((a, b) => a + b, 0) / rampDs.pixels.length / 255;
  for (let seed = 0; seed < 5; seed++) {
    const r = new Rng(seed);
    const b = 1 + (2 * r.next() - 1) * 0.3;
    const c = 1 + (2 * r.next() - 1) * 0.4;
    const out = assembleBatch(rampDs, [0], p, norm, new Rng(seed)).data;
    const expected = Array.from(rampDs.pixels, (v) => (b * (m + c * (v / 255 - m)) - 0.25) / 0.5);
    close(out, expected, 1e-5);
    // The image's mean moves only by the brightness factor; contrast keeps it.
    const outMean = Array.from(out, (v) => v * 0.5 + 0.25).reduce((a, x) => a + x, 0) / out.length;
    assert.ok(Math.abs(outMean - b * m) < 1e-5);
  }
});

void test('the new augmentation options default to off, so older configs keep their exact batches', () => {
  const p = preprocessSchema.parse({ channels: 3, augment: { horizontalFlip: true, randomCropPad: 1 } });
  assert.deepEqual(p.augment, { horizontalFlip: true, randomCropPad: 1, randomScale: 0, randomRotation: 0, brightness: 0, contrast: 0 });
});
