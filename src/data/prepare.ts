// The one call that takes a dataset from its source to a verified preprocessed cache.
import path from 'node:path';
import type { DatasetConfig, PreprocessConfig } from '../config/schema';
import { indexAtt } from './att';
import { buildCache, cacheDirName, cacheKey, readCacheManifest, verifyCache, type CacheManifest } from './cache';
import { limitIdentities } from './dataset-index';
import { contentFingerprint, fingerprintCacheFile } from './fingerprint';
import type { PixelOptions } from './image';
import { indexLfw } from './lfw';
import { resolveSource, type ResolveSourceOptions } from './source';
import { removeStaleTemps } from '../util/durable-fs';

export interface PrepareOptions {
  /** Relative paths in the config (cacheDir, source.dir, downloadDir) are resolved against it. */
  projectRoot: string;
  onProgress?: (done: number, total: number, phase: string) => void;
  /** Download tuning (tests use a short back-off). */
  download?: ResolveSourceOptions['download'];
  /** Called with the content fingerprint before any cache is read or built; throwing stops the preparation. */
  checkFingerprint?: (d: { fingerprint: string; images: number; identities: number }) => void;
}

/** Small, JSON-able summary (it is the result of a Temporal activity). */
export interface PreparedDataset {
  cachePath: string;
  key: string;
  identities: number;
  images: number;
  height: number;
  width: number;
  channels: number;
  /** The dataset's content fingerprint (fingerprint.ts): all images and protocol files, before maxIdentities. */
  manifestHash: string;
  /** Images left out under onBadImage 'skip'. */
  skipped: number;
  /** False when an existing sound cache was reused. */
  built: boolean;
}

export function pixelOptions(pre: PreprocessConfig): PixelOptions {
  return { channels: pre.channels, centerCrop: pre.centerCrop, crop: pre.crop, resize: pre.resize };
}

function summary(cachePath: string, m: CacheManifest, built: boolean): PreparedDataset {
  return {
    cachePath,
    key: m.key,
    identities: m.identities.length,
    images: m.labels.length,
    height: m.height,
    width: m.width,
    channels: m.channels,
    manifestHash: m.manifestHash,
    skipped: m.skipped.length,
    built,
  };
}

/**
 * Resolves the source (dir / archive / download), indexes it (LFW: checks that every image the
 * protocol files name exists), and preprocesses every image into the cache under
 * <projectRoot>/<cfg.cacheDir>/<name>-<key16>/, or reuses that cache when it verifies.
 * A damaged cache (shard checksum, missing file) is rebuilt. Idempotent: safe to call again after a crash.
 */
export async function prepareDataset(
  cfg: DatasetConfig,
  pre: PreprocessConfig,
  opts: PrepareOptions,
): Promise<PreparedDataset> {
  const root = await resolveSource(cfg, { projectRoot: opts.projectRoot, onProgress: opts.onProgress, download: opts.download });
  opts.onProgress?.(0, 1, 'index');
  const full = cfg.name === 'att' ? await indexAtt(root) : await indexLfw(root);
  const index = limitIdentities(full, cfg.maxIdentities);
  opts.onProgress?.(1, 1, 'index');
  const cacheDir = path.resolve(opts.projectRoot, cfg.cacheDir);
  // The cache key holds the content fingerprint: an image edited in place never reuses a stale cache.
  const { hash } = await contentFingerprint(full, { cacheFile: fingerprintCacheFile(cacheDir, cfg.name, root), onProgress: opts.onProgress });
  opts.checkFingerprint?.({ fingerprint: hash, images: index.entries.length, identities: index.identities.length });
  const pixel = pixelOptions(pre);
  const key = cacheKey(cfg.name, hash, pixel, cfg.maxIdentities);
  const cachePath = path.join(cacheDir, cacheDirName(cfg.name, key));

  // A build killed earlier (this cache or another key's) left its temp folder: removed once its writer is gone.
  await removeStaleTemps(cacheDir);
  opts.onProgress?.(0, 1, 'verify');
  const problem = await verifyCache(cachePath, key);
  opts.onProgress?.(1, 1, 'verify');
  if (problem === null) return summary(cachePath, await readCacheManifest(cachePath), false);

  const manifest = await buildCache(index, cachePath, {
    dataset: cfg.name,
    pixel,
    maxIdentities: cfg.maxIdentities,
    onBadImage: cfg.onBadImage,
    manifestHash: hash,
    key,
    onProgress: opts.onProgress,
    protocolFiles: index.extraFiles.map((f) => f.relPath),
  });
  return summary(cachePath, manifest, true);
}
