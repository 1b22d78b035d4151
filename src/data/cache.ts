// The preprocessed cache: every image of a dataset, preprocessed once, stored as uint8 NHWC shards
// with a manifest.json that carries the SHA-256 of each shard. Its folder name holds a key hashed
// from the dataset manifest and the pixel-affecting options, so a changed option builds a new cache
// and an unchanged one reuses it. Built in a temporary folder and renamed into place.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetIndex } from './dataset-index';
import { DatasetError, errorMessage } from './errors';
import { preprocessImage, type PixelOptions } from './image';
import { writeDirAtomic, writeFileDurable } from '../util/durable-fs';

/** Bump when the shard layout or the preprocessing code changes what bytes a cache holds. */
export const CACHE_FORMAT = 'facenet-cache/1';
/** Shard size target: big enough for few files, small enough to build in modest memory. */
const SHARD_BYTES = 64 * 1024 * 1024;
/** sharp runs on libuv's thread pool; a few images in flight keep both cores busy. */
const CONCURRENCY = 4;

export interface ShardInfo {
  file: string;
  /** Index of the shard's first image. */
  first: number;
  count: number;
  bytes: number;
  sha256: string;
}

export interface CacheManifest {
  format: typeof CACHE_FORMAT;
  key: string;
  dataset: 'att' | 'lfw';
  manifestHash: string;
  pixel: PixelOptions;
  maxIdentities: number | null;
  height: number;
  width: number;
  channels: 1 | 3;
  identities: string[];
  /** Per image: index into identities. */
  labels: number[];
  /** Per image: path relative to the dataset root. */
  paths: string[];
  /** Images left out under onBadImage 'skip', with the reason. */
  skipped: Array<{ path: string; reason: string }>;
  shards: ShardInfo[];
  /** Protocol files copied into <cache>/protocol/ (LFW). */
  protocolFiles: string[];
}

export interface CachedDataset {
  cachePath: string;
  key: string;
  dataset: 'att' | 'lfw';
  height: number;
  width: number;
  channels: 1 | 3;
  identities: string[];
  labels: Int32Array;
  paths: string[];
  /** N*H*W*C bytes, NHWC. */
  pixels: Uint8Array;
  /** True when some images were skipped (onBadImage 'skip') or identities limited (maxIdentities). */
  partial: boolean;
}

/** The cache key: the dataset's content and every option that changes the cached bytes. */
export function cacheKey(
  dataset: 'att' | 'lfw',
  manifestHash: string,
  pixel: PixelOptions,
  maxIdentities: number | null,
): string {
  const desc = { format: CACHE_FORMAT, dataset, manifestHash, channels: pixel.channels, centerCrop: pixel.centerCrop, crop: pixel.crop, resize: pixel.resize, maxIdentities };
  return createHash('sha256').update(JSON.stringify(desc)).digest('hex');
}

export function cacheDirName(dataset: string, key: string): string {
  return `${dataset}-${key.slice(0, 16)}`;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readManifest(dir: string): Promise<CacheManifest> {
  const file = path.join(dir, 'manifest.json');
  let parsed: CacheManifest;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as CacheManifest;
  } catch (err) {
    throw new DatasetError(`${file}: unreadable cache manifest: ${errorMessage(err)}`, { path: file });
  }
  if (parsed.format !== CACHE_FORMAT) {
    throw new DatasetError(`${file}: cache format ${String(parsed.format)}, expected ${CACHE_FORMAT}`, { path: file });
  }
  return parsed;
}

/**
 * Checks a cache folder: manifest readable, key as expected, every shard present with its size and
 * SHA-256. Returns null when sound, else the reason (which names the file).
 */
