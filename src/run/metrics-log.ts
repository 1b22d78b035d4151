// The per-epoch metrics log, runs/<id>/metrics.csv. Rows are keyed by epoch: writing an epoch that is
// already there replaces its row, so an activity retried after a crash never logs an epoch twice.
import { existsSync, readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { writeFileAtomicSync } from '../util/durable-fs';
import { BadInputError } from '../errors';

export interface EpochRow {
  epoch: number;
  loss: number;
  activeFraction: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
  accuracy?: number | null;
  auc?: number | null;
  eer?: number | null;
  threshold?: number | null;
}

const COLUMNS: Array<keyof EpochRow> = ['epoch', 'loss', 'activeFraction', 'lr', 'imagesPerSecond', 'seconds', 'accuracy', 'auc', 'eer', 'threshold'];

export function readMetricsLog(path: string): EpochRow[] {
  if (!existsSync(path)) return [];
  const parsed = Papa.parse<Record<string, string>>(readFileSync(path, 'utf8'), { header: true, skipEmptyLines: true });
  if (parsed.errors.length) {
    throw new BadInputError(`${path} is not a valid metrics log (row ${parsed.errors[0]?.row}: ${parsed.errors[0]?.message}). Delete it to rebuild it from the checkpoints.`);
  }
  return parsed.data.map((raw) => {
    const row: Record<string, number | null> = {};
    for (const column of COLUMNS) {
      const text = raw[column];
      row[column] = text === undefined || text === '' ? null : Number(text);
    }
    return row as unknown as EpochRow;
  });
}

/** Inserts or replaces the rows of the updates' epochs (merging fields) in one write, keeping rows sorted by epoch. */
export function upsertMetricsRows(path: string, updates: ReadonlyArray<Partial<EpochRow> & { epoch: number }>): EpochRow[] {
  const rows = readMetricsLog(path);
  for (const update of updates) {
    const index = rows.findIndex((r) => r.epoch === update.epoch);
    if (index >= 0) rows[index] = { ...rows[index], ...update } as EpochRow;
    else rows.push({ loss: NaN, activeFraction: NaN, lr: NaN, imagesPerSecond: NaN, seconds: NaN, ...update });
  }
  rows.sort((a, b) => a.epoch - b.epoch);
  const data = rows.map((r) => COLUMNS.map((c) => (r[c] === null || r[c] === undefined ? '' : r[c])));
  writeFileAtomicSync(path, Papa.unparse({ fields: COLUMNS, data }, { newline: '\n' }) + '\n');
  return rows;
}
