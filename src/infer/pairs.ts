// A user's own verification pairs, evaluated with the metrics of a run (src/eval): the LFW pairs.txt format
// (folds of matched "name i j" and mismatched "nameA i nameB j" lines; images <root>/Name/Name_000i.jpg) or a
// CSV "a,b,same[,fold]" of image paths relative to the images root (same: 1/0, true/false or yes/no).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { parsePairs } from '../data/lfw-protocol';
import { DatasetError } from '../data/errors';
import {
  distancesForPairs,
  evaluateKFold,
  stratifiedPairFolds,
  evaluateVerification,
  metricsAtThreshold,
  type KFoldReport,
  type ThresholdCriterion,
  type ThresholdMetrics,
  type VerificationReport,
} from '../eval';
import { InputError } from './errors';
import { embedFiles } from './images';
import type { FaceModel } from './model';

export interface PairRow {
  /** Image paths, relative to the images root (or absolute). */
  a: string;
  b: string;
  same: boolean;
  fold: number;
}

const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no']);

function parseCsv(text: string, file: string): PairRow[] {
  const parsed = Papa.parse<string[]>(text.trim(), { skipEmptyLines: 'greedy' });
  if (parsed.errors.length) {
    const e = parsed.errors[0] as Papa.ParseError;
    throw new InputError(`${file} line ${(e.row ?? 0) + 1}: ${e.message}`, file);
  }
  let rows = parsed.data.map((fields, i) => ({ line: i + 1, fields: fields.map((f) => f.trim()) }));
  const head = rows[0]?.fields;
  // A header row: its third field is not a same value (e.g. "a,b,same").
  if (head && !TRUE.has(head[2]?.toLowerCase() ?? '') && !FALSE.has(head[2]?.toLowerCase() ?? '')) rows = rows.slice(1);
  if (rows.length === 0) throw new InputError(`${file} holds no pairs; write one "a,b,same" line per pair.`, file);
  return rows.map(({ line, fields }) => {
    if (fields.length !== 3 && fields.length !== 4) {
      throw new InputError(`${file} line ${line}: expected "a,b,same" or "a,b,same,fold", got ${fields.length} fields`, file);
    }
    const [a, b, sameText, foldText] = fields as [string, string, string, string | undefined];
    const s = sameText.toLowerCase();
    if (!TRUE.has(s) && !FALSE.has(s)) throw new InputError(`${file} line ${line}: same is "${sameText}"; write 1/0, true/false or yes/no`, file);
    if (!a || !b) throw new InputError(`${file} line ${line}: an image path is empty`, file);
    const fold = foldText === undefined ? 0 : Number(foldText);
    if (!Number.isInteger(fold) || fold < 0) throw new InputError(`${file} line ${line}: fold is "${foldText}"; write an integer >= 0`, file);
    return { a, b, same: TRUE.has(s), fold };
  });
}

/** Reads a pairs file: CSV when it ends in .csv or its first line has a comma, else LFW pairs.txt. */
export async function readPairsFile(file: string): Promise<{ format: 'csv' | 'lfw'; pairs: PairRow[] }> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`Cannot read the pairs file ${file}: ${(err as Error).message}`, file, err);
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (file.toLowerCase().endsWith('.csv') || firstLine.includes(',')) return { format: 'csv', pairs: parseCsv(text, file) };
  try {
    const { pairs } = parsePairs(text, file);
    const image = (name: string, n: number) => path.join(name, `${name}_${String(n).padStart(4, '0')}.jpg`);
    return { format: 'lfw', pairs: pairs.map((p) => ({ a: image(p.nameA, p.imageA), b: image(p.nameB, p.imageB), same: p.same, fold: p.fold })) };
  } catch (err) {
    if (err instanceof DatasetError) {
      throw new InputError(`${err.message} (read as LFW pairs.txt; for a CSV of "a,b,same" name the file .csv)`, file, err);
    }
    throw err;
  }
}

export interface PairsEvaluation {
  pairsFile: string;
  format: 'csv' | 'lfw';
  imagesRoot: string;
  model: { dir: string; id: string; runId: string | null; epoch: number | null };
  distance: FaceModel['sidecar']['distance'];
  images: number;
  /** Threshold chosen on these pairs themselves (optimistic, as a run's single-set evaluation). */
  verification: VerificationReport;
  /**
   * Accuracy at thresholds chosen without the pairs they score: the file's folds when it gives 2 or more,
   * else the pairs dealt into 10 folds (stratifiedPairFolds, as a run's evaluation does); null with too few pairs.
   */
  kfold: KFoldReport | null;
  /** Where kfold's folds come from, and each pair's fold (in the file's order). */
  foldsFrom: 'file' | 'stratified' | null;
  folds: number[] | null;
  /** The metrics at the model's own threshold (from its training run's evaluation), when it has one. */
  atModelThreshold: ThresholdMetrics | null;
  /** Pair distances and labels, in the file's order (for plots). */
  distances: number[];
  same: boolean[];
  notes: Array<{ file: string; note: string }>;
}

export async function evaluatePairs(
  fm: FaceModel,
  pairsFile: string,
  imagesRoot: string,
  opts: { criterion: ThresholdCriterion; farTargets: readonly number[] },
): Promise<PairsEvaluation> {
  const { format, pairs } = await readPairsFile(pairsFile);
  const resolved = pairs.map((p) => ({ ...p, a: path.resolve(imagesRoot, p.a), b: path.resolve(imagesRoot, p.b) }));
  const files = [...new Set(resolved.flatMap((p) => [p.a, p.b]))];
  const row = new Map(files.map((f, i) => [f, i]));
  const { embeddings, notes } = await embedFiles(fm, files);
  const distances = distancesForPairs(
    embeddings,
    fm.embeddingDim,
    resolved.map((p) => ({ a: row.get(p.a) as number, b: row.get(p.b) as number })),
    fm.sidecar.distance,
  );
  const same = resolved.map((p) => p.same);
  const positives = same.filter(Boolean).length;
  if (positives === 0 || positives === same.length) {
    throw new InputError(`${pairsFile}: all ${same.length} pairs are ${positives ? 'same' : 'different'}-person pairs; the metrics need both kinds.`, pairsFile);
  }
  const fileFolds = resolved.map((p) => p.fold);
  const folds = new Set(fileFolds).size > 1 ? fileFolds : stratifiedPairFolds(same);
  const verification = evaluateVerification(distances, same, opts);
  const kfold = folds ? evaluateKFold(distances, same, folds, opts) : null;
  const t = fm.sidecar.threshold;
  return {
    pairsFile,
    format,
    imagesRoot,
    model: { dir: fm.dir, id: fm.id, runId: fm.sidecar.runId, epoch: fm.sidecar.epoch },
    distance: fm.sidecar.distance,
    images: files.length,
    verification,
    kfold,
    foldsFrom: folds === null ? null : folds === fileFolds ? 'file' : 'stratified',
    folds,
    atModelThreshold: t === null ? null : metricsAtThreshold(distances, same, t),
    distances: Array.from(distances),
    same,
    notes,
  };
}
