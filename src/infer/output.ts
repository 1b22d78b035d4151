// Embeddings written for other tools: CSV (path, then one column per dimension) or NumPy .npy (v1.0,
// little-endian float32, shape [n, dim], C order) with the row order in a .paths.txt beside it.
import path from 'node:path';
import Papa from 'papaparse';
import { writeFileAtomic } from '../util/durable-fs';
import { InputError } from './errors';

/** A NumPy format 1.0 file of a float32 matrix [rows, cols] (row-major). */
export function encodeNpy(values: Float32Array, rows: number, cols: number): Buffer {
  if (values.length !== rows * cols) throw new Error(`encodeNpy: ${values.length} values are not ${rows} x ${cols}`);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces and ending in \n to a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) data.writeFloatLE(values[i] as number, i * 4);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), data]);
}

/** The .paths.txt that lists the rows of `npyFile`, one path a line. */
export function pathsFileOf(npyFile: string): string {
  return npyFile.replace(/\.npy$/i, '') + '.paths.txt';
}

/** Shortest decimal that reads back as the same float32. */
function float32Text(v: number): string {
  return String(Number(v.toPrecision(9)));
}

/** Writes the embeddings as `out` (.csv or .npy, each file whole or not at all); returns the files written. */
export async function writeEmbeddings(out: string, files: string[], embeddings: Float32Array, dim: number): Promise<string[]> {
  const ext = path.extname(out).toLowerCase();
  if (ext === '.csv') {
    const header = ['path', ...Array.from({ length: dim }, (_, j) => `e${j}`)];
    const rows = files.map((f, i) => [f, ...Array.from(embeddings.subarray(i * dim, (i + 1) * dim), float32Text)]);
    await writeFileAtomic(out, Papa.unparse([header, ...rows]) + '\n');
    return [out];
  }
  if (ext === '.npy') {
    const list = pathsFileOf(out);
    await writeFileAtomic(out, encodeNpy(embeddings, files.length, dim));
    await writeFileAtomic(list, files.join('\n') + '\n');
    return [out, list];
  }
  throw new InputError(`--out ${out}: write .csv or .npy`, out);
}
