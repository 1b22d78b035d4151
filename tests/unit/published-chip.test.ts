import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chipFromLandmarks, chipToImage, sampleChip, type Point } from '../../scripts/validate-published/chip';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('chipFromLandmarks with level eyes is face-api\'s dlib-alignment square', () => {
  // Eyes (100,100) and (150,100), mouth (125,150): eye-to-mouth sqrt(25^2+50^2) = 55.9017, side /0.45 = 124.2260;
  // reference point (125, 116.6667); face-api's box starts at (ref.x - 0.5 side, ref.y - 0.43 side) = (62.887, 63.249),
  // so its centre is (125, 63.249 + 62.113) = (125, 125.3625).
  const spec = chipFromLandmarks({ x: 100, y: 100 }, { x: 150, y: 100 }, { x: 125, y: 150 });
  close(spec.size, Math.hypot(25, 50) / 0.45);
  close(spec.size, 124.22599, 1e-5);
  close(spec.angle, 0);
  close(spec.centre.x, 125);
  close(spec.centre.y, 350 / 3 + 0.07 * spec.size);
  close(spec.centre.y, 125.36249, 1e-5);
});

test('chipFromLandmarks turns with the face: same size, the eye-line angle, the centre rotated along', () => {
  const level = chipFromLandmarks({ x: 100, y: 100 }, { x: 150, y: 100 }, { x: 125, y: 150 });
  const theta = Math.PI / 6;
  const turn = (p: Point): Point => ({ x: p.x * Math.cos(theta) - p.y * Math.sin(theta), y: p.x * Math.sin(theta) + p.y * Math.cos(theta) });
  const tilted = chipFromLandmarks(turn({ x: 100, y: 100 }), turn({ x: 150, y: 100 }), turn({ x: 125, y: 150 }));
  close(tilted.size, level.size);
  close(tilted.angle, theta);
  const c = turn(level.centre);
  close(tilted.centre.x, c.x);
  close(tilted.centre.y, c.y);
});

test('chipFromLandmarks with dlib: 4.65% larger, shifted by (+0.0069, -0.0087) of the side, turned with the face', () => {
  const base = chipFromLandmarks({ x: 100, y: 100 }, { x: 150, y: 100 }, { x: 125, y: 150 });
  const dlib = chipFromLandmarks({ x: 100, y: 100 }, { x: 150, y: 100 }, { x: 125, y: 150 }, { dlib: true });
  close(dlib.size, base.size * 1.0465);
  close(dlib.centre.x, 125 + 0.0069 * base.size);
  close(dlib.centre.y, base.centre.y - 0.0087 * base.size);
  // Turned by 90 degrees (eyes on a vertical line, y down): the levelled-frame shift (sx, sy) becomes (-sy, sx).
  const r = chipFromLandmarks({ x: 0, y: 100 }, { x: 0, y: 150 }, { x: -50, y: 125 }, { dlib: true });
  close(r.angle, Math.PI / 2);
  close(r.size, dlib.size);
  close(r.centre.x, -(350 / 3 - 100) - (0.07 - 0.0087) * base.size, 1e-9);
  close(r.centre.y, 125 + 0.0069 * base.size, 1e-9);
});

test('chipToImage: an unrotated chip of side = out over the image samples pixel centres one to one', () => {
  const spec = { centre: { x: 5, y: 5 }, size: 10, angle: 0 };
  assert.deepEqual(chipToImage(spec, 10, 0, 0), { x: 0, y: 0 });
  assert.deepEqual(chipToImage(spec, 10, 9, 3), { x: 9, y: 3 });
  const img = Array.from({ length: 4 * 3 * 2 }, (_, i) => i);
  // Pixel i spans [i, i+1) so its centre is i + 0.5: a chip over x 1..4, y 0..3 reads columns 1,2,3 of the 3 rows (2 channels).
  const same = sampleChip(img, 4, 3, 2, { centre: { x: 2.5, y: 1.5 }, size: 3, angle: 0 }, 3);
  assert.deepEqual([...same], [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 23]);
});

test('sampleChip turns a 2x2 image by 90 degrees', () => {
  // Image rows [1 2; 3 4]. Turned by +90 degrees (y down), chip (0,0) reads image (1,0), (1,0) reads (1,1),
  // (0,1) reads (0,0), (1,1) reads (0,1).
  const out = sampleChip([1, 2, 3, 4], 2, 2, 1, { centre: { x: 1, y: 1 }, size: 2, angle: Math.PI / 2 }, 2);
  [2, 4, 1, 3].forEach((v, i) => close(out[i] as number, v, 1e-9));
});

test('sampleChip interpolates bilinearly and repeats edge pixels outside the image', () => {
  // One output pixel at image x = 0.5 between values 0 and 10.
  close(sampleChip([0, 10], 2, 1, 1, { centre: { x: 1, y: 0.5 }, size: 1, angle: 0 }, 1)[0] as number, 5);
  // x = 0.75, y = 0.25 on [0 10; 20 30]: top 7.5, bottom 27.5 -> 12.5.
  close(sampleChip([0, 10, 20, 30], 2, 2, 1, { centre: { x: 1.25, y: 0.75 }, size: 1, angle: 0 }, 1)[0] as number, 12.5);
  // Far left of the image: the edge column.
  close(sampleChip([0, 10], 2, 1, 1, { centre: { x: -20, y: 0.5 }, size: 1, angle: 0 }, 1)[0] as number, 0);
  assert.throws(() => sampleChip([0, 10, 20], 2, 1, 1, { centre: { x: 0, y: 0 }, size: 1, angle: 0 }, 1), /3 values for a 2x1x1 image; expected 2/);
});
