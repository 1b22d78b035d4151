// Parsers for the official LFW protocol files (tab-separated, read with papaparse).
//   pairs.txt:          "10\t300", then 10 folds of 300 matched ("name i j") + 300 mismatched ("a i b j").
//   pairsDevTrain/Test: "N", then N matched + N mismatched (one fold).
//   people.txt:         "10", then per fold a count line and that many "name n" lines.
//   peopleDevTrain/Test:"N", then N "name n" lines (one fold).
import Papa from 'papaparse';
import { DatasetError } from './errors';

export const LFW_IMAGE_DIR = 'lfw-deepfunneled';
export const LFW_PROTOCOL_FILES = [
  'pairs.txt',
  'pairsDevTrain.txt',
  'pairsDevTest.txt',
  'people.txt',
  'peopleDevTrain.txt',
  'peopleDevTest.txt',
] as const;
export type LfwProtocolFile = (typeof LFW_PROTOCOL_FILES)[number];

export interface LfwPair {
  nameA: string;
  imageA: number;
  nameB: string;
  imageB: number;
  same: boolean;
  fold: number;
}

export interface LfwPerson {
  name: string;
  images: number;
}

/** Relative path of image `n` (1-based) of `name`: lfw-deepfunneled/Name/Name_000n.jpg. */
export function lfwImagePath(name: string, n: number): string {
  return `${LFW_IMAGE_DIR}/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
}

interface Row {
  line: number;
  fields: string[];
}

function rows(text: string): Row[] {
  const parsed = Papa.parse<string[]>(text, { delimiter: '\t', skipEmptyLines: false });
  const out: Row[] = [];
  parsed.data.forEach((fields, i) => {
    const trimmed = fields.map((f) => f.trim());
    if (trimmed.length === 1 && trimmed[0] === '') return;
    out.push({ line: i + 1, fields: trimmed });
  });
  return out;
}

function positiveInt(value: string | undefined, file: string, line: number, what: string): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) {
    throw new DatasetError(`${file} line ${line}: ${what} should be a positive integer, got '${value ?? ''}'`, {
      path: file,
    });
  }
  return Number(value);
}

function take(all: Row[], i: number, file: string, expected: string): Row {
  const row = all[i];
  if (!row) throw new DatasetError(`${file}: ends early, expected ${expected}`, { path: file });
  return row;
}

/** Parses pairs.txt / pairsDevTrain.txt / pairsDevTest.txt. `file` is only used in messages. */
export function parsePairs(text: string, file: string): { folds: number; perClass: number; pairs: LfwPair[] } {
  const all = rows(text);
  const head = take(all, 0, file, 'a header line');
  const folds = head.fields.length >= 2 ? positiveInt(head.fields[0], file, head.line, 'the fold count') : 1;
  const perClass = positiveInt(head.fields[head.fields.length - 1], file, head.line, 'the pairs-per-class count');
  const expected = folds * perClass * 2;
  if (all.length - 1 !== expected) {
    throw new DatasetError(
      `${file} line ${head.line}: the header says ${folds} fold(s) of ${perClass} matched and ${perClass} mismatched pairs ` +
        `(${expected} pair lines), but the file has ${all.length - 1} pair lines; fix the header or restore the file`,
      { path: file },
    );
  }
  const pairs: LfwPair[] = [];
  let i = 1;
  for (let fold = 0; fold < folds; fold++) {
    for (const same of [true, false]) {
      for (let k = 0; k < perClass; k++, i++) {
        const what = `${same ? 'matched' : 'mismatched'} pair ${k + 1} of fold ${fold + 1}`;
        const { line, fields } = take(all, i, file, what);
        if (same && fields.length !== 3) {
          throw new DatasetError(`${file} line ${line}: ${what} should be "name<TAB>i<TAB>j", got ${fields.length} fields`, { path: file });
        }
        if (!same && fields.length !== 4) {
          throw new DatasetError(`${file} line ${line}: ${what} should be "nameA<TAB>i<TAB>nameB<TAB>j", got ${fields.length} fields`, { path: file });
        }
        const nameA = fields[0] as string;
        const imageA = positiveInt(fields[1], file, line, 'an image number');
        const nameB = same ? nameA : (fields[2] as string);
        const imageB = positiveInt(fields[same ? 2 : 3], file, line, 'an image number');
        pairs.push({ nameA, imageA, nameB, imageB, same, fold });
      }
    }
  }
  if (i < all.length) {
    throw new DatasetError(`${file} line ${all[i]?.line}: unexpected extra line after ${pairs.length} pairs`, { path: file });
  }
  return { folds, perClass, pairs };
}

/** Parses people.txt (10 folds) or peopleDevTrain/Test.txt (one list). Returns the people of each fold. */
export function parsePeople(text: string, file: string): LfwPerson[][] {
  const all = rows(text);
  const head = take(all, 0, file, 'a header line');
  const first = positiveInt(head.fields[0], file, head.line, 'the header count');
  // A fold file has a lone count on the second line; a plain list has "name<TAB>n" there.
  const folded = (all[1]?.fields.length ?? 0) === 1;
  const folds: LfwPerson[][] = [];
  let i = 1;
  const nFolds = folded ? first : 1;
  for (let f = 0; f < nFolds; f++) {
    let count = first;
    if (folded) {
      const row = take(all, i++, file, `the size of fold ${f + 1}`);
      count = positiveInt(row.fields[0], file, row.line, `the size of fold ${f + 1}`);
    }
    const people: LfwPerson[] = [];
    for (let k = 0; k < count; k++) {
      const { line, fields } = take(all, i++, file, `person ${k + 1} of fold ${f + 1}`);
      if (fields.length !== 2) {
        throw new DatasetError(`${file} line ${line}: expected "name<TAB>count", got ${fields.length} fields`, { path: file });
      }
      people.push({ name: fields[0] as string, images: positiveInt(fields[1], file, line, 'an image count') });
    }
    folds.push(people);
  }
  if (i < all.length) throw new DatasetError(`${file} line ${all[i]?.line}: unexpected extra line`, { path: file });
  return folds;
}

/** Every image path a protocol file refers to (pairs: both sides; people: images 1..n). */
export function protocolImagePaths(file: LfwProtocolFile, text: string): string[] {
  if (file.startsWith('pairs')) {
    return parsePairs(text, file).pairs.flatMap((p) => [lfwImagePath(p.nameA, p.imageA), lfwImagePath(p.nameB, p.imageB)]);
  }
  return parsePeople(text, file)
    .flat()
    .flatMap((p) => Array.from({ length: p.images }, (_, k) => lfwImagePath(p.name, k + 1)));
}
