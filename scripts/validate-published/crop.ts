// Crop geometry for running a published face model on LFW: which detection is the person of the
// pair (LFW images often show several faces; the labelled one is at the centre), and the fixed
// crop used where the detector finds nothing. Pure functions on plain boxes, in pixels.

export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ScoredBox extends PixelBox {
  score: number;
}

/** Distance from the box centre to the image centre. */
export function distanceToImageCentre(box: PixelBox, imageWidth: number, imageHeight: number): number {
  return Math.hypot(box.x + box.width / 2 - imageWidth / 2, box.y + box.height / 2 - imageHeight / 2);
}

/**
 * The detection whose centre is nearest the image centre (LFW's labelled face), ties broken by the
 * higher score; undefined when there is none. Highest-score-first (face-api's detectSingleFace)
 * would pick a sharper bystander in group photos and mislabel the pair.
 */
export function pickCentralFace<T extends ScoredBox>(boxes: readonly T[], imageWidth: number, imageHeight: number): T | undefined {
  let best: T | undefined;
  let bestDist = Infinity;
  for (const box of boxes) {
    const d = distanceToImageCentre(box, imageWidth, imageHeight);
    if (d < bestDist - 1e-9 || (Math.abs(d - bestDist) <= 1e-9 && best !== undefined && box.score > best.score)) {
      best = box;
      bestDist = d;
    }
  }
  return best;
}

/**
 * Whether a crop is where LFW puts the labelled face: its centre within `maxOffset` pixels of the
 * image centre. LFW's images are cut around the labelled person's face, so a crop far from the
 * centre is a bystander the detector found while missing the person.
 */
export function isCentred(box: PixelBox, imageWidth: number, imageHeight: number, maxOffset: number): boolean {
  return distanceToImageCentre(box, imageWidth, imageHeight) <= maxOffset;
}

/** Intersection of a box with the image, in whole pixels (what a slice can take); width/height 0 when outside. */
export function clipToImage(box: PixelBox, imageWidth: number, imageHeight: number): PixelBox {
  const x0 = Math.min(imageWidth, Math.max(0, Math.floor(box.x)));
  const y0 = Math.min(imageHeight, Math.max(0, Math.floor(box.y)));
  const x1 = Math.min(imageWidth, Math.floor(box.x + box.width));
  const y1 = Math.min(imageHeight, Math.floor(box.y + box.height));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * The fixed crop for images without a detection: the component-wise median of the aligned boxes
 * found on the other images, rounded to whole pixels. Deep-funneled LFW images are registered to
 * one another, so the typical aligned box is a good stand-in where detection fails.
 */
export function medianBox(boxes: readonly PixelBox[]): PixelBox {
  if (boxes.length === 0) throw new Error('medianBox: no boxes; at least one detected face is needed to place the fixed crop');
  return {
    x: Math.round(median(boxes.map((b) => b.x))),
    y: Math.round(median(boxes.map((b) => b.y))),
    width: Math.round(median(boxes.map((b) => b.width))),
    height: Math.round(median(boxes.map((b) => b.height))),
  };
}