export async function verifyCache(dir: string, expectedKey?: string): Promise<string | null> {
  try {
    const m = await readManifest(dir);
    if (expectedKey && m.key !== expectedKey) return `${dir}: key ${m.key} is not the expected ${expectedKey}`;
    const imageBytes = m.height * m.width * m.channels;
    for (const s of m.shards) {
      const file = path.join(dir, s.file);
      const buf = await readFile(file).catch(() => null);
      if (!buf) return `${file}: shard missing`;
      if (buf.length !== s.bytes || s.bytes !== s.count * imageBytes) return `${file}: shard has ${buf.length} bytes, expected ${s.bytes}`;
      if (sha256(buf) !== s.sha256) return `${file}: shard checksum mismatch`;
    }
    return null;
  } catch (err) {
    return errorMessage(err);
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface BuildCacheOptions {
  dataset: 'att' | 'lfw';
  pixel: PixelOptions;
  maxIdentities: number | null;
  onBadImage: 'error' | 'skip';
  manifestHash: string;
  key: string;
  onProgress?: (done: number, total: number, phase: string) => void;
  /** Relative paths (in the dataset root) of files to copy into <cache>/protocol/. */
  protocolFiles?: string[];
}

/** Preprocesses every image of `index` into `finalDir` (atomically). Returns the manifest written. */
export async function buildCache(index: DatasetIndex, finalDir: string, opts: BuildCacheOptions): Promise<CacheManifest> {
  let manifest: CacheManifest | null = null;
  let keptExisting = false;
  await writeDirAtomic(
    path.dirname(finalDir),
    path.basename(finalDir),
    async (tmp) => {
      manifest = await writeShards(index, tmp, opts);
      if (opts.protocolFiles?.length) {
        await mkdir(path.join(tmp, 'protocol'));
        for (const f of opts.protocolFiles) await copyFile(path.join(index.root, f), path.join(tmp, 'protocol', path.basename(f)));
      }
      // The manifest is written last: a folder without one is never mistaken for a cache.
      await writeFileDurable(path.join(tmp, 'manifest.json'), JSON.stringify(manifest));
    },
    // Another process may have finished the same cache meanwhile: never replace a sound one (it may be in use).
    { keepExisting: async (dir) => (keptExisting = (await verifyCache(dir, opts.key)) === null) },
  );
  return keptExisting || !manifest ? readManifest(finalDir) : manifest;
}

async function writeShards(index: DatasetIndex, dir: string, opts: BuildCacheOptions): Promise<CacheManifest> {
  const total = index.entries.length;
  const labels: number[] = [];
  const paths: string[] = [];
  const skipped: CacheManifest['skipped'] = [];
  const shards: ShardInfo[] = [];
  let shape: { height: number; width: number; path: string } | null = null;
  let pending: Uint8Array[] = [];
  let perShard = 1;
  let done = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const bytes = pending.reduce((s, b) => s + b.length, 0);
    const buf = Buffer.concat(pending, bytes);
    const file = `shard-${String(shards.length).padStart(4, '0')}.bin`;
    await writeFileDurable(path.join(dir, file), buf);
    shards.push({ file, first: labels.length - pending.length, count: pending.length, bytes, sha256: sha256(buf) });
    pending = [];
  };

  const WINDOW = 64;
  opts.onProgress?.(0, total, 'preprocess');
  for (let w = 0; w < total; w += WINDOW) {
    const window = index.entries.slice(w, w + WINDOW);
    const results = await mapLimit(window, CONCURRENCY, async (e) => {
      try {
        return await preprocessImage(path.join(index.root, e.relPath), opts.pixel);
      } catch (err) {
        if (opts.onBadImage === 'skip' && err instanceof DatasetError && !err.retryable) return errorMessage(err);
        throw err;
      }
    });
    for (const [k, r] of results.entries()) {
      const e = window[k]!;
      if (typeof r === 'string') {
        skipped.push({ path: e.relPath, reason: r });
        console.warn(`skipping unreadable image (dataset.onBadImage = 'skip'): ${r}`);
        continue;
      }
      if (!shape) {
        shape = { height: r.height, width: r.width, path: e.relPath };
        perShard = Math.max(1, Math.floor(SHARD_BYTES / r.data.length));
      } else if (r.height !== shape.height || r.width !== shape.width) {
        const file = path.join(index.root, e.relPath);
        throw new DatasetError(
          `${file} is ${r.height}x${r.width} (HxW) but ${shape.path} is ${shape.height}x${shape.width}; set preprocess.resize (or centerCrop, or crop) so all images have one size`,
          { path: file },
        );
      }
      pending.push(r.data);
      labels.push(e.label);
      paths.push(e.relPath);
      if (pending.length >= perShard) await flush();
    }
    done += window.length;
    opts.onProgress?.(done, total, 'preprocess');
  }
  await flush();
  if (!shape) throw new DatasetError(`${index.root}: no readable images`, { path: index.root });
  return {
    format: CACHE_FORMAT,
    key: opts.key,
    dataset: opts.dataset,
    manifestHash: opts.manifestHash,
    pixel: opts.pixel,
    maxIdentities: opts.maxIdentities,
    height: shape.height,
    width: shape.width,
    channels: opts.pixel.channels,
    identities: index.identities,
    labels,
    paths,
    skipped,
    shards,
    protocolFiles: (opts.protocolFiles ?? []).map((f) => path.basename(f)),
  };
}

/** Reads the manifest of a cache folder (no pixel data). */
export async function readCacheManifest(cachePath: string): Promise<CacheManifest> {
  return readManifest(cachePath);
}

/**
 * Loads a cache built by prepareDataset into memory. Every shard's size and SHA-256 are checked;
 * a damaged cache throws a DatasetError naming the shard (prepareDataset would rebuild it).
 */
export async function loadCachedDataset(cachePath: string): Promise<CachedDataset> {
  const m = await readManifest(cachePath);
  const imageBytes = m.height * m.width * m.channels;
  const n = m.labels.length;
  const pixels = new Uint8Array(n * imageBytes);
  for (const s of m.shards) {
    const file = path.join(cachePath, s.file);
    const size = (await stat(file).catch(() => null))?.size;
    if (size !== s.bytes) throw new DatasetError(`${file}: cache shard missing or wrong size; run prepareDataset again to rebuild`, { path: file });
    const view = pixels.subarray(s.first * imageBytes, s.first * imageBytes + s.bytes);
    const fh = await open(file, 'r');
    try {
      for (let off = 0; off < s.bytes; ) {
        const { bytesRead } = await fh.read(view, off, s.bytes - off, off);
        if (bytesRead === 0) throw new DatasetError(`${file}: cache shard ends early`, { path: file });
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (sha256(view) !== s.sha256) {
      throw new DatasetError(`${file}: cache shard checksum mismatch; run prepareDataset again to rebuild`, { path: file });
    }
  }
  return {
    cachePath,
    key: m.key,
    dataset: m.dataset,
    height: m.height,
    width: m.width,
    channels: m.channels,
    identities: m.identities,
    labels: Int32Array.from(m.labels),
    paths: m.paths,
    pixels,
    partial: m.skipped.length > 0 || m.maxIdentities !== null,
  };
}
