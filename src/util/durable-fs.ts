// Files and folders written whole or not at all: the one writer of the library. A file is written to a
// temporary sibling, flushed to disk (fsync), then renamed over its target (rename is atomic within a
// filesystem); a folder (a checkpoint, a cache, an exported model) is filled under a temporary name and
// renamed into place. Every writer removes its temporary on error. A crash (kill -9) can still leave
// one behind: its name, `.tmp-<target>-<host>-<pid>-<random>`, says who wrote it, and removeStaleTemps
// deletes it once that process is dead (same host) or the temp is older than a bound (another host),
// never while another live worker is still writing it. Each writer sweeps the stale temps of its own
// target first, so re-running a killed step leaves nothing behind.
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  lstatSync,
  openSync,
  promises as fs,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { StorageFullError, isStorageFullCode } from '../errors';

const TEMP_PREFIX = '.tmp-';
/** A temp of another host (whose pid cannot be checked) is stale after this long without a change. */
export const STALE_TEMP_MS = 15 * 60 * 1000;

const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const TEMP_RE = /^\.tmp-(.+)-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})(?:-old)?$/;

/** `.tmp-<target>-<host>-<pid>-<random>`: unique, and it names its writer. */
export function tempName(target: string): string {
  return `${TEMP_PREFIX}${target}-${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The target, host tag and pid of a temp name, or null when `name` is not one of ours. */
export function parseTempName(name: string): { target: string; host: string; pid: number } | null {
  const m = TEMP_RE.exec(name);
  return m ? { target: m[1] as string, host: m[2] as string, pid: Number(m[3]) } : null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StaleTempOptions {
  /** Only temps of this target name (default: every `.tmp-*` in the folder). */
  target?: string;
  /** Age bound for temps whose writer cannot be checked (default STALE_TEMP_MS). */
  maxAgeMs?: number;
  now?: number;
  /** Injected for tests: is this pid (of this host) alive? */
  isAlive?: (pid: number) => boolean;
}

/** Is the temp `name` in `dir` stale: its writer (this host) is dead, or (another host, a foreign name) it is older than the bound? */
function isStaleTemp(dir: string, name: string, opts: StaleTempOptions): boolean {
  if (!name.startsWith(TEMP_PREFIX)) return false;
  const owner = parseTempName(name);
  if (opts.target !== undefined && owner?.target !== opts.target) return false;
  if (owner && owner.host === HOST_TAG) return owner.pid !== process.pid && !(opts.isAlive ?? pidAlive)(owner.pid);
  let mtimeMs: number;
  try {
    mtimeMs = lstatSync(path.join(dir, name)).mtimeMs;
  } catch {
    return false;
  }
  return (opts.now ?? Date.now()) - mtimeMs > (opts.maxAgeMs ?? STALE_TEMP_MS);
}

/** An old version moved aside by a writer killed before its new one was in place goes back; any other stale temp is deleted. */
function disposeSync(dir: string, name: string): void {
  const owner = parseTempName(name);
  if (owner && name.endsWith('-old') && !existsSync(path.join(dir, owner.target))) renameSync(path.join(dir, name), path.join(dir, owner.target));
  else rmSync(path.join(dir, name), { recursive: true, force: true });
}

/**
 * Removes the temps in `dir` whose writer is gone: written on this host by a pid that no longer runs,
 * or (another host, an unknown name) not modified for `maxAgeMs`. A temp of a live process on this
 * host is always kept. Returns the names removed.
 */
export async function removeStaleTemps(dir: string, opts: StaleTempOptions = {}): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isStaleTemp(dir, name, opts)) continue;
    const owner = parseTempName(name);
    if (owner && name.endsWith('-old') && !(await exists(path.join(dir, owner.target)))) {
      await fs.rename(path.join(dir, name), path.join(dir, owner.target));
    } else {
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
    removed.push(name);
  }
  return removed;
}

/** removeStaleTemps for the synchronous writer (small files only). */
export function removeStaleTempsSync(dir: string, opts: StaleTempOptions = {}): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter((name) => isStaleTemp(dir, name, opts));
  for (const name of stale) disposeSync(dir, name);
  return stale;
}

/** The nearest existing folder of `file`, for statfs. */
function existingAncestor(file: string): string {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    try {
      statfsSync(dir);
      return dir;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
}

function freeBytesOf(file: string): number | null {
  try {
    const s = statfsSync(existingAncestor(file));
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** A StorageFullError for `err` (ENOSPC/EDQUOT/EROFS) while writing `file`, with the free space of its filesystem. */
export function storageFullError(err: NodeJS.ErrnoException, file: string): StorageFullError {
  return new StorageFullError(file, err.code ?? 'ENOSPC', freeBytesOf(file), { cause: err });
}

/** Rethrows `err`, as a StorageFullError naming `file` when the disk is full or read-only. */
function rethrowFor(file: string, err: unknown): never {
  if (err instanceof StorageFullError) throw err;
  if (isStorageFullCode(err)) throw storageFullError(err, file);
  throw err;
}

/** Writes `data` to `file` atomically and durably (synchronous: for small state files read back by resumed runs). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), tempName(path.basename(file)));
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    removeStaleTempsSync(path.dirname(file), { target: path.basename(file) });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    rethrowFor(file, err);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** Writes `data` to `file` atomically and durably. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, tempName(path.basename(file)));
  try {
    await fs.mkdir(dir, { recursive: true });
    await removeStaleTemps(dir, { target: path.basename(file) });
    await writeFileDurable(tmp, data);
    await fs.rename(tmp, file);
    await syncDir(dir);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    rethrowFor(file, err);
  }
}

/** Writes and fsyncs `file` in place (inside a temporary folder that writeDirAtomic renames later). */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  try {
    const handle = await fs.open(file, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    rethrowFor(file, err);
  }
}

/** fsync a directory so a rename or a new entry in it survives a crash (a no-op where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync directories; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/** Streams the file through SHA-256 (weights and optimiser slots of a full ResNet are hundreds of MB). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface WriteDirOptions {
  /**
   * Called when `parent/<name>` already exists (another process may have finished the same folder):
   * true keeps it and discards the new one. Default: the new folder replaces it.
   */
  keepExisting?: (existing: string) => Promise<boolean>;
}

/** Whether something (a file, folder or link, even a dangling one) is at `p`. */
export async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates a temp folder in `parent`, lets `fill` write into it, fsyncs, then renames it to
 * `parent/<name>` (replacing an existing directory of that name unless keepExisting says otherwise).
 * Stale temps of the same name (a killed writer's) are removed first. Returns the final path.
 */
export async function writeDirAtomic(parent: string, name: string, fill: (tmpDir: string) => Promise<void>, opts: WriteDirOptions = {}): Promise<string> {
  const finalPath = path.join(parent, name);
  const tmp = path.join(parent, tempName(name));
  try {
    await fs.mkdir(parent, { recursive: true });
    await removeStaleTemps(parent, { target: name });
    await fs.mkdir(tmp);
    await fill(tmp);
    await syncDir(tmp);
    if (opts.keepExisting && (await exists(finalPath)) && (await opts.keepExisting(finalPath))) {
      await fs.rm(tmp, { recursive: true, force: true });
      return finalPath;
    }
    // rename cannot replace a non-empty directory: move an old one aside first (same-name rewrite
    // only happens when an epoch is redone after a crash, and the new one is then complete).
    const old = `${tmp}-old`;
    let moved = false;
    try {
      await fs.rename(finalPath, old);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      await fs.rename(tmp, finalPath);
    } catch (err) {
      // Another process renamed its folder in between: keep it when the caller accepts it.
      if (opts.keepExisting && (await exists(finalPath)) && (await opts.keepExisting(finalPath))) {
        await fs.rm(tmp, { recursive: true, force: true });
        if (moved) await fs.rm(old, { recursive: true, force: true });
        return finalPath;
      }
      if (moved && !(await exists(finalPath))) await fs.rename(old, finalPath);
      throw err;
    }
    await syncDir(parent);
    if (moved) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (err instanceof StorageFullError) throw new StorageFullError(finalPath, err.code, err.freeBytes, { cause: err.cause });
    rethrowFor(finalPath, err);
  }
  return finalPath;
}
