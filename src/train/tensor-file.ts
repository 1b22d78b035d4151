// Named float/int arrays <-> one JSON spec + one .bin file. Used for model weights and optimiser
// slots alike; deliberately independent of tfjs IOHandlers (tfjs-node's file:// is not available
// on every backend) and of tensors (plain arrays are exact and easy to checksum).
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type ArrayDtype = 'float32' | 'int32';

export interface NamedArray {
  name: string;
  shape: number[];
  dtype: ArrayDtype;
  values: Float32Array | Int32Array;
}

interface SpecEntry {
  name: string;
  shape: number[];
  dtype: ArrayDtype;
  offset: number;
  byteLength: number;
}

export interface TensorFileSpec {
  format: 'facenet-arrays/1';
  binFile: string;
  entries: SpecEntry[];
}

/** Lays the arrays end to end (all 4-byte dtypes, so no padding) and returns the spec and bytes. */
export function encodeArrays(arrays: NamedArray[], binFile: string): { spec: TensorFileSpec; bin: Buffer } {
  const entries: SpecEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    const expected = a.shape.reduce((x, y) => x * y, 1);
    if (a.values.length !== expected) {
      throw new Error(`Array '${a.name}' has ${a.values.length} values but shape [${a.shape}] needs ${expected}.`);
    }
    entries.push({ name: a.name, shape: a.shape.slice(), dtype: a.dtype, offset, byteLength: a.values.byteLength });
    offset += a.values.byteLength;
  }
  const bin = Buffer.alloc(offset);
  arrays.forEach((a, i) => {
    const src = Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength);
    src.copy(bin, (entries[i] as SpecEntry).offset);
  });
  return { spec: { format: 'facenet-arrays/1', binFile, entries }, bin };
}

export function decodeArrays(spec: TensorFileSpec, bin: Buffer, source: string): NamedArray[] {
  if (spec.format !== 'facenet-arrays/1') throw new Error(`${source}: unknown array format '${String(spec.format)}'.`);
  return spec.entries.map((e) => {
    if (e.offset + e.byteLength > bin.length) {
      throw new Error(`${source}: array '${e.name}' ends at byte ${e.offset + e.byteLength} but the .bin file has ${bin.length} bytes.`);
    }
    // Copy into a fresh, aligned buffer: Buffer slices may start at any byte offset.
    const bytes = new Uint8Array(e.byteLength);
    bytes.set(bin.subarray(e.offset, e.offset + e.byteLength));
    const values = e.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { name: e.name, shape: e.shape, dtype: e.dtype, values };
  });
}

/** Reads `<base>.json` + the .bin it names, from a directory. */
export async function readArrays(dir: string, base: string): Promise<NamedArray[]> {
  const specPath = path.join(dir, `${base}.json`);
  const spec = JSON.parse(await fs.readFile(specPath, 'utf8')) as TensorFileSpec;
  const bin = await fs.readFile(path.join(dir, spec.binFile));
  return decodeArrays(spec, bin, specPath);
}
