// A user's image files to model input: decoded and preprocessed exactly as training prepared its images
// (src/data/image.ts: centre crop, resize, channel conversion), normalised with the training mean/std
// (src/data/batch.ts), embedded a batch at a time. What had to be adapted is reported as a note per file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { preprocessSchema } from '../config/schema';
import { assembleBatch } from '../data/batch';
import { DatasetError } from '../data/errors';
import { preprocessImage } from '../data/image';
import { decodePgm } from '../data/pgm';
import { InputError } from './errors';
import type { FaceModel } from './model';

/** File name endings read as images when a folder is given. */
export const IMAGE_EXTENSIONS = ['.pgm', '.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif'];

export interface PreparedImage {
  file: string;
  /** height*width*channels bytes, HWC, at the model's input size. */
  pixels: Uint8Array;
  /** What was done beyond the training preprocessing (resize to the input size, colour conversion), or null. */
  note: string | null;
}

async function probe(file: string): Promise<{ width: number; height: number; channels: number }> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new InputError(`${file}: cannot read the image: ${why}`, file, err);
  }
  try {
    if (file.toLowerCase().endsWith('.pgm')) {
      const img = decodePgm(buf, file);
      return { width: img.width, height: img.height, channels: 1 };
    }
    const meta = await sharp(buf).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the file');
    return { width: meta.width, height: meta.height, channels: meta.channels ?? 3 };
  } catch (err) {
    if (err instanceof DatasetError) throw new InputError(err.message, file, err);
    throw new InputError(`${file}: not a readable image (PGM, PNG, JPEG, WebP, TIFF or GIF): ${(err as Error).message}`, file, err);
  }
}

const hw = (h: number, w: number) => `${h}x${w}`;

/**
 * Reads one image as the model's input. The training preprocessing is applied (centre crop, then resize, from
 * the sidecar). An image smaller than the centre crop is refused. When the training used no resize (native
 * size) and the image has another size, it is resized to the model's input size and a note says so.
 * Colour images for a greyscale model are converted with the training's luma (and grey to RGB by copying).
 */
export async function prepareImage(fm: FaceModel, file: string): Promise<PreparedImage> {
  const { preprocess } = fm.sidecar;
  const [inH, inW, inC] = fm.inputShape;
  const src = await probe(file);
  const notes: string[] = [];
  let { height, width } = src;
  if (preprocess.centerCrop) {
    const c = preprocess.centerCrop;
    if (c.height > height || c.width > width) {
      throw new InputError(
        `${file}: the image is ${hw(height, width)} (HxW), smaller than the ${hw(c.height, c.width)} centre crop the model takes from each image ` +
          '(as in training); give a larger image.',
        file,
      );
    }
    ({ height, width } = c);
  }
  if (preprocess.crop) {
    const b = preprocess.crop;
    if (b.top + b.height > height || b.left + b.width > width) {
      throw new InputError(
        `${file}: the image is ${hw(height, width)} (HxW), too small for the box the model takes from each image (top ${b.top}, left ${b.left}, ` +
          `${hw(b.height, b.width)}, as in training); give an image framed like the training images.`,
        file,
      );
    }
    ({ height, width } = b);
  }
  let resize = preprocess.resize;
  if (resize) ({ height, width } = resize);
  if (height !== inH || width !== inW) {
    notes.push(`resized from ${hw(height, width)} to ${hw(inH, inW)} (HxW), the model's input size; the training images were ${hw(inH, inW)} without resizing`);
    resize = { height: inH, width: inW };
  }
  const colour = src.channels >= 3;
  if (colour && inC === 1) notes.push('colour converted to greyscale (the model takes 1 channel)');
  if (!colour && inC === 3) notes.push('greyscale copied to 3 channels (the model takes RGB)');
  let img;
  try {
    img = await preprocessImage(file, { channels: preprocess.channels, centerCrop: preprocess.centerCrop, crop: preprocess.crop, resize });
  } catch (err) {
    throw new InputError((err as Error).message, file, err);
  }
  if (img.height !== inH || img.width !== inW || img.channels !== inC) {
    throw new Error(`Internal error: ${file} was prepared as ${img.height}x${img.width}x${img.channels}, not ${fm.inputShape.join('x')}.`);
  }
  return { file, pixels: img.data, note: notes.length ? notes.join('; ') : null };
}

/** The images' normalised input batch [n, h, w, c]: (x/255 - mean) / std per channel, as training did. */
export function inputBatch(fm: FaceModel, images: PreparedImage[]): tf.Tensor4D {
  const [h, w, c] = fm.inputShape;
  const size = h * w * c;
  const pixels = new Uint8Array(images.length * size);
  images.forEach((img, i) => pixels.set(img.pixels, i * size));
  const ds = { height: h, width: w, channels: c as 1 | 3, pixels, labels: new Int32Array(images.length) };
  const { mean, std } = fm.sidecar.preprocess;
  const batch = assembleBatch(ds, images.map((_, i) => i), preprocessSchema.parse({ channels: c }), { mean, std }, null);
  return tf.tensor4d(batch.data, batch.shape);
}

export interface EmbeddedFiles {
  files: string[];
  /** files.length rows of dim values, in the order of `files`. */
  embeddings: Float32Array;
  dim: number;
  /** Files that needed more than the training preprocessing, and what was done. */
  notes: Array<{ file: string; note: string }>;
}

/** Embeds image files, `batchSize` at a time; any unreadable or unusable file stops it with an InputError naming it. */
export async function embedFiles(fm: FaceModel, files: string[], batchSize = 32): Promise<EmbeddedFiles> {
  const dim = fm.embeddingDim;
  const embeddings = new Float32Array(files.length * dim);
  const notes: EmbeddedFiles['notes'] = [];
  for (let start = 0; start < files.length; start += batchSize) {
    const chunk = files.slice(start, start + batchSize);
    const images = await Promise.all(chunk.map((f) => prepareImage(fm, f)));
    for (const img of images) if (img.note) notes.push({ file: img.file, note: img.note });
    const x = inputBatch(fm, images);
    try {
      embeddings.set(fm.embed(x), start * dim);
    } finally {
      x.dispose();
    }
  }
  return { files, embeddings, dim, notes };
}

/** Expands folders (recursively, image files only, sorted) and keeps files as given, in order. */
export async function listImages(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => null);
    if (!stat) throw new InputError(`${arg}: no such file or folder`, arg);
    if (!stat.isDirectory()) {
      out.push(arg);
      continue;
    }
    const found = (await fs.readdir(arg, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
    if (found.length === 0) throw new InputError(`${arg}: the folder holds no image files (${IMAGE_EXTENSIONS.join(' ')})`, arg);
    out.push(...found);
  }
  return out;
}
