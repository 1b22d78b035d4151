// From cached uint8 pixels to a normalised float32 NHWC batch, with the batch-time augmentations.
import type { PreprocessConfig } from '../config/schema';
import type { Rng } from '../util/rng';
import type { CachedDataset } from './cache';
import { DatasetError } from './errors';

export interface Normalization {
  /** Per channel, on the 0..1 scale (x / 255). */
  mean: number[];
  std: number[];
}

export interface Batch {
  data: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
}

type PixelSource = Pick<CachedDataset, 'height' | 'width' | 'channels' | 'pixels' | 'labels'>;

function perChannel(values: number[], channels: number, field: string): number[] {
  if (values.length === channels) return [...values];
  if (values.length === 1) return Array.from({ length: channels }, () => values[0] as number);
  throw new DatasetError(`preprocess.normalize.${field} has ${values.length} values but preprocess.channels is ${channels}; give 1 or ${channels}`);
}

/**
 * Per-channel normalisation. 'fixed': the config's mean/std (one value is used for every channel);
 * 'none': mean 0, std 1 (so the model sees x/255); 'computed': mean and (population) std of
 * every pixel of the images `indices` (pass the training split), on the 0..1 scale.
 */
export function computeNormalization(ds: PixelSource, indices: number[], pre: PreprocessConfig): Normalization {
  const c = ds.channels;
  const mode = pre.normalize.mode;
  if (mode === 'fixed') return { mean: perChannel(pre.normalize.mean, c, 'mean'), std: perChannel(pre.normalize.std, c, 'std') };
  if (mode === 'none') return { mean: new Array<number>(c).fill(0), std: new Array<number>(c).fill(1) };
  if (indices.length === 0) throw new DatasetError('cannot compute the normalisation over an empty training split');
  const size = ds.height * ds.width * c;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (const idx of indices) {
    const base = idx * size;
    for (let k = 0; k < size; k++) {
      const v = (ds.pixels[base + k] as number) / 255;
      const ch = k % c;
      sum[ch]! += v;
      sumSq[ch]! += v * v;
    }
  }
  const n = indices.length * ds.height * ds.width;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sumSq, (s, ch) => Math.sqrt(Math.max(0, s / n - (mean[ch] as number) ** 2)));
  // A constant channel would divide by zero; 1 leaves it centred but unscaled.
  return { mean, std: std.map((s) => (s > 1e-8 ? s : 1)) };
}

/**
 * Builds a float32 NHWC batch: x' = (x/255 - mean[c]) / std[c]. With `augmentRng`, each image (in
 * order) is flipped left-right with probability 1/2 (preprocess.augment.horizontalFlip) and then
 * shifted by (dy, dx), each uniform in [-pad, pad] (preprocess.augment.randomCropPad: zero-pad and
 * crop back); pixels shifted in from outside are 0 after normalisation (the mean colour).
 * randomScale / randomRotation zoom and turn the shifted image about its centre, sampled bilinearly;
 * brightness / contrast change its values before normalisation (see photometricTable).
 * Draws per image, each only when its option is on: flip, dy, dx, scale, angle, brightness, contrast.
 * Without an Rng: no augmentation.
 */
export function assembleBatch(
  ds: PixelSource,
  indices: number[],
  pre: PreprocessConfig,
  norm: Normalization,
  augmentRng: Rng | null,
): Batch {
  const { height: h, width: w, channels: c } = ds;
  const size = h * w * c;
  const data = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  const aug = pre.augment;
  const rng = augmentRng;
  // One lookup table per channel: 256 values instead of a divide per pixel.
  const plainLut = photometricTable(norm, c, 1, 1, 0);
  const pad = rng ? aug.randomCropPad : 0;
  const geometric = rng !== null && (aug.randomScale > 0 || aug.randomRotation > 0);
  const photometric = rng !== null && (aug.brightness > 0 || aug.contrast > 0);
  indices.forEach((idx, n) => {
    const label = ds.labels[idx];
    if (label === undefined) throw new DatasetError(`image index ${idx} is outside the dataset (${ds.labels.length} images)`);
    labels[n] = label;
    const flip = rng !== null && aug.horizontalFlip && rng.next() < 0.5;
    const dy = pad > 0 ? (rng as Rng).int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? (rng as Rng).int(2 * pad + 1) - pad : 0;
    const scale = rng && aug.randomScale > 0 ? 1 + (2 * rng.next() - 1) * aug.randomScale : 1;
    const angle = rng && aug.randomRotation > 0 ? ((2 * rng.next() - 1) * aug.randomRotation * Math.PI) / 180 : 0;
    const brightness = rng && aug.brightness > 0 ? 1 + (2 * rng.next() - 1) * aug.brightness : 1;
    const contrast = rng && aug.contrast > 0 ? 1 + (2 * rng.next() - 1) * aug.contrast : 1;
    const src = idx * size;
    const lut = photometric ? photometricTable(norm, c, brightness, contrast, imageMean(ds.pixels, src, size)) : plainLut;
    const view: ImageView = { pixels: ds.pixels, src, h, w, c, lut };
    if (geometric) warpBilinear(view, data, n * size, { flip, dx, dy, scale, angle });
    else shiftAndFlip(view, data, n * size, flip, dx, dy);
  });
  return { data, shape: [indices.length, h, w, c], labels };
}

