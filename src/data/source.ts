// Finds (or fetches) the raw dataset folder: config dir > unpacked download > local archive > download.
// Unpacking goes to a temporary folder renamed into place at the end, so an unpacked folder that
// exists is always complete.
import { copyFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetConfig } from '../config/schema';
import { extractArchive } from './archive';
import { downloadFile, type DownloadOptions } from './download';
import { sha256File, writeDirAtomic } from '../util/durable-fs';
import { DatasetError, errorMessage } from './errors';
import { LFW_PROTOCOL_FILES } from './lfw-protocol';

export interface DatasetSourceSpec {
  /** File name of the archive in the download folder. */
  archiveName: string;
  /** Folder name under the download folder that the archive is unpacked to. */
  unpackedName: string;
  /** Canonical download URL (dataset.source.url overrides it). */
  url: string;
  /** LFW only: base URL of the protocol files (dataset.source.protocolUrl overrides it). */
  protocolUrl?: string;
  /** What a usable dataset folder contains, for messages. */
  holds: string;
}

/** Canonical sources. The AT&T archive is the one Cambridge published; LFW's are on the UMass site. */
export const DATASET_SOURCES: Record<DatasetConfig['name'], DatasetSourceSpec> = {
  att: {
    archiveName: 'att_faces.zip',
    unpackedName: 'att_faces',
    url: 'https://www.cl.cam.ac.uk/Research/DTG/attarchive/pub/data/att_faces.zip',
    holds: 'the subject folders s1..s40',
  },
  lfw: {
    archiveName: 'lfw-deepfunneled.tgz',
    unpackedName: 'lfw',
    url: 'http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz',
    protocolUrl: 'http://vis-www.cs.umass.edu/lfw/',
    holds: `lfw-deepfunneled/ and the protocol files (${LFW_PROTOCOL_FILES.join(', ')})`,
  },
};

export interface ResolveSourceOptions {
  projectRoot: string;
  onProgress?: (done: number, total: number, phase: string) => void;
  /** Download tuning (tests shorten the back-off). */
  download?: Pick<DownloadOptions, 'retries' | 'backoffMs'>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** AT&T archives unpack either flat (s1/...) or under one folder (att_faces/s1/...). */
async function attRootIn(dir: string): Promise<string> {
  if (await exists(path.join(dir, 's1'))) return dir;
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (d.isDirectory() && (await exists(path.join(dir, d.name, 's1')))) return path.join(dir, d.name);
  }
  return dir; // indexAtt will explain what is missing.
}

/** Copies the LFW protocol files from the first folder that has them, else downloads them. */
async function fetchProtocolFiles(
  target: string,
  besides: string[],
  baseUrl: string,
  dl: ResolveSourceOptions['download'],
): Promise<void> {
  for (const f of LFW_PROTOCOL_FILES) {
    const dest = path.join(target, f);
    const local = [];
    for (const dir of besides) if (await exists(path.join(dir, f))) local.push(path.join(dir, f));
    if (local[0]) {
      await copyFile(local[0], dest);
      continue;
    }
    const url = new URL(f, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
    try {
      await downloadFile(url, dest, { ...dl });
    } catch (err) {
      throw new DatasetError(
        `LFW protocol file ${f} not found in ${besides.join(' or ')} and its download failed (${errorMessage(err)}); put ${f} beside the archive`,
        { path: dest, retryable: err instanceof DatasetError && err.retryable, cause: err },
      );
    }
  }
}

async function unpack(
  cfg: DatasetConfig,
  spec: DatasetSourceSpec,
  archive: string,
  finalDir: string,
  opts: ResolveSourceOptions,
): Promise<void> {
  opts.onProgress?.(0, 1, 'unpack');
  await writeDirAtomic(path.dirname(finalDir), path.basename(finalDir), async (tmp) => {
    await extractArchive(archive, tmp);
    if (cfg.name === 'lfw') {
      const base = cfg.source.protocolUrl ?? spec.protocolUrl ?? '';
      await fetchProtocolFiles(tmp, [path.dirname(archive), path.dirname(finalDir)], base, opts.download);
    }
  });
  opts.onProgress?.(1, 1, 'unpack');
}

/**
 * Returns the absolute folder holding the raw dataset, unpacking or downloading it when needed.
 * Order: dataset.source.dir; <downloadDir>/<unpacked>; dataset.source.archive or
 * <downloadDir>/<archive>; download from dataset.source.url (default: the canonical URL).
 * When all fail, the error lists every place it looked and what to put there.
 */
export async function resolveSource(cfg: DatasetConfig, opts: ResolveSourceOptions): Promise<string> {
  const spec = DATASET_SOURCES[cfg.name];
  const src = cfg.source;
  const root = opts.projectRoot;
  if (src.dir) return path.resolve(root, src.dir);

  const downloadDir = path.resolve(root, src.downloadDir);
  const unpacked = path.join(downloadDir, spec.unpackedName);
  const finish = async () => (cfg.name === 'att' ? attRootIn(unpacked) : unpacked);
  if (await exists(unpacked)) return finish();

  if (src.archive) {
    const archive = path.resolve(root, src.archive);
    if (!(await exists(archive))) {
      throw new DatasetError(`dataset.source.archive ${archive} does not exist; put ${spec.archiveName} there`, { path: archive });
    }
    if (src.sha256) {
      const got = await sha256File(archive);
      if (got !== src.sha256) {
        throw new DatasetError(`${archive}: SHA-256 is ${got}, expected ${src.sha256} (dataset.source.sha256); the archive is damaged or a different version`, { path: archive });
      }
    }
    await unpack(cfg, spec, archive, unpacked, opts);
    return finish();
  }

  const archive = path.join(downloadDir, spec.archiveName);
  const url = src.url ?? spec.url;
  try {
    await downloadFile(url, archive, {
      sha256: src.sha256,
      ...opts.download,
      onProgress: (done, total) => opts.onProgress?.(done, total ?? 0, 'download'),
    });
  } catch (err) {
    const retryable = err instanceof DatasetError && err.retryable;
    const where = `looked for the unpacked folder ${unpacked} and the archive ${archive}`;
    throw new DatasetError(
      `${cfg.name === 'att' ? 'AT&T' : 'LFW'} dataset not found: ${where}, then tried to download ${url}: ${errorMessage(err)}. ` +
        `Either put ${spec.archiveName} at ${archive}, or set dataset.source.dir to a folder that holds ${spec.holds}` +
        ` (or dataset.source.archive to a local ${spec.archiveName}).`,
      { path: archive, retryable, cause: err },
    );
  }
  await unpack(cfg, spec, archive, unpacked, opts);
  return finish();
}
