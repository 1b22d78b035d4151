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
 * Draws per image: flip (if enabled), then dy, dx (if pad > 0). Without an Rng: no augmentation.
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
  // One lookup table per channel: 256 values instead of a divide per pixel.
  const lut = Array.from({ length: c }, (_, ch) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - (norm.mean[ch] ?? 0)) / (norm.std[ch] ?? 1);
    return t;
  });
  const flipOn = augmentRng !== null && pre.augment.horizontalFlip;
  const pad = augmentRng !== null ? pre.augment.randomCropPad : 0;
  indices.forEach((idx, n) => {
    const label = ds.labels[idx];
    if (label === undefined) throw new DatasetError(`image index ${idx} is outside the dataset (${ds.labels.length} images)`);
    labels[n] = label;
    const flip = flipOn && (augmentRng as Rng).next() < 0.5;
    const dy = pad > 0 ? (augmentRng as Rng).int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? (augmentRng as Rng).int(2 * pad + 1) - pad : 0;
    const src = idx * size;
    const dst = n * size;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const fx = x + dx;
        const o = dst + (y * w + x) * c;
        if (sy < 0 || sy >= h || fx < 0 || fx >= w) continue; // stays 0
        const sx = flip ? w - 1 - fx : fx;
        const s = src + (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) data[o + ch] = (lut[ch] as Float32Array)[ds.pixels[s + ch] as number] as number;
      }
    }
  });
  return { data, shape: [indices.length, h, w, c], labels };
}
