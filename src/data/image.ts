// Turns one source image (PGM or anything sharp reads: JPEG, PNG) into the cached form:
// uint8, HWC, the configured channel count, cropped (centre or a fixed box) and optionally resized.
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { DatasetError, errorMessage } from './errors';
import { decodePgm } from './pgm';

/** The preprocessing options that change pixels (and so the cache key). */
export interface PixelOptions {
  channels: 1 | 3;
  centerCrop: { height: number; width: number } | null;
  /** A fixed box (preprocess.crop); never together with centerCrop. */
  crop: CropBox | null;
  resize: { height: number; width: number } | null;
}

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** height*width*channels bytes, HWC. */
  data: Uint8Array;
}

/**
 * Top-left corner of a centre crop. floor((size - crop) / 2): identical to torchvision's
 * CenterCrop whenever the difference is even (LFW 250 -> 128 x 98 is).
 */
export function centerCropOffset(size: number, crop: number): number {
  return Math.floor((size - crop) / 2);
}

async function openSharp(file: string): Promise<Sharp> {
  const buf = await readFile(file);
  if (file.toLowerCase().endsWith('.pgm')) {
    const img = decodePgm(buf, file);
    return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
      raw: { width: img.width, height: img.height, channels: 1 },
    });
  }
  // failOn 'error': a truncated or broken JPEG is refused instead of silently padded with grey.
  return sharp(buf, { failOn: 'error' });
}

/**
 * Decodes and preprocesses one image file. Errors (unreadable, corrupt, crop larger than the
 * image) are DatasetErrors that name the file.
 */
export async function preprocessImage(file: string, opts: PixelOptions): Promise<DecodedImage> {
  try {
    let img = await openSharp(file);
    const meta = await img.metadata();
    const w = meta.width;
    const h = meta.height;
    if (!w || !h) throw new DatasetError(`${file}: could not read the image size`, { path: file });
    if (opts.centerCrop) {
      const c = opts.centerCrop;
      if (c.width > w || c.height > h) {
        throw new DatasetError(
          `${file}: centre crop ${c.height}x${c.width} (HxW) is larger than the image ${h}x${w}; lower preprocess.centerCrop`,
          { path: file },
        );
      }
      img = img.extract({ left: centerCropOffset(w, c.width), top: centerCropOffset(h, c.height), width: c.width, height: c.height });
    }
    if (opts.crop) {
      const b = opts.crop;
      if (b.left + b.width > w || b.top + b.height > h) {
        throw new DatasetError(
          `${file}: the crop box (top ${b.top}, left ${b.left}, ${b.height}x${b.width} HxW) reaches past the image, which is ${h}x${w}; fix preprocess.crop`,
          { path: file },
        );
      }
      img = img.extract({ left: b.left, top: b.top, width: b.width, height: b.height });
    }
    if (opts.resize) {
      img = img.resize({ width: opts.resize.width, height: opts.resize.height, fit: 'fill', kernel: 'cubic' });
    }
    // Channel conversion is done in JS below, with the same integer luma as PIL's convert('L')
    // (ITU-R 601-2), which the PyTorch reference's Grayscale uses.
    const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    let out: Uint8Array;
    if (info.channels === opts.channels) {
      out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    } else if (info.channels === 1 && opts.channels === 3) {
      out = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i] as number;
    } else if (info.channels === 3 && opts.channels === 1) {
      out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const r = data[3 * i] as number;
        const g = data[3 * i + 1] as number;
        const b = data[3 * i + 2] as number;
        out[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
      }
    } else {
      throw new DatasetError(`${file}: decoded to ${info.channels} channels, cannot make ${opts.channels}`, { path: file });
    }
    return { width: info.width, height: info.height, channels: opts.channels, data: out };
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`${file}: cannot decode image: ${errorMessage(err)}`, { path: file, cause: err });
  }
}
