// Files and folders written whole or not at all. A file is written to a temporary sibling, flushed to
// disk (fsync), then renamed over its target (rename is atomic within a filesystem); a folder (a
// checkpoint, an exported model) is filled under a temporary name and renamed into place. A crash thus
// leaves either the complete old or the complete new version, plus an ignorable `.tmp-*` leftover.
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, promises as fs, renameSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';

function tempSibling(file: string): string {
  return path.join(path.dirname(file), `.tmp-${path.basename(file)}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to `file` atomically and durably (synchronous: for small state files read back by resumed runs). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** Writes `data` to `file` atomically and durably; the error names the file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  try {
    await writeFileDurable(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new Error(`could not write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes and fsyncs `file` in place (inside a temporary folder that writeDirAtomic renames later). */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
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

/**
 * Creates `.tmp-<name>-<random>` in `parent`, lets `fill` write into it, fsyncs, then renames it to
 * `parent/<name>` (replacing an existing directory of that name). Returns the final path.
 */
export async function writeDirAtomic(parent: string, name: string, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  const finalPath = path.join(parent, name);
  try {
    await fill(tmp);
    await syncDir(tmp);
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
    await fs.rename(tmp, finalPath);
    await syncDir(parent);
    if (moved) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return finalPath;
}
