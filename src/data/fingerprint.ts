// A dataset's fingerprint from its content: the SHA-256 of every image and protocol file, combined
// over the sorted (relative path, file hash) list. An image edited in place with the same size changes
// it; renaming a folder changes it too. Hashing LFW (13k files, 170 MB) takes seconds, so each file's
// hash is cached by (path, size, mtime, ctime) in a JSON file beside the preprocessed caches and only
// files whose stat changed are read again (ctime changes on every write, even one that restores mtime).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetIndex } from './dataset-index';
import { sha256File, writeFileAtomic } from '../util/durable-fs';

const CACHE_FORMAT = 'facenet-file-hashes/1';
/** Files hashed at once: reads overlap with hashing, and 2 cores stay usable by other work. */
const CONCURRENCY = 4;

interface CachedHash {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

interface HashCacheFile {
  format: typeof CACHE_FORMAT;
  root: string;
  files: Record<string, CachedHash>;
}

export interface FingerprintOptions {
  /** Where the per-file hashes are cached (see fingerprintCacheFile); none: every file is hashed. */
  cacheFile?: string;
  onProgress?: (done: number, total: number, phase: string) => void;
}

export interface Fingerprint {
  /** SHA-256 (hex) over the sorted "relPath<TAB>sha256" lines of every file. */
  hash: string;
  files: number;
  /** Files read and hashed this time (the others came from the cache). */
  hashed: number;
}

/** The hash cache of the dataset at `root`, in the preprocessed-cache folder `cacheDir`. */
export function fingerprintCacheFile(cacheDir: string, dataset: string, root: string): string {
  const key = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'fingerprints', `${dataset}-${key}.json`);
}

async function readHashCache(file: string | undefined, root: string): Promise<Record<string, CachedHash>> {
  if (!file) return {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as HashCacheFile;
    // A damaged or foreign cache only costs a re-hash.
    return parsed.format === CACHE_FORMAT && parsed.root === path.resolve(root) && parsed.files ? parsed.files : {};
  } catch {
    return {};
  }
}

/** The content fingerprint of every image and protocol file of `index` (all identities, before maxIdentities). */
export async function contentFingerprint(index: DatasetIndex, opts: FingerprintOptions = {}): Promise<Fingerprint> {
  const relPaths = [...index.entries, ...index.extraFiles].map((e) => e.relPath).sort();
  const cached = await readHashCache(opts.cacheFile, index.root);
  const fresh: Record<string, CachedHash> = {};
  let hashed = 0;
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < relPaths.length) {
      const rel = relPaths[next++] as string;
      const file = path.join(index.root, rel);
      const st = await stat(file);
      const prior = cached[rel];
      if (prior && prior.size === st.size && prior.mtimeMs === st.mtimeMs && prior.ctimeMs === st.ctimeMs) {
        fresh[rel] = prior;
      } else {
        fresh[rel] = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256: await sha256File(file) };
        hashed++;
      }
      if (++done % 500 === 0) opts.onProgress?.(done, relPaths.length, 'fingerprint');
    }
  };
  opts.onProgress?.(0, relPaths.length, 'fingerprint');
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, relPaths.length) }, worker));
  opts.onProgress?.(relPaths.length, relPaths.length, 'fingerprint');
  const h = createHash('sha256');
  for (const rel of relPaths) h.update(`${rel}\t${(fresh[rel] as CachedHash).sha256}\n`);
  if (opts.cacheFile && (hashed > 0 || Object.keys(cached).length !== relPaths.length)) {
    const body: HashCacheFile = { format: CACHE_FORMAT, root: path.resolve(index.root), files: fresh };
    await writeFileAtomic(opts.cacheFile, JSON.stringify(body));
  }
  return { hash: h.digest('hex'), files: relPaths.length, hashed };
}