/** Whether any batch-time augmentation is configured (then batches need an augmentation Rng). */
export function augmentationEnabled(a: PreprocessConfig['augment']): boolean {
  return a.horizontalFlip || a.randomCropPad > 0 || a.randomScale > 0 || a.randomRotation > 0 || a.brightness > 0 || a.contrast > 0;
}

interface ImageView {
  pixels: Uint8Array;
  /** Offset of the image's first value in `pixels`. */
  src: number;
  h: number;
  w: number;
  c: number;
  /** Per channel: uint8 value -> normalised float. */
  lut: Float32Array[];
}

/**
 * Per channel, uint8 -> normalised value after the photometric change
 * v' = brightness * (imageMean + contrast * (v/255 - imageMean)) (torchvision's order: brightness, then
 * contrast about the image's mean grey). Affine in v, so bilinear sampling of table values equals the
 * table value of the bilinearly sampled pixel.
 */
function photometricTable(norm: Normalization, c: number, brightness: number, contrast: number, imageMean: number): Float32Array[] {
  return Array.from({ length: c }, (_, ch) => {
    const t = new Float32Array(256);
    const mean = norm.mean[ch] ?? 0;
    const std = norm.std[ch] ?? 1;
    for (let v = 0; v < 256; v++) t[v] = (brightness * (imageMean + contrast * (v / 255 - imageMean)) - mean) / std;
    return t;
  });
}

/** Mean of an image's values on the 0..1 scale (all channels). */
function imageMean(pixels: Uint8Array, src: number, size: number): number {
  let sum = 0;
  for (let k = 0; k < size; k++) sum += pixels[src + k] as number;
  return sum / size / 255;
}

/** Integer shift and mirror: output (y, x) reads source (y + dy, mirror(x + dx)); outside stays 0. */
function shiftAndFlip(v: ImageView, out: Float32Array, dst: number, flip: boolean, dx: number, dy: number): void {
  const { pixels, src, h, w, c, lut } = v;
  for (let y = 0; y < h; y++) {
    const sy = y + dy;
    for (let x = 0; x < w; x++) {
      const fx = x + dx;
      const o = dst + (y * w + x) * c;
      if (sy < 0 || sy >= h || fx < 0 || fx >= w) continue; // stays 0
      const sx = flip ? w - 1 - fx : fx;
      const s = src + (sy * w + sx) * c;
      for (let ch = 0; ch < c; ch++) out[o + ch] = (lut[ch] as Float32Array)[pixels[s + ch] as number] as number;
    }
  }
}

/**
 * The shift, then zoom by `scale` and rotation by `angle` about the image centre, then the mirror:
 * output point p reads source mirror(centre + R(angle) (p + d - centre) / scale), bilinearly, with
 * source pixels outside the image counting as 0 (the mean colour after normalisation).
 */
function warpBilinear(v: ImageView, out: Float32Array, dst: number, t: { flip: boolean; dx: number; dy: number; scale: number; angle: number }): void {
  const { pixels, src, h, w, c, lut } = v;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const cos = Math.cos(t.angle) / t.scale;
  const sin = Math.sin(t.angle) / t.scale;
  const tap = (sy: number, sx: number, ch: number): number =>
    sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : ((lut[ch] as Float32Array)[pixels[src + (sy * w + sx) * c + ch] as number] as number);
  for (let y = 0; y < h; y++) {
    const v0 = y + t.dy - cy;
    for (let x = 0; x < w; x++) {
      const u0 = x + t.dx - cx;
      let qx = cx + cos * u0 - sin * v0;
      const qy = cy + sin * u0 + cos * v0;
      if (t.flip) qx = w - 1 - qx;
      const x0 = Math.floor(qx);
      const y0 = Math.floor(qy);
      const fx = qx - x0;
      const fy = qy - y0;
      const o = dst + (y * w + x) * c;
      if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) continue; // all four taps outside: stays 0
      for (let ch = 0; ch < c; ch++) {
        const top = (1 - fx) * tap(y0, x0, ch) + fx * tap(y0, x0 + 1, ch);
        const bottom = (1 - fx) * tap(y0 + 1, x0, ch) + fx * tap(y0 + 1, x0 + 1, ch);
        out[o + ch] = (1 - fy) * top + fy * bottom;
      }
    }
  }
}
