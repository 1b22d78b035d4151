// runs/<id>/run-record.json: what a run was trained with that its config does not pin down: the
// dataset's content fingerprint (recorded by prepareData) and the backend and thread count (recorded by
// training). A resumed run that finds a different one is refused, since it would silently mix two
// datasets or two numerics in one set of weights, unless the config's `resume` section allows the
// change; an allowed change is recorded here with the epoch it happened after.
import { existsSync, readFileSync } from 'node:fs';
import { BadInputError } from '../errors';
import { writeJsonAtomic } from '../util/durable-fs';
import { readMetricsLog } from './metrics-log';
import { runPaths } from './run-dir';

export interface DatasetRecord {
  /** Content fingerprint (src/data/fingerprint.ts). */
  fingerprint: string;
  images: number;
  identities: number;
}

export interface BackendRecord {
  backend: string;
  /** Threads of the backend (wasm threads, TF intra-op threads); null when it has no such setting. */
  threads: number | null;
}

export interface RecordedChange {
  what: 'dataset' | 'backend';
  from: string;
  to: string;
  /** The last epoch in the metrics log when the change was allowed (0: none trained yet). */
  afterEpoch: number;
  at: string;
}

export interface RunRecord {
  dataset: (DatasetRecord & { recordedAt: string }) | null;
  backend: (BackendRecord & { recordedAt: string }) | null;
  changes: RecordedChange[];
}

export class RunChangedError extends BadInputError {}

export function readRunRecord(runDir: string): RunRecord {
  const file = runPaths(runDir).record;
  if (!existsSync(file)) return { dataset: null, backend: null, changes: [] };
  let parsed: Partial<RunRecord>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunRecord>;
  } catch (err) {
    throw new RunChangedError(`${file} is not valid JSON (${(err as Error).message}); restore it, or delete it to record the current dataset and backend afresh.`);
  }
  return { dataset: parsed.dataset ?? null, backend: parsed.backend ?? null, changes: parsed.changes ?? [] };
}

function lastLoggedEpoch(runDir: string): number {
  return readMetricsLog(runPaths(runDir).metrics).reduce((m, r) => Math.max(m, r.epoch), 0);
}

const describeDataset = (d: DatasetRecord) => `${d.fingerprint} (${d.images} images, ${d.identities} identities)`;
const describeBackend = (b: BackendRecord) => `${b.backend}${b.threads === null ? '' : ` with ${b.threads} thread(s)`}`;

/**
 * Records the dataset's fingerprint the first time; later, refuses a different one unless
 * `allowChange` (config resume.allowDatasetChange), which records the change. Returns the change, if any.
 */
export function checkRunDataset(runDir: string, now: DatasetRecord, allowChange: boolean): RecordedChange | null {
  const record = readRunRecord(runDir);
  const before = record.dataset;
  if (before && before.fingerprint === now.fingerprint) return null;
  let change: RecordedChange | null = null;
  if (before) {
    const afterEpoch = lastLoggedEpoch(runDir);
    if (!allowChange) {
      throw new RunChangedError(
        `The dataset of run ${runDir} changed: it was recorded as ${describeDataset(before)} at ${before.recordedAt}, ` +
          `and is now ${describeDataset(now)}. Resuming (after epoch ${afterEpoch}) would train on a mix of both. ` +
          'Restore the dataset, start a new run id, or resume with --set resume.allowDatasetChange=true to accept the change (it is recorded in run-record.json).',
      );
    }
    change = { what: 'dataset', from: before.fingerprint, to: now.fingerprint, afterEpoch, at: new Date().toISOString() };
  }
  writeJsonAtomic(runPaths(runDir).record, {
    ...record,
    dataset: { ...now, recordedAt: new Date().toISOString() },
    changes: change ? [...record.changes, change] : record.changes,
  });
  return change;
}

/**
 * Records the backend and thread count the first time; later, refuses a different one (other
 * backends give other weights, and so do other thread counts on some) unless `allowChange` (config
 * resume.allowBackendChange), which records the change. Returns the change, if any.
 */
export function checkRunBackend(runDir: string, now: BackendRecord, allowChange: boolean): RecordedChange | null {
  const record = readRunRecord(runDir);
  const before = record.backend;
  if (before && before.backend === now.backend && before.threads === now.threads) return null;
  let change: RecordedChange | null = null;
  if (before) {
    const afterEpoch = lastLoggedEpoch(runDir);
    if (!allowChange) {
      throw new RunChangedError(
        `Run ${runDir} was trained on ${describeBackend(before)} (recorded at ${before.recordedAt}); this worker runs ` +
          `${describeBackend(now)}. Resuming (after epoch ${afterEpoch}) would give different weights than an uninterrupted run. ` +
          'Resume on a worker with the recorded backend (FACENET_BACKEND), or with --set resume.allowBackendChange=true to accept the change (it is recorded in run-record.json).',
      );
    }
    change = { what: 'backend', from: describeBackend(before), to: describeBackend(now), afterEpoch, at: new Date().toISOString() };
  }
  writeJsonAtomic(runPaths(runDir).record, {
    ...record,
    backend: { ...now, recordedAt: new Date().toISOString() },
    changes: change ? [...record.changes, change] : record.changes,
  });
  return change;
}
