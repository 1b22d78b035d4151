import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipToImage, distanceToImageCentre, isCentred, medianBox, pickCentralFace } from '../../scripts/validate-published/crop';

test('distanceToImageCentre: box centre to image centre, in pixels', () => {
  // Box centre (125, 125) on a 250x250 image.
  assert.equal(distanceToImageCentre({ x: 75, y: 75, width: 100, height: 100 }, 250, 250), 0);
  // Box centre (130, 129): offset (5, 4) from (125, 125) -> sqrt(41).
  assert.equal(distanceToImageCentre({ x: 100, y: 99, width: 60, height: 60 }, 250, 250), Math.sqrt(41));
});

test('pickCentralFace keeps the face nearest the centre, not the highest score', () => {
  const bystander = { x: 0, y: 0, width: 80, height: 80, score: 0.99 }; // centre (40, 40)
  const person = { x: 70, y: 80, width: 110, height: 100, score: 0.6 }; // centre (125, 130)
  assert.equal(pickCentralFace([bystander, person], 250, 250), person);
  assert.equal(pickCentralFace([person, bystander], 250, 250), person);
});

test('pickCentralFace breaks an exact tie by score and returns undefined when there is no face', () => {
  const left = { x: 65, y: 75, width: 100, height: 100, score: 0.7 }; // centre (115, 125): 10 px away
  const right = { x: 85, y: 75, width: 100, height: 100, score: 0.9 }; // centre (135, 125): 10 px away
  assert.equal(pickCentralFace([left, right], 250, 250), right);
  assert.equal(pickCentralFace([right, left], 250, 250), right);
  assert.equal(pickCentralFace([], 250, 250), undefined);
});

test('clipToImage floors to whole pixels and cuts at the borders', () => {
  assert.deepEqual(clipToImage({ x: 67.6, y: 78.2, width: 114.9, height: 114 }, 250, 250), { x: 67, y: 78, width: 115, height: 114 });
  // x1 = floor(-10 + 60) = 50, x0 = 0; y1 = floor(220 + 60) = 280 -> 250.
  assert.deepEqual(clipToImage({ x: -10, y: 220, width: 60, height: 60 }, 250, 250), { x: 0, y: 220, width: 50, height: 30 });
  assert.deepEqual(clipToImage({ x: 300, y: 10, width: 20, height: 20 }, 250, 250), { x: 250, y: 10, width: 0, height: 20 });
});

test('medianBox: component-wise median, rounded; even counts average the middle two', () => {
  const boxes = [
    { x: 60, y: 70, width: 110, height: 110 },
    { x: 70, y: 80, width: 120, height: 120 },
    { x: 65, y: 90, width: 100, height: 100 },
  ];
  assert.deepEqual(medianBox(boxes), { x: 65, y: 80, width: 110, height: 110 });
  // Even: x (60, 65) -> 62.5 -> 63; y (70, 90) -> 80; width (100, 110) -> 105.
  assert.deepEqual(medianBox([boxes[0]!, boxes[2]!]), { x: 63, y: 80, width: 105, height: 105 });
  assert.throws(() => medianBox([]), /at least one detected face/);
});

test('isCentred: crop centre within maxOffset of the image centre, boundary included', () => {
  // Median aligned crop on deep-funneled LFW (68, 79, 112, 112): centre (124, 135), sqrt(1 + 100) = 10.05 px off.
  assert.equal(isCentred({ x: 68, y: 79, width: 112, height: 112 }, 250, 250, 40), true);
  // A bystander's crop at the top left, centre (40, 40): 120.2 px off.
  assert.equal(isCentred({ x: 0, y: 0, width: 80, height: 80 }, 250, 250, 40), false);
  // Centre (155, 125): exactly 30 px off.
  assert.equal(isCentred({ x: 105, y: 75, width: 100, height: 100 }, 250, 250, 30), true);
  assert.equal(isCentred({ x: 105, y: 75, width: 100, height: 100 }, 250, 250, 29.9), false);
});
