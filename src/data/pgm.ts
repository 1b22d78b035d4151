// Netpbm greyscale (PGM) decoder: binary P5 and ASCII P2, maxval 1..65535.
// Pixels are returned as 8-bit: values are rescaled to 0..255 when maxval is not 255, so a
// 16-bit or low-maxval file looks the same to the rest of the pipeline as an 8-bit one.
import { DatasetError } from './errors';

export interface GrayImage {
  width: number;
  height: number;
  /** The maxval the file declared (before rescaling). */
  maxval: number;
  /** width*height bytes, row-major, 0..255. */
  data: Uint8Array;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** Reads whitespace-separated ASCII tokens, skipping '#' comments, as the Netpbm spec allows in headers. */
class TokenReader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  next(): string | null {
    const b = this.buf;
    for (;;) {
      while (this.pos < b.length && isSpace(b[this.pos] as number)) this.pos++;
      if (this.pos < b.length && b[this.pos] === 0x23) {
        while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
        continue;
      }
      break;
    }
    if (this.pos >= b.length) return null;
    const start = this.pos;
    while (this.pos < b.length && !isSpace(b[this.pos] as number) && b[this.pos] !== 0x23) this.pos++;
    return Buffer.from(b.subarray(start, this.pos)).toString('latin1');
  }
}

function headerInt(tokens: TokenReader, field: string, file: string, min: number, max: number): number {
  const tok = tokens.next();
  if (tok === null) throw new DatasetError(`${file}: not a valid PGM: header ends before ${field}`, { path: file });
  if (!/^\d+$/.test(tok)) throw new DatasetError(`${file}: not a valid PGM: ${field} is '${tok}', not a number`, { path: file });
  const v = Number(tok);
  if (v < min || v > max) {
    throw new DatasetError(`${file}: not a valid PGM: ${field} ${v} is outside ${min}..${max}`, { path: file });
  }
  return v;
}

/** What a file that is not a PGM holds, from its first bytes. */
function whatItIs(buf: Uint8Array): string {
  if (buf.length === 0) return 'the file is empty (0 bytes)';
  const b = Buffer.from(buf.subarray(0, 8));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'it holds a JPEG image (starts with FF D8 FF), despite its name';
  if (b.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) return 'it holds a PNG image (starts with 89 50 4E 47), despite its name';
  if (b.subarray(0, 3).toString('latin1') === 'GIF') return 'it holds a GIF image, despite its name';
  if (buf.length === 1) return `it holds a single byte (${b.toString('hex').toUpperCase()})`;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');
  return `it starts with bytes ${hex} (${JSON.stringify(b.toString('latin1').replace(/[^\x20-\x7e]/g, '.'))}), expected "P5" or "P2"`;
}

/**
 * Decodes a PGM (P5 or P2). Throws a DatasetError naming `file` and the reason for anything
 * malformed: wrong magic, bad header, truncated pixel data, a value above maxval.
 */
export function decodePgm(buf: Uint8Array, file: string): GrayImage {
  if (buf.length < 2 || buf[0] !== 0x50 || (buf[1] !== 0x35 && buf[1] !== 0x32)) {
    throw new DatasetError(`${file}: not a PGM image: ${whatItIs(buf)}; replace it with the dataset's original file`, { path: file });
  }
  const binary = buf[1] === 0x35;
  const tokens = new TokenReader(buf);
  tokens.pos = 2;
  const width = headerInt(tokens, 'width', file, 1, 1 << 16);
  const height = headerInt(tokens, 'height', file, 1, 1 << 16);
  const maxval = headerInt(tokens, 'maxval', file, 1, 65535);
  const n = width * height;
  const raw = new Uint16Array(n);
  if (binary) {
    // Exactly one whitespace byte separates maxval from the raster.
    const start = tokens.pos + 1;
    const bytesPer = maxval > 255 ? 2 : 1;
    const need = n * bytesPer;
    const have = Math.max(0, buf.length - start);
    if (have < need) {
      throw new DatasetError(
        `${file}: truncated PGM: ${width}x${height} at maxval ${maxval} needs ${need} bytes of pixels, found ${have}`,
        { path: file },
      );
    }
    for (let i = 0; i < n; i++) {
      raw[i] = bytesPer === 2 ? ((buf[start + 2 * i] as number) << 8) | (buf[start + 2 * i + 1] as number) : (buf[start + i] as number);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const tok = tokens.next();
      if (tok === null) {
        throw new DatasetError(`${file}: truncated PGM: expected ${n} pixel values, found ${i}`, { path: file });
      }
      if (!/^\d+$/.test(tok)) throw new DatasetError(`${file}: bad PGM pixel value '${tok}' at index ${i}`, { path: file });
      const v = Number(tok);
      if (v > maxval) throw new DatasetError(`${file}: PGM pixel ${i} is ${v}, above maxval ${maxval}`, { path: file });
      raw[i] = v;
    }
  }
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = raw[i] as number;
    if (v > maxval) throw new DatasetError(`${file}: PGM pixel ${i} is ${v}, above maxval ${maxval}`, { path: file });
    data[i] = maxval === 255 ? v : Math.round((v * 255) / maxval);
  }
  return { width, height, maxval, data };
}
