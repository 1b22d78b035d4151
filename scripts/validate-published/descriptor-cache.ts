// Restartable on-disk cache of per-image face descriptors: a run of thousands of images on a shared
// CPU may be stopped at any point, and a restart must continue where it stopped. One fixed-size
// record per image is appended as soon as it is computed; a torn last record (killed mid-write) is
// dropped on open. A sidecar .json pins the image list so a cache is never read against other images.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import type { PixelBox } from './crop';
import { writeFileAtomicSync } from '../../src/util/durable-fs';

/**
 * How the crop of an image was obtained: by the first detector, by the second (retry), by the last
 * chance (a low score threshold), or the fixed crop where none found a face.
 */
export const CROP_STATUS = { detected: 0, fallback: 1, 'detected-retry': 2, 'detected-low': 3 } as const;
export type CropStatus = keyof typeof CROP_STATUS;

export interface CachedDescriptor {
  status: CropStatus;
  /** The crop given to the recognition net, in pixels of the original image. */
  box: PixelBox;
  descriptor: Float32Array;
}

const HEADER_WORDS = 2; // image index, status
const BOX_FLOATS = 4;

export function recordBytes(dim: number): number {
  return 4 * (HEADER_WORDS + BOX_FLOATS + dim);
}

function listDigest(images: readonly string[]): string {
  return crypto.createHash('sha256').update(images.join('\n')).digest('hex');
}

export class DescriptorCache {
  private readonly entries = new Map<number, CachedDescriptor>();

  private constructor(
    readonly file: string,
    readonly images: readonly string[],
    readonly dim: number,
    readonly readOnly: boolean,
  ) {}

  /**
   * Opens (or creates) the cache at `file` for exactly these images, loading what is already there.
   * readOnly: for reporting while another process still appends (never truncates, writes or creates).
   */
  static open(file: string, images: readonly string[], dim: number, opts: { readOnly?: boolean } = {}): DescriptorCache {
    const readOnly = opts.readOnly ?? false;
    if (!readOnly) fs.mkdirSync(path.dirname(file), { recursive: true });
    const meta = `${file}.json`;
    const digest = listDigest(images);
    if (fs.existsSync(meta)) {
      const saved = JSON.parse(fs.readFileSync(meta, 'utf8')) as { digest?: string; dim?: number; images?: number };
      if (saved.digest !== digest || saved.dim !== dim) {
        throw new Error(
          `${file}: this descriptor cache was written for another image list or size (${saved.images} images, dim ${saved.dim}; ` +
            `now ${images.length} images, dim ${dim}). Delete ${file} and ${meta} to start over.`,
        );
      }
    } else if (!readOnly) {
      if (fs.existsSync(file)) fs.rmSync(file);
      writeFileAtomicSync(meta, JSON.stringify({ digest, dim, images: images.length }) + '\n');
    }
    const cache = new DescriptorCache(file, images, dim, readOnly);
    cache.load();
    return cache;
  }

  private load(): void {
    if (!fs.existsSync(this.file)) return;
    const buf = fs.readFileSync(this.file);
    const size = recordBytes(this.dim);
    const whole = Math.floor(buf.length / size) * size;
    if (whole !== buf.length && !this.readOnly) fs.truncateSync(this.file, whole); // torn last record
    for (let off = 0; off < whole; off += size) {
      const index = buf.readUInt32LE(off);
      const code = buf.readUInt32LE(off + 4);
      if (index >= this.images.length) throw new Error(`${this.file}: record at byte ${off} names image ${index}, beyond the ${this.images.length} images`);
      const status = (Object.keys(CROP_STATUS) as CropStatus[]).find((k) => CROP_STATUS[k] === code);
      if (!status) throw new Error(`${this.file}: record at byte ${off} has unknown status ${code}`);
      const f = (k: number) => buf.readFloatLE(off + 4 * (HEADER_WORDS + k));
      const descriptor = new Float32Array(this.dim);
      for (let j = 0; j < this.dim; j++) descriptor[j] = f(BOX_FLOATS + j);
      this.entries.set(index, { status, box: { x: f(0), y: f(1), width: f(2), height: f(3) }, descriptor });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  has(index: number): boolean {
    return this.entries.has(index);
  }

  get(index: number): CachedDescriptor | undefined {
    return this.entries.get(index);
  }

  /** Stores and appends one image's descriptor (synchronously, so a kill loses at most this record). */
  put(index: number, entry: CachedDescriptor): void {
    if (this.readOnly) throw new Error(`DescriptorCache.put: ${this.file} was opened read-only`);
    if (!Number.isInteger(index) || index < 0 || index >= this.images.length) {
      throw new Error(`DescriptorCache.put: index ${index} is outside 0..${this.images.length - 1}`);
    }
    if (entry.descriptor.length !== this.dim) {
      throw new Error(`DescriptorCache.put: descriptor of ${this.images[index]} has ${entry.descriptor.length} values, expected ${this.dim}`);
    }
    const buf = Buffer.alloc(recordBytes(this.dim));
    buf.writeUInt32LE(index, 0);
    buf.writeUInt32LE(CROP_STATUS[entry.status], 4);
    const { x, y, width, height } = entry.box;
    [x, y, width, height, ...entry.descriptor].forEach((v, k) => buf.writeFloatLE(v, 4 * (HEADER_WORDS + k)));
    fs.appendFileSync(this.file, buf);
    this.entries.set(index, { ...entry, descriptor: Float32Array.from(entry.descriptor) });
  }
}
