// A rotation-normalised face chip: face-api's "dlib alignment" box is an axis-aligned square, but
// dlib's own pipeline (the one behind the published 99.38%) warps each face with a similarity
// transform so the eyes are level. This reproduces that one missing degree of freedom: the same
// square as face-api (size from the eye-to-mouth distance, placed around the eye/mouth centroid)
// but turned by the eye-line angle, sampled bilinearly straight from the decoded RGB pixels.

export interface Point {
  x: number;
  y: number;
}

/** A square of side `size` centred at `centre`, turned by `angle` radians (image y points down). */
export interface ChipSpec {
  centre: Point;
  size: number;
  angle: number;
}

/** face-api's alignment constants (FaceLandmarks.ts): box origin at (0.5, 0.43) of its side from the reference point; side = eye-to-mouth / 0.45. */
export const FACE_API_REL_X = 0.5;
export const FACE_API_REL_Y = 0.43;
export const FACE_API_REL_SCALE = 0.45;

/**
 * dlib's chip (get_face_chip_details(shape, 150, 0.25), what dlib's LFW figure used) relative to
 * face-api's box. Worked out once from dlib's mean face shape: the chip is 1.5 template units wide,
 * centred at (0.5, 0.5); face-api's box on the same mean face (eye and mouth centres) is 1.4334
 * wide, centred at (0.4901, 0.5124). So dlib's chip is 4.65% larger and shifted by
 * (+0.0069, -0.0087) of face-api's side, in the face's levelled frame.
 */
export const DLIB_CHIP = { scale: 1.0465, shiftX: 0.0069, shiftY: -0.0087 } as const;

/**
 * The chip of face-api's dlib-alignment box, turned so the line from the left to the right eye
 * centre is horizontal. With level eyes it is face-api's square (before its floor to whole pixels).
 * With `dlib`, the box is also rescaled and shifted to dlib's own chip (DLIB_CHIP).
 */
export function chipFromLandmarks(leftEye: Point, rightEye: Point, mouth: Point, opts: { dlib?: boolean } = {}): ChipSpec {
  const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);
  const side = (dist(mouth, leftEye) + dist(mouth, rightEye)) / 2 / FACE_API_REL_SCALE;
  const ref = { x: (leftEye.x + rightEye.x + mouth.x) / 3, y: (leftEye.y + rightEye.y + mouth.y) / 3 };
  const angle = Math.atan2(rightEye.y - leftEye.y, rightEye.x - leftEye.x);
  // Centre of the box in the face's own (levelled) frame, relative to ref, then turned into the image.
  const dx = (0.5 - FACE_API_REL_X + (opts.dlib ? DLIB_CHIP.shiftX : 0)) * side;
  const dy = (0.5 - FACE_API_REL_Y + (opts.dlib ? DLIB_CHIP.shiftY : 0)) * side;
  const size = opts.dlib ? side * DLIB_CHIP.scale : side;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return { centre: { x: ref.x + c * dx - s * dy, y: ref.y + s * dx + c * dy }, size, angle };
}

/** Where output pixel (u, v) of an out x out chip samples the image (pixel centres at +0.5). */
export function chipToImage(spec: ChipSpec, out: number, u: number, v: number): Point {
  const fx = ((u + 0.5) / out - 0.5) * spec.size;
  const fy = ((v + 0.5) / out - 0.5) * spec.size;
  const c = Math.cos(spec.angle);
  const s = Math.sin(spec.angle);
  return { x: spec.centre.x + c * fx - s * fy - 0.5, y: spec.centre.y + s * fx + c * fy - 0.5 };
}

/**
 * Samples an out x out chip from interleaved RGB (`channels` per pixel) by bilinear interpolation;
 * outside the image reads the nearest edge pixel. Returns out*out*channels values, row-major.
 */
export function sampleChip(rgb: ArrayLike<number>, width: number, height: number, channels: number, spec: ChipSpec, out: number): Float32Array {
  if (rgb.length !== width * height * channels) {
    throw new Error(`sampleChip: ${rgb.length} values for a ${width}x${height}x${channels} image; expected ${width * height * channels}`);
  }
  const res = new Float32Array(out * out * channels);
  const clampX = (x: number) => Math.min(width - 1, Math.max(0, x));
  const clampY = (y: number) => Math.min(height - 1, Math.max(0, y));
  for (let v = 0; v < out; v++) {
    for (let u = 0; u < out; u++) {
      const p = chipToImage(spec, out, u, v);
      const x0 = Math.floor(p.x);
      const y0 = Math.floor(p.y);
      const ax = p.x - x0;
      const ay = p.y - y0;
      const xa = clampX(x0);
      const xb = clampX(x0 + 1);
      const ya = clampY(y0);
      const yb = clampY(y0 + 1);
      for (let ch = 0; ch < channels; ch++) {
        const at = (x: number, y: number) => rgb[(y * width + x) * channels + ch] as number;
        const top = at(xa, ya) * (1 - ax) + at(xb, ya) * ax;
        const bottom = at(xa, yb) * (1 - ax) + at(xb, yb) * ax;
        res[(v * out + u) * channels + ch] = top * (1 - ay) + bottom * ay;
      }
    }
  }
  return res;
}
