// Unpacking the two archive formats the datasets ship in, always into a temporary folder first.
//   .zip: read here in Node (zlib inflate + CRC-32 check): no external tool, works on every OS.
//   .tgz: the system `tar` (GNU tar and bsdtar both refuse '..' members); LFW is 111 MiB of
//         JPEGs and tar streams it without holding it in memory.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateRawSync, crc32 } from 'node:zlib';
import { DatasetError, errorMessage } from './errors';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function safeMemberPath(name: string, archive: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || parts.includes('..') || name.includes('\\')) {
    throw new DatasetError(`${archive}: refusing unsafe member path '${name}'`, { path: archive });
  }
  return parts.join('/');
}

/**
 * Extracts a zip archive (stored or deflated members, no zip64) into `destDir`.
 * The whole archive is read into memory (fine for att_faces.zip, 4 MiB). Every member's CRC-32
 * and size are checked, so a truncated or corrupted archive is refused, naming the archive.
 */
export async function extractZip(archive: string, destDir: string): Promise<number> {
  const buf = await readFile(archive);
  const bad = (why: string) => new DatasetError(`${archive}: damaged or not a zip archive: ${why}`, { path: archive });
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record (truncated?)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw bad('zip64 archives are not supported');
  let files = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) throw bad(`central directory entry ${k} is missing`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    const rel = safeMemberPath(name, archive);
    if (name.endsWith('/') || rel === '') {
      await mkdir(path.join(destDir, rel), { recursive: true });
      continue;
    }
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOCAL) throw bad(`local header of ${name} is missing`);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (dataStart + compSize > buf.length) throw bad(`${name} is cut short`);
    const raw = buf.subarray(dataStart, dataStart + compSize);
    let data: Buffer;
    try {
      if (method === 0) data = raw;
      else if (method === 8) data = inflateRawSync(raw);
      else throw new Error(`compression method ${method} is not supported`);
    } catch (err) {
      throw bad(`${name}: ${errorMessage(err)}`);
    }
    if (data.length !== size || crc32(data) !== crc) throw bad(`${name} fails its CRC-32/size check`);
    const out = path.join(destDir, rel);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, data);
    files++;
  }
  return files;
}

/** Extracts a .tgz / .tar.gz with the system tar. A damaged archive gives a DatasetError naming it. */
export async function extractTgz(archive: string, destDir: string): Promise<void> {
  await mkdir(destDir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    execFile('tar', ['-xzf', archive, '-C', destDir], { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'the `tar` command is not installed' : stderr.trim() || err.message;
      reject(new DatasetError(`${archive}: cannot unpack (damaged or not a .tgz?): ${why}`, { path: archive, cause: err }));
    });
  });
}

/** Extracts by file name: .zip, or .tgz / .tar.gz. */
export async function extractArchive(archive: string, destDir: string): Promise<void> {
  const lower = archive.toLowerCase();
  if (lower.endsWith('.zip')) await extractZip(archive, destDir);
  else if (lower.endsWith('.tgz') || lower.endsWith('.tar.gz')) await extractTgz(archive, destDir);
  else throw new DatasetError(`${archive}: unknown archive type; expected .zip, .tgz or .tar.gz`, { path: archive });
}
